//! Request dispatch: a `match` on the path segments, then the two rules every response obeys — the
//! stall gate and `HEAD` handling.
//!
//! No router framework: a match on at most four segments is as fast as routing gets, allocates
//! nothing, and reads as a table of the server's endpoints. `/api` has its own table (in
//! `endpoints::marketplace`), reached only by requests whose first segment is `api`.

use std::sync::Arc;

use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::{Body as _, Incoming};

use crate::body::Body;
use crate::endpoints::{
    auth, basic, bytes, cookies, delay, echo, gzip, headers, marketplace, redirect, shop, stall,
    websocket,
};
use crate::response;
use crate::server_state::ServerState;

/// Answers one request.
pub(crate) async fn handle(state: &Arc<ServerState>, request: Request<Incoming>) -> Response<Body> {
    state.on_request();
    let is_head = request.method() == Method::HEAD;
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query();

    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
    let segments = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    );
    let response = match segments {
        (Some(""), None, _, _) => basic::hello(),
        (Some("json"), None, _, _) => basic::json(),
        (Some("delay"), Some(ms), None, _) => delay::delay(ms, query, &state.delays).await,
        (Some("status"), Some(code), None, _) => basic::status(code),
        (Some("bytes"), Some(n), None, _) => bytes::bytes(n, query),
        (Some("echo"), None, _, _) => echo::echo(&parts.headers, body),
        (Some("headers"), None, _, _) => headers::headers(&parts.headers, parts.version),
        (Some("redirect"), Some(n), None, _) => redirect::redirect(n),
        (Some("redirect-to"), None, _, _) => redirect::redirect_to(query),
        (Some(".well-known"), Some("pummel-challenge"), Some(id), None) => {
            match state.challenges.iter().find(|(known, _)| known == id) {
                Some((_, token)) => response::with_body(
                    StatusCode::OK,
                    HeaderValue::from_static("text/plain"),
                    Body::from(token.clone()),
                ),
                None => response::not_found(),
            }
        }
        (Some("cookies"), None, _, _) => cookies::list(&parts.headers),
        (Some("cookies"), Some("set"), None, _) => cookies::set(query),
        (Some("basic-auth"), Some(user), Some(pass), None) => {
            auth::basic_auth(user, pass, &parts.headers)
        }
        (Some("gzip"), None, _, _) => gzip::gzip(),
        // Boxed: inline, the marketplace's (larger) future would grow every request's future,
        // plain endpoints included; boxed, only `/api` requests pay for it.
        (Some("api"), _, _, _) => {
            Box::pin(marketplace::route(&state.marketplace, &parts, body)).await
        }
        (Some("shop"), _, _, _) => Box::pin(shop::route(&state.shop, &parts, body)).await,
        (Some("ws"), Some(name), None, _) => match websocket::Endpoint::from_name(name) {
            Some(endpoint) => websocket::route(
                &state.websockets,
                state.marketplace.feed(),
                endpoint,
                &mut parts,
            ),
            None => response::not_found(),
        },
        // The stall request is the one request the stall does not hold: skip the gate.
        (Some("stall"), Some(ms), None, _) => {
            return finish(stall::stall(&state.stall, ms), is_head)
        }
        _ => response::not_found(),
    };

    // Every response, including one computed before a stall began, waits for the stall to end:
    // that is what makes a stall look like a frozen server to the client.
    if state.stall.paused_until().is_some() {
        state.stall.wait_while_paused().await;
    }
    finish(response, is_head)
}

/// Applies `HEAD` semantics: same headers as `GET`, including the `Content-Length` the body would
/// have had, and no body. Done here rather than left to hyper because hyper's HTTP/2 server would
/// send the body of a `HEAD` response.
#[inline]
fn finish(mut response: Response<Body>, is_head: bool) -> Response<Body> {
    if !is_head {
        return response;
    }
    let may_have_length = !matches!(
        response.status(),
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    );
    if let Some(len) = response.body().size_hint().exact() {
        if may_have_length && !response.headers().contains_key(CONTENT_LENGTH) {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    *response.body_mut() = Body::Empty;
    response
}
