//! A virtual user: its variables, cookie jar, connections and buffers, and
//! the execution of steps on its behalf. Rendering a step is `render`'s,
//! the WebSocket steps are `websocket`'s.

mod abort;
mod flow;
mod metric;
mod parallel;
mod render;
mod trace;
mod variables;
mod websocket;

use std::rc::Rc;
use std::time::{Instant, SystemTime};

pub(super) use abort::Abort;
pub use render::{RenderError, StepPart};

use super::in_flight::RequestInFlight;
use super::program::{Op, RequestOp};
use super::worker_state::WorkerState;
use crate::http::session::{CookieStore, FinalResponse, NoCookies, Session};
use crate::http::{failure_reason, TargetUrl};
use crate::scenario::check::{CheckKind, CheckOutcome, BODY_TRUNCATED};
use crate::scenario::cookie::CookieJar;
use crate::scenario::feeder::FeederError;
use crate::scenario::response::ResponseView;
use crate::ErrorKind;
use render::Buffers;
use variables::Variables;
use websocket::Sockets;

/// A virtual user: one journey at a time, with its own variables, cookies,
/// connections and sockets.
pub(super) struct Vu {
    /// The run-wide VU number.
    pub(super) id: u64,
    vars: Variables,
    /// Iterations aborted one after the other (closed-model backoff).
    pub(super) aborts_in_a_row: u32,
    jar: Option<CookieJar>,
    session: Session,
    /// The sessions of `parallel` batches' lanes beyond the first (which
    /// is `session`), kept for their connections; empty without batches.
    batch_sessions: Vec<Session>,
    sockets: Sockets,
    response: FinalResponse,
    buffers: Buffers,
    scratch: String,
    /// The last request sent, kept only under `--http-debug` until its
    /// checks have run.
    traced: Option<crate::http::session::Request>,
    /// Scenarios whose per-VU setup has run.
    pub(super) set_up: Vec<bool>,
}

/// A cookie jar seen as the session's cookie store.
struct Jar<'a>(&'a mut CookieJar);

impl CookieStore for Jar<'_> {
    fn cookie_header(&mut self, url: &TargetUrl) -> Option<String> {
        render::cookie_header(self.0, url)
    }
    fn store(&mut self, url: &TargetUrl, set_cookie: &[&str]) {
        self.0
            .store_all(url, set_cookie.iter().copied(), SystemTime::now());
    }
}

impl Vu {
    /// VU `index` of its worker, `id` across the run.
    pub(super) fn new(id: u64, index: usize, shared: &WorkerState) -> Vu {
        let plan = &shared.program.plan;
        Vu {
            id,
            vars: Variables::new(id, index, &shared.initial_vars, plan.feeders.len()),
            aborts_in_a_row: 0,
            jar: plan.defaults.cookies.then(CookieJar::new),
            session: Session::new(shared.connectors.clone()),
            batch_sessions: Vec::new(),
            sockets: Sockets::default(),
            response: FinalResponse::default(),
            buffers: Buffers::default(),
            scratch: String::new(),
            traced: None,
            set_up: vec![false; plan.scenarios.len()],
        }
    }

    /// Evaluates the plan's variables for this VU, in order.
    pub(super) fn init_variables(&mut self, shared: &WorkerState) -> Result<(), RenderError> {
        self.vars.init(&shared.program.plan)
    }

    /// Draws this iteration's feeder rows.
    pub(super) fn draw_rows(&mut self, shared: &WorkerState) -> Result<(), FeederError> {
        self.vars.draw_rows(&shared.feeders)
    }

    /// Counts a finished iteration (templates see the count).
    pub(super) fn iteration_done(&mut self) {
        self.vars.iteration += 1;
        self.vars.status = None;
    }

    /// The variables' values, for sharing the global setup's captures.
    pub(super) fn into_vars(self) -> Vec<Option<String>> {
        self.vars.into_values()
    }

    /// Drops the VU's connections and sockets (a VU that stops).
    pub(super) fn close(&mut self, shared: &WorkerState) {
        self.session.close();
        self.batch_sessions.clear();
        self.sockets.close_all(shared);
    }

    /// Runs steps in order. `first_scheduled` is the open-model scheduled
    /// start of the iteration: the first request's latency counts from it.
    pub(super) async fn run_ops(
        &mut self,
        shared: &Rc<WorkerState>,
        ops: &[Op],
        first_scheduled: &mut Option<Instant>,
    ) -> Result<(), Abort> {
        self.run_ops_inner(shared, ops, first_scheduled, true).await
    }

    /// Runs steps to the end even when the run is stopping: teardowns (most
    /// of which run then) and the global setup.
    pub(super) async fn run_ops_despite_stop(
        &mut self,
        shared: &Rc<WorkerState>,
        ops: &[Op],
    ) -> Result<(), Abort> {
        self.run_ops_inner(shared, ops, &mut None, false).await
    }

