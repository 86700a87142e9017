//! Load models: how many virtual users run, or how fast iterations start,
//! over the course of a run.
//!
//! Closed models fix the number of VUs (each loops: an iteration, then the
//! next), so the load the target sees slows when it slows. Open models fix
//! the arrival rate of iterations whatever the target does, which is what
//! real traffic looks like and what keeps latency measurements honest.
//! Funkload-style cycles run a series of closed plateaus of rising
//! concurrency, one measurement window per level, for a capacity curve.
//!
//! This module only describes the schedule: target VUs or rate at time `t`,
//! arrival times, cycle windows, a segment's share. Running it is the
//! engine's job.

use crate::limits::{MAX_RATE, MAX_VUS};
use std::time::Duration;

use crate::segment::Segment;

/// A segment of a ramp: move linearly to `target` over `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Stage {
    pub duration: Duration,
    /// VUs (a whole number) for a VU ramp; iterations per second for a rate ramp.
    pub target: f64,
}

/// Funkload-style cycles.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cycles {
    /// The concurrency of each cycle, in order.
    pub levels: Vec<u32>,
    /// How long each level is held once all its VUs have started.
    pub cycle_duration: Duration,
    /// Pause between starting two VUs of a cycle.
    pub startup_delay: Duration,
    /// Pause with no VU running between cycles.
    pub pause: Duration,
}

/// The time window of one cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CycleWindow {
    pub index: usize,
    pub level: u32,
    /// The first VU starts.
    pub start: Duration,
    /// The last VU has started: the measurement window begins.
    pub steady: Duration,
    /// The cycle's VUs stop: the measurement window ends.
    pub end: Duration,
}

/// The VU pool an open model may use unless told otherwise.
pub(crate) const DEFAULT_MAX_VUS: u32 = 1000;

/// How an open model spaces its arrivals (`load: { arrivals: … }`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Arrivals {
    /// One every `1 / rate`: the default.
    #[default]
    Even,
    /// Exponential gaps of mean `1 / rate`, as independent users arrive
    /// (see `crate::arrivals`).
    Poisson,
}

impl Arrivals {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Arrivals::Even => "even",
            Arrivals::Poisson => "poisson",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LoadModel {
    /// `vus` VUs looping until `duration` has passed or `iterations`
    /// (shared by all VUs) have completed, whichever comes first; at least
    /// one of the two is set.
    Vus {
        vus: u32,
        duration: Option<Duration>,
        iterations: Option<u64>,
    },
    /// VUs ramped linearly from `start` through each stage's target.
    RampingVus {
        start: u32,
        stages: Vec<Stage>,
    },
    /// Iterations started at `rate` per second for `duration`, using up
    /// to `max_vus` VUs at once.
    Rate {
        rate: f64,
        duration: Duration,
        max_vus: u32,
    },
    /// An arrival rate ramped linearly from `start` through each stage's target.
    RampingRate {
        start: f64,
        stages: Vec<Stage>,
        max_vus: u32,
    },
    Cycles(Cycles),
}

/// Command-line overrides (`--vus --duration --rate --iterations`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Overrides {
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub rate: Option<f64>,
    pub iterations: Option<u64>,
}

impl LoadModel {
    /// The load of a file without `load:` (and of a runner journey): one iteration per VU, or
    /// with `--duration`, as many as fit.
    pub(crate) fn quick_try(overrides: &Overrides) -> LoadModel {
        LoadModel::Vus {
            vus: 1,
            duration: None,
            iterations: overrides
                .duration
                .is_none()
                .then_some(u64::from(overrides.vus.unwrap_or(1))),
        }
    }

    /// Whether iterations arrive at a rate (open) rather than loop (closed).
    pub(crate) fn is_open(&self) -> bool {
        matches!(self, LoadModel::Rate { .. } | LoadModel::RampingRate { .. })
    }

    /// The planned length of the run; `None` when it ends by iteration count.
    pub(crate) fn duration(&self) -> Option<Duration> {
        match self {
            LoadModel::Vus { duration, .. } => *duration,
            LoadModel::Rate { duration, .. } => Some(*duration),
            LoadModel::RampingVus { stages, .. } | LoadModel::RampingRate { stages, .. } => {
                Some(stages.iter().map(|s| s.duration).sum())
            }
            LoadModel::Cycles(c) => Some(c.windows().last().map_or(Duration::ZERO, |w| w.end)),
        }
    }

