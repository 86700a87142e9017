//! `/shop/...`: a small HTML application for recording browser sessions and replaying them — the
//! flow `pummel convert` is tested on. A session (cookie `shop_session`) holds a CSRF token, its
//! own item ids, a cart and orders; anything from another session is refused.
//!
//! | method and path | success | refused |
//! |---|---|---|
//! | `GET /shop/login` | 200 login form (hidden `csrf` input); starts a session | |
//! | `POST /shop/login` form `csrf`, `username`, `password` (`s3cret`) | 303 → `/shop/items`; new CSRF token | 403 bad token, 401 bad password |
//! | `GET /shop/items` | 200 list of links `/shop/items/{id}` | 401 not logged in |
//! | `GET /shop/items/{id}` | 200 item page; its script calls the two JSON endpoints below | 404 not this session's |
//! | `GET /shop/api/cart` header `x-csrf-token` | 200 `{"cart_id","items"}` | 403 bad token |
//! | `POST /shop/api/orders` header `x-csrf-token`, JSON `{"cart_id","item_id","quantity"}` | 201 `{"order_id",…}` | 403, 404 not this session's, 400 |
//! | `GET /shop/orders/{id}` | 200 confirmation with a logout form | 404 not this session's |
//! | `POST /shop/logout` form `csrf` | 303 → `/shop/login`; new CSRF token | 403 bad token |
//!
//! Module map: `state` (sessions, bounded), `pages` (the HTML).

mod pages;
mod state;

use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

pub(crate) use self::state::Shop;
use crate::body::Body;
use crate::response;

const COOKIE_NAME: &str = "shop_session";
/// The password of every shop user (any non-empty user name).
const SHOP_PASSWORD: &str = "s3cret";
/// Largest request body read (a login form, an order).
const MAX_BODY: usize = 64 * 1024;
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// Answers a request whose first path segment is `shop`.
pub(crate) async fn route(shop: &Shop, parts: &Parts, body: Incoming) -> Response<Body> {
    let path = parts.uri.path();
    let rest = path.strip_prefix("/shop").unwrap_or("");
    let session = session_cookie(parts);
    let session = session.as_deref();
    let get = parts.method == Method::GET || parts.method == Method::HEAD;
    let post = parts.method == Method::POST;
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    match segments.as_slice() {
        ["login"] if get => login_page(shop, session),
        ["login"] if post => match read(body).await {
            Some(bytes) => login(shop, session, &form(&bytes)),
            None => status(StatusCode::BAD_REQUEST, "cannot read the form\n"),
        },
        ["logout"] if post => match read(body).await {
            Some(bytes) => logout(shop, session, &form(&bytes)),
            None => status(StatusCode::BAD_REQUEST, "cannot read the form\n"),
        },
        ["items"] if get => logged_in(shop, session, |s| Some(html(pages::items(s)))),
        ["items", id] if get => {
            let id: Option<u32> = id.parse().ok();
            logged_in(shop, session, |s| {
                let item = s.item(id?)?;
                Some(html(pages::item(s, item.id, item.name)))
            })
        }
        ["orders", id] if get => logged_in(shop, session, |s| {
            let order = s.orders.iter().find(|o| o.id == *id)?;
            let item = s.item(order.item).map_or("", |i| i.name);
            Some(html(pages::order(s, &order.id, item, order.quantity)))
        }),
        ["api", "cart"] if get => with_token(shop, session, parts, |s| {
            response::json(
                StatusCode::OK,
                &serde_json::json!({ "cart_id": s.cart, "items": s.orders.len() }),
            )
        }),
        ["api", "orders"] if post => match read(body).await {
            Some(bytes) => with_token(shop, session, parts, |s| order(s, &bytes)),
            None => status(StatusCode::BAD_REQUEST, "cannot read the body\n"),
        },
        _ => response::not_found(),
    }
}

fn login_page(shop: &Shop, session: Option<&str>) -> Response<Body> {
    let (id, page) = shop.with_or_new(session, |s| pages::login(s));
    let mut response = html(page);
    if session != Some(id.as_str()) {
        if let Ok(cookie) = HeaderValue::from_str(&format!(
            "{COOKIE_NAME}={id}; Path=/shop; HttpOnly; SameSite=Lax"
        )) {
            response.headers_mut().insert(SET_COOKIE, cookie);
        }
    }
    response
}

