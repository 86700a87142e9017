//! A virtual user: its variables, cookie jar, connections and buffers, and
//! the execution of steps on its behalf.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::program::{Op, RequestOp};
use super::vu_ws::Socket;
use super::worker::WorkerShared;
use crate::error_kind::ErrorKind;
use crate::http::session::{
    CookieStore, FinalResponse, NoCookies, Request, Session, DEFAULT_MAX_REDIRECTS,
};
use crate::http::TargetUrl;
use crate::scenario::cookie::CookieJar;
use crate::scenario::response::ResponseView;
use crate::scenario::template::{Context, VarId};

/// Why a VU's iteration stopped before its last step.
#[derive(Debug)]
pub enum Abort {
    /// A request failed or a required capture found nothing: later steps
    /// would act on missing data.
    Iteration(String),
    /// The run is stopping.
    Stopping,
}

pub struct Vu {
    /// 1-based across the whole run (0 is the global setup's VU).
    pub id: u64,
    /// 0-based within this worker's segment (unique feeders use it).
    pub index: usize,
    pub iteration: u64,
    /// Iterations aborted one after the other (closed-model backoff).
    pub aborts_in_a_row: u32,
    vars: Vec<Option<String>>,
    rows: Vec<Option<Box<[String]>>>,
    jar: Option<CookieJar>,
    session: Session,
    /// Open WebSockets by name.
    pub(super) sockets: Vec<(String, Socket)>,
    response: FinalResponse,
    url: String,
    scratch: String,
    body: String,
    /// Scenarios whose per-VU setup has run.
    pub set_up: Vec<bool>,
}

impl Context for Vu {
    fn var(&self, id: VarId) -> Option<&str> {
        self.vars.get(id.index()).and_then(|v| v.as_deref())
    }
    fn field(&self, feeder: usize, column: usize) -> Option<&str> {
        self.rows
            .get(feeder)?
            .as_ref()?
            .get(column)
            .map(String::as_str)
    }
    fn vu(&self) -> u64 {
        self.id
    }
    fn iteration(&self) -> u64 {
        self.iteration
    }
}

/// A cookie jar seen as the session's cookie store.
struct Jar<'a>(&'a mut CookieJar);

impl CookieStore for Jar<'_> {
    fn cookie_header(&mut self, url: &TargetUrl) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut out = String::new();
        self.0
            .header_for(url, SystemTime::now(), &mut out)
            .then_some(out)
    }
    fn store(&mut self, url: &TargetUrl, set_cookie: &[&str]) {
        self.0
            .store_all(url, set_cookie.iter().copied(), SystemTime::now());
    }
}

impl Vu {
    pub fn new(id: u64, index: usize, shared: &WorkerShared) -> Vu {
        let plan = &shared.program.plan;
        Vu {
            id,
            index,
            iteration: 0,
            aborts_in_a_row: 0,
            vars: shared.initial_vars.as_ref().clone(),
            rows: vec![None; plan.feeders.len()],
            jar: plan.defaults.cookies.then(CookieJar::new),
            session: Session::new(shared.connectors.clone()),
            sockets: Vec::new(),
            response: FinalResponse::default(),
            url: String::new(),
            scratch: String::new(),
            body: String::new(),
            set_up: vec![false; plan.scenarios.len()],
        }
    }

    /// Evaluates the plan's variables for this VU, in order.
    pub fn init_variables(&mut self, shared: &WorkerShared) -> Result<(), String> {
        for v in &shared.program.plan.variables {
            let value = v
                .value
                .render_to_string(self)
                .map_err(|e| format!("variable `{}`: {e}", v.name))?;
            self.vars[v.var.index()] = Some(value);
        }
        Ok(())
    }

    /// Sets a variable (a capture), reusing its buffer.
    pub(super) fn set_var(&mut self, index: usize, value: &str) {
        set_slot(&mut self.vars[index], value);
    }