    /// The most VUs the model runs at once.
    pub(crate) fn max_vus(&self) -> u32 {
        match self {
            LoadModel::Vus { vus, .. } => *vus,
            LoadModel::RampingVus { start, stages } => stages
                .iter()
                .map(|s| s.target.round() as u32)
                .fold(*start, u32::max),
            LoadModel::Rate { max_vus, .. } | LoadModel::RampingRate { max_vus, .. } => *max_vus,
            LoadModel::Cycles(c) => c.levels.iter().copied().max().unwrap_or(0),
        }
    }

    /// Target VUs at time `t` of a closed model (`None` for open models).
    /// Ramps are linear between stage targets, rounded to whole VUs.
    pub(crate) fn vus_at(&self, t: Duration) -> Option<u32> {
        match self {
            LoadModel::Vus { vus, .. } => Some(*vus),
            LoadModel::RampingVus { start, stages } => {
                Some(ramp_at(f64::from(*start), stages, t).round() as u32)
            }
            LoadModel::Cycles(c) => Some(c.vus_at(t)),
            LoadModel::Rate { .. } | LoadModel::RampingRate { .. } => None,
        }
    }

    /// Target arrival rate (iterations per second) at time `t` of an open
    /// model (`None` for closed models); 0 once the run is over.
    pub(crate) fn rate_at(&self, t: Duration) -> Option<f64> {
        match self {
            LoadModel::Rate { rate, duration, .. } => Some(if t < *duration { *rate } else { 0.0 }),
            LoadModel::RampingRate { start, stages, .. } => {
                let total: Duration = stages.iter().map(|s| s.duration).sum();
                Some(if t < total {
                    ramp_at(*start, stages, t)
                } else {
                    0.0
                })
            }
            _ => None,
        }
    }

    /// Iterations that should have started by time `t` in an open model:
    /// the integral of the rate.
    pub(crate) fn arrivals_by(&self, t: Duration) -> Option<f64> {
        let (start, stages) = self.rate_pieces()?;
        let mut total = 0.0;
        let mut from = start;
        let mut elapsed = Duration::ZERO;
        for s in &stages {
            let d = s.duration.as_secs_f64();
            if t <= elapsed {
                break;
            }
            let within = (t - elapsed).as_secs_f64().min(d);
            let end_rate = if d > 0.0 {
                from + (s.target - from) * within / d
            } else {
                s.target
            };
            total += (from + end_rate) / 2.0 * within;
            elapsed += s.duration;
            from = s.target;
        }
        Some(total)
    }

    /// When iteration `n` (0-based) of an open model should start: the
    /// moment [`LoadModel::arrivals_by`] reaches `n`. `None` when the run
    /// ends before, or for closed models. A constant rate of 10/s for 1 s
    /// starts iterations 0 to 9 at 0, 0.1, … 0.9 s.
    pub(crate) fn arrival_time(&self, n: u64) -> Option<Duration> {
        self.arrival_time_at(n as f64)
    }

    /// When [`LoadModel::arrivals_by`] reaches `position`, which need not be
    /// a whole number (Poisson arrivals put slots between them).
    pub(crate) fn arrival_time_at(&self, position: f64) -> Option<Duration> {
        let (start, stages) = self.rate_pieces()?;
        let mut remaining = position;
        let mut elapsed = 0.0f64;
        let mut from = start;
        for s in &stages {
            let d = s.duration.as_secs_f64();
            let area = (from + s.target) / 2.0 * d;
            // A slot exactly at a stage's end belongs to the next stage; the
            // tolerance, relative to the area, absorbs rounding without
            // passing over a stage whose whole area is tiny (1e-10/s for 1 s
            // still starts its first iteration at 0).
            let tolerance = area.abs() * 4.0 * f64::EPSILON;
            if remaining < area - tolerance {
                // Solve from·τ + k·τ²/2 = remaining, with k the slope.
                let k = if d > 0.0 { (s.target - from) / d } else { 0.0 };
                let tau = if k.abs() < 1e-12 {
                    remaining / from
                } else {
                    (-from + from.mul_add(from, 2.0 * k * remaining).max(0.0).sqrt()) / k
                };
                return Duration::try_from_secs_f64((elapsed + tau.clamp(0.0, d)).max(0.0)).ok();
            }
            remaining -= area;
            elapsed += d;
            from = s.target;
        }
        None
    }

