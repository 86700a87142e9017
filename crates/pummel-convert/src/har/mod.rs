//! HAR 1.2 → scenario: one request step per entry, in the order the browser started them.
//!
//! Module map: `file` (the format), `time` (its timestamps), `assets` (what is left out by
//! default), `headers` (what is kept). Correlation and secrets are shared with the Postman
//! converter (`crate::correlate`, `crate::secrets`).

mod address;
mod assets;
mod file;
mod headers;
mod time;

use self::address::Address;
use self::file::{Entry, HarFile};
use crate::correlate::{self, Exchange, Recorded};
use crate::model::{Auth, Body, Document, Json, RequestStep, Step};
use crate::secrets::{self, Vault};
use crate::text::Text;
use crate::{Conversion, ConvertError, Options, Skipped};
use base64::Engine as _;

/// Think times shorter than this (after scaling) are the browser's own pace — a script's
/// request right after the page loaded — not a person's pause.
const MIN_THINK_MS: f64 = 50.0;

/// The most requests a `parallel:` batch holds.
const MAX_BATCH: usize = 1_000;

/// An entry kept for conversion: its start (ms since the epoch), itself, its URL.
type Kept<'a> = (i64, &'a Entry, Address);

pub(crate) fn convert(text: &str, options: &Options) -> Result<Conversion, ConvertError> {
    let har: HarFile = serde_json::from_str(text).map_err(|e| ConvertError::Invalid {
        format: "HAR",
        message: e.to_string(),
    })?;
    if !matches!(har.log.version.as_str(), "1.2" | "1.1") {
        return Err(ConvertError::Version {
            format: "HAR",
            found: har.log.version.clone(),
            supported: "1.2 (and 1.1)",
        });
    }
    let (kept, skipped) = select(&har.log.entries, options)?;
    let origin = kept.first().map(|k| k.2.origin()).unwrap_or_default();
    let (mut exchanges, assets) = exchanges(&kept, &origin, options.think_scale);
    let mut names = Vec::new();
    let correlations = correlate::correlate(&mut exchanges, &mut names);
    let mut vault = Vault::default();
    for exchange in &mut exchanges {
        hide_secrets(&mut exchange.step, &exchange.label, &mut vault);
    }
    // A secret found under its name is hidden wherever else it was sent too: a password typed
    // again in a confirmation field, or inside a body sent as text.
    for exchange in &mut exchanges {
        hide_known_secrets(&mut exchange.step, &vault);
    }

    let mut doc = Document {
        target: Some(origin.clone()),
        scenario: "recorded".to_owned(),
        ..Document::default()
    };
    describe(
        &mut doc.header,
        &har.log,
        exchanges.len(),
        skipped,
        options.think_scale,
    );
    let env = vault.into_env();
    if !env.is_empty() {
        let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
        doc.header.push(format!(
            "Recorded secrets are read from the environment: set {} (or pass --env NAME=VALUE).",
            names.join(", ")
        ));
    }
    let steps = exchanges.len();
    doc.steps = batch_assets(exchanges, &assets);
    Ok(Conversion {
        yaml: crate::emit::document(&doc),
        steps,
        skipped,
        correlations,
        env,
    })
}

/// The entries to convert, in start order, with their start times and URLs; what was left out.
fn select<'a>(
    entries: &'a [Entry],
    options: &Options,
) -> Result<(Vec<Kept<'a>>, Skipped), ConvertError> {
    let mut timed = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let start =
            time::parse_millis(&entry.started_date_time).ok_or_else(|| ConvertError::Invalid {
                format: "HAR",
                message: format!(
                    "entry {}: startedDateTime {:?} is not an ISO 8601 date and time",
                    i + 1,
                    entry.started_date_time
                ),
            })?;
        timed.push((start, entry));
    }
    // Browsers write entries in start order, but nothing in the format promises it.
    timed.sort_by_key(|(start, _)| *start);

    let mut skipped = Skipped::default();
    let mut kept: Vec<Kept<'a>> = Vec::new();
    for (start, entry) in timed {
        // Not HTTP(S) (`data:`, `blob:`, `chrome-extension:`): nothing to replay.
        let Some(url) = Address::parse(&entry.request.url) else {
            skipped.other += 1;
            continue;
        };
        if !host_wanted(&url, options) {
            skipped.hosts += 1;
            continue;
        }
        if entry.response.status < 100 {
            // Aborted, blocked or never answered: there is nothing to replay it against.
            skipped.other += 1;
            continue;
        }
        if is_browsers_own(entry) {
            skipped.browser += 1;
            continue;
        }
        if !options.keep_assets && assets::is_asset(&entry.response.content.mime_type, &url.path) {
            skipped.assets += 1;
            continue;
        }
        kept.push((start, entry, url));
    }
    if kept.is_empty() {
        return Err(ConvertError::Empty(format!(
            "no request left to convert ({} entries: {} static assets, {} on other hosts, {} not HTTP or never answered, {} CORS preflights or cache hits)",
            entries.len(),
            skipped.assets,
            skipped.hosts,
            skipped.other,
            skipped.browser
        )));
    }

    Ok((kept, skipped))
}

