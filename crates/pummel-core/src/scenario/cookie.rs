//! A virtual user's cookie jar, as a browser keeps one (RFC 6265).
//!
//! Each VU has its own jar, so sessions never leak between users. The jar
//! follows RFC 6265's storage and sending rules: Domain and host-only
//! cookies, default and explicit Path, Max-Age over Expires, deletion by an
//! expiry in the past, Secure cookies sent over HTTPS only — and, as
//! browsers do, also to loopback hosts, which count as secure contexts, so
//! a local test of a site that marks its session cookie Secure still works.
//!
//! Left out on purpose: the public-suffix list (a test targets hosts its
//! author chose, not hostile sites), SameSite (no cross-site navigation in
//! a load test) and cookie prefixes.
//!
//! Time is passed in, never read from the clock, so the rules are testable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::TargetUrl;

/// A stored cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cookie {
    pub name: String,
    pub value: String,
    /// Lower-case, without a leading dot.
    pub domain: String,
    /// Sent only to exactly `domain` (no Domain attribute was given).
    pub host_only: bool,
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    /// `None`: a session cookie, kept for the VU's life.
    pub expires: Option<SystemTime>,
    created: u64,
}

/// The cookies of one virtual user.
#[derive(Clone, Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
    next_created: u64,
}

/// Most cookies a jar keeps; past it the oldest go, so a server setting a
/// new cookie per response cannot grow a VU's memory without bound.
pub(crate) const MAX_COOKIES: usize = 1000;

/// Largest cookie kept, in bytes of name, value, domain and path: what
/// browsers keep (RFC 6265 §6.1 asks for at least 4096 bytes); a bigger one
/// is ignored, as they ignore it.
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// Most bytes a jar keeps (see [`Cookie::size`]); past it the oldest go. A
/// server that sets big cookies would otherwise grow each VU's memory, and
/// every request's `Cookie` header, by megabytes (1,000 cookies of 1 MiB
/// each), until thousands of VUs ran the machine out of memory. 256 KiB is
/// far more than any server accepts in a request head.
pub(crate) const MAX_JAR_BYTES: usize = 256 * 1024;

impl CookieJar {
    pub(crate) fn new() -> CookieJar {
        CookieJar::default()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cookies.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &Cookie> {
        self.cookies.iter()
    }

    /// The value of the first unexpired cookie named `name`, whatever its domain.
    #[cfg(test)]
    fn get(&self, name: &str, now: SystemTime) -> Option<&str> {
        self.cookies
            .iter()
            .find(|c| c.name == name && !c.expired(now))
            .map(|c| c.value.as_str())
    }

    /// Stores what every `Set-Cookie` header value of a response says.
    pub(crate) fn store_all<'h>(
        &mut self,
        url: &TargetUrl,
        set_cookies: impl IntoIterator<Item = &'h str>,
        now: SystemTime,
    ) {
        for header in set_cookies {
            self.store(url, header, now);
        }
    }

    /// Stores one `Set-Cookie` header value received from `url`. Returns
    /// false when the cookie was ignored (malformed, or for a domain the
    /// URL's host may not set).
    pub(crate) fn store(&mut self, url: &TargetUrl, set_cookie: &str, now: SystemTime) -> bool {
        let Some(parsed) = parse_set_cookie(set_cookie, now) else {
            return false;
        };
        let host = url.host.to_ascii_lowercase();
        let (domain, host_only) = match parsed.domain {
            Some(d) if !domain_match(&host, &d) => return false,
            Some(d) => (d, false),
            None => (host, true),
        };
        let path = parsed
            .path
            .unwrap_or_else(|| default_path(request_path(url)).to_owned());
        if parsed.name.len() + parsed.value.len() + domain.len() + path.len() > MAX_COOKIE_BYTES {
            // Ignored, as a browser ignores it (the cookie it would replace stays).
            return false;
        }
        let existing = self
            .cookies
            .iter()
            .position(|c| c.name == parsed.name && c.domain == domain && c.path == path);
        let created = match existing {
            Some(i) => self.cookies.remove(i).created,
            None => {
                self.next_created += 1;
                self.next_created
            }
        };
        let cookie = Cookie {
            name: parsed.name,
            value: parsed.value,
            domain,
            host_only,
            path,
            secure: parsed.secure,
            http_only: parsed.http_only,
            expires: parsed.expires,
            created,
        };
        if cookie.expired(now) {
            return true; // an expiry in the past deletes the cookie
        }
        self.cookies.push(cookie);
        let mut bytes: usize = self.cookies.iter().map(Cookie::size).sum();
        while self.cookies.len() > MAX_COOKIES || bytes > MAX_JAR_BYTES {
            let Some(oldest) = self
                .cookies
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| c.created)
                .map(|(i, _)| i)
            else {
                break;
            };
            bytes -= self.cookies.remove(oldest).size();
        }
        true
    }

    /// Writes the `Cookie` header value for a request to `url` into `out`
    /// (`a=1; b=2`, longest paths first). Returns false, writing nothing,
    /// when no cookie applies. Drops expired cookies on the way.
    pub(crate) fn header_for(
        &mut self,
        url: &TargetUrl,
        now: SystemTime,
        out: &mut String,
    ) -> bool {
        self.cookies.retain(|c| !c.expired(now));
        let host = url.host.to_ascii_lowercase();
        let path = request_path(url);
        let secure = url.scheme.is_tls() || is_loopback(&host);
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| {
                let domain_ok = if c.host_only {
                    host == c.domain
                } else {
                    domain_match(&host, &c.domain)
                };
                domain_ok && path_match(path, &c.path) && (secure || !c.secure)
            })
            .collect();
        if matching.is_empty() {
            return false;
        }
        matching.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        for (i, c) in matching.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.value);
        }
        true
    }
}

