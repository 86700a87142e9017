//! Request options that say how a request travels rather than what it
//! carries, allowed on a request and in `defaults`: `follow_redirects`.

use super::decoder::Decoder;
use crate::http::session::MAX_REDIRECTS_LIMIT;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    /// `follow_redirects: false | true | N`: how many redirects a request
    /// follows before its last response is the step's (`false` is 0, so a
    /// 302 can be checked and its `Location` captured; `true` is the
    /// default, 10).
    pub(super) fn follow_redirects(&mut self, node: &Node) -> Option<u32> {
        match node.kind {
            Kind::Bool(false) => Some(0),
            Kind::Bool(true) => Some(crate::http::session::DEFAULT_MAX_REDIRECTS),
            Kind::Int(_) => self
                .int(
                    node,
                    "`follow_redirects`",
                    0,
                    i64::from(MAX_REDIRECTS_LIMIT),
                )
                .and_then(|n| u32::try_from(n).ok()),
            _ => {
                self.err(
                    node.span,
                    format!(
                        "`follow_redirects` must be true, false or a number of redirects \
                         (0 to {MAX_REDIRECTS_LIMIT}), found {}",
                        node.type_name()
                    ),
                );
                None
            }
        }
    }
}