    async fn run_ops_inner(
        &mut self,
        shared: &Rc<WorkerState>,
        ops: &[Op],
        first_scheduled: &mut Option<Instant>,
        honour_stop: bool,
    ) -> Result<(), Abort> {
        for op in ops {
            if honour_stop && shared.stopping.get() {
                return Err(Abort::Stopping);
            }
            match op {
                Op::Request(request) => {
                    let outcome = self.request(shared, request, first_scheduled.take()).await;
                    flow::on_error(shared, request, outcome)?;
                    if let Some(think) = &request.think {
                        tokio::time::sleep(think.sample()).await;
                    }
                }
                Op::Parallel(batch) => {
                    Box::pin(self.run_parallel(shared, batch, first_scheduled.take())).await?;
                    if let Some(think) = &batch.think {
                        tokio::time::sleep(think.sample()).await;
                    }
                }
                Op::Think(think) => tokio::time::sleep(think.sample()).await,
                Op::Metric(metric) => self.feed_metric(shared, metric),
                Op::Group(ops) => {
                    Box::pin(self.run_ops_inner(shared, ops, first_scheduled, honour_stop)).await?
                }
                Op::Loop(l) => {
                    Box::pin(self.run_loop(shared, l, first_scheduled, honour_stop)).await?
                }
                Op::If(i) => Box::pin(self.run_if(shared, i, first_scheduled, honour_stop)).await?,
                Op::WebSocket(ws) => {
                    Box::pin(
                        self.sockets
                            .step(shared, ws, &mut self.vars, self.jar.as_mut()),
                    )
                    .await?
                }
            }
        }
        Ok(())
    }

