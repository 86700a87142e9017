//! Running a `parallel` batch for a virtual user (see
//! [`crate::scenario::parallel`] for what a batch means).
//!
//! The batch's requests are rendered first, with the variables as they are
//! before it. Then *lanes* send them: a lane is one session (one keep-alive
//! connection per origin) taking its origin's next request until none is
//! left, so an origin with `connections` lanes never has more requests in
//! flight than that, and a request waits for the first lane to come free,
//! as a browser's queue does. Lane sessions stay with the VU between
//! iterations, each serving the same origin again (origins are numbered in
//! the batch's order), so their connections are reused as the VU's main
//! session's are; the first lane is the main session itself.
//!
//! HTTP/2 requests are streams of one connection per origin that all the
//! VU's sessions share: each gets a lane, and they are all in flight at
//! once (the server's stream limit permitting).
//!
//! The lanes run as futures of the VU's own task, joined: no thread, no
//! spawn, no lock; the cookie jar is shared through a `RefCell` borrowed
//! only between awaits. Checks and captures run after the last request
//! ended, in the batch's order.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use super::{capture, judge_checks, Abort, Vu};
use crate::http::session::{CookieStore, FinalResponse, Request, Session};
use crate::http::{failure_reason, TargetUrl};
use crate::run::program::{ParallelOp, RequestOp};
use crate::run::worker_state::WorkerState;
use crate::scenario::cookie::CookieJar;
use crate::scenario::flow::OnError;
use crate::scenario::response::ResponseView;
use crate::ErrorKind;

/// A request of the batch once it ended.
struct Done {
    request: Request,
    response: FinalResponse,
    sent: Instant,
    end: Instant,
    result: Result<(), ErrorKind>,
}

/// The VU's cookie jar, shared by the lanes of a batch.
struct SharedJar<'a>(Option<&'a RefCell<&'a mut CookieJar>>);

impl CookieStore for SharedJar<'_> {
    fn cookie_header(&mut self, url: &TargetUrl) -> Option<String> {
        let jar = self.0?;
        super::render::cookie_header(&mut jar.borrow_mut(), url)
    }
    fn store(&mut self, url: &TargetUrl, set_cookie: &[&str]) {
        if let Some(jar) = self.0 {
            super::Jar(&mut jar.borrow_mut()).store(url, set_cookie);
        }
    }
}

/// Which requests go to which origin, and how many lanes each origin has.
struct Origins {
    /// Per origin, the batch's indices of its requests, in batch order.
    queues: Vec<Vec<usize>>,
    /// Per origin, how far its queue has been taken.
    taken: Vec<Cell<usize>>,
    /// Per lane, the origin it serves.
    lanes: Vec<usize>,
}

impl Origins {
    fn new(requests: &[Option<Request>], connections: u32) -> Origins {
        let mut keys: Vec<(crate::http::Scheme, &str, u16, Option<_>, bool)> = Vec::new();
        let mut queues: Vec<Vec<usize>> = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            let Some(r) = request else { continue };
            let key = (
                r.url.scheme,
                r.url.host.as_str(),
                r.url.port,
                r.tls,
                r.http2,
            );
            match keys.iter().position(|k| *k == key) {
                Some(at) => queues[at].push(i),
                None => {
                    keys.push(key);
                    queues.push(vec![i]);
                }
            }
        }
        // HTTP/2 requests are streams of the origin's one connection: a
        // lane each, all in flight at once.
        let lanes = queues
            .iter()
            .zip(&keys)
            .enumerate()
            .flat_map(|(origin, (q, key))| {
                let n = if key.4 {
                    q.len()
                } else {
                    q.len().min(connections as usize)
                };
                std::iter::repeat_n(origin, n)
            })
            .collect();
        Origins {
            taken: queues.iter().map(|_| Cell::new(0)).collect(),
            queues,
            lanes,
        }
    }

    /// The next request of `origin` no lane has taken yet.
    fn next(&self, origin: usize) -> Option<usize> {
        let at = self.taken[origin].get();
        let i = *self.queues[origin].get(at)?;
        self.taken[origin].set(at + 1);
        Some(i)
    }
}

