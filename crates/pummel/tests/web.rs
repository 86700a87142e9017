//! The server's web UI end to end, as a browser speaks to it (plain HTTP/1.1 from this process,
//! cookies kept as a browser keeps them): sign-in and its limit, sessions and sign-out, the CSRF
//! token every form needs, API tokens made on the profile page and used by the command line, a
//! run started from the new-run form followed live over its event stream to its report, compared
//! with an earlier run, the agent busy then idle, and another user's run refused everywhere.
//!
//! One server with one agent and three users (an admin and two users) is shared; the browser
//! tests (`web_browser`) drive the same pages in headless Chromium.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::accounting::CountingTarget;
use crate::cluster::{poll, Agent, Server, SETTLE};
use crate::util::{self, pummel_bin};

/// The users of the shared server, with their passwords.
pub(crate) const ADMIN: (&str, &str) = ("root", "root-password-1");
pub(crate) const ADA: (&str, &str) = ("ada", "ada-password-1");
pub(crate) const BOB: (&str, &str) = ("bob", "bob-password-1");

pub(crate) struct Shared {
    pub(crate) server: Server,
    _agent: Agent,
    pub(crate) target: CountingTarget,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

/// Creates a user with `pummel server user create`, the password on standard input.
pub(crate) fn create_user(server: &Server, name: &str, role: &str, password: &str) -> util::Output {
    let started = Instant::now();
    let mut child = Command::new(pummel_bin())
        .args([
            "server",
            "user",
            "create",
            name,
            "--role",
            role,
            "--data-dir",
        ])
        .arg(&server.data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pummel");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("write the password");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for pummel");
    util::Output {
        args: vec!["server".into(), "user".into(), "create".into(), name.into()],
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The shared server, its agent `w1` idle, and a counting target.
pub(crate) fn shared() -> MutexGuard<'static, Shared> {
    let cell = SHARED.get_or_init(|| {
        let server = Server::start(&[]);
        for (user, role) in [(ADMIN, "admin"), (ADA, "user"), (BOB, "user")] {
            create_user(&server, user.0, role, user.1).expect_code(0);
        }
        let agent = server.agent("w1", &["--label", "zone=web"], &[]);
        Mutex::new(Shared {
            server,
            _agent: agent,
            target: CountingTarget::start(),
        })
    });
    let guard = cell.lock().unwrap_or_else(PoisonError::into_inner);
    guard.server.wait_agents(&["w1"], "idle");
    guard
}

/// An HTTP answer.
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of the first `name="csrf"` field of the page.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field in:\n{}", self.body));
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').expect("end of value")].to_owned()
    }

    #[track_caller]
    pub(crate) fn expect(self, status: u16, needles: &[&str]) -> Page {
        assert_eq!(self.status, status, "body:\n{}", self.body);
        for n in needles {
            assert!(self.body.contains(n), "{n:?} not in:\n{}", self.body);
        }
        self
    }
}