    /// The rate as a start value and linear stages (a constant rate is one stage).
    fn rate_pieces(&self) -> Option<(f64, Vec<Stage>)> {
        match self {
            LoadModel::Rate { rate, duration, .. } => Some((
                *rate,
                vec![Stage {
                    duration: *duration,
                    target: *rate,
                }],
            )),
            LoadModel::RampingRate { start, stages, .. } => Some((*start, stages.clone())),
            _ => None,
        }
    }

    /// The cycle windows of a cycles model (empty for the others).
    pub(crate) fn cycle_windows(&self) -> Vec<CycleWindow> {
        match self {
            LoadModel::Cycles(c) => c.windows(),
            _ => Vec::new(),
        }
    }

    /// This segment's share of the load: of the VUs (and an open model's
    /// pool of them), the iterations. Shares of whole numbers add up exactly
    /// over all segments. An open model's rate is not divided: the segment
    /// starts its share of the whole model's arrivals (every `n`-th, see
    /// [`Segment::slot`]), so its rate is still the whole model's.
    pub(crate) fn segment(&self, s: Segment) -> LoadModel {
        let vus = |n: u32| s.share(u64::from(n)) as u32;
        let pool = |n: u32| vus(n).max(1);
        let stage_vus = |st: &Stage| Stage {
            duration: st.duration,
            target: s.share(st.target.round().max(0.0) as u64) as f64,
        };
        match self {
            LoadModel::Vus {
                vus: n,
                duration,
                iterations,
            } => LoadModel::Vus {
                vus: vus(*n),
                duration: *duration,
                iterations: iterations.map(|i| s.share(i)),
            },
            LoadModel::RampingVus { start, stages } => LoadModel::RampingVus {
                start: vus(*start),
                stages: stages.iter().map(stage_vus).collect(),
            },
            LoadModel::Rate {
                rate,
                duration,
                max_vus,
            } => LoadModel::Rate {
                rate: *rate,
                duration: *duration,
                max_vus: pool(*max_vus),
            },
            LoadModel::RampingRate {
                start,
                stages,
                max_vus,
            } => LoadModel::RampingRate {
                start: *start,
                stages: stages.clone(),
                max_vus: pool(*max_vus),
            },
            LoadModel::Cycles(c) => LoadModel::Cycles(Cycles {
                levels: c.levels.iter().map(|&l| vus(l)).collect(),
                ..c.clone()
            }),
        }
    }

    /// Applies command-line overrides, as k6 does: `--rate` makes the run
    /// a constant-rate open model, `--vus` (without `--rate`) a constant-VU
    /// closed one, each keeping the file's duration unless `--duration`
    /// replaces it; `--duration` and `--iterations` alone adjust a
    /// constant model's end. Fails when the result would be incomplete.
    pub(crate) fn apply(&mut self, o: &Overrides) -> Result<(), OverrideError> {
        if o.vus == Some(0) {
            return Err(OverrideError::ZeroVus);
        }
        if let Some(vus) = o.vus.filter(|&v| v > MAX_VUS) {
            return Err(OverrideError::TooManyVus(vus));
        }
        if o.iterations == Some(0) {
            return Err(OverrideError::ZeroIterations);
        }
        if o.rate.is_some_and(|r| r > MAX_RATE) {
            return Err(OverrideError::RateTooHigh);
        }
        if let Some(rate) = o.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(OverrideError::RateNotPositive);
            }
            let duration = o
                .duration
                .or_else(|| self.duration())
                .ok_or(OverrideError::RateWithoutDuration)?;
            let max_vus = o.vus.unwrap_or(match self {
                LoadModel::Rate { max_vus, .. } | LoadModel::RampingRate { max_vus, .. } => {
                    *max_vus
                }
                _ => DEFAULT_MAX_VUS,
            });
            *self = LoadModel::Rate {
                rate,
                duration,
                max_vus,
            };
            return Ok(());
        }
        if o.vus.is_none() && o.iterations.is_none() && o.duration.is_none() {
            return Ok(());
        }
        let vus = match (o.vus, &*self) {
            (Some(v), _) => v,
            (None, LoadModel::Vus { vus, .. }) => *vus,
            (None, m) if o.iterations.is_some() => {
                if m.is_open() {
                    1
                } else {
                    m.max_vus().max(1)
                }
            }
            (None, _) => {
                return Err(OverrideError::DurationAlone);
            }
        };
        let (old_duration, old_iterations) = match &*self {
            LoadModel::Vus {
                duration,
                iterations,
                ..
            } => (*duration, *iterations),
            other => (other.duration(), None),
        };
        let (duration, iterations) = match (o.duration, o.iterations) {
            (None, None) => (old_duration, old_iterations),
            (Some(d), None) => (Some(d), old_iterations),
            (d, Some(i)) => (d, Some(i)),
        };
        if duration.is_none() && iterations.is_none() {
            return Err(OverrideError::VusWithoutEnd);
        }
        *self = LoadModel::Vus {
            vus,
            duration,
            iterations,
        };
        Ok(())
    }
}