/// The scenario's steps: each exchange a request step, except that a page's assets that the
/// browser fetched one after another (two or more, kept with `--keep-assets`) are sent together
/// as it did, in one `parallel:` batch, with the pause after the last of them after the batch.
/// An asset with a capture ends a batch: a batch's requests cannot use each other's captures.
fn batch_assets(exchanges: Vec<Exchange>, assets: &[bool]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut batch: Vec<RequestStep> = Vec::new();
    let mut page = None;
    let flush =
        |batch: &mut Vec<RequestStep>, steps: &mut Vec<Step>, page: &Option<String>| match batch
            .len()
        {
            0 => {}
            1 => steps.push(Step::Request(Box::new(batch.remove(0)))),
            _ => {
                let think_ms = batch.last_mut().and_then(|r| r.think_ms.take());
                let mut requests = std::mem::take(batch);
                for request in &mut requests {
                    request.think_ms = None;
                }
                let name = page
                    .as_ref()
                    .map_or_else(|| "assets".to_owned(), |p| format!("assets of {p}"));
                steps.push(Step::Parallel {
                    name,
                    requests,
                    think_ms,
                });
            }
        };
    for (exchange, &asset) in exchanges.into_iter().zip(assets) {
        if asset && exchange.step.captures.is_empty() {
            // A pause between two assets (the person scrolled, a lazy image) ends the batch,
            // as does the most a `parallel:` holds.
            let paused = batch.last().is_some_and(|r| r.think_ms.is_some());
            if paused || batch.len() >= MAX_BATCH {
                flush(&mut batch, &mut steps, &page);
            }
            batch.push(exchange.step);
            continue;
        }
        flush(&mut batch, &mut steps, &page);
        if !asset {
            page = Some(exchange.label);
        }
        steps.push(Step::Request(Box::new(exchange.step)));
    }
    flush(&mut batch, &mut steps, &page);
    steps
}

/// Steps from the kept entries (followed redirects folded in), with think times; and whether
/// each is a static asset.
fn exchanges(kept: &[Kept<'_>], origin: &str, think_scale: f64) -> (Vec<Exchange>, Vec<bool>) {
    let mut exchanges = Vec::new();
    let mut assets = Vec::new();
    let mut spans: Vec<(i64, i64)> = Vec::new();
    let mut i = 0;
    while i < kept.len() {
        let (start, first, url) = &kept[i];
        // A redirect the browser followed is one step: pummel follows redirects too, and the
        // checks and captures see the final response, as the person did.
        let mut last = i;
        let mut followed = Vec::new();
        while last + 1 < kept.len() && is_followed(kept[last].1, &kept[last].2, &kept[last + 1].2) {
            last += 1;
            followed.push(kept[last].2.path.clone());
        }
        let (end_start, final_entry, _) = &kept[last];
        let mut step = request_step(first, url, origin);
        if !followed.is_empty() {
            step.comments.push(format!(
                "the recording followed a redirect to {}; pummel follows it too",
                followed.join(", then ")
            ));
        }
        if is_redirect(final_entry) {
            step.stop_at_redirect = true;
            step.comments.push(format!(
                "the recording holds no request that followed this {} redirect, so neither does the replay",
                final_entry.response.status
            ));
        }
        step.status = Some(status_check(final_entry.response.status));
        let label = format!("{} {}", step.method, url.path);
        assets.push(assets::is_asset(
            &final_entry.response.content.mime_type,
            &url.path,
        ));
        exchanges.push(Exchange {
            step,
            response: recorded(final_entry),
            label,
        });
        #[expect(clippy::cast_possible_truncation, reason = "milliseconds of one entry")]
        let end = end_start + final_entry.time.max(0.0).round() as i64;
        spans.push((*start, end));
        i = last + 1;
    }
    for (k, exchange) in exchanges
        .iter_mut()
        .enumerate()
        .take(spans.len().saturating_sub(1))
    {
        #[expect(
            clippy::cast_precision_loss,
            reason = "gaps of a recording, far below 2^52 ms"
        )]
        let gap = (spans[k + 1].0 - spans[k].1) as f64 * think_scale;
        if gap >= MIN_THINK_MS {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "positive, rounded"
            )]
            let ms = gap.round() as u64;
            exchange.step.think_ms = Some(ms);
        }
    }

    (exchanges, assets)
}