fn login(shop: &Shop, session: Option<&str>, form: &[(String, String)]) -> Response<Body> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let outcome = shop.with(session, |s| {
        if field("csrf") != Some(s.csrf.as_str()) {
            return Err((StatusCode::FORBIDDEN, "bad CSRF token\n"));
        }
        if field("password") != Some(SHOP_PASSWORD) || field("username").is_none_or(str::is_empty) {
            return Err((StatusCode::UNAUTHORIZED, "wrong user name or password\n"));
        }
        s.user = field("username").map(str::to_owned);
        s.rotate_csrf();
        Ok(())
    });
    match outcome {
        Some(Ok(())) => see_other("/shop/items"),
        Some(Err((code, message))) => status(code, message),
        None => status(
            StatusCode::FORBIDDEN,
            "no session: load /shop/login first\n",
        ),
    }
}

fn logout(shop: &Shop, session: Option<&str>, form: &[(String, String)]) -> Response<Body> {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    let ok = shop.with(session, |s| {
        let ok = csrf == Some(s.csrf.as_str());
        if ok {
            s.user = None;
            s.rotate_csrf();
        }
        ok
    });
    if ok == Some(true) {
        see_other("/shop/login")
    } else {
        status(StatusCode::FORBIDDEN, "bad CSRF token\n")
    }
}

fn order(s: &mut state::Session, bytes: &[u8]) -> Response<Body> {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return status(StatusCode::BAD_REQUEST, "the body is not JSON\n");
    };
    let cart = body.get("cart_id").and_then(serde_json::Value::as_str);
    let item = body
        .get("item_id")
        .and_then(serde_json::Value::as_u64)
        .and_then(|i| u32::try_from(i).ok());
    let quantity = body
        .get("quantity")
        .and_then(serde_json::Value::as_u64)
        .and_then(|q| u32::try_from(q).ok());
    if cart != Some(s.cart.as_str()) {
        return status(StatusCode::NOT_FOUND, "no such cart in this session\n");
    }
    let Some(item) = item.filter(|i| s.item(*i).is_some()) else {
        return status(StatusCode::NOT_FOUND, "no such item in this session\n");
    };
    let Some(quantity) = quantity.filter(|q| (1..=10).contains(q)) else {
        return status(StatusCode::BAD_REQUEST, "quantity must be 1 to 10\n");
    };
    let id = s.add_order(item, quantity);
    response::json(
        StatusCode::CREATED,
        &serde_json::json!({ "order_id": id, "item_id": item, "quantity": quantity }),
    )
}

/// Runs `page` for a logged-in session; 401 without one, 404 when `page` finds nothing.
fn logged_in(
    shop: &Shop,
    session: Option<&str>,
    page: impl FnOnce(&state::Session) -> Option<Response<Body>>,
) -> Response<Body> {
    match shop.with(session, |s| s.user.is_some().then(|| page(s))) {
        Some(Some(Some(response))) => response,
        Some(Some(None)) => response::not_found(),
        _ => status(StatusCode::UNAUTHORIZED, "log in first\n"),
    }
}

/// Runs `f` for a logged-in session whose `x-csrf-token` header is its token; 403 otherwise.
fn with_token(
    shop: &Shop,
    session: Option<&str>,
    parts: &Parts,
    f: impl FnOnce(&mut state::Session) -> Response<Body>,
) -> Response<Body> {
    let token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    shop.with(session, |s| {
        if s.user.is_none() || token != Some(s.csrf.as_str()) {
            return status(StatusCode::FORBIDDEN, "bad CSRF token\n");
        }
        f(s)
    })
    .unwrap_or_else(|| status(StatusCode::FORBIDDEN, "no session\n"))
}

fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

async fn read(body: Incoming) -> Option<bytes::Bytes> {
    Limited::new(body, MAX_BODY)
        .collect()
        .await
        .ok()
        .map(http_body_util::Collected::to_bytes)
}

/// `application/x-www-form-urlencoded` fields, decoded.
fn form(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && s.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn html(page: String) -> Response<Body> {
    response::with_body(StatusCode::OK, HTML, Body::from(page))
}

fn status(code: StatusCode, message: &'static str) -> Response<Body> {
    response::text(code, message)
}

fn see_other(location: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(location));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, response::TEXT_PLAIN);
    response
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn form_decoding() {
        assert_eq!(decode("a+b%2Fc%zz%4"), "a b/c%zz%4");
    }
}
