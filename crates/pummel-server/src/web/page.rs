//! What every page shares: the layout's fields, the security headers and
//! the error pages.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::store::StoreError;
use crate::users::User;

/// The layout's fields: who is signed in, the session's CSRF token for the
/// forms, which tab is current.
#[derive(Default)]
pub(crate) struct Chrome {
    pub(crate) title: String,
    pub(crate) user: String,
    pub(crate) admin: bool,
    pub(crate) csrf: String,
    pub(crate) tab: &'static str,
    pub(crate) version: &'static str,
}

impl Chrome {
    pub(crate) fn new(user: &User, csrf: &str, tab: &'static str, title: String) -> Chrome {
        Chrome {
            title,
            user: user.name.clone(),
            admin: user.is_admin(),
            csrf: csrf.to_owned(),
            tab,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The pages' own policy: scripts and styles from this server only (the
/// embedded htmx, uPlot and the UI's script), nothing framed, no referrer
/// to elsewhere.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                        script-src 'self'; frame-ancestors 'none'; form-action 'self'; \
                        base-uri 'none'";

/// A rendered page with the headers every page carries.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    secure_headers(headers);
    response
}

/// The headers of every answer of the web UI, pages and reports alike.
pub(crate) fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show one user's data: no shared cache keeps them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Renders a template into a 200 page.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => PageError::Internal(format!("cannot render the page: {e}")).into_response(),
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Not signed in: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    /// Signed in, but this is not theirs (or not for their role).
    Forbidden(String),
    /// A form without the session's CSRF token.
    Csrf,
    NotFound(String),
    BadRequest(String),
    Internal(String),
    /// The build had no npm: no assets, no pages.
    Unavailable,
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError::Internal(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            PageError::SignIn { next } => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "this form was not sent from a page of this server (its CSRF token is missing \
                 or stale): reload the page and try again"
                    .to_owned(),
            ),
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            PageError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "this pummel was built without Node.js and npm, so its web pages are disabled; \
                 install them and rebuild (the API and agents work)"
                    .to_owned(),
            ),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or(""),
            message: &message,
        };
        match page.render() {
            Ok(body) => html(status, body),
            Err(_) => (status, message).into_response(),
        }
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn when(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_utc() {
        assert_eq!(when(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(when(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(when(1_764_648_123), "2025-12-02 04:02:03 UTC");
    }
}
