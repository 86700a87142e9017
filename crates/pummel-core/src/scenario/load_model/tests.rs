//! Load models as the file and the command line give them: how each is read, overridden and
//! scheduled.

use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn stage(d: f64, target: f64) -> Stage {
    Stage {
        duration: secs(d),
        target,
    }
}

#[test]
fn ramping_vus_interpolate_linearly() {
    let m = LoadModel::RampingVus {
        start: 0,
        stages: vec![
            stage(10.0, 20.0),
            stage(10.0, 20.0),
            stage(0.0, 5.0),
            stage(5.0, 0.0),
        ],
    };
    assert_eq!(m.vus_at(secs(0.0)), Some(0));
    assert_eq!(m.vus_at(secs(5.0)), Some(10));
    assert_eq!(m.vus_at(secs(10.0)), Some(20));
    assert_eq!(m.vus_at(secs(15.0)), Some(20));
    assert_eq!(m.vus_at(secs(20.0)), Some(5)); // a zero-length stage jumps
    assert_eq!(m.vus_at(secs(22.5)), Some(3)); // 2.5 rounds up
    assert_eq!(m.vus_at(secs(99.0)), Some(0));
    assert_eq!(m.duration(), Some(secs(25.0)));
    assert_eq!(m.max_vus(), 20);
    assert!(!m.is_open() && m.rate_at(secs(1.0)).is_none());
}

#[test]
fn constant_rate_arrivals() {
    let m = LoadModel::Rate {
        rate: 10.0,
        duration: secs(1.0),
        max_vus: 5,
    };
    assert!(m.is_open());
    let times: Vec<Duration> = (0..).map_while(|n| m.arrival_time(n)).collect();
    assert_eq!(times.len(), 10);
    assert!((times[3].as_secs_f64() - 0.3).abs() < 1e-9);
    assert_eq!(m.rate_at(secs(0.5)), Some(10.0));
    assert_eq!(m.rate_at(secs(1.0)), Some(0.0));
    assert!((m.arrivals_by(secs(0.55)).unwrap() - 5.5).abs() < 1e-9);
    assert_eq!(m.vus_at(secs(0.0)), None);
}

