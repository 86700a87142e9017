//! Static assets — images, fonts, style sheets, scripts, media — which a load test of an
//! application usually leaves to a CDN or the browser cache. Recognised by the response's MIME
//! type or, failing that, the URL's extension.

/// Whether a response of this MIME type to this URL path is a static asset.
pub(crate) fn is_asset(mime: &str, path: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.starts_with("image/")
        || mime.starts_with("font/")
        || mime.starts_with("audio/")
        || mime.starts_with("video/")
        || matches!(
            mime.as_str(),
            "text/css"
                | "text/javascript"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "text/ecmascript"
                | "application/font-woff"
                | "application/font-woff2"
                | "application/vnd.ms-fontobject"
                | "application/x-font-ttf"
                | "application/x-font-woff"
                | "application/wasm"
        )
    {
        return true;
    }
    let file = path.rsplit('/').next().unwrap_or("");
    let Some((_, ext)) = file.rsplit_once('.') else {
        return false;
    };
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "svg"
            | "ico"
            | "webp"
            | "avif"
            | "bmp"
            | "woff"
            | "woff2"
            | "ttf"
            | "otf"
            | "eot"
            | "css"
            | "js"
            | "mjs"
            | "map"
            | "mp4"
            | "webm"
            | "mp3"
            | "wasm"
    )
}

#[cfg(test)]
mod tests {
    use super::is_asset;

    #[test]
    fn assets_by_mime_and_by_extension() {
        assert!(is_asset("image/png", "/logo"));
        assert!(is_asset("text/css; charset=utf-8", "/x"));
        assert!(is_asset("application/javascript", "/app"));
        assert!(is_asset("font/woff2", "/f"));
        assert!(is_asset("", "/favicon.ico"));
        assert!(is_asset("text/plain", "/static/app.JS"));
        assert!(!is_asset("text/html", "/shop/items"));
        assert!(!is_asset("application/json", "/api/apps.json"));
        assert!(!is_asset("", "/v1.2/users"));
    }
}