/// The file's header comments: what was converted and left out.
fn describe(
    header: &mut Vec<String>,
    log: &file::Log,
    steps: usize,
    skipped: Skipped,
    think_scale: f64,
) {
    header.push(format!(
        "Converted by `pummel convert` from a HAR {} recording: {} entries, {} steps.",
        log.version,
        log.entries.len(),
        steps
    ));
    if skipped.assets > 0 {
        header.push(format!(
            "Left out: {} static assets (images, fonts, CSS, scripts; --keep-assets keeps them).",
            skipped.assets
        ));
    }
    if skipped.hosts > 0 {
        header.push(format!(
            "Left out: {} requests to hosts not included.",
            skipped.hosts
        ));
    }
    if skipped.other > 0 {
        header.push(format!(
            "Left out: {} requests that were not HTTP(S) or never got an answer.",
            skipped.other
        ));
    }
    if skipped.browser > 0 {
        header.push(format!(
            "Left out: {} CORS preflights and answers from the browser's cache (a replay sends neither).",
            skipped.browser
        ));
    }
    header.push(
        "Cookies are left to each virtual user's jar; think times are the recorded pauses"
            .to_owned(),
    );
    header.push(format!(
        "(scaled by {think_scale}). Comments starting `capture` below say what was guessed."
    ));
}

fn host_wanted(url: &Address, options: &Options) -> bool {
    let host = url.host.as_str();
    let with_port = format!("{host}:{}", url.port);
    let matches = |pattern: &String| {
        let p = pattern.to_ascii_lowercase();
        p == host
            || p == with_port
            || p.strip_prefix("*.")
                .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")))
    };
    if !options.include_hosts.is_empty() && !options.include_hosts.iter().any(matches) {
        return false;
    }
    !options.exclude_hosts.iter().any(matches)
}

/// A CORS preflight (an `OPTIONS` asking `Access-Control-Request-Method`, which browsers send
/// by themselves before a cross-origin call) or a response from the browser's cache.
fn is_browsers_own(entry: &Entry) -> bool {
    let preflight = entry.resource_type.as_deref() == Some("preflight")
        || (entry.request.method.eq_ignore_ascii_case("OPTIONS")
            && header(&entry.request.headers, "access-control-request-method").is_some());
    let cached = entry.from_cache.as_deref().is_some_and(|c| !c.is_empty());
    preflight || cached
}

/// Whether `next` is the request the browser made to follow `entry`'s redirect.
fn is_followed(entry: &Entry, url: &Address, next: &Address) -> bool {
    if !is_redirect(entry) {
        return false;
    }
    url.join(redirect_location(entry))
        .is_some_and(|target| target == *next)
}

/// A response that a client following redirects would not stop at: one of
/// the redirect statuses, with somewhere to go.
fn is_redirect(entry: &Entry) -> bool {
    matches!(entry.response.status, 301 | 302 | 303 | 307 | 308)
        && !redirect_location(entry).is_empty()
}

fn redirect_location(entry: &Entry) -> &str {
    if entry.response.redirect_url.is_empty() {
        entry.response.header("location").unwrap_or("")
    } else {
        entry.response.redirect_url.as_str()
    }
}

/// A 304 answered a browser's conditional request, which the replay does not send.
fn status_check(status: i64) -> String {
    match status {
        304 => "[200, 304]".to_owned(),
        s => s.to_string(),
    }
}

