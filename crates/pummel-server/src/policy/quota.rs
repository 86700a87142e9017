//! Per-user quotas, set by the admin: how much of the service one user's
//! runs may take. Unset limits are unlimited; admins have none.

use std::time::Duration;

/// What a plan reaches and how hard, for a shared server's ownership
/// checks and quotas (the engine's `Demand`, as the server sees it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanDemand {
    /// Hosts of the target and of every absolute URL (lower case, no port).
    pub hosts: Vec<String>,
    /// URLs whose host is only known at run time.
    pub dynamic_urls: Vec<String>,
    pub max_vus: u32,
    pub max_rate: Option<f64>,
    pub duration: Option<Duration>,
    /// Test code runs in a runner process.
    pub runner: bool,
}

/// One user's limits.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quota {
    /// Runs pending or running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_jobs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_per_job: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_vus: Option<u32>,
    /// Iterations (or requests) per second, open models together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_ms")]
    pub max_duration: Option<Duration>,
    /// Runs started in the last 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_per_day: Option<u32>,
    /// Bytes of stored results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_storage: Option<u64>,
    /// May run plans with a runner (test code in Python or JS).
    #[serde(default)]
    pub allow_runners: bool,
}

mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humanize(*d)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| super::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub(super) fn humanize(d: Duration) -> String {
        let secs = d.as_secs();
        match secs {
            s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
            s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        }
    }
}

/// `30s`, `10m`, `2h`, `1d`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (write 30s, 10m, 2h or 1d)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "{text:?} is not a duration (write 30s, 10m, 2h or 1d)"
            ))
        }
    };
    Ok(Duration::from_secs(secs))
}

/// What a user has in use now, as the store counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) active_runs: u64,
    pub(crate) runs_last_day: u64,
    pub(crate) report_bytes: u64,
}

/// A quota a run would break: its name, its value and the run's figure.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("quota {name} is {limit}: {what}")]
pub struct QuotaExceeded {
    pub name: &'static str,
    pub limit: String,
    pub what: String,
}