#[test]
fn ramping_rate_arrivals_follow_the_integral() {
    // 0 → 10/s over 10 s (50 arrivals), then 10/s for 5 s (50 more).
    let m = LoadModel::RampingRate {
        start: 0.0,
        stages: vec![stage(10.0, 10.0), stage(5.0, 10.0)],
        max_vus: 100,
    };
    assert!((m.arrivals_by(secs(10.0)).unwrap() - 50.0).abs() < 1e-9);
    assert!((m.arrivals_by(secs(15.0)).unwrap() - 100.0).abs() < 1e-9);
    assert!((m.arrivals_by(secs(99.0)).unwrap() - 100.0).abs() < 1e-9);
    assert_eq!(m.rate_at(secs(5.0)), Some(5.0));
    // The 8th arrival: τ²/2 = 8 → τ = 4 s.
    assert!((m.arrival_time(8).unwrap().as_secs_f64() - 4.0).abs() < 1e-6);
    assert!((m.arrival_time(75).unwrap().as_secs_f64() - 12.5).abs() < 1e-6);
    assert_eq!(m.arrival_time(100), None);
    let all: Vec<Duration> = (0..).map_while(|n| m.arrival_time(n)).collect();
    assert_eq!(all.len(), 100);
    assert!(all.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn cycles_schedule() {
    let c = Cycles {
        levels: vec![2, 4],
        cycle_duration: secs(10.0),
        startup_delay: secs(0.5),
        pause: secs(2.0),
    };
    let w = c.windows();
    assert_eq!(
        w[0],
        CycleWindow {
            index: 0,
            level: 2,
            start: secs(0.0),
            steady: secs(0.5),
            end: secs(10.5)
        }
    );
    assert_eq!(
        w[1],
        CycleWindow {
            index: 1,
            level: 4,
            start: secs(12.5),
            steady: secs(14.0),
            end: secs(24.0)
        }
    );
    assert_eq!(c.vus_at(secs(0.1)), 1);
    assert_eq!(c.vus_at(secs(0.6)), 2);
    assert_eq!(c.vus_at(secs(11.0)), 0);
    assert_eq!(c.vus_at(secs(13.1)), 2);
    assert_eq!(c.vus_at(secs(20.0)), 4);
    assert_eq!(c.vus_at(secs(30.0)), 0);
    let m = LoadModel::Cycles(c);
    assert_eq!(m.duration(), Some(secs(24.0)));
    assert_eq!(m.max_vus(), 4);
    assert_eq!(m.cycle_windows().len(), 2);
}

#[test]
fn segments_share_the_load_exactly() {
    let m = LoadModel::Vus {
        vus: 10,
        duration: None,
        iterations: Some(101),
    };
    let parts: Vec<LoadModel> = Segment::all(3).map(|s| m.segment(s)).collect();
    let (vus, its): (u32, u64) = parts.iter().fold((0, 0), |(v, i), p| match p {
        LoadModel::Vus {
            vus, iterations, ..
        } => (v + vus, i + iterations.unwrap()),
        _ => unreachable!(),
    });
    assert_eq!((vus, its), (10, 101));
    let r = LoadModel::RampingRate {
        start: 3.0,
        stages: vec![stage(1.0, 9.0)],
        max_vus: 2,
    };
    let LoadModel::RampingRate {
        start,
        stages,
        max_vus,
    } = r.segment(Segment::new(2, 3))
    else {
        panic!()
    };
    // The rate is not divided (the segment takes every 3rd arrival); the pool is.
    assert_eq!((start, stages[0].target, max_vus), (3.0, 9.0, 1));
    let c = LoadModel::Cycles(Cycles {
        levels: vec![5, 10],
        cycle_duration: secs(1.0),
        startup_delay: Duration::ZERO,
        pause: Duration::ZERO,
    });
    let LoadModel::Cycles(c0) = c.segment(Segment::new(0, 2)) else {
        panic!()
    };
    assert_eq!(c0.levels, vec![3, 5]);
    let s = LoadModel::RampingVus {
        start: 1,
        stages: vec![stage(1.0, 7.0)],
    };
    let total: f64 = Segment::all(4)
        .map(|seg| match s.segment(seg) {
            LoadModel::RampingVus { stages, .. } => stages[0].target,
            _ => unreachable!(),
        })
        .sum();
    assert_eq!(total, 7.0);
}

#[test]
fn command_line_overrides_of_a_constant_model() {
    let file = LoadModel::Vus {
        vus: 20,
        duration: Some(secs(30.0)),
        iterations: None,
    };
    let mut m = file.clone();
    m.apply(&Overrides {
        vus: Some(5),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        m,
        LoadModel::Vus {
            vus: 5,
            duration: Some(secs(30.0)),
            iterations: None
        }
    );
    let mut m = file.clone();
    m.apply(&Overrides {
        iterations: Some(100),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        m,
        LoadModel::Vus {
            vus: 20,
            duration: None,
            iterations: Some(100)
        }
    );
    let mut m = file.clone();
    m.apply(&Overrides {
        rate: Some(50.0),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        m,
        LoadModel::Rate {
            rate: 50.0,
            duration: secs(30.0),
            max_vus: DEFAULT_MAX_VUS
        }
    );
}

#[test]
fn command_line_overrides_of_other_models_and_their_errors() {
    let mut m = LoadModel::RampingVus {
        start: 0,
        stages: vec![stage(10.0, 8.0)],
    };
    m.apply(&Overrides {
        vus: Some(3),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        m,
        LoadModel::Vus {
            vus: 3,
            duration: Some(secs(10.0)),
            iterations: None
        }
    );
    let mut m = LoadModel::RampingVus {
        start: 0,
        stages: vec![stage(10.0, 8.0)],
    };
    assert!(m
        .apply(&Overrides {
            duration: Some(secs(5.0)),
            ..Default::default()
        })
        .is_err());
    let mut m = LoadModel::Vus {
        vus: 2,
        duration: None,
        iterations: Some(10),
    };
    assert!(m
        .apply(&Overrides {
            rate: Some(5.0),
            ..Default::default()
        })
        .unwrap_err()
        .to_string()
        .contains("--duration"));
    m.apply(&Overrides {
        duration: Some(secs(3.0)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        m,
        LoadModel::Vus {
            vus: 2,
            duration: Some(secs(3.0)),
            iterations: Some(10)
        }
    );
    assert!(m
        .apply(&Overrides {
            vus: Some(0),
            ..Default::default()
        })
        .is_err());
    assert!(m
        .apply(&Overrides {
            rate: Some(f64::NAN),
            ..Default::default()
        })
        .is_err());
    let before = m.clone();
    m.apply(&Overrides::default()).unwrap();
    assert_eq!(m, before);
}
