//! `pummel demo`: a real bench against the built-in target, nothing to install.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use pummel_core::bench::BenchPlan;
use pummel_core::http::{Bytes, Method};
use pummel_core::http::{RequestSpec, TargetUrl};
use pummel_target::{Target, TargetConfig};

use crate::cli::DemoArgs;
use crate::exit::Failure;
use crate::output::destinations;

pub(super) fn run(args: &DemoArgs) -> Result<i32, Failure> {
    let outputs = destinations::Destinations::for_result(&args.output)?;
    // The target gets its own runtime (one thread: the bench takes the rest).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the demo target: {e}")))?;
    let target = runtime
        .block_on(Target::start(TargetConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            threads: Some(1),
            stall: None,
            challenges: Vec::new(),
        }))
        .map_err(|e| Failure::runtime(format!("cannot start the demo target: {e}")))?;
    let url = format!("http://{}/", target.local_addr());
    let url = TargetUrl::parse(&url)
        .map_err(|e| Failure::runtime(format!("the demo target's own URL: {e}")))?;
    let plan = BenchPlan {
        request: RequestSpec {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: Bytes::new(),
        },
        connections: args.connections,
        h2_streams: 1,
        requests: None,
        duration: Some(args.duration),
        rate: None,
        threads: super::resolve::threads(None).saturating_sub(1).max(1),
        timeout: Duration::from_secs(10),
        http2: false,
        insecure: false,
        websocket: None,
        connect_filter: None,
        proxy: None,
    };
    let stop = super::stop_on_interrupt();
    if outputs.has_summary() {
        // The banner goes with the text summary, not into JSON on stdout.
        destinations::print(&format!(
            "pummel demo: built-in target on {}, benchmarking it for {:?}\n\n",
            plan.request.url.absolute(),
            args.duration
        ))?;
    }
    let live = crate::output::live::Live::start(None, &args.output, Vec::new())?;
    let code = super::bench::execute(&plan, &stop, &outputs, live);
    runtime.block_on(target.shutdown());
    code
}
