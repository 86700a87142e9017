//! What a notification says: the run's verdict, key figures, thresholds
//! and links — one JSON document, the webhook's body and the email's
//! source.

use serde::Serialize;
use serde_json::Value;

use crate::store::repos::RepoRunRow;
use crate::store::RunRow;

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) event: &'static str,
    pub(crate) run: String,
    pub(crate) owner: String,
    /// `passed`, `failed` (thresholds), `error`, `cancelled` or
    /// `interrupted`.
    pub(crate) verdict: &'static str,
    pub(crate) state: String,
    pub(crate) exit_code: Option<i32>,
    pub(crate) message: Option<String>,
    pub(crate) repository: Option<Origin>,
    pub(crate) figures: Figures,
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) links: Option<Links>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Origin {
    pub(crate) name: String,
    pub(crate) test: String,
    pub(crate) commit: Option<String>,
    pub(crate) trigger: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Figures {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) rps: f64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p95_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) duration_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Threshold {
    pub(crate) condition: String,
    pub(crate) scope: String,
    pub(crate) observed: Value,
    pub(crate) passed: bool,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Links {
    pub(crate) run: String,
    pub(crate) report: String,
    pub(crate) result: String,
}

/// The exit code of a run whose thresholds failed.
const EXIT_THRESHOLDS: i32 = 99;

impl Summary {
    pub(crate) fn of(
        run: &RunRow,
        origin: Option<&RepoRunRow>,
        public_url: Option<&str>,
    ) -> Summary {
        let verdict = match (run.state.as_str(), run.exit_code) {
            ("finished", Some(0)) => "passed",
            ("finished", Some(EXIT_THRESHOLDS)) => "failed",
            ("stopped", _) => "cancelled",
            ("interrupted", _) => "interrupted",
            _ => "error",
        };
        let result: Value = run
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        let errors = result["errors"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        let figures = Figures {
            requests: result["requests"].as_u64().unwrap_or(0),
            errors,
            rps: result["rps"].as_f64().unwrap_or(0.0),
            p50_ms: result["latency_ms"]["p50"].as_f64(),
            p95_ms: result["latency_ms"]["p95"].as_f64(),
            p99_ms: result["latency_ms"]["p99"].as_f64(),
            duration_s: result["duration_s"].as_f64(),
        };
        let thresholds = result["thresholds"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|t| Threshold {
                        condition: t["condition"].as_str().unwrap_or_default().to_owned(),
                        scope: t["scope"].as_str().unwrap_or_default().to_owned(),
                        observed: t["observed"].clone(),
                        passed: t["passed"].as_bool().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let links = public_url.map(|base| Links {
            run: format!("{base}/runs/{}", run.id),
            report: format!("{base}/runs/{}/report", run.id),
            result: format!("{base}/v1/runs/{}/result", run.id),
        });
        Summary {
            event: "run.finished",
            run: run.id.clone(),
            owner: run.owner.clone(),
            verdict,
            state: run.state.clone(),
            exit_code: run.exit_code,
            message: run.message.clone(),
            repository: origin.map(|o| Origin {
                name: o.repository.clone(),
                test: o.test.clone(),
                commit: o.commit_id.clone(),
                trigger: o.trigger.clone(),
            }),
            figures,
            thresholds,
            links,
        }
    }

    /// A one-line subject: `[pummel] PASSED run r-12 (web/smoke)`.
    pub(crate) fn subject(&self) -> String {
        let what = self
            .repository
            .as_ref()
            .map(|o| format!(" ({}/{})", o.name, o.test))
            .unwrap_or_default();
        format!(
            "[pummel] {} run {}{what}",
            self.verdict.to_uppercase(),
            self.run
        )
    }

    /// The email's text.
    pub(crate) fn text(&self) -> String {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
        let mut out = format!("Run {} {}", self.run, self.verdict);
        if let Some(o) = &self.repository {
            out.push_str(&format!(
                " — test {} of repository {} at {} ({})",
                o.test,
                o.name,
                o.commit.as_deref().map_or("?", |c| &c[..c.len().min(12)]),
                o.trigger
            ));
        }
        out.push_str(&format!(
            ".\nState: {} (exit code {})\n",
            self.state,
            self.exit_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string())
        ));
        if let Some(m) = &self.message {
            out.push_str(&format!("Message: {m}\n"));
        }
        let f = &self.figures;
        out.push_str(&format!(
            "\nRequests: {}  errors: {}  rate: {:.1}/s\nLatency: p50 {}  p95 {}  p99 {}\n",
            f.requests,
            f.errors,
            f.rps,
            ms(f.p50_ms),
            ms(f.p95_ms),
            ms(f.p99_ms)
        ));
        if !self.thresholds.is_empty() {
            out.push_str("\nThresholds:\n");
            for t in &self.thresholds {
                out.push_str(&format!(
                    "  {} {} [{}] observed {}\n",
                    if t.passed { "PASS" } else { "FAIL" },
                    t.condition,
                    t.scope,
                    t.observed
                ));
            }
        }
        if let Some(l) = &self.links {
            out.push_str(&format!("\nRun: {}\nReport: {}\n", l.run, l.report));
        }
        out
    }
}