impl Cookie {
    /// The bytes this cookie holds, as the jar's budget (and
    /// [`MAX_COOKIE_BYTES`]) counts them.
    fn size(&self) -> usize {
        self.name.len() + self.value.len() + self.domain.len() + self.path.len()
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

struct SetCookie {
    name: String,
    value: String,
    domain: Option<String>,
    path: Option<String>,
    secure: bool,
    http_only: bool,
    expires: Option<SystemTime>,
}

/// RFC 6265 §5.2: lenient parsing of a Set-Cookie value.
fn parse_set_cookie(header: &str, now: SystemTime) -> Option<SetCookie> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = SetCookie {
        name: name.to_owned(),
        value: value.trim().to_owned(),
        domain: None,
        path: None,
        secure: false,
        http_only: false,
        expires: None,
    };
    let mut max_age: Option<SystemTime> = None;
    for attr in parts {
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        match key.to_ascii_lowercase().as_str() {
            "expires" => {
                if let Some(t) = parse_cookie_date(val) {
                    cookie.expires = Some(t);
                }
            }
            "max-age" => {
                let digits = val.strip_prefix('-').unwrap_or(val);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    let seconds: i64 =
                        val.parse()
                            .unwrap_or(if val.starts_with('-') { -1 } else { i64::MAX });
                    max_age = Some(if seconds <= 0 {
                        UNIX_EPOCH
                    } else {
                        now.checked_add(Duration::from_secs(seconds as u64))
                            .unwrap_or(now + Duration::from_secs(u32::MAX.into()))
                    });
                }
            }
            "domain" if !val.is_empty() => {
                cookie.domain = Some(val.trim_start_matches('.').to_ascii_lowercase());
            }
            "path" => cookie.path = val.starts_with('/').then(|| val.to_owned()),
            "secure" => cookie.secure = true,
            "httponly" => cookie.http_only = true,
            _ => {}
        }
    }
    if max_age.is_some() {
        cookie.expires = max_age;
    }
    Some(cookie)
}

fn request_path(url: &TargetUrl) -> &str {
    let p = &url.path_and_query;
    p.split(['?', '#'])
        .next()
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/")
}

