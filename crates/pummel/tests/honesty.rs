//! What the result says is what happened: a step that cannot be built is a counted failure, the
//! figures report what ran (not what was asked), and errors name their cause.

use std::path::PathBuf;

use crate::util::{brief, pummel, u, Target};

/// A scenario file in a temporary directory.
struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl File {
    /// `text` with `@TARGET@` replaced by the target's base URL.
    fn new(target: Option<&Target>, text: &str) -> File {
        let base = target.map_or_else(String::new, |t| t.url("/").trim_end_matches('/').to_owned());
        File::bytes("scenario.yaml", text.replace("@TARGET@", &base).as_bytes())
    }

    /// `bytes` as they are (a file need not be UTF-8).
    fn bytes(name: &str, bytes: &[u8]) -> File {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write scenario");
        File { _dir: dir, path }
    }

    fn s(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }
}

// ---------------------------------------------------------------------------------------------
// A step that cannot be built or sent is a failed request
// ---------------------------------------------------------------------------------------------

#[test]
fn a_step_that_cannot_be_built_is_a_counted_invalid_request() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 3 }
variables:
  p: "a b"
thresholds:
  - error_rate < 1%
scenarios:
  - name: broken
    steps:
      - name: space
        request: GET /{{ p }}
"#,
    );
    let out = pummel(&["run", file.s(), "--json"]).expect_code(99);
    let r = out.json();
    assert_eq!(u(&r, "/errors/invalid_request"), 3, "{}", brief(&r));
    assert_eq!(u(&r, "/requests"), 3, "{}", brief(&r));
    assert_eq!(r["thresholds"][0]["passed"], false, "{}", brief(&r));
    assert_eq!(r["thresholds"][0]["observed"], 1.0, "{}", brief(&r));

    // The summary counts them too, and says why.
    let text = pummel(&["run", file.s()]).expect_code(99);
    assert!(text.stdout.contains("errors 3"), "{}", text.context());
    assert!(
        text.stdout.contains("invalid_request"),
        "{}",
        text.context()
    );
    assert!(
        text.stdout.contains("invalid uri character"),
        "{}",
        text.context()
    );
}

#[test]
fn a_header_with_a_line_break_is_a_counted_invalid_request() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 2 }
scenarios:
  - name: crlf
    steps:
      - name: injected
        request:
          method: GET
          url: /
          headers: { X-Token: "{{ env.TOKEN }}" }
"#,
    );
    let r = pummel(&["run", file.s(), "--json", "--env", "TOKEN=a\r\nX-Evil: 1"])
        .expect_code(0)
        .json();
    assert_eq!(u(&r, "/errors/invalid_request"), 2, "{}", brief(&r));
    assert_eq!(u(&r, "/responses"), 0, "{}", brief(&r));
}

#[test]
fn a_websocket_step_on_a_socket_never_opened_is_refused_at_load_time() {
    let file = File::new(
        None,
        r#"
target: http://127.0.0.1:9
load: { vus: 1, iterations: 1 }
scenarios:
  - name: ws
    steps:
      - ws_connect: /ws/echo
      - ws_send: { text: hi }
        socket: other
"#,
    );
    let out = pummel(&["validate", file.s()]).expect_code(2);
    assert!(
        out.stderr.contains("scenario.yaml:8:9")
            && out.stderr.contains("`ws_send` on socket `other`"),
        "{}",
        out.context()
    );
}
