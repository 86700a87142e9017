//! What the caller chooses about a target server.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How to run a [`Target`](crate::Target).
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// Address to listen on. Port 0 lets the OS pick a free port; read it back with
    /// [`Target::local_addr`](crate::Target::local_addr).
    pub addr: SocketAddr,
    /// Worker threads of the runtime [`serve_blocking`](crate::serve_blocking) builds (`None` or 0:
    /// one per core). [`Target::start`](crate::Target::start) ignores it: it runs on the caller's
    /// runtime, whose size the caller has already chosen.
    pub threads: Option<usize>,
    /// An automatic pause of the whole server, to test how a load generator reports a target that
    /// freezes (coordinated omission, timeouts). `None`: never pause on its own.
    pub stall: Option<StallPlan>,
    /// Ownership challenges to answer: `GET /.well-known/pummel-challenge/{id}` returns the token
    /// given for `id`, as a host proving itself to a shared pummel server does.
    pub challenges: Vec<(String, String)>,
}

impl Default for TargetConfig {
    /// Loopback, OS-chosen port, default threads, no stall: what tests want.
    fn default() -> Self {
        TargetConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            threads: None,
            stall: None,
            challenges: Vec::new(),
        }
    }
}

/// A single scheduled pause of the whole server.
///
/// `after` the first request the server receives, every request in flight or arriving during the
/// next `duration` is held until the pause ends, exactly as a `GET /stall/{duration}` sent at that
/// moment would do. It fires once per server. Anchoring on the first request (not on start-up) makes
/// the pause land inside the load test whatever the delay between starting the target and the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallPlan {
    /// Time from the first request to the start of the pause.
    pub after: Duration,
    /// How long the pause lasts.
    pub duration: Duration,
}
