//! The files the pages load, all embedded at build time: htmx and uPlot
//! from npm (see `build.rs`), and the UI's own stylesheet and script.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::page::PageError;

/// One embedded file: its name in `/assets/`, type and bytes.
struct Asset {
    name: &'static str,
    kind: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

#[cfg(not(pummel_web_missing))]
const ASSETS: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        kind: JS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/htmx.min.js")),
    },
    Asset {
        name: "uPlot.iife.min.js",
        kind: JS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js")),
    },
    Asset {
        name: "uPlot.min.css",
        kind: CSS,
        body: include_bytes!(concat!(env!("OUT_DIR"), "/uPlot.min.css")),
    },
    Asset {
        name: "app.css",
        kind: CSS,
        body: include_bytes!("app.css"),
    },
    Asset {
        name: "app.js",
        kind: JS,
        body: include_bytes!("app.js"),
    },
];

#[cfg(pummel_web_missing)]
const ASSETS: &[Asset] = &[];

pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    if ASSETS.is_empty() {
        return PageError::Unavailable.into_response();
    }
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.kind));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Pages ask for `?v=VERSION`, so a new build is fetched anew while an
    // hour's cache spares the rest.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
