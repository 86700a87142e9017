//! `pummel run --select tag=value`: the part of a plan that carries a tag.
//! (k6's `--tag` adds tags to metrics; selecting is another verb.)

use super::model::{Plan, Step};

/// A `--select` tag that no scenario or step of the file carries.
#[derive(Clone, Debug)]
pub struct NothingTagged {
    tag: String,
}

impl std::fmt::Display for NothingTagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no scenario or step is tagged `{}`", self.tag)
    }
}

impl std::error::Error for NothingTagged {}

impl Plan {
    /// Keeps what carries the tag `key: value`: a scenario tagged so runs
    /// whole; in another, only the steps tagged so (or holding one that is)
    /// run, and a scenario left with no steps is dropped. Setups and
    /// teardowns stay: a tagged step may need their login.
    pub fn select_tag(&mut self, key: &str, value: &str) -> Result<(), NothingTagged> {
        fn tagged(step: &Step, key: &str, value: &str) -> bool {
            step.tags.has(key, value)
                || step
                    .kind
                    .inner_steps()
                    .iter()
                    .any(|steps| steps.iter().any(|s| tagged(s, key, value)))
        }
        for scenario in &mut self.scenarios {
            if !scenario.tags.has(key, value) {
                scenario.steps.retain(|s| tagged(s, key, value));
            }
        }
        self.scenarios.retain(|s| !s.steps.is_empty());
        if self.scenarios.is_empty() {
            return Err(NothingTagged {
                tag: format!("{key}={value}"),
            });
        }
        Ok(())
    }
}