    /// The `Cookie` header the VU's jar has for `url`.
    pub(super) fn cookie_header_for(&mut self, url: &TargetUrl) -> Option<String> {
        let jar = self.jar.as_mut()?;
        Jar(jar).cookie_header(url)
    }

    /// Draws this iteration's feeder rows.
    pub fn draw_rows(&mut self, shared: &WorkerShared) -> Result<(), String> {
        for (i, feeder) in shared.feeders.iter().enumerate() {
            let row = feeder.draw(self.index).map_err(|e| e.to_string())?;
            self.rows[i] = Some(row.into());
        }
        Ok(())
    }

    /// The captured variables, for sharing the global setup's captures.
    pub fn into_vars(self) -> Vec<Option<String>> {
        self.vars
    }

    /// Drops the VU's connections and sockets (a VU that stops).
    pub fn close(&mut self, shared: &WorkerShared) {
        self.session.close();
        for _ in self.sockets.drain(..) {
            shared.socket_closed();
        }
    }

    /// Runs steps in order. `first_scheduled` is the open-model scheduled
    /// start of the iteration: the first request's latency counts from it.
    pub async fn run_ops(
        &mut self,
        shared: &Rc<WorkerShared>,
        ops: &[Op],
        first_scheduled: &mut Option<Instant>,
    ) -> Result<(), Abort> {
        self.run_ops_inner(shared, ops, first_scheduled, true).await
    }

    /// Runs teardown steps: they run even when the run is stopping (that is
    /// when most of them run).
    pub async fn run_teardown(
        &mut self,
        shared: &Rc<WorkerShared>,
        ops: &[Op],
    ) -> Result<(), Abort> {
        self.run_ops_inner(shared, ops, &mut None, false).await
    }