    /// Sends a request step, again while its `retry` wants (each attempt a
    /// request in the metrics), then runs its checks and captures on the
    /// last attempt's response.
    async fn request(
        &mut self,
        shared: &WorkerState,
        op: &RequestOp,
        scheduled: Option<Instant>,
    ) -> Result<(), Abort> {
        let mut scheduled = scheduled;
        let mut attempt = 1u32;
        loop {
            let (sent, end, result) = self.attempt(shared, op, scheduled.take()).await?;
            if let Some(retry) = &op.step.flow.retry {
                let outcome = result.map(|()| self.response.status);
                if attempt < retry.attempts && retry.wants(outcome) && !shared.stopping.get() {
                    // Counted when decided: this attempt is not judged, the next one is
                    // (unless the run's end cuts the pause before it is sent).
                    if let Some(retries) = op.retries {
                        shared.recorder.borrow_mut().count(retries, 1, end);
                    }
                    tokio::time::sleep(retry.backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
            }
            if let Err(kind) = result {
                return Err(Abort::Iteration(format!(
                    "{}: {}",
                    op.step.url.source(),
                    failure_reason::describe(kind)
                )));
            }
            let (checked, failed_checks) = self.check_and_capture(shared, op, end - sent, end);
            if let (Some(debug), Some(request)) = (&shared.debug, self.traced.take()) {
                self.trace(debug, shared, op, &request, Ok(()), failed_checks);
            }
            return checked;
        }
    }

    /// One attempt at a request step: rendered, sent and recorded. Its
    /// send and end times and how it ended; `Err` when the step could not
    /// even be built (no attempt would fare better).
    async fn attempt(
        &mut self,
        shared: &WorkerState,
        op: &RequestOp,
        scheduled: Option<Instant>,
    ) -> Result<(Instant, Instant, Result<(), ErrorKind>), Abort> {
        let plan = &shared.program.plan;
        let request = match render::request(plan, &op.step, &self.vars, &mut self.buffers) {
            Ok(request) => request,
            Err(e) => return Err(Abort::Iteration(render_failure(shared, op, &e))),
        };
        let mut no_cookies = NoCookies;
        let cookies: &mut dyn CookieStore = match &mut self.jar {
            Some(jar) => &mut Jar(jar),
            None => &mut no_cookies,
        };
        let (sent, end, result) = send_and_record(
            shared,
            op,
            &request,
            &mut self.session,
            cookies,
            &mut self.response,
            scheduled,
        )
        .await;
        self.vars.status = Some(if result.is_ok() {
            self.response.status
        } else {
            0
        });
        if let Some(debug) = &shared.debug {
            // An attempt that failed is shown now (each one, when retried);
            // one that got a response once its checks have run.
            match result {
                Err(kind) => self.trace(debug, shared, op, &request, Err(kind), 0),
                Ok(()) => self.traced = Some(request),
            }
        }
        Ok((sent, end, result))
    }

    /// Hands the exchange to `--http-debug` (which decides whether to show it).
    fn trace(
        &self,
        debug: &super::HttpDebug,
        shared: &WorkerState,
        op: &RequestOp,
        request: &crate::http::session::Request,
        outcome: Result<(), ErrorKind>,
        failed_checks: u32,
    ) {
        let outcome = outcome.map(|()| &self.response);
        self.trace_exchange(debug, shared, op, request, outcome, failed_checks);
    }

    /// The same, for a response kept elsewhere (a batch's).
    fn trace_exchange(
        &self,
        debug: &super::HttpDebug,
        shared: &WorkerState,
        op: &RequestOp,
        request: &crate::http::session::Request,
        outcome: Result<&FinalResponse, ErrorKind>,
        failed_checks: u32,
    ) {
        trace::show(
            debug,
            &trace::Exchange {
                step: shared.program.layout.name(op.key),
                vu: self.vars.id,
                iteration: self.vars.iteration,
                request,
                outcome,
                failed_checks,
                every_iteration: shared.program.plan.in_order,
            },
        );
    }

    /// Checks, then captures (a check may read a variable a capture of the
    /// same step would overwrite; checks see the state before). Also says
    /// how many checks failed.
    fn check_and_capture(
        &mut self,
        shared: &WorkerState,
        op: &RequestOp,
        elapsed: std::time::Duration,
        end: Instant,
    ) -> (Result<(), Abort>, u32) {
        let view = ResponseView::new(
            self.response.status,
            &self.response.headers,
            &self.response.body,
            elapsed,
        )
        .truncated(self.response.body_truncated);
        let mut scratch = std::mem::take(&mut self.scratch);
        let failed = judge_checks(shared, op, &view, &self.vars, &mut scratch, end);
        let captured = capture(&mut self.vars, op, &view, &mut scratch);
        self.scratch = scratch;
        (captured, failed)
    }
}

/// Renders nothing: records a step that could not be built as a failed
/// request, not a silent abort (it must reach the error count, the error
/// rate and the thresholds like any other failure), and says why.
fn render_failure(shared: &WorkerState, op: &RequestOp, e: &RenderError) -> String {
    shared
        .recorder
        .borrow_mut()
        .stats(op.key, Instant::now())
        .record_error(ErrorKind::InvalidRequest, 0, 0);
    format!(
        "{}: {}: {}",
        op.step.url.source(),
        ErrorKind::InvalidRequest.describe(),
        render::message(e)
    )
}

/// Sends a rendered request on `session` within the step's timeout and
/// records it under the step's key. Its send and end times and how it
/// ended; the response is in `response`.
async fn send_and_record(
    shared: &WorkerState,
    op: &RequestOp,
    request: &crate::http::session::Request,
    session: &mut Session,
    cookies: &mut dyn CookieStore,
    response: &mut FinalResponse,
    scheduled: Option<Instant>,
) -> (Instant, Instant, Result<(), ErrorKind>) {
    let plan = &shared.program.plan;
    let sent = Instant::now();
    // From here the target may see the request: if the run ends before
    // it finishes, it is counted as cut.
    let in_flight = RequestInFlight::start(shared, op.key);
    let timeout = plan.timeout_for(&op.step);
    let max_redirects = plan.max_redirects_for(&op.step);
    failure_reason::clear();
    let result = tokio::time::timeout(
        timeout,
        session.send(request, max_redirects, cookies, response),
    )
    .await;
    let end = Instant::now();
    let result = result.unwrap_or(Err(ErrorKind::Timeout));
    let latency = end - scheduled.unwrap_or(sent);
    let uncorrected = scheduled.map(|_| end - sent);
    {
        let mut recorder = shared.recorder.borrow_mut();
        let stats = recorder.stats(op.key, end);
        match result {
            Ok(()) => stats.record_response(
                latency,
                uncorrected,
                response.status,
                response.bytes_received,
                response.bytes_sent,
            ),
            Err(kind) => stats.record_error(kind, response.bytes_received, response.bytes_sent),
        }
    }
    in_flight.settle();
    (sent, end, result)
}

/// Runs a step's checks on a response, counting each; says how many failed.
fn judge_checks(
    shared: &WorkerState,
    op: &RequestOp,
    view: &ResponseView<'_>,
    vars: &Variables,
    scratch: &mut String,
    end: Instant,
) -> u32 {
    let mut failed = 0;
    for (check, (pass, fail)) in op.step.checks.iter().zip(&op.check_counters) {
        let outcome = check.evaluate(view, vars, scratch);
        let counter = if outcome.passed() { *pass } else { *fail };
        failed += u32::from(!outcome.passed());
        shared.recorder.borrow_mut().count(counter, 1, end);
        if let (CheckKind::Status(_), Some(accepted)) = (&check.kind, op.accepted_status) {
            if outcome.passed() && view.status >= 400 {
                shared.recorder.borrow_mut().count(accepted, 1, end);
            }
        }
        if let CheckOutcome::Fail(message) = outcome {
            shared.note_failure(shared.program.layout.name(op.key), &check.label, &message);
        }
    }
    failed
}

/// Runs a step's captures on a response; one that found nothing (and was
/// not optional) ends the iteration.
fn capture(
    vars: &mut Variables,
    op: &RequestOp,
    view: &ResponseView<'_>,
    scratch: &mut String,
) -> Result<(), Abort> {
    match vars.capture(&op.step.captures, view, scratch) {
        Some(message)
            if view.body_truncated && op.step.captures.iter().any(|c| c.source.reads_body()) =>
        {
            Err(Abort::Iteration(format!(
                "{BODY_TRUNCATED}: {message} (the body is longer than `max_body`, {} bytes kept)",
                view.body.len()
            )))
        }
        Some(message) => Err(Abort::Iteration(message)),
        None => Ok(()),
    }
}
