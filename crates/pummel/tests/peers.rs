//! Peers and an environment that misbehave on purpose: every request is still counted exactly
//! once against what the server saw, failures are named, and nothing passes silently.

use crate::servers::{Behaviour, Server};
use crate::util::{self, brief, pummel, u};

/// A server that answers each request twice: the second answer is not a response to the next
/// request (which it would be if the connection were reused with it still buffered), so every
/// request pummel counts is one the server saw.
#[test]
fn an_answer_nobody_asked_for_is_not_the_next_requests_response() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::AnswerTwice);
    let r = pummel(&[
        "bench",
        "-n",
        "50",
        "-c",
        "1",
        "--json",
        &format!("{}/", server.base()),
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 50, "{}", brief(&r));
    assert_eq!(server.heads().len(), 50, "{}", brief(&r));
}