    async fn run_ops_inner(
        &mut self,
        shared: &Rc<WorkerShared>,
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
                    self.request(shared, request, first_scheduled.take())
                        .await?;
                    if let Some(think) = &request.think {
                        tokio::time::sleep(think.sample()).await;
                    }
                }
                Op::Think(think) => tokio::time::sleep(think.sample()).await,
                Op::Group(ops) => {
                    Box::pin(self.run_ops_inner(shared, ops, first_scheduled, honour_stop)).await?
                }
                Op::WebSocket(ws) => Box::pin(self.websocket(shared, ws)).await?,
            }
        }
        Ok(())
    }

    async fn request(
        &mut self,
        shared: &WorkerShared,
        op: &RequestOp,
        scheduled: Option<Instant>,
    ) -> Result<(), Abort> {
        let request = self.render(shared, op).map_err(Abort::Iteration)?;
        let plan = &shared.program.plan;
        let sent = Instant::now();
        let timeout = plan.timeout_for(&op.step);
        let mut no_cookies = NoCookies;
        let result = {
            let cookies: &mut dyn CookieStore = match &mut self.jar {
                Some(jar) => &mut Jar(jar),
                None => &mut no_cookies,
            };
            tokio::time::timeout(
                timeout,
                self.session
                    .send(&request, DEFAULT_MAX_REDIRECTS, cookies, &mut self.response),
            )
            .await
        };
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
                    self.response.status,
                    self.response.bytes_received,
                    self.response.bytes_sent,
                ),
                Err(kind) => {
                    stats.record_error(kind, self.response.bytes_received, self.response.bytes_sent)
                }
            }
        }
        if let Err(kind) = result {
            return Err(Abort::Iteration(format!(
                "{}: {}",
                op.step.url.source(),
                kind.describe()
            )));
        }

        // Checks, then captures (a check may read a variable a capture of the
        // same step would overwrite; checks see the state before).
        let view = ResponseView::new(
            self.response.status,
            &self.response.headers,
            &self.response.body,
            end - sent,
        );
        let mut scratch = std::mem::take(&mut self.scratch);
        for (check, (pass, fail)) in op.step.checks.iter().zip(&op.check_counters) {
            let outcome = check.evaluate(&view, self, &mut scratch);
            let counter = if outcome.passed() { *pass } else { *fail };
            shared.recorder.borrow_mut().count(counter, 1, end);
            if let (crate::scenario::check::CheckKind::Status(_), Some(accepted)) =
                (&check.kind, op.accepted_status)
            {
                if outcome.passed() && view.status >= 400 {
                    shared.recorder.borrow_mut().count(accepted, 1, end);
                }
            }
            if let crate::scenario::check::CheckOutcome::Fail(message) = outcome {
                shared.note_failure(shared.program.layout.name(op.key), &check.label, &message);
            }
        }
        let mut missing = None;
        for capture in &op.step.captures {
            scratch.clear();
            if capture.source.extract_into(&view, &mut scratch) {
                set_slot(&mut self.vars[capture.var.index()], &scratch);
            } else if !capture.optional && missing.is_none() {
                missing = Some(format!(
                    "capture `{}` ({}) found nothing",
                    capture.name,
                    capture.source.describe()
                ));
            }
        }
        self.scratch = scratch;
        match missing {
            Some(message) => Err(Abort::Iteration(message)),
            None => Ok(()),
        }
    }

    /// Renders a request step into a request.
    fn render(&mut self, shared: &WorkerShared, op: &RequestOp) -> Result<Request, String> {
        let plan = &shared.program.plan;
        let step = &op.step;
        let mut url = std::mem::take(&mut self.url);
        url.clear();
        let rendered = step
            .render_url(self, &mut url)
            .map_err(|e| format!("url {:?}: {e}", step.url.source()));
        let resolved = rendered.and_then(|()| plan.resolve_url(&url).map_err(|e| e.to_string()));
        self.url = url;
        let url = resolved?;

        let mut headers: Vec<(HeaderName, HeaderValue)> =
            Vec::with_capacity(plan.defaults.headers.len() + step.headers.len() + 2);
        let mut value = String::new();
        for h in plan.headers_for(step) {
            value.clear();
            h.value
                .render(self, &mut value)
                .map_err(|e| format!("header {}: {e}", h.name))?;
            let v = HeaderValue::from_str(&value)
                .map_err(|_| format!("header {}: invalid value {value:?}", h.name))?;
            headers.push((h.name.clone(), v));
        }
        if let Some(auth) = plan.auth_for(step) {
            value.clear();
            auth.render(self, &mut value)
                .map_err(|e| format!("auth: {e}"))?;
            let v = HeaderValue::from_str(&value)
                .map_err(|_| "auth: invalid credentials".to_owned())?;
            headers.retain(|(n, _)| n != http::header::AUTHORIZATION);
            headers.push((http::header::AUTHORIZATION, v));
        }
        if let Some(content_type) = step.body.content_type() {
            if !headers.iter().any(|(n, _)| n == http::header::CONTENT_TYPE) {
                headers.push((
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type),
                ));
            }
        }
        let body = match step.body.fixed() {
            Some(bytes) => bytes,
            None => {
                let mut body = std::mem::take(&mut self.body);
                body.clear();
                let rendered = step.body.render(self, &mut body);
                let bytes = Bytes::copy_from_slice(body.as_bytes());
                self.body = body;
                rendered.map_err(|e| format!("body: {e}"))?;
                bytes
            }
        };
        Ok(Request {
            method: step.method.clone(),
            url,
            headers,
            body,
        })
    }
}

/// Sets a variable slot, reusing its buffer.
fn set_slot(slot: &mut Option<String>, value: &str) {
    match slot {
        Some(existing) => {
            existing.clear();
            existing.push_str(value);
        }
        None => *slot = Some(value.to_owned()),
    }
}

/// How long to wait so iterations start at least `pacing` apart.
pub fn pacing_wait(iteration_start: Instant, pacing: Option<Duration>) -> Option<Duration> {
    let pacing = pacing?;
    let elapsed = iteration_start.elapsed();
    (elapsed < pacing).then(|| pacing - elapsed)
}