/// Why command-line overrides cannot apply to a load model. The messages
/// name the flags, as the user wrote them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OverrideError {
    /// `--vus 0`.
    #[error("--vus must be at least 1")]
    ZeroVus,
    /// `--iterations 0`.
    #[error("--iterations must be at least 1")]
    ZeroIterations,
    /// `--rate` zero, negative or not finite.
    #[error("--rate must be more than 0")]
    RateNotPositive,
    /// `--rate` on a model without a duration, and no `--duration`.
    #[error("--rate needs --duration: this load model has none")]
    RateWithoutDuration,
    /// `--duration` alone on a model it cannot simply shorten or lengthen.
    #[error(
        "--duration alone cannot change a staged, rate or cycles load model; add --vus or --rate"
    )]
    DurationAlone,
    /// `--vus` above [`MAX_VUS`], the limit a file has too.
    #[error("--vus must be at most {MAX_VUS}, found {0} (the most VUs one pummel process runs)")]
    TooManyVus(u32),
    /// `--rate` above [`MAX_RATE`], the limit a file has too.
    #[error(
        "--rate must be at most {MAX_RATE} per second (the highest rate one pummel process runs)"
    )]
    RateTooHigh,
    /// `--vus` would give a constant-VU model with no end.
    #[error("--vus needs --duration or --iterations: this load model has neither")]
    VusWithoutEnd,
    /// Load flags when every scenario has its own `load:`: they change
    /// only the top-level model, which no scenario would run under.
    #[error(
        "{0} would change the top-level load model, which no scenario runs under: every scenario has its own `load:` (change those, or leave `load:` out of a scenario for it to share the top-level one)"
    )]
    UnusedTopLevelLoad(String),
}

impl Cycles {
    /// The windows of every cycle, in order.
    pub(crate) fn windows(&self) -> Vec<CycleWindow> {
        // Saturating: absurd inputs give absurd times, never a panic.
        let mut start = Duration::ZERO;
        let mut out = Vec::with_capacity(self.levels.len());
        for (index, &level) in self.levels.iter().enumerate() {
            let steady =
                start.saturating_add(self.startup_delay.saturating_mul(level.saturating_sub(1)));
            let end = steady.saturating_add(self.cycle_duration);
            out.push(CycleWindow {
                index,
                level,
                start,
                steady,
                end,
            });
            start = end.saturating_add(self.pause);
        }
        out
    }

    /// VUs running at `t`: rising by one every `startup_delay` from the
    /// cycle's start, the level until its end, none during pauses.
    pub(crate) fn vus_at(&self, t: Duration) -> u32 {
        for w in self.windows() {
            if t < w.start {
                return 0;
            }
            if t < w.end {
                if t >= w.steady || self.startup_delay.is_zero() {
                    return w.level;
                }
                let started =
                    ((t - w.start).as_secs_f64() / self.startup_delay.as_secs_f64()) as u32 + 1;
                return started.min(w.level);
            }
        }
        0
    }
}

/// The value of a linear ramp at `t`; the last target after the end.
fn ramp_at(start: f64, stages: &[Stage], t: Duration) -> f64 {
    let mut from = start;
    let mut elapsed = Duration::ZERO;
    for s in stages {
        if t < elapsed + s.duration {
            let f = (t - elapsed).as_secs_f64() / s.duration.as_secs_f64();
            return (s.target - from).mul_add(f, from);
        }
        elapsed += s.duration;
        from = s.target;
    }
    from
}

#[cfg(test)]
mod tests;
