//! What a plan asks of the world, as a shared server must know it before a
//! run: the hosts it reaches (for ownership proof) and the load it makes
//! (for quotas). Only what the file says for certain: a host built from a
//! variable is named as such, to be refused by whoever needs to know.

use std::time::Duration;

use super::load_model::LoadModel;
use super::model::{Plan, StepKind};
use super::websocket::WsAction;

/// A plan's reach and size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demand {
    /// The hosts of its target and of every absolute URL (lower case, no
    /// port, IPv6 without brackets), each once.
    pub hosts: Vec<String>,
    /// URLs whose host is only known at run time (`{{base}}/x`), as written.
    pub dynamic_urls: Vec<String>,
    /// The most VUs at once, every load model together.
    pub max_vus: u32,
    /// The highest arrival rate (iterations per second) of its open
    /// models together; `None` when none is open.
    pub max_rate: Option<f64>,
    /// How long the load lasts, when the plan says.
    pub duration: Option<Duration>,
    /// Its iterations run in a runner process (`runner:`).
    pub runner: bool,
}

/// The host of an absolute URL as written; `Err` when the URL is absolute
/// but its host is a template, `Ok(None)` when it is relative.
fn host_of(source: &str) -> Result<Option<String>, ()> {
    let lower = source.to_ascii_lowercase();
    let Some(rest) = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
    else {
        return if source.starts_with('/') {
            Ok(None)
        } else {
            Err(())
        };
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains("{{") || authority.is_empty() {
        return Err(());
    }
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host_port.split(':').next().unwrap_or(host_port),
    };
    Ok(Some(host.to_owned()))
}

fn max_rate(model: &LoadModel) -> Option<f64> {
    match model {
        LoadModel::Rate { rate, .. } => Some(*rate),
        LoadModel::RampingRate { start, stages, .. } => {
            Some(stages.iter().map(|s| s.target).fold(*start, f64::max))
        }
        _ => None,
    }
}

impl Plan {
    /// What this plan reaches and how hard (see [`Demand`]).
    pub fn demand(&self) -> Demand {
        let mut demand = Demand {
            max_vus: self.max_vus_all(),
            duration: self.duration(),
            runner: self.runner.is_some(),
            ..Demand::default()
        };
        for group in self.load_groups() {
            if let Some(rate) = max_rate(&group.model) {
                demand.max_rate = Some(demand.max_rate.unwrap_or(0.0) + rate);
            }
        }
        if let Some(target) = &self.target {
            demand.hosts.push(target.host.to_ascii_lowercase());
        }
        let mut urls: Vec<&str> = Vec::new();
        for (_, step) in self.all_steps() {
            match &step.kind {
                StepKind::Request(request) => urls.push(request.url.source()),
                StepKind::WebSocket(ws) => {
                    if let WsAction::Connect(connect) = &ws.action {
                        urls.push(connect.url.source());
                    }
                }
                _ => {}
            }
        }
        for url in urls {
            match host_of(url) {
                Ok(Some(host)) => demand.hosts.push(host),
                Ok(None) => {}
                Err(()) => demand.dynamic_urls.push(url.to_owned()),
            }
        }
        demand.hosts.sort_unstable();
        demand.hosts.dedup();
        demand.dynamic_urls.sort_unstable();
        demand.dynamic_urls.dedup();
        demand
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::host_of;
    use crate::scenario::load_str;

    #[test]
    fn a_plan_names_its_hosts_and_its_size() {
        let text = r"
target: https://Shop.Example:8443/base
load: { rate: 20, duration: 30s, max_vus: 40 }
variables:
  base: http://cdn.example
scenarios:
  - name: s
    steps:
      - request: GET /a
      - request: GET http://api.example:9000/b
      - request: GET {{ base }}/c
      - group: g
        steps:
          - request: GET https://api.example/d
";
        let plan = load_str("d.yaml", text).unwrap();
        let d = plan.demand();
        assert_eq!(d.hosts, vec!["api.example", "shop.example"]);
        assert_eq!(d.dynamic_urls, vec!["{{ base }}/c"]);
        assert_eq!(d.max_rate, Some(20.0));
        assert_eq!(d.max_vus, 40);
        assert_eq!(d.duration, Some(Duration::from_secs(30)));
        assert!(!d.runner);
    }

    #[test]
    fn hosts_of_urls_as_written() {
        assert_eq!(host_of("/api/x"), Ok(None));
        assert_eq!(
            host_of("https://Shop.Example:8443/a"),
            Ok(Some("shop.example".into()))
        );
        assert_eq!(host_of("http://[::1]:80/"), Ok(Some("::1".into())));
        assert_eq!(
            host_of("wss://u:p@ws.example?x"),
            Ok(Some("ws.example".into()))
        );
        assert_eq!(host_of("http://{{host}}/x"), Err(()));
        assert_eq!(host_of("{{base}}/x"), Err(()));
    }
}
