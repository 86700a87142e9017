//! How many redirects Postman follows for a request, from `protocolProfileBehavior` on the
//! request, its folders and the collection.

use super::file::Behavior;
use crate::model::RequestStep;

/// How many redirects Postman follows for a request: its `protocolProfileBehavior`, or its
/// folders' and the collection's.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Redirects {
    /// `followRedirects`: Postman's default is to follow.
    follow: Option<bool>,
    /// `maxRedirects`: Postman's default is 10, as pummel's.
    max: Option<u64>,
}

impl Redirects {
    /// These settings, with what `behavior` (of an item inside) says instead.
    pub(super) fn within(self, behavior: Option<&Behavior>) -> Redirects {
        let Some(b) = behavior else { return self };
        Redirects {
            follow: b
                .follow_redirects
                .as_ref()
                .and_then(serde_json::Value::as_bool)
                .or(self.follow),
            max: b
                .max_redirects
                .as_ref()
                .and_then(serde_json::Value::as_u64)
                .or(self.max),
        }
    }

    pub(super) fn apply(self, step: &mut RequestStep) {
        match (self.follow, self.max) {
            (Some(false), _) | (_, Some(0)) => step.stop_at_redirect = true,
            // pummel follows 10 by default, and 100 at most.
            (_, Some(max)) if max != 10 => {
                step.max_redirects = Some(u32::try_from(max.min(100)).unwrap_or(100));
            }
            _ => {}
        }
    }
}
