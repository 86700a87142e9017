//! `load`: the load model (VUs, stages, arrival rate, cycles) and its stages.

use super::decoder::{Decoder, Fields};
use crate::limits::{MAX_RATE, MAX_VUS};
use crate::scenario::load_model::{Cycles, LoadModel, Stage, DEFAULT_MAX_VUS};
use crate::scenario::yaml::Node;

impl Decoder<'_> {
    pub(super) fn decode_load(&mut self, node: &Node) -> Option<LoadModel> {
        const KEYS: [&str; 14] = [
            "vus",
            "duration",
            "iterations",
            "stages",
            "start_vus",
            "rate",
            "rate_stages",
            "start_rate",
            "max_vus",
            "cycles",
            "cycle_duration",
            "startup_delay",
            "cycle_pause",
            "arrivals",
        ];
        const KINDS: [&str; 5] = ["vus", "stages", "rate", "rate_stages", "cycles"];
        let f = self.fields(node, "`load`", &KEYS)?;
        let kinds: Vec<&str> = KINDS.iter().copied().filter(|k| f.has(k)).collect();
        let Some(&kind) = kinds.first() else {
            self.missing(
                &f,
                f.span,
                "`load` needs one of `vus`, `stages`, `rate`, `rate_stages` or `cycles`",
            );
            return None;
        };
        for other in &kinds[1..] {
            self.err(
                f.key_span(other),
                format!("`{other}` conflicts with `{kind}`: a load model is one of vus, stages, rate, rate_stages or cycles"),
            );
        }
        let allowed: &[&str] = match kind {
            "vus" => &["vus", "duration", "iterations"],
            "stages" => &["stages", "start_vus"],
            "rate" => &["rate", "duration", "max_vus", "arrivals"],
            "rate_stages" => &["rate_stages", "start_rate", "max_vus", "arrivals"],
            _ => &["cycles", "cycle_duration", "startup_delay", "cycle_pause"],
        };
        for (key, k, _) in &f.entries {
            if !allowed.contains(key) && !KINDS.contains(key) {
                self.err(
                    k.span,
                    format!(
                        "`{key}` does not apply to a `{kind}` load model (it takes {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        match kind {
            "vus" => self.vus_model(&f),
            "stages" => self.ramping_vus_model(&f),
            "rate" => self.rate_model(&f),
            "rate_stages" => self.ramping_rate_model(&f),
            _ => self.cycles_model(&f),
        }
    }

    /// `vus`: a fixed number of VUs, for a duration, a number of iterations or both.
    fn vus_model(&mut self, f: &Fields<'_>) -> Option<LoadModel> {
        let vus = f
            .get("vus")
            .and_then(|n| self.int(n, "`vus`", 1, i64::from(MAX_VUS)));
        let duration = f
            .get("duration")
            .and_then(|n| self.positive_duration(n, "`duration`"));
        let iterations = f
            .get("iterations")
            .and_then(|n| self.int(n, "`iterations`", 1, i64::MAX))
            .map(|n| n as u64);
        if !f.has("duration") && !f.has("iterations") {
            self.missing(f, f.key_span("vus"), "`vus` needs `duration` or `iterations` (or both: whichever comes first ends the run)");
            return None;
        }
        Some(LoadModel::Vus {
            vus: vus? as u32,
            duration,
            iterations,
        })
    }

    /// `stages`: VUs ramped from `start_vus` through each stage's target.
    fn ramping_vus_model(&mut self, f: &Fields<'_>) -> Option<LoadModel> {
        let stages = f
            .get("stages")
            .and_then(|n| self.decode_stages(n, "`stages`", true));
        let start = f
            .get("start_vus")
            .and_then(|n| self.int(n, "`start_vus`", 0, i64::from(MAX_VUS)))
            .unwrap_or(0) as u32;
        let stages =
            self.never_above_zero(f, "stages", stages, start == 0, "VUs: no user would start")?;
        Some(LoadModel::RampingVus { start, stages })
    }

    /// `rate`: a constant arrival rate, for a duration.
    fn rate_model(&mut self, f: &Fields<'_>) -> Option<LoadModel> {
        let rate = f
            .get("rate")
            .and_then(|n| self.rate(n, "`rate`", f64::MIN_POSITIVE));
        let duration = match f.get("duration") {
            Some(n) => self.positive_duration(n, "`duration`"),
            None => {
                self.missing(f, f.key_span("rate"), "`rate` needs `duration`");
                None
            }
        };
        let max_vus = self.max_vus_key(f);
        Some(LoadModel::Rate {
            rate: rate?,
            duration: duration?,
            max_vus,
        })
    }

    /// `rate_stages`: an arrival rate ramped from `start_rate` through each stage.
    fn ramping_rate_model(&mut self, f: &Fields<'_>) -> Option<LoadModel> {
        let stages = f
            .get("rate_stages")
            .and_then(|n| self.decode_stages(n, "`rate_stages`", false));
        let start = f
            .get("start_rate")
            .and_then(|n| self.rate(n, "`start_rate`", 0.0))
            .unwrap_or(0.0);
        let max_vus = self.max_vus_key(f);
        let stages = self.never_above_zero(
            f,
            "rate_stages",
            stages,
            start == 0.0,
            "per second: no iteration would start",
        )?;
        Some(LoadModel::RampingRate {
            start,
            stages,
            max_vus,
        })
    }

    /// Ramped stages that start at zero and never leave it would run their
    /// whole time sending nothing and pass: refused, at the stages.
    fn never_above_zero(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        stages: Option<Vec<Stage>>,
        starts_at_zero: bool,
        nothing: &str,
    ) -> Option<Vec<Stage>> {
        let stages = stages?;
        if starts_at_zero && stages.iter().all(|s| s.target == 0.0) {
            self.err(
                f.get(key)?.span,
                format!("`{key}` never rise above 0 {nothing}; give a stage a `target` above 0"),
            );
            return None;
        }
        Some(stages)
    }

    /// `cycles`: a series of constant-VU cycles, each with its own VU count.
    fn cycles_model(&mut self, f: &Fields<'_>) -> Option<LoadModel> {
        let levels_node = f.get("cycles")?;
        let items = self.seq(levels_node, "`cycles`");
        // Only a list with no items is empty: `[0]` has an item, whose own
        // error (below the least VU count) says what is wrong with it.
        let written = items.as_ref().map(|items| items.len());
        let levels: Option<Vec<u32>> = items.map(|items| {
            items
                .iter()
                .filter_map(|n| {
                    self.int(n, "a cycle's VU count", 1, i64::from(MAX_VUS))
                        .map(|n| n as u32)
                })
                .collect()
        });
        if written == Some(0) {
            self.err(
                levels_node.span,
                "`cycles` is empty: list the VU count of each cycle, e.g. [10, 20, 40]",
            );
        }
        let cycle_duration = match f.get("cycle_duration") {
            Some(n) => self.positive_duration(n, "`cycle_duration`"),
            None => {
                self.missing(f, f.key_span("cycles"), "`cycles` needs `cycle_duration`");
                None
            }
        };
        let startup_delay = f
            .get("startup_delay")
            .and_then(|n| self.duration(n, "`startup_delay`"))
            .unwrap_or_default();
        let pause = f
            .get("cycle_pause")
            .and_then(|n| self.duration(n, "`cycle_pause`"))
            .unwrap_or_default();
        let levels = levels.filter(|l| !l.is_empty())?;
        Some(LoadModel::Cycles(Cycles {
            levels,
            cycle_duration: cycle_duration?,
            startup_delay,
            pause,
        }))
    }

    /// An arrival rate: a number from `min` up to [`MAX_RATE`]; with a
    /// `min` above 0, any number more than 0.
    fn rate(&mut self, node: &Node, what: &str, min: f64) -> Option<f64> {
        let rate = if min > 0.0 {
            self.positive_number(node, what)?
        } else {
            self.number(node, what, min)?
        };
        if rate > MAX_RATE {
            self.err(
                node.span,
                format!("{what} must be at most {MAX_RATE} per second (the highest rate one pummel process runs), found {rate}"),
            );
            return None;
        }
        Some(rate)
    }

    /// `max_vus` of an arrival-rate model, or the default.
    fn max_vus_key(&mut self, f: &Fields<'_>) -> u32 {
        f.get("max_vus")
            .and_then(|n| self.int(n, "`max_vus`", 1, i64::from(MAX_VUS)))
            .map_or(DEFAULT_MAX_VUS, |n| n as u32)
    }

    fn decode_stages(&mut self, node: &Node, what: &str, whole: bool) -> Option<Vec<Stage>> {
        let items = self.seq(node, what)?;
        if items.is_empty() {
            self.err(
                node.span,
                format!("{what} is empty: list stages like {{ duration: 30s, target: 10 }}"),
            );
            return None;
        }
        let mut stages = Vec::new();
        let mut ok = true;
        for item in items {
            let Some(f) = self.fields(item, "a stage", &["duration", "target"]) else {
                ok = false;
                continue;
            };
            let duration = match f.get("duration") {
                Some(n) => self.duration(n, "`duration`"),
                None => {
                    self.missing(&f, f.span, "a stage needs `duration`");
                    None
                }
            };
            let target = match f.get("target") {
                Some(n) if whole => self
                    .int(n, "`target`", 0, i64::from(MAX_VUS))
                    .map(|t| t as f64),
                Some(n) => self.rate(n, "`target`", 0.0),
                None => {
                    self.missing(&f, f.span, "a stage needs `target`");
                    None
                }
            };
            match (duration, target) {
                (Some(duration), Some(target)) => stages.push(Stage { duration, target }),
                _ => ok = false,
            }
        }
        if ok && stages.iter().all(|s| s.duration.is_zero()) {
            self.err(
                node.span,
                format!("{what} last no time at all: give a stage a duration"),
            );
            return None;
        }
        ok.then_some(stages)
    }
}