/// RFC 6265 §5.1.4: the directory of the request path.
fn default_path(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// RFC 6265 §5.1.4.
fn path_match(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/')))
}

/// RFC 6265 §5.1.3 (both lower-case).
fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host.parse::<std::net::IpAddr>().is_err())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// RFC 6265 §5.1.1: the forgiving cookie-date algorithm, which reads the
/// IMF-fixdate, RFC 850 and asctime forms and the dashed variants servers
/// actually send (`Wed, 09-Jun-2021 10:18:14 GMT`).
pub(crate) fn parse_cookie_date(text: &str) -> Option<SystemTime> {
    let is_delim = |c: char| matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~');
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in text.split(is_delim).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = parse_time(token) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some(d) = leading_digits(token, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() {
            let lower = token.get(..3).map(str::to_ascii_lowercase);
            let months = [
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ];
            if let Some(m) = lower.and_then(|l| months.iter().position(|m| *m == l)) {
                month = Some(m as u32 + 1);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = leading_digits(token, 2, 4) {
                year = Some(y);
            }
        }
    }
    let (h, mi, s) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day)?;
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// `min..=max` digits at the start of `token`, not followed by another digit.
fn leading_digits(token: &str, min: usize, max: usize) -> Option<u32> {
    let n = token.bytes().take_while(u8::is_ascii_digit).count();
    (min..=max)
        .contains(&n)
        .then(|| token[..n].parse().ok())
        .flatten()
}

fn parse_time(token: &str) -> Option<(u32, u32, u32)> {
    let mut it = token.splitn(3, ':');
    let h = it.next()?;
    let m = it.next()?;
    let s = it.next()?;
    let full = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    let secs_digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if !full(h) || !full(m) || !(1..=2).contains(&secs_digits) {
        return None;
    }
    Some((
        h.parse().ok()?,
        m.parse().ok()?,
        s[..secs_digits].parse().ok()?,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm); `None` for dates that do not exist (February 30).
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> TargetUrl {
        TargetUrl::parse(u).unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const NOW: u64 = 1_700_000_000;

    fn header(jar: &mut CookieJar, u: &str, now: u64) -> String {
        let mut out = String::new();
        jar.header_for(&url(u), at(now), &mut out);
        out
    }

    #[test]
    fn session_cookie_round_trip_and_replacement() {
        let mut jar = CookieJar::new();
        let site = url("http://shop.test/api/login");
        assert!(jar.store(&site, "session=abc; Path=/; HttpOnly", at(NOW)));
        assert!(jar.store(&site, "theme=dark", at(NOW)));
        // theme has the default path /api, longer than session's /: it comes first.
        assert_eq!(
            header(&mut jar, "http://shop.test/api/apps?q=1", NOW),
            "theme=dark; session=abc"
        );
        assert_eq!(header(&mut jar, "http://shop.test/", NOW), "session=abc");
        assert!(jar.store(&site, "session=xyz; Path=/", at(NOW)));
        assert_eq!(jar.len(), 2);
        assert_eq!(jar.get("session", at(NOW)), Some("xyz"));
        assert_eq!(header(&mut jar, "http://other.test/", NOW), "");
    }

    #[test]
    fn domains() {
        let mut jar = CookieJar::new();
        assert!(jar.store(
            &url("http://www.shop.test/"),
            "a=1; Domain=.shop.test",
            at(NOW)
        ));
        assert!(!jar.store(
            &url("http://www.shop.test/"),
            "b=2; Domain=evil.test",
            at(NOW)
        ));
        assert!(!jar.store(
            &url("http://shop.test/"),
            "c=3; Domain=www.shop.test",
            at(NOW)
        ));
        assert!(jar.store(&url("http://www.shop.test/"), "d=4", at(NOW)));
        assert_eq!(header(&mut jar, "http://api.shop.test/", NOW), "a=1");
        assert_eq!(header(&mut jar, "http://shop.test/", NOW), "a=1");
        assert_eq!(header(&mut jar, "http://www.shop.test/", NOW), "a=1; d=4");
        assert_eq!(header(&mut jar, "http://notshop.test/", NOW), "");
        // IP hosts match exactly only.
        assert!(!jar.store(&url("http://10.0.0.1/"), "e=5; Domain=0.0.1", at(NOW)));
    }

    #[test]
    fn paths_sort_longest_first() {
        let mut jar = CookieJar::new();
        let u = url("http://h.test/a/b/c");
        jar.store(&u, "dir=1", at(NOW)); // default path /a/b
        jar.store(&u, "root=2; Path=/", at(NOW));
        jar.store(&u, "bad=3; Path=relative", at(NOW)); // falls back to /a/b
        assert_eq!(
            header(&mut jar, "http://h.test/a/b/x", NOW),
            "dir=1; bad=3; root=2"
        );
        assert_eq!(header(&mut jar, "http://h.test/a/bc", NOW), "root=2");
        assert_eq!(
            header(&mut jar, "http://h.test/a/b", NOW),
            "dir=1; bad=3; root=2"
        );
    }

    #[test]
    fn expiry_max_age_and_deletion() {
        let mut jar = CookieJar::new();
        let u = url("http://h.test/");
        jar.store(&u, "short=1; Max-Age=10", at(NOW));
        jar.store(
            &u,
            "dated=2; Expires=Wed, 09 Jun 2100 10:18:14 GMT",
            at(NOW),
        );
        jar.store(
            &u,
            "both=3; Expires=Wed, 09 Jun 2100 10:18:14 GMT; Max-Age=5",
            at(NOW),
        );
        assert_eq!(
            header(&mut jar, "http://h.test/", NOW + 1),
            "short=1; dated=2; both=3"
        );
        assert_eq!(
            header(&mut jar, "http://h.test/", NOW + 7),
            "short=1; dated=2"
        );
        assert_eq!(header(&mut jar, "http://h.test/", NOW + 11), "dated=2");
        jar.store(&u, "dated=gone; Max-Age=0", at(NOW + 12));
        assert!(jar.is_empty());
        jar.store(&u, "x=1", at(NOW));
        jar.store(&u, "x=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", at(NOW));
        assert!(jar.is_empty());
    }

    #[test]
    fn secure_cookies_need_https_or_loopback() {
        let mut jar = CookieJar::new();
        jar.store(&url("https://h.test/"), "s=1; Secure", at(NOW));
        assert_eq!(header(&mut jar, "http://h.test/", NOW), "");
        assert_eq!(header(&mut jar, "https://h.test/", NOW), "s=1");
        jar.store(&url("http://127.0.0.1:8080/"), "s=2; Secure", at(NOW));
        assert_eq!(header(&mut jar, "http://127.0.0.1:8080/", NOW), "s=2");
    }

    #[test]
    fn malformed_set_cookie_is_ignored() {
        let mut jar = CookieJar::new();
        let u = url("http://h.test/");
        for bad in ["", "noequals", "=value", "  ; Path=/"] {
            assert!(!jar.store(&u, bad, at(NOW)), "{bad:?}");
        }
        assert!(jar.store(
            &u,
            "a=1; Max-Age=abc; Expires=garbage; Unknown; Domain=",
            at(NOW)
        ));
        assert_eq!(jar.iter().next().unwrap().expires, None);
        assert!(jar.iter().next().unwrap().host_only);
    }

    #[test]
    fn the_jar_is_bounded() {
        let mut jar = CookieJar::new();
        let u = url("http://h.test/");
        for i in 0..MAX_COOKIES + 10 {
            jar.store(&u, &format!("c{i}=1"), at(NOW));
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        assert_eq!(jar.get("c0", at(NOW)), None);
        assert_eq!(
            jar.get(&format!("c{}", MAX_COOKIES + 9), at(NOW)),
            Some("1")
        );
    }

    /// A server that sets big cookies cannot grow a VU's memory (or its
    /// requests' `Cookie` header) past the jar's byte budget: a cookie over
    /// 4096 bytes is ignored, as browsers do, and past the budget the oldest
    /// cookies go.
    #[test]
    fn the_jar_is_bounded_in_bytes() {
        let mut jar = CookieJar::new();
        let u = url("http://h.test/");
        let big = "v".repeat(MAX_COOKIE_BYTES);
        assert!(!jar.store(&u, &format!("c={big}"), at(NOW)));
        assert!(jar.is_empty());
        let long_path = format!("c=1; Path=/{}", "p".repeat(MAX_COOKIE_BYTES));
        assert!(!jar.store(&u, &long_path, at(NOW)));
        let value = "v".repeat(MAX_COOKIE_BYTES - 100);
        for i in 0..MAX_COOKIES {
            jar.store(&u, &format!("c{i}={value}"), at(NOW));
        }
        let bytes: usize = jar.iter().map(Cookie::size).sum();
        assert!(bytes <= MAX_JAR_BYTES, "{bytes} bytes kept");
        let newest = format!("c{}", MAX_COOKIES - 1);
        assert_eq!(jar.get(&newest, at(NOW)), Some(value.as_str()));
        assert_eq!(jar.get("c0", at(NOW)), None);
        let mut header = String::new();
        assert!(jar.header_for(&u, at(NOW), &mut header));
        assert!(
            header.len() <= MAX_JAR_BYTES + 2 * MAX_COOKIES,
            "{}",
            header.len()
        );
    }

    #[test]
    fn cookie_dates() {
        let expect = at(4_084_683_494); // 2099-06-09 10:18:14 UTC
        for s in [
            "Tue, 09 Jun 2099 10:18:14 GMT",
            "Tue, 09-Jun-2099 10:18:14 GMT",
            "Tue Jun  9 10:18:14 2099",
        ] {
            assert_eq!(parse_cookie_date(s), Some(expect), "{s}");
        }
        assert_eq!(
            parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        // Two-digit years: 70-99 are 19xx, 00-69 are 20xx.
        assert_eq!(
            parse_cookie_date("Wednesday, 09-Jun-21 10:18:14 GMT"),
            Some(at(1_623_233_894))
        );
        assert_eq!(
            parse_cookie_date("Thu, 01-Jan-70 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        for bad in [
            "",
            "garbage",
            "31 Feb 2030 00:00:00",
            "09 Jun 2099",
            "09 Foo 2099 10:18:14",
            "09 Jun 2099 25:00:00",
        ] {
            assert_eq!(parse_cookie_date(bad), None, "{bad}");
        }
    }
}