fn request_step(entry: &Entry, url: &Address, origin: &str) -> RequestStep {
    let mut step = RequestStep {
        method: entry.request.method.to_ascii_uppercase(),
        ..RequestStep::default()
    };
    step.url = if url.origin() == origin {
        Text::lit(url.path.clone())
    } else {
        Text::lit(url.without_query())
    };
    step.query = url
        .query_pairs()
        .into_iter()
        .map(|(k, v)| (k, Text::lit(v)))
        .collect();

    let body = entry.request.post_data.as_ref().and_then(|post| {
        let content_type = header(&entry.request.headers, "content-type");
        let mime = if post.mime_type.is_empty() {
            content_type.unwrap_or("")
        } else {
            post.mime_type.as_str()
        }
        .to_ascii_lowercase();
        let text = post.text.clone().unwrap_or_else(|| {
            let pairs = post
                .params
                .iter()
                .map(|p| (p.name.as_str(), p.value.as_deref().unwrap_or("")));
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        });
        if text.is_empty() && post.params.iter().all(|p| p.file_name.is_none()) {
            return None;
        }
        // A multipart form recorded as its fields (browsers leave out the text of a body with
        // a file in it).
        if mime.starts_with("multipart/form-data") && post.text.is_none() {
            return Some(Body::Multipart(
                post.params
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            Text::lit(p.value.clone().unwrap_or_default()),
                        )
                    })
                    .collect(),
            ));
        }
        if mime.contains("json") {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
                return Some(Body::Json(Json::from_value(&value)));
            }
        }
        if mime.starts_with("application/x-www-form-urlencoded") {
            return Some(Body::Form(
                form_urlencoded::parse(text.as_bytes())
                    .map(|(k, v)| (k.into_owned(), Text::lit(v.into_owned())))
                    .collect(),
            ));
        }
        Some(Body::Raw(Text::lit(text)))
    });

    if let Some(post) = &entry.request.post_data {
        for p in &post.params {
            if let Some(file) = p.file_name.as_deref().filter(|_| body.is_some()) {
                step.comments.push(format!(
                    "the recording holds no content for the file {file:?} uploaded as {}: it is sent empty; write `{}: {{ file: PATH }}` to send one",
                    p.name, p.name
                ));
            }
        }
    }
    for h in &entry.request.headers {
        let name = h.name.to_ascii_lowercase();
        if !headers::keep(&name, &h.value) || step.headers.iter().any(|(n, _)| *n == name) {
            continue;
        }
        if name == "content-type" {
            let implied = match &body {
                Some(Body::Json(_)) => h.value.to_ascii_lowercase().starts_with("application/json"),
                Some(Body::Form(_)) => h
                    .value
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded"),
                // `multipart:` writes its own, with its own boundary.
                Some(Body::Multipart(_)) => true,
                None => true,
                _ => false,
            };
            if implied {
                continue;
            }
        }
        step.headers.push((name, Text::lit(h.value.clone())));
    }
    step.body = body;
    step
}

fn header<'a>(headers: &'a [file::NameValue], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The final response of a step, as the correlation reads it.
fn recorded(entry: &Entry) -> Recorded {
    let content = &entry.response.content;
    let raw = content.text.clone().unwrap_or_default();
    let body = if content.encoding.as_deref() == Some("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else {
        raw
    };
    let looks_json =
        content.mime_type.contains("json") || body.trim_start().starts_with(['{', '[']);
    let json = if looks_json {
        serde_json::from_str(&body).ok()
    } else {
        None
    };
    let mut cookies = Vec::new();
    let mut headers = Vec::new();
    for h in &entry.response.headers {
        if h.name.eq_ignore_ascii_case("set-cookie") {
            // Some recorders join several cookies with line breaks in one header.
            for line in h.value.lines() {
                let pair = line.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    cookies.push((
                        name.trim().to_owned(),
                        value.trim().trim_matches('"').to_owned(),
                    ));
                }
            }
        } else {
            headers.push((h.name.clone(), h.value.clone()));
        }
    }
    Recorded {
        headers,
        cookies,
        body,
        json,
    }
}

/// Replaces recorded secrets in `step` by environment variables.
fn hide_secrets(step: &mut RequestStep, label: &str, vault: &mut Vault) {
    let mut basic = None;
    step.headers.retain_mut(|(name, value)| {
        if name != "authorization" {
            if secrets::is_secret_name(name) {
                vault.hide(value, name, &format!("header {name} of {label}"));
            }
            return true;
        }
        let Some(literal) = value.as_literal() else {
            return true;
        };
        let (scheme, credentials) = literal.split_once(' ').unwrap_or(("", literal.as_str()));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
                let password = vault.expr_for(
                    "password",
                    password,
                    &format!("the Basic auth password of {label}"),
                );
                basic = Some(Auth::Basic {
                    username: Text::lit(user),
                    password: Text::expr(password),
                });
                return false;
            }
        }
        let hint = if scheme.eq_ignore_ascii_case("bearer") {
            "token"
        } else {
            "authorization"
        };
        let mut hidden = Text::lit(credentials);
        vault.hide(
            &mut hidden,
            hint,
            &format!("the Authorization header of {label}"),
        );
        let mut text = if scheme.is_empty() {
            Text::default()
        } else {
            Text::lit(format!("{scheme} "))
        };
        text.append(hidden);
        *value = text;
        true
    });
    if basic.is_some() {
        step.auth = basic;
    }
    for (name, value) in &mut step.query {
        if secrets::is_secret_name(name) {
            vault.hide(value, name, &format!("query parameter {name} of {label}"));
        }
    }
    if let Some(body) = &mut step.body {
        hide_body_secrets(body, label, vault);
    }
}