impl Vu {
    /// Sends a batch, then judges its responses; what its failures do is
    /// their `on_error`'s, the furthest-reaching one winning.
    pub(super) async fn run_parallel(
        &mut self,
        shared: &Rc<WorkerState>,
        op: &ParallelOp,
        scheduled: Option<Instant>,
    ) -> Result<(), Abort> {
        let plan = &shared.program.plan;
        let start = Instant::now();
        let mut failures: Vec<(usize, String)> = Vec::new();
        let mut requests: Vec<Option<Request>> = Vec::with_capacity(op.requests.len());
        for (i, r) in op.requests.iter().enumerate() {
            match super::render::request(plan, &r.step, &self.vars, &mut self.buffers) {
                Ok(request) => requests.push(Some(request)),
                Err(e) => {
                    failures.push((i, super::render_failure(shared, r, &e)));
                    requests.push(None);
                }
            }
        }
        let origins = Origins::new(&requests, op.connections);
        let pending = RefCell::new(requests);
        let done: RefCell<Vec<Option<Done>>> =
            RefCell::new((0..op.requests.len()).map(|_| None).collect());
        while self.batch_sessions.len() + 1 < origins.lanes.len() {
            self.batch_sessions.push(self.session.sibling());
        }
        {
            let jar = self.jar.as_mut().map(RefCell::new);
            let jar = jar.as_ref();
            let sessions = std::iter::once(&mut self.session).chain(self.batch_sessions.iter_mut());
            let lanes = sessions.zip(&origins.lanes).map(|(session, &origin)| {
                let (origins, pending, done) = (&origins, &pending, &done);
                async move {
                    let mut cookies = SharedJar(jar);
                    while let Some(i) = origins.next(origin) {
                        let Some(request) = pending.borrow_mut()[i].take() else {
                            continue;
                        };
                        let finished = lane_request(
                            shared,
                            &op.requests[i],
                            request,
                            session,
                            &mut cookies,
                            scheduled,
                        )
                        .await;
                        done.borrow_mut()[i] = Some(finished);
                    }
                }
            });
            futures_util::future::join_all(lanes).await;
        }
        let end = Instant::now();
        shared
            .recorder
            .borrow_mut()
            .stats(op.key, end)
            .record_response(
                end - scheduled.unwrap_or(start),
                scheduled.map(|_| end - start),
                0,
                0,
                0,
            );
        self.judge_batch(shared, op, done.into_inner(), &mut failures);
        failures.sort_by_key(|(i, _)| *i);
        let mut outcome = Ok(());
        let mut reach = OnError::Continue;
        for (i, message) in failures {
            let r = &op.requests[i];
            let step = super::flow::on_error(shared, r, Err(Abort::Iteration(message)));
            if r.on_error.severity() > reach.severity() {
                reach = r.on_error;
                outcome = step;
            }
        }
        outcome
    }

    /// Checks every response of the batch, then captures from them, in the
    /// batch's order; adds the requests that failed to `failures`.
    fn judge_batch(
        &mut self,
        shared: &WorkerState,
        op: &ParallelOp,
        done: Vec<Option<Done>>,
        failures: &mut Vec<(usize, String)>,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut judged = Vec::new();
        let mut last_status = None;
        for (i, d) in done.into_iter().enumerate() {
            let Some(d) = d else { continue };
            let r = &op.requests[i];
            last_status = Some(if d.result.is_ok() {
                d.response.status
            } else {
                0
            });
            if let Err(kind) = d.result {
                if let Some(debug) = &shared.debug {
                    self.trace_exchange(debug, shared, r, &d.request, Err(kind), 0);
                }
                failures.push((
                    i,
                    format!(
                        "{}: {}",
                        r.step.url.source(),
                        failure_reason::describe(kind)
                    ),
                ));
                continue;
            }
            let view = ResponseView::new(
                d.response.status,
                &d.response.headers,
                &d.response.body,
                d.end - d.sent,
            )
            .truncated(d.response.body_truncated);
            let failed = judge_checks(shared, r, &view, &self.vars, &mut scratch, d.end);
            if let Some(debug) = &shared.debug {
                self.trace_exchange(debug, shared, r, &d.request, Ok(&d.response), failed);
            }
            judged.push((i, d));
        }
        for (i, d) in &judged {
            let view = ResponseView::new(
                d.response.status,
                &d.response.headers,
                &d.response.body,
                d.end - d.sent,
            )
            .truncated(d.response.body_truncated);
            if let Err(Abort::Iteration(message)) =
                capture(&mut self.vars, &op.requests[*i], &view, &mut scratch)
            {
                failures.push((*i, message));
            }
        }
        self.scratch = scratch;
        // What `status` reads after the batch: the last request's in the
        // batch's order (0 when it got no response).
        if last_status.is_some() {
            self.vars.status = last_status;
        }
    }
}

/// Sends one request of a batch on a lane's session, again while its
/// `retry` wants, recording every attempt.
async fn lane_request(
    shared: &WorkerState,
    op: &RequestOp,
    request: Request,
    session: &mut Session,
    cookies: &mut SharedJar<'_>,
    scheduled: Option<Instant>,
) -> Done {
    let mut response = FinalResponse::default();
    let mut attempt = 1u32;
    let mut scheduled = scheduled;
    loop {
        let (sent, end, result) = super::send_and_record(
            shared,
            op,
            &request,
            session,
            cookies,
            &mut response,
            scheduled.take(),
        )
        .await;
        if let Some(retry) = &op.step.flow.retry {
            let outcome = result.map(|()| response.status);
            if attempt < retry.attempts && retry.wants(outcome) && !shared.stopping.get() {
                if let Some(retries) = op.retries {
                    shared.recorder.borrow_mut().count(retries, 1, end);
                }
                tokio::time::sleep(retry.backoff(attempt)).await;
                attempt += 1;
                continue;
            }
        }
        return Done {
            request,
            response,
            sent,
            end,
            result,
        };
    }
}