/// A browser's view of HTTP: one connection a request, cookies kept.
pub(crate) struct Browser {
    host: String,
    pub(crate) cookies: BTreeMap<String, String>,
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` of `fields`.
pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    pub(crate) fn new(url: &str) -> Browser {
        Browser {
            host: url.trim_start_matches("http://").to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> TcpStream {
        let mut stream = TcpStream::connect(&self.host).expect("connect to the server");
        stream.set_read_timeout(Some(SETTLE)).expect("read timeout");
        let cookies = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if !cookies.is_empty() {
            request.push_str(&format!("Cookie: {cookies}\r\n"));
        }
        if let Some(body) = body {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            request.push_str("\r\n");
        }
        stream.write_all(request.as_bytes()).expect("send");
        stream
    }

    fn read(&mut self, stream: TcpStream) -> Page {
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let mut raw = Vec::new();
        reader.read_to_end(&mut raw).expect("body");
        let body = if chunked { dechunk(&raw) } else { raw };
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> Page {
        let stream = self.send("GET", path, None);
        self.read(stream)
    }

    pub(crate) fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let stream = self.send("POST", path, Some(&form(fields)));
        self.read(stream)
    }

    /// Signs in; the answer to the form's POST.
    pub(crate) fn sign_in(&mut self, (name, password): (&str, &str)) -> Page {
        let login = self.get("/login").expect(200, &["Sign in"]);
        let csrf = login.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("name", name),
                ("password", password),
                ("next", "/runs"),
            ],
        )
    }

    /// Signs in and returns the session's CSRF token (from the runs page).
    pub(crate) fn signed_in(url: &str, user: (&str, &str)) -> (Browser, String) {
        let mut b = Browser::new(url);
        b.sign_in(user).expect(303, &[]);
        let csrf = b.get("/runs").expect(200, &[user.0]).csrf();
        (b, csrf)
    }

    /// Reads a run's event stream until it ends; returns the events' names and data.
    pub(crate) fn events(&mut self, run: &str, limit: Duration) -> Vec<(String, String)> {
        let path = if run.is_empty() {
            "/events".to_owned()
        } else {
            format!("/runs/{run}/events")
        };
        let stream = self.send("GET", &path, None);
        let deadline = Instant::now() + limit;
        let mut reader = BufReader::new(stream);
        let mut events = Vec::new();
        let mut name = String::new();
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if let Some(n) = l.strip_prefix("event: ") {
                name = n.to_owned();
            } else if let Some(data) = l.strip_prefix("data: ") {
                events.push((std::mem::take(&mut name), data.to_owned()));
                if events
                    .last()
                    .is_some_and(|(n, _)| n == "ended" || n == "failure")
                {
                    break;
                }
            }
        }
        events
    }
}

/// The body of a chunked answer.
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
    out
}

/// A scenario against `target` that runs for about `seconds` seconds.
pub(crate) fn scenario(target: &str) -> String {
    format!(
        "target: {target}\nload: {{ vus: 2, duration: 3s }}\nscenarios:\n  - name: browse\n    steps:\n      - request: GET /\n      - think: 20ms\n"
    )
}

/// Starts a run from the new-run form; returns its id.
pub(crate) fn start_run(b: &mut Browser, csrf: &str, scenario: &str, duration: &str) -> String {
    let page = b.post(
        "/runs/new",
        &[
            ("csrf", csrf),
            ("file_name", "browse.yaml"),
            ("scenario", scenario),
            ("agents", "1"),
            ("labels", "zone=web"),
            ("duration", duration),
        ],
    );
    follow_job(b, &page)
}

/// The run of the job a form led to (`page`, its 303 to `/jobs/ID`), once the queue started it.
pub(crate) fn follow_job(b: &mut Browser, page: &Page) -> String {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.header("location").expect("a redirect").to_owned();
    let job = location
        .strip_prefix("/jobs/")
        .unwrap_or_else(|| panic!("the form queues a job: redirected to {location}"))
        .to_owned();
    // The job's page leads on to its run once the queue starts it.
    let mut run = String::new();
    let started = poll(SETTLE, || {
        let page = b.get(&format!("/jobs/{job}"));
        match page
            .header("location")
            .and_then(|l| l.strip_prefix("/runs/"))
        {
            Some(id) if page.status == 303 => {
                run = id.to_owned();
                true
            }
            _ => {
                assert_eq!(page.status, 200, "job {job}: {}", page.body);
                false
            }
        }
    });
    assert!(
        started,
        "job {job} did not start: {}",
        b.get("/jobs/table").body
    );
    run
}

#[test]
fn web_sign_in_sessions_and_the_csrf_token_of_every_form() {
    let _busy = crate::util::busy();
    let shared = shared();
    let url = shared.server.url.clone();
    let mut b = Browser::new(&url);
    // Pages need a session: to the sign-in form, and back afterwards.
    let page = b.get("/agents");
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=%2Fagents"));
    let login = b
        .get("/login?next=/agents")
        .expect(200, &["name=\"next\" value=\"/agents\""]);
    let set = login.header("set-cookie").expect("the form's cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    // A sign-in without the form's token is refused; so is a wrong password.
    b.post("/login", &[("name", ADA.0), ("password", ADA.1)])
        .expect(403, &["CSRF"]);
    let csrf = login.csrf();
    b.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("name", ADA.0),
            ("password", "wrong-password"),
        ],
    )
    .expect(401, &["wrong user name or password"]);
    let csrf = b.get("/login").csrf();
    let ok = b.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("name", ADA.0),
            ("password", ADA.1),
            ("next", "/agents"),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/agents"));
    let session = ok
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("pummel_session="))
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "no TLS here: {session}");
    // The session is stored hashed: its value is nowhere in the store.
    let value = b.cookies["pummel_session"].clone();
    let db = std::fs::read(shared.server.data.join("pummel.db")).unwrap_or_default();
    let wal = std::fs::read(shared.server.data.join("pummel.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()));
    }
    let agents = b.get("/agents").expect(200, &["w1", "zone=web"]);
    let csrf = agents.csrf();
    // Every form needs the session's token: without it, or with another, 403.
    b.post("/profile/tokens", &[("label", "ci")])
        .expect(403, &["CSRF"]);
    b.post("/profile/tokens", &[("label", "ci"), ("csrf", "forged")])
        .expect(403, &["CSRF"]);
    // A user is no admin.
    b.get("/admin").expect(403, &["admins only"]);
    b.post("/agents/w1/disable", &[("csrf", &csrf)])
        .expect(403, &["only an admin"]);
    // An API token made on the profile page works with the command line, until revoked.
    let made = b
        .post("/profile/tokens", &[("label", "laptop"), ("csrf", &csrf)])
        .expect(200, &["shown this once", "laptop"]);
    let at = made.body.find("id=\"fresh-token\">").expect("the token") + 17;
    let token = made.body[at..at + made.body[at..].find('<').expect("end")].to_owned();
    assert!(token.starts_with("pmt_"), "{token}");
    let runs = util::pummel(&["runs", "--server", &url, "--token", &token, "--json"]);
    runs.expect_code(0);
    let profile = b.get("/profile").expect(200, &["laptop"]);
    assert!(!profile.body.contains(&token), "a token is shown once only");
    let id_at = profile.body.find("/profile/tokens/").expect("revoke form") + 16;
    let id: String = profile.body[id_at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    b.post(&format!("/profile/tokens/{id}/revoke"), &[("csrf", &csrf)])
        .expect(303, &[]);
    util::pummel(&["runs", "--server", &url, "--token", &token])
        .expect_usage_error(&["unknown token"]);
    // Signing out ends the session on the server, not only in this browser.
    let kept = b.cookies.clone();
    b.post("/logout", &[("csrf", &csrf)]).expect(303, &[]);
    assert_eq!(b.get("/runs").status, 303);
    b.cookies = kept;
    assert_eq!(
        b.get("/runs").status,
        303,
        "the old cookie no longer signs in"
    );
}

#[test]
fn web_sign_in_attempts_are_limited_per_account() {
    let _busy = crate::util::busy();
    let shared = shared();
    create_user(&shared.server, "carol", "user", "carol-password-1").expect_code(0);
    let mut b = Browser::new(&shared.server.url);
    for _ in 0..5 {
        b.sign_in(("carol", "not-her-password"))
            .expect(401, &["wrong"]);
    }
    // Now even the right password waits, and the page says why and for how long.
    b.sign_in(("carol", "carol-password-1")).expect(
        429,
        &[
            "too many failed sign-ins for the account",
            "carol",
            "minutes",
        ],
    );
    // Another account from the same address is not locked by carol's failures.
    b.sign_in(ADA).expect(303, &[]);
}

#[test]
fn web_user_create_checks_its_input() {
    let _busy = crate::util::busy();
    let shared = shared();
    create_user(&shared.server, "dave", "user", "short").expect_usage_error(&["at least 10"]);
    create_user(&shared.server, ADA.0, "user", "another-password")
        .expect_usage_error(&["already a user named \"ada\""]);
    create_user(&shared.server, "no spaces", "user", "long-enough-1")
        .expect_usage_error(&["not a user name"]);
}

#[test]
fn web_run_followed_live_to_its_report_compared_and_refused_to_others() {
    let _busy = crate::util::busy();
    let shared = shared();
    let url = shared.server.url.clone();
    let target = shared.target.base();
    let (mut ada, csrf) = Browser::signed_in(&url, ADA);
    // A scenario the hub cannot load is refused on the form, with the parser's words.
    ada.post(
        "/runs/new",
        &[
            ("csrf", &csrf),
            ("file_name", "bad.yaml"),
            ("scenario", "scenarios: 3\n"),
        ],
    )
    .expect(400, &["bad.yaml"]);
    let first = start_run(&mut ada, &csrf, &scenario(&target), "2s");
    let first_events = ada.events(&first, SETTLE);
    assert_eq!(
        first_events.last().map(|e| e.0.as_str()),
        Some("ended"),
        "{first_events:?}"
    );
    let second = start_run(&mut ada, &csrf, &scenario(&target), "3s");
    // The agent is busy with the run, and the agents page says which.
    let mut admin = Browser::signed_in(&url, ADMIN).0;
    let busy = poll(SETTLE, || {
        let t = admin.get("/agents/table").body;
        t.contains("state-busy") && t.contains(&second)
    });
    assert!(busy, "{}", admin.get("/agents/table").body);
    // The run page's stream: points each second, then the end.
    let events = ada.events(&second, SETTLE);
    let points: Vec<serde_json::Value> = events
        .iter()
        .filter(|(n, _)| n == "point")
        .map(|(_, d)| serde_json::from_str(d).expect("a point is JSON"))
        .collect();
    assert!(points.len() >= 3, "{events:?}");
    for (i, p) in points.iter().enumerate() {
        assert_eq!(p["t"], i, "seconds in order: {events:?}");
    }
    assert!(
        points
            .iter()
            .map(|p| p["requests"].as_u64().unwrap_or(0))
            .sum::<u64>()
            > 0
    );
    let (name, data) = events.last().expect("an end");
    assert_eq!(name, "ended", "{events:?}");
    let ended: serde_json::Value = serde_json::from_str(data).expect("JSON");
    assert_eq!(ended["exit_code"], 0, "{ended}");
    assert!(poll(SETTLE, || admin
        .get("/agents/table")
        .body
        .contains("state-idle")));
    // The report is the report crate's own page; the run page links it and offers a compare.
    let report = ada
        .get(&format!("/runs/{second}/report"))
        .expect(200, &["<html", "uPlot"]);
    assert!(report
        .header("content-security-policy")
        .is_some_and(|c| c.contains("default-src 'none'")));
    ada.get(&format!("/runs/{second}")).expect(
        200,
        &[
            &format!("/runs/{second}/report"),
            &format!("value=\"{first}\""),
            "browse.yaml",
        ],
    );
    ada.get(&format!("/compare?base={first}&new={second}"))
        .expect(200, &["<html", &first, &second]);
    ada.get("/trend?test=browse.yaml")
        .expect(200, &["<html", "Trend of browse.yaml"]);
    ada.get("/runs").expect(200, &[&first, &second]);
    // Bob sees none of it, on the pages or with his token.
    let (mut bob, bob_csrf) = Browser::signed_in(&url, BOB);
    let list = bob.get("/runs/table").expect(200, &[]);
    assert!(!list.body.contains(&second), "{}", list.body);
    for path in [
        format!("/runs/{second}"),
        format!("/runs/{second}/report"),
        format!("/runs/{second}/events"),
        format!("/runs/{second}/result.json"),
        format!("/compare?base={first}&new={second}"),
    ] {
        bob.get(&path).expect(403, &["belongs to another user"]);
    }
    bob.post(&format!("/runs/{second}/stop"), &[("csrf", &bob_csrf)])
        .expect(403, &["belongs to another user"]);
    let bob_token = {
        let made = bob
            .post("/profile/tokens", &[("label", "cli"), ("csrf", &bob_csrf)])
            .expect(200, &[]);
        let at = made.body.find("id=\"fresh-token\">").expect("token") + 17;
        made.body[at..at + made.body[at..].find('<').expect("end")].to_owned()
    };
    util::pummel(&["result", &second, "--server", &url, "--token", &bob_token])
        .expect_usage_error(&["belongs to another user"]);
    let listed = util::pummel(&["runs", "--json", "--server", &url, "--token", &bob_token]);
    assert!(!listed.expect_code(0).stdout.contains(&second));
    // The admin sees every run.
    admin.get(&format!("/runs/{second}")).expect(200, &[ADA.0]);
}

#[test]
fn web_stop_button_stops_a_live_run() {
    let _busy = crate::util::busy();
    let shared = shared();
    let (mut ada, csrf) = Browser::signed_in(&shared.server.url, ADA);
    let run = start_run(&mut ada, &csrf, &scenario(&shared.target.base()), "60s");
    let running = poll(SETTLE, || {
        ada.get(&format!("/runs/{run}"))
            .body
            .contains("Stop the run")
    });
    assert!(running);
    // Wait for the first second so that the stop lands in a started run.
    assert!(poll(SETTLE, || {
        ada.get(&format!("/runs/{run}"))
            .body
            .contains("state-running")
    }));
    let started = Instant::now();
    ada.post(&format!("/runs/{run}/stop"), &[("csrf", &csrf)])
        .expect(303, &[]);
    let events = ada.events(&run, SETTLE);
    let (name, data) = events.last().expect("an end");
    assert_eq!(name, "ended", "{events:?}");
    assert!(data.contains("stopped"), "{data}");
    assert!(started.elapsed() < Duration::from_secs(30));
    ada.get("/runs/table").expect(200, &[&run, "stopped"]);
}

/// The service toured in headless Chromium (`tests/browser/check-web.mjs`), as the admin: a run
/// from the new-run form with a chosen file; a git repository registered on its page, its
/// `pummel.yml`'s test discovered and a broken one's problem shown at file:line:col; the test
/// started from its Run button and followed from the page it lands on, uPlot's live data growing,
/// the list and the agents page following it (busy, then idle) without a reload; it passes; its
/// report; a comparison with the earlier run; CSRF-less forms refused; another user refused the
/// run, its report and the repository; axe-core at phone and desktop size; no console error;
/// nothing fetched from elsewhere. Screenshots go to the build directory, or to `docs/service/`
/// with `PUMMEL_DOCS_SCREENSHOTS=1`.
#[test]
fn web_in_a_browser() {
    let _busy = crate::util::busy();
    if !crate::reports::browser_available() {
        util::skip_without("web_in_a_browser", "no Chromium or Node.js");
        return;
    }
    let harness = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !harness.join("node_modules/axe-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&harness)
            .status()
            .expect("run npm ci for the browser harness");
        assert!(
            status.success(),
            "npm ci --prefix {} failed",
            harness.display()
        );
    }
    let shared = shared();
    let url = shared.server.url.clone();
    let target = shared.target.base();
    let dir = tempfile::tempdir().expect("tempdir");
    let smoke = format!(
        "target: {target}\nload: {{ vus: 1, duration: 2s }}\nscenarios:\n  - name: browse\n    steps:\n      - request: GET /\n        check: {{ status: 200 }}\n      - think: 20ms\n"
    );
    // A repository as a team would keep it: a good test, and one whose scenario has a typo.
    let repo = dir.path().join("shop");
    crate::repos::new_repo(&repo);
    crate::repos::commit(
        &repo,
        &[
            (
                "pummel.yml",
                "tests:\n  - name: smoke\n    scenario: scenarios/smoke.yaml\n    load: { vus: 2, duration: 4s }\n    agents: 1\n    labels: { zone: web }\n    thresholds: [\"p95 < 2s\"]\n  - name: checkout\n    scenario: scenarios/checkout.yaml\n"
                    .to_owned(),
            ),
            ("scenarios/smoke.yaml", smoke.clone()),
            (
                "scenarios/checkout.yaml",
                smoke.replace("check: {", "chek: {"),
            ),
        ],
        "load tests",
    );
    let file = crate::cluster::write(dir.path(), "smoke.yaml", &smoke);
    let shots = if std::env::var_os("PUMMEL_DOCS_SCREENSHOTS").is_some() {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/service")
    } else {
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots")
    };
    let out = Command::new("node")
        .arg(harness.join("check-web.mjs"))
        .args([&url, ADMIN.0, ADMIN.1, BOB.0, BOB.1])
        .arg(&repo)
        .arg("smoke")
        .arg(&file)
        .arg(&shots)
        .env("CHROMIUM", "/usr/bin/chromium")
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the web UI in the browser: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(found["errors"], serde_json::json!([]), "{stdout}");
    assert_eq!(found["violations"], serde_json::json!([]), "{stdout}");
    assert_eq!(found["offsite"], serde_json::json!([]), "{stdout}");
    assert_eq!(found["ended"], "finished", "{stdout}");
    assert!(found["axe_pages"].as_u64().unwrap_or(0) >= 20, "{stdout}");
    assert!(
        found["problems"]
            .as_str()
            .is_some_and(|p| p.contains("scenarios/checkout.yaml:")),
        "{stdout}"
    );
    for (check, ok) in found["checks"].as_object().expect("checks") {
        assert_eq!(ok, &serde_json::json!(true), "{check}: {stdout}");
    }
    for shot in [
        "run-live-desktop.png",
        "repo-phone.png",
        "repos-desktop.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot}");
    }
}

/// `pummel run FILE --dashboard 127.0.0.1:0` with its stderr read line by line: the dashboard's
/// address, then the process itself to wait for.
fn dashboard_run(
    dir: &std::path::Path,
    target: &CountingTarget,
    duration: &str,
) -> (std::process::Child, String) {
    let file = crate::cluster::write(dir, "dash.yaml", &scenario(&target.base()));
    let mut child = Command::new(pummel_bin())
        .args([
            "run",
            file.to_str().expect("utf-8"),
            "--duration",
            duration,
            "--dashboard",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pummel");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("pummel: dashboard at ") {
                let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(SETTLE)
        .expect("the dashboard's address on stderr");
    (child, url)
}

#[test]
fn web_dashboard_of_a_local_run() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = CountingTarget::start();
    let (mut child, url) = dashboard_run(dir.path(), &target, "3s");
    let mut b = Browser::new(&url);
    let page = b
        .get("/")
        .expect(200, &["Live figures", "dash.yaml", "/assets/app.js"]);
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("script-src 'self'")));
    b.get("/assets/uPlot.iife.min.js").expect(200, &["uPlot"]);
    let events = b.events("", SETTLE);
    let points = events.iter().filter(|(n, _)| n == "point").count();
    assert!(points >= 3, "{events:?}");
    let (name, data) = events.last().expect("an end");
    assert_eq!(name, "ended", "{events:?}");
    assert!(
        data.contains("\"state\":\"finished\"") && data.contains("\"exit_code\":0"),
        "{data}"
    );
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(target.served() > 0);
    // Only loopback: the page has no sign-in.
    let file = dir.path().join("dash.yaml");
    util::pummel(&[
        "run",
        file.to_str().expect("utf-8"),
        "--dashboard",
        "0.0.0.0:0",
    ])
    .expect_usage_error(&["only a loopback address"]);
}

#[test]
fn web_dashboard_stop_button_needs_its_token_and_stops_the_run() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let target = CountingTarget::start();
    let (mut child, url) = dashboard_run(dir.path(), &target, "60s");
    let mut b = Browser::new(&url);
    let token = b.get("/").expect(200, &["Stop the run"]).csrf();
    // A post from another site has no token: refused, the run goes on.
    b.post("/stop", &[]).expect(403, &["CSRF"]);
    let events = {
        let stream = b.send("GET", "/events", None);
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        // The first point proves the run is under way before the stop.
        while !line.starts_with("event: point") {
            line.clear();
            assert!(
                reader.read_line(&mut line).expect("read") > 0,
                "stream closed"
            );
        }
        b.post("/stop", &[("csrf", &token)]).expect(303, &[]);
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        rest
    };
    assert!(events.contains("event: ended"), "{events}");
    assert!(events.contains("\"state\":\"stopped\""), "{events}");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(40));
}