/// The secrets of a request body, found by the names they were sent under.
fn hide_body_secrets(body: &mut Body, label: &str, vault: &mut Vault) {
    match body {
        Body::Form(fields) | Body::Multipart(fields) => {
            for (name, value) in fields {
                if secrets::is_secret_name(name) {
                    vault.hide(value, name, &format!("form field {name} of {label}"));
                }
            }
        }
        Body::Json(json) => {
            json.visit_leaves(None, &mut |key, leaf| {
                let Some(key) = key.filter(|k| secrets::is_secret_name(k)) else {
                    return;
                };
                let used_for = format!("JSON field {key} of {label}");
                match leaf {
                    Json::String(value) => vault.hide(value, key, &used_for),
                    // A PIN sent as a number stays one.
                    Json::Number(n) => {
                        let expr = vault.expr_for(key, n, &used_for);
                        *leaf = Json::String(Text::expr(format!("number({expr})")));
                    }
                    _ => {}
                }
            });
        }
        // A body sent as text (JSON posted as text/plain, a multipart form): its secrets are
        // found by name here and hidden in the text by `hide_known_secrets`.
        Body::Raw(text) => {
            // Piece by piece: correlation may have put a capture in the text already.
            let mut found = Vec::new();
            for raw in text.literals() {
                let named = correlate::fields_in_text(raw);
                for (key, value) in named
                    .into_iter()
                    .filter(|(k, _)| secrets::is_secret_name(k))
                {
                    let expr = vault.expr_for(
                        &key,
                        &value,
                        &format!("field {key} in the body of {label}"),
                    );
                    found.push((value, expr));
                }
            }
            // Found by name in this body, so hidden in it whatever its length (a PIN).
            for (value, expr) in found {
                replace_in_text(text, &value, &expr);
            }
        }
    }
}

/// Replaces `value` in a body sent as text, as it stands there: as it is, and as a JSON string
/// writes it (a `"` or `\` in a password is escaped in JSON posted as text).
fn replace_in_text(text: &mut Text, value: &str, expr: &str) {
    text.replace(value, expr);
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(value);
    if escaped != value {
        text.replace(escaped, expr);
    }
}

/// Hides, in every literal `step` sends, the secrets the vault holds. Values that could as well
/// be something else are left where they were not found by name: short ones, numbers shorter
/// than eight digits (a PIN of `4321` elsewhere is more likely an id) and plain words shorter
/// than twelve letters (a password `admin` elsewhere is more likely a role).
fn hide_known_secrets(step: &mut RequestStep, vault: &Vault) {
    for (value, expr) in vault.secrets() {
        let digits = value.chars().all(|c| c.is_ascii_digit());
        let word = value.chars().all(|c| c.is_ascii_alphabetic());
        if value.chars().count() < 4 || (digits && value.len() < 8) || (word && value.len() < 12) {
            continue;
        }
        // A whole value only: a password `admin` is not hidden inside `/admin/users` or
        // `role=admin`, which it would break. A body sent as text is searched within, as its
        // fields are not told apart.
        let whole = |v: &mut Text| {
            if v.as_literal().as_deref() == Some(value) {
                *v = Text::expr(expr.clone());
            }
        };
        step.query.iter_mut().for_each(|(_, v)| whole(v));
        step.headers.iter_mut().for_each(|(_, v)| whole(v));
        match &mut step.body {
            Some(Body::Form(fields) | Body::Multipart(fields)) => {
                fields.iter_mut().for_each(|(_, v)| whole(v));
            }
            Some(Body::Raw(t)) => replace_in_text(t, value, &expr),
            Some(Body::Json(json)) => json.visit_leaves(None, &mut |_, leaf| match leaf {
                Json::String(t) => whole(t),
                Json::Number(n) if n == value => {
                    *leaf = Json::String(Text::expr(format!("number({expr})")));
                }
                _ => {}
            }),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests;
