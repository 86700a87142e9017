//! The queue's rule: which waiting jobs start now, on which free agents.
//!
//! Jobs start in submission order. A job that cannot start (too few free
//! agents it may use) holds back every free agent it could use, so a later
//! job may start early only on agents that no job ahead of it can use: it
//! fits beside them and never delays them (backfill without delay). The
//! hub asks this after anything that may free an agent.

use std::collections::{BTreeMap, BTreeSet};

/// What a waiting job asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wants<'a> {
    /// How many agents (None: one).
    pub(crate) agents: Option<u32>,
    /// Labels an agent must carry.
    pub(crate) labels: &'a BTreeMap<String, String>,
    /// Capabilities an agent must have said it has (`network_policy` for
    /// an owner whose networks are restricted, `runners` for a runner
    /// journey): an agent without them would refuse the job, so it is not
    /// one the job can use.
    pub(crate) needs: &'a [&'static str],
}

impl Wants<'_> {
    fn count(&self) -> usize {
        self.agents.map_or(1, |n| n as usize)
    }

    fn fits(&self, agent: &FreeAgent<'_>) -> bool {
        self.labels
            .iter()
            .all(|(k, v)| agent.labels.get(k) == Some(v))
            && self
                .needs
                .iter()
                .all(|need| agent.capabilities.iter().any(|c| c == need))
    }
}

/// A free agent: connected, idle, neither disabled nor draining.
#[derive(Clone, Debug)]
pub(crate) struct FreeAgent<'a> {
    pub(crate) name: &'a str,
    pub(crate) labels: &'a BTreeMap<String, String>,
    /// What its hello said it can do.
    pub(crate) capabilities: &'a [String],
}

/// The jobs (by their index in `waiting`, which is in submission order)
/// that start now, each with the agents it gets (by name, sorted).
pub(crate) fn starts(waiting: &[Wants<'_>], free: &[FreeAgent<'_>]) -> Vec<(usize, Vec<String>)> {
    let mut free: Vec<&FreeAgent<'_>> = free.iter().collect();
    free.sort_by(|a, b| a.name.cmp(b.name));
    // Agents taken by a job that starts, or held for a job that waits.
    let mut spoken_for: BTreeSet<&str> = BTreeSet::new();
    let mut started = Vec::new();
    for (index, wants) in waiting.iter().enumerate() {
        let usable: Vec<&str> = free
            .iter()
            .filter(|a| !spoken_for.contains(a.name) && wants.fits(a))
            .map(|a| a.name)
            .collect();
        if usable.len() >= wants.count() && wants.count() > 0 {
            let chosen: Vec<&str> = usable[..wants.count()].to_vec();
            spoken_for.extend(chosen.iter().copied());
            started.push((index, chosen.iter().map(|s| (*s).to_owned()).collect()));
        } else {
            // It waits; what it could use stays free for it.
            spoken_for.extend(usable);
        }
    }
    started
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn jobs_start_in_order_while_agents_last() {
        let none = labels(&[]);
        let waiting = [
            Wants {
                agents: Some(2),
                labels: &none,
                needs: &[],
            },
            Wants {
                agents: Some(1),
                labels: &none,
                needs: &[],
            },
            Wants {
                agents: Some(1),
                labels: &none,
                needs: &[],
            },
        ];
        let free = [
            FreeAgent {
                name: "b",
                labels: &none,
                capabilities: &[],
            },
            FreeAgent {
                name: "a",
                labels: &none,
                capabilities: &[],
            },
            FreeAgent {
                name: "c",
                labels: &none,
                capabilities: &[],
            },
        ];
        assert_eq!(
            starts(&waiting, &free),
            vec![(0, vec!["a".into(), "b".into()]), (1, vec!["c".into()])]
        );
    }

    #[test]
    fn a_later_job_starts_early_only_on_agents_the_head_cannot_use() {
        let eu = labels(&[("region", "eu")]);
        let us = labels(&[("region", "us")]);
        let none = labels(&[]);
        // The head wants 2 eu agents; one is free, one is busy: it waits
        // and holds the free eu agent.
        let waiting = [
            Wants {
                agents: Some(2),
                labels: &eu,
                needs: &[],
            },
            Wants {
                agents: Some(1),
                labels: &none,
                needs: &[],
            },
            Wants {
                agents: Some(1),
                labels: &us,
                needs: &[],
            },
        ];
        let free = [
            FreeAgent {
                name: "eu1",
                labels: &eu,
                capabilities: &[],
            },
            FreeAgent {
                name: "us1",
                labels: &us,
                capabilities: &[],
            },
        ];
        // The second job (any agent) would fit on eu1 but must not take it;
        // it takes us1, which the head cannot use. The third then waits.
        assert_eq!(starts(&waiting, &free), vec![(1, vec!["us1".into()])]);
    }

    #[test]
    fn a_job_that_cannot_fit_holds_what_it_could_use() {
        let none = labels(&[]);
        let waiting = [
            Wants {
                agents: Some(3),
                labels: &none,
                needs: &[],
            },
            Wants {
                agents: Some(1),
                labels: &none,
                needs: &[],
            },
        ];
        let free = [
            FreeAgent {
                name: "a",
                labels: &none,
                capabilities: &[],
            },
            FreeAgent {
                name: "b",
                labels: &none,
                capabilities: &[],
            },
        ];
        assert!(starts(&waiting, &free).is_empty());
    }

    #[test]
    fn a_job_skips_agents_without_the_capabilities_it_needs() {
        let none = labels(&[]);
        let runners = ["runners".to_owned()];
        let needs_runners = ["runners"];
        // The head needs an agent that runs runner journeys; only "b" does,
        // and it is busy. The later plain job may take "a", which the head
        // cannot use.
        let waiting = [
            Wants {
                agents: Some(1),
                labels: &none,
                needs: &needs_runners,
            },
            Wants {
                agents: Some(1),
                labels: &none,
                needs: &[],
            },
        ];
        let free = [FreeAgent {
            name: "a",
            labels: &none,
            capabilities: &[],
        }];
        assert_eq!(starts(&waiting, &free), vec![(1, vec!["a".into()])]);
        // "b" is free: the head takes it, and the plain job "a".
        let both = [
            FreeAgent {
                name: "a",
                labels: &none,
                capabilities: &[],
            },
            FreeAgent {
                name: "b",
                labels: &none,
                capabilities: &runners,
            },
        ];
        assert_eq!(
            starts(&waiting, &both),
            vec![(0, vec!["b".into()]), (1, vec!["a".into()])]
        );
    }
}
