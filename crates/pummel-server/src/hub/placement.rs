//! Which idle agents a run submitted now gets: by count and labels, and
//! only agents that enforce the network policy for a restricted run.

use super::Hub;
use crate::wire::{Submit, CAPABILITY_NETWORK_POLICY};

impl Hub {
    /// The idle agents a submission gets (by count and labels), or why
    /// there are not enough.
    pub(super) fn choose_agents(&self, submit: &Submit) -> Result<Vec<String>, String> {
        let mut idle: Vec<&str> = self
            .agents
            .iter()
            .filter(|(_, a)| a.is_idle())
            // A restricted run goes only to agents that enforce the policy.
            .filter(|(_, a)| {
                submit.network.is_none()
                    || a.hello
                        .capabilities
                        .iter()
                        .any(|c| c == CAPABILITY_NETWORK_POLICY)
            })
            .filter(|(_, a)| {
                submit
                    .labels
                    .iter()
                    .all(|(k, v)| a.hello.labels.get(k) == Some(v))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        idle.sort_unstable();
        let wanted = submit.agents.map_or(idle.len(), |n| n as usize);
        if wanted == 0 || idle.len() < wanted {
            let labels = if submit.labels.is_empty() {
                String::new()
            } else {
                let pairs: Vec<String> = submit
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!(" with {}", pairs.join(","))
            };
            let refused: String = self
                .refused
                .iter()
                .map(|(name, reason)| format!("; agent {name} was refused: {reason}"))
                .collect();
            return Err(format!(
                "not enough agents: {} wanted, {} idle{labels} (see `pummel agents`); \
                         no load was started{refused}",
                submit
                    .agents
                    .map_or_else(|| "at least 1".to_owned(), |n| n.to_string()),
                idle.len()
            ));
        }
        Ok(idle[..wanted].iter().map(|s| (*s).to_owned()).collect())
    }
}