impl Quota {
    /// The first quota that a run of `demand` on `agents` agents (None:
    /// every idle agent) would break, given `usage`.
    pub(crate) fn check(
        &self,
        demand: &PlanDemand,
        agents: Option<u32>,
        usage: Usage,
    ) -> Result<(), QuotaExceeded> {
        let fail = |name, limit: String, what: String| Err(QuotaExceeded { name, limit, what });
        if demand.runner && !self.allow_runners {
            return fail(
                "allow-runners",
                "off".into(),
                "this plan runs test code in a runner, which an admin must allow for you \
                 (`pummel server quota set USER --allow-runners`)"
                    .into(),
            );
        }
        if let Some(max) = self.concurrent_jobs {
            if usage.active_runs >= u64::from(max) {
                return fail(
                    "concurrent-jobs",
                    max.to_string(),
                    format!("you have {} runs pending or running", usage.active_runs),
                );
            }
        }
        if let Some(max) = self.runs_per_day {
            if usage.runs_last_day >= u64::from(max) {
                return fail(
                    "runs-per-day",
                    max.to_string(),
                    format!(
                        "you started {} runs in the last 24 hours",
                        usage.runs_last_day
                    ),
                );
            }
        }
        if let Some(max) = self.report_storage {
            if usage.report_bytes >= max {
                return fail(
                    "report-storage",
                    format!("{max} bytes"),
                    format!("your stored results take {} bytes", usage.report_bytes),
                );
            }
        }
        if let Some(max) = self.agents_per_job {
            match agents {
                None => {
                    return fail(
                        "agents-per-job",
                        max.to_string(),
                        "the run asks for every idle agent: pass --agents with at most that many"
                            .into(),
                    )
                }
                Some(n) if n > max => {
                    return fail(
                        "agents-per-job",
                        max.to_string(),
                        format!("the run asks for {n}"),
                    )
                }
                Some(_) => {}
            }
        }
        if let Some(max) = self.max_vus {
            if demand.max_vus > max {
                return fail(
                    "max-vus",
                    max.to_string(),
                    format!("the plan runs up to {} VUs", demand.max_vus),
                );
            }
        }
        if let (Some(max), Some(rate)) = (self.max_rate, demand.max_rate) {
            if rate > max {
                return fail(
                    "max-rate",
                    format!("{max}/s"),
                    format!("the plan's arrival rate reaches {rate}/s"),
                );
            }
        }
        if let Some(max) = self.max_duration {
            match demand.duration {
                Some(d) if d <= max => {}
                Some(d) => {
                    return fail(
                        "max-duration",
                        opt_ms::humanize(max),
                        format!("the plan lasts {}", opt_ms::humanize(d)),
                    )
                }
                None => {
                    return fail(
                        "max-duration",
                        opt_ms::humanize(max),
                        "the plan's length is not bounded by a duration (give it --duration)"
                            .into(),
                    )
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(vus: u32, rate: Option<f64>, secs: Option<u64>) -> PlanDemand {
        PlanDemand {
            max_vus: vus,
            max_rate: rate,
            duration: secs.map(Duration::from_secs),
            ..PlanDemand::default()
        }
    }

    #[test]
    fn each_quota_names_itself_and_its_value() {
        let quota = Quota {
            concurrent_jobs: Some(1),
            agents_per_job: Some(2),
            max_vus: Some(10),
            max_rate: Some(50.0),
            max_duration: Some(Duration::from_secs(60)),
            runs_per_day: Some(5),
            report_storage: Some(1000),
            allow_runners: false,
        };
        let ok = demand(10, Some(50.0), Some(60));
        assert!(quota.check(&ok, Some(2), Usage::default()).is_ok());
        let name = |d: &PlanDemand, agents, usage| quota.check(d, agents, usage).unwrap_err().name;
        assert_eq!(
            name(&demand(11, None, Some(1)), Some(1), Usage::default()),
            "max-vus"
        );
        assert_eq!(
            name(&demand(1, Some(51.0), Some(1)), Some(1), Usage::default()),
            "max-rate"
        );
        assert_eq!(
            name(&demand(1, None, Some(61)), Some(1), Usage::default()),
            "max-duration"
        );
        assert_eq!(
            name(&demand(1, None, None), Some(1), Usage::default()),
            "max-duration"
        );
        assert_eq!(name(&ok, Some(3), Usage::default()), "agents-per-job");
        assert_eq!(name(&ok, None, Usage::default()), "agents-per-job");
        let busy = Usage {
            active_runs: 1,
            ..Usage::default()
        };
        assert_eq!(name(&ok, Some(1), busy), "concurrent-jobs");
        let daily = Usage {
            runs_last_day: 5,
            ..Usage::default()
        };
        assert_eq!(name(&ok, Some(1), daily), "runs-per-day");
        let full = Usage {
            report_bytes: 1000,
            ..Usage::default()
        };
        assert_eq!(name(&ok, Some(1), full), "report-storage");
        let runner = PlanDemand {
            runner: true,
            ..ok.clone()
        };
        assert_eq!(name(&runner, Some(1), Usage::default()), "allow-runners");
        let text = quota
            .check(&demand(11, None, Some(1)), Some(1), Usage::default())
            .unwrap_err()
            .to_string();
        assert_eq!(text, "quota max-vus is 10: the plan runs up to 11 VUs");
        assert!(Quota::default()
            .check(&demand(1_000_000, Some(1e9), None), None, full)
            .is_ok());
    }

    #[test]
    fn durations_parse_and_quotas_round_trip() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5y").is_err());
        let quota = Quota {
            max_duration: Some(Duration::from_secs(7200)),
            max_vus: Some(3),
            ..Quota::default()
        };
        let text = serde_json::to_string(&quota).unwrap();
        assert_eq!(
            text,
            r#"{"max_vus":3,"max_duration":"2h","allow_runners":false}"#
        );
        assert_eq!(serde_json::from_str::<Quota>(&text).unwrap(), quota);
    }
}
