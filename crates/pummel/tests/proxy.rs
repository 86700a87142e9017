//! Requests through a real HTTP proxy (Debian's tinyproxy, started on 127.0.0.1 with a
//! configuration of its own): plain http forwarded in absolute form, https and WebSockets through
//! `CONNECT` tunnels, HTTP/2 by ALPN inside a tunnel (`pummel bench --http2` and `http2: true`), Basic credentials from `{{ env.X }}`, a
//! proxy that wants other credentials or refuses the tunnel counted under named error kinds, and
//! `proxy:` values checked with file:line:col. The proxy's own log says what went through it; the
//! target's own count says what reached the target.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::accounting::CountingTarget;
use crate::scenarios::nginx::Nginx;
use crate::util::{self, brief, pummel, u};

/// Where Debian installs tinyproxy.
const TINYPROXY: &str = "/usr/bin/tinyproxy";

/// How long tinyproxy may take to listen.
const START_LIMIT: Duration = Duration::from_secs(10);

/// The credentials the proxy wants.
const USER: &str = "demo";
const PASSWORD: &str = "demo";

/// A tinyproxy on 127.0.0.1 that wants `demo:demo` (as `examples/data/tinyproxy.conf`), killed on
/// drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// Starts tinyproxy (`None` after recording the skip when it is not installed).
    fn start_or_skip(test: &str) -> Option<Tinyproxy> {
        if !Path::new(TINYPROXY).exists() {
            util::skip_without(
                test,
                &format!("{TINYPROXY} is absent (scripts/test-deps.d/45-proxy.sh)"),
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        // A port picked now may be taken before tinyproxy binds it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("tinyproxy.conf");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\n\
                     LogFile \"{log}\"\nLogLevel Info\nPidFile \"{pid}\"\n\
                     BasicAuth {USER} {PASSWORD}\nDisableViaHeader Yes\n",
                    log = dir.path().join("tinyproxy.log").display(),
                    pid = dir.path().join("tinyproxy.pid").display(),
                ),
            )
            .expect("write tinyproxy.conf");
            let mut child = Command::new(TINYPROXY)
                .arg("-d")
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn tinyproxy");
            // Ready when its port accepts a connection; gone when it could not bind.
            let deadline = Instant::now() + START_LIMIT;
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Tinyproxy { child, port, dir });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                assert!(Instant::now() < deadline, "tinyproxy did not listen");
                std::thread::sleep(Duration::from_millis(10));
            }
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            eprintln!("tinyproxy on {port} exited: {err}");
        }
        panic!("tinyproxy could not start in 5 tries");
    }

    /// `http://demo:demo@127.0.0.1:PORT`, or with other credentials.
    fn url_with(&self, credentials: &str) -> String {
        format!("http://{credentials}127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        self.url_with(&format!("{USER}:{PASSWORD}@"))
    }

    /// The requests tinyproxy logged whose request line starts with `start`
    /// (`GET http://…`, `CONNECT 127.0.0.1:…`).
    fn logged(&self, start: &str) -> usize {
        let log =
            std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default();
        let needle = format!("): {start}");
        log.lines()
            .filter(|l| l.contains("Request (file descriptor") && l.contains(&needle))
            .count()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Plain http through the proxy: forwarded in absolute form with credentials from the
/// environment, every request in the proxy's log and at the target; `proxy: false` goes
/// around it; `--proxy` on `run` and `bench`; WebSockets through a tunnel; missing credentials
/// are `proxy_auth` failures that never reach the target.
#[test]
fn http_and_websockets_through_a_proxy() {
    let _busy = crate::util::busy();
    let Some(proxy) = Tinyproxy::start_or_skip("http_and_websockets_through_a_proxy") else {
        return;
    };
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "proxied.yaml",
        &format!(
            "target: {base}\n\
             defaults:\n  proxy: \"http://{{{{ env.PROXY_USER }}}}:{{{{ env.PROXY_PASSWORD }}}}@127.0.0.1:{port}\"\n\
             load: {{ vus: 2, iterations: 10 }}\n\
             scenarios:\n  - name: shop\n    steps:\n\
             \x20     - request: GET /api/apps\n        check: {{ status: 200 }}\n\
             \x20     - request: {{ url: /json, proxy: false }}\n        check: {{ status: 200 }}\n",
            base = target.base(),
            port = proxy.port,
        ),
    );
    let env = ["--env", "PROXY_USER=demo", "--env", "PROXY_PASSWORD=demo"];
    let mut args = vec!["run", s(&file), "--json"];
    args.extend(env);
    let r = pummel(&args).json_ok();
    assert_eq!(u(&r, "/requests"), 20, "{}", brief(&r));
    assert_eq!(u(&r, "/status/200"), 20, "{}", brief(&r));
    assert_eq!(target.served(), 20, "every request reached the target");
    let through = format!("GET {}/api/apps HTTP/1.1", target.base());
    assert_eq!(proxy.logged(&through), 10, "{}", proxy.log());
    assert_eq!(
        proxy.logged(&format!("GET {}/json", target.base())),
        0,
        "`proxy: false` goes around the proxy\n{}",
        proxy.log()
    );

    // Without credentials the proxy answers 407: a named failure, and nothing reaches the target.
    let plain = write(
        dir.path(),
        "plain.yaml",
        &format!(
            "target: {}\nload: {{ vus: 1, iterations: 3 }}\nscenarios:\n  - name: s\n    steps:\n      - request: GET /api/apps\n",
            target.base()
        ),
    );
    let out = pummel(&["run", s(&plain), "--json", "--proxy", &proxy.url_with("")]);
    let r = out.json();
    assert_eq!(u(&r, "/errors/proxy_auth"), 3, "{}", brief(&r));
    assert_eq!(
        target.served(),
        20,
        "a refused request never reaches the target"
    );
    assert_eq!(
        proxy.logged(&through),
        13,
        "the proxy saw them\n{}",
        proxy.log()
    );

    // `--proxy` on the command line sends a file without `proxy:` through it.
    let r = pummel(&["run", s(&plain), "--json", "--proxy", &proxy.url()]).json_ok();
    assert_eq!(u(&r, "/status/200"), 3, "{}", brief(&r));
    assert_eq!(proxy.logged(&through), 16, "{}", proxy.log());

    // A bench through the proxy: every request forwarded.
    let url = target.url("/api/apps");
    let r = pummel(&[
        "bench",
        "-n",
        "40",
        "-c",
        "2",
        "--json",
        "--proxy",
        &proxy.url(),
        &url,
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 40, "{}", brief(&r));
    assert_eq!(proxy.logged(&through), 56, "{}", proxy.log());
    assert_eq!(target.served(), 20 + 3 + 40);

    // A WebSocket goes through a CONNECT tunnel to the target.
    let tunnels = proxy.logged("CONNECT ");
    let ws = target.url("/ws/echo").replacen("http://", "ws://", 1);
    let r = pummel(&[
        "bench",
        "-n",
        "5",
        "-c",
        "1",
        "--json",
        "--proxy",
        &proxy.url(),
        &ws,
    ])
    .json_ok();
    assert_eq!(u(&r, "/requests"), 5, "{}", brief(&r));
    assert_eq!(util::errors(&r), vec![], "{}", brief(&r));
    let authority = target.base().replacen("http://", "", 1);
    assert_eq!(
        proxy.logged(&format!("CONNECT {authority} ")) - tunnels,
        1,
        "one socket, one tunnel\n{}",
        proxy.log()
    );
}

/// https through `CONNECT` to nginx with TLS: the certificate is checked against the origin's
/// name (127.0.0.1, through a private CA in `tls.ca`), not the proxy's; HTTP/2 is agreed by ALPN
/// inside the tunnel; wrong credentials are `proxy_auth`, a tunnel the proxy cannot open is
/// `proxy_refused`, and the run goes on.
#[test]
fn https_and_http2_through_connect() {
    let _busy = crate::util::busy();
    let Some(proxy) = Tinyproxy::start_or_skip("https_and_http2_through_connect") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    if !crate::requests::private_pki(dir.path()) {
        return;
    }
    let read = |name: &str| std::fs::read(dir.path().join(name)).expect("read pki file");
    let (cert, key) = (read("server.pem"), read("server-key.pem"));
    let server = "    ssl_certificate @DIR@/cert.pem;\n    ssl_certificate_key @DIR@/key.pem;\n    access_log /dev/stderr;\n    location / { return 200 \"hello through a tunnel\\n\"; }\n";
    let Some(nginx) = Nginx::start_or_skip(server, &[], &[("cert.pem", &cert), ("key.pem", &key)])
    else {
        return;
    };
    // nginx logs a request once its response is sent, on its own time: wait (boundedly) for the
    // log to show `want` of them, then count.
    let served = |path: &str, version: &str, want: usize| {
        let line = format!("\"GET {path} {version}\" 200");
        let count = || nginx.log().lines().filter(|l| l.contains(&line)).count();
        let deadline = Instant::now() + Duration::from_secs(5);
        while count() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        count()
    };
    let file = write(
        dir.path(),
        "tls.yaml",
        &format!(
            "target: {}\n\
             defaults:\n  proxy: {}\n  tls: {{ ca: ca.pem }}\n\
             load: {{ vus: 2, iterations: 15 }}\n\
             scenarios:\n  - name: s\n    steps:\n      - request: GET /scenario\n        check: {{ status: 200 }}\n\
             \x20     - request: {{ url: /h2, http2: true }}\n        check: {{ status: 200 }}\n",
            nginx.base(),
            proxy.url(),
        ),
    );
    let r = pummel(&["run", s(&file), "--json"]).json_ok();
    assert_eq!(u(&r, "/status/200"), 30, "{}\n{}", brief(&r), proxy.log());
    assert_eq!(served("/scenario", "HTTP/1.1", 15), 15, "{}", nginx.log());
    // `http2: true`: HTTP/2 by ALPN inside a tunnel of its own.
    assert_eq!(served("/h2", "HTTP/2.0", 15), 15, "{}", nginx.log());
    let authority = nginx.base().replacen("https://", "", 1);
    let tunnels = proxy.logged(&format!("CONNECT {authority} "));
    assert!(
        (2..=4).contains(&tunnels),
        "two VUs keep their tunnels (one for HTTP/1.1, one for HTTP/2) alive: {tunnels} tunnels\n{}",
        proxy.log()
    );

    // HTTP/2 agreed by ALPN inside the tunnel, several streams on each connection.
    let url = format!("{}/bench", nginx.base());
    let r = pummel(&[
        "bench",
        "-k",
        "--http2",
        "--h2-streams",
        "4",
        "-n",
        "60",
        "-c",
        "2",
        "--json",
        "--proxy",
        &proxy.url(),
        &url,
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 60, "{}", brief(&r));
    assert_eq!(served("/bench", "HTTP/2.0", 60), 60, "{}", nginx.log());

    // Wrong credentials: every request a counted `proxy_auth` failure; nothing reaches nginx.
    let wrong = proxy.url_with("demo:wrong@");
    let out = pummel(&[
        "bench", "-k", "-n", "4", "-c", "1", "--json", "--proxy", &wrong, &url,
    ]);
    let r = out.json();
    assert_eq!(u(&r, "/errors/proxy_auth"), 4, "{}", brief(&r));
    assert_eq!(served("/bench", "HTTP/1.1", 0), 0, "{}", nginx.log());

    // A tunnel to a port where nothing listens: the proxy refuses, a counted `proxy_refused`.
    let closed = format!("https://127.0.0.1:{}/", util::closed_port());
    let r = pummel(&[
        "bench",
        "-k",
        "-n",
        "3",
        "-c",
        "1",
        "--json",
        "--proxy",
        &proxy.url(),
        &closed,
    ])
    .json();
    assert_eq!(u(&r, "/errors/proxy_refused"), 3, "{}", brief(&r));
}

/// `proxy:` values that cannot be a proxy are found when the file loads, at their line and
/// column; so is `--proxy` on the command line, which a distributed run refuses; passwords are
/// never echoed.
#[test]
fn proxy_settings_are_checked_with_file_line_and_column() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "bad-proxy.yaml",
        "target: http://127.0.0.1:1\n\
         defaults:\n  proxy: socks5://u:hunter2@127.0.0.1:1080\n\
         scenarios:\n  - name: s\n    steps:\n\
         \x20     - request: { url: /a, proxy: \"http://127.0.0.1\" }\n\
         \x20     - request: { url: /b, proxy: 3128 }\n\
         \x20     - request: { url: /c, proxy: \"http://{{ env.NO_SUCH_PROXY_VAR }}:1\" }\n",
    );
    let out = pummel(&["validate", s(&file)]).expect_usage_error(&[
        "bad-proxy.yaml:3:10: `proxy`: unsupported proxy scheme \"socks5\"",
        "bad-proxy.yaml:7:36: `proxy`: invalid proxy URL \"http://127.0.0.1\": the port is missing",
        "bad-proxy.yaml:8:36: `proxy` must be a proxy URL (http://host:port) or false, found an integer",
        "`proxy`: environment variable `NO_SUCH_PROXY_VAR` is not set",
    ]);
    // The message never echoes the password (the excerpt of the file below it shows the file).
    let message = out.stderr.lines().next().unwrap_or_default();
    assert!(message.contains("socks5://***@127.0.0.1:1080"), "{message}");
    pummel(&[
        "bench",
        "--proxy",
        "socks5://127.0.0.1:1080",
        "http://127.0.0.1:1/",
    ])
    .expect_usage_error(&["--proxy: unsupported proxy scheme \"socks5\""]);
    // `--proxy` names a proxy as this machine reaches it: a distributed run refuses it.
    pummel(&[
        "bench",
        "--server",
        "http://127.0.0.1:1",
        "--proxy",
        "http://127.0.0.1:3128",
        "http://127.0.0.1:1/",
    ])
    .expect_usage_error(&["--proxy is for local runs"]);
}

/// `examples/proxy.yaml`, pointed at a target and a tinyproxy on free ports: it passes, and the
/// proxy's log shows each forwarded request and each WebSocket's tunnel.
#[test]
fn example_proxy_passes() {
    let _busy = crate::util::busy();
    let Some(proxy) = Tinyproxy::start_or_skip("example_proxy_passes") else {
        return;
    };
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/proxy.yaml");
    let text = std::fs::read_to_string(example).expect("read examples/proxy.yaml");
    assert!(text.contains("target: http://127.0.0.1:8080\n") && text.contains("@127.0.0.1:8888"));
    let text = text
        .replace(
            "target: http://127.0.0.1:8080",
            &format!("target: {}", target.base()),
        )
        .replace("@127.0.0.1:8888", &format!("@127.0.0.1:{}", proxy.port));
    let file = write(dir.path(), "proxy.yaml", &text);
    let r = pummel(&["run", s(&file), "--json"]).json_ok();
    assert_eq!(util::errors(&r), vec![], "{}", brief(&r));
    assert_eq!(u(&r, "/status/200"), 20, "{}", brief(&r));
    let authority = target.base().replacen("http://", "", 1);
    assert_eq!(
        proxy.logged(&format!("GET {}/api/apps ", target.base())),
        10,
        "{}",
        proxy.log()
    );
    assert_eq!(
        proxy.logged(&format!("CONNECT {authority} ")),
        10,
        "{}",
        proxy.log()
    );
    assert_eq!(
        proxy.logged(&format!("GET {}/json", target.base())),
        0,
        "{}",
        proxy.log()
    );
}
