//! A real nginx on 127.0.0.1, for scenario tests against a third-party server.
//!
//! The site (files and a `server { … }` body) is written into a temporary directory and nginx runs
//! from there in the foreground as a single process (`master_process off`), logging to stderr, so
//! killing the child stops everything it started and nothing outlives the test. It is ready when it
//! logs the start-up line it writes after opening its listening socket; no polling, no sleeping.
//!
//! Needs `/usr/sbin/nginx` (Debian's `nginx-light` or `nginx`; `scripts/test` installs it), 1.19.5
//! or later for `-e stderr`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::closed_port;

/// Where Debian installs nginx.
pub(crate) const NGINX: &str = "/usr/sbin/nginx";

/// How long nginx may take to open its socket.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running nginx, killed on drop.
pub(crate) struct Nginx {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
    /// The site and configuration; removed on drop.
    _dir: tempfile::TempDir,
}

/// Files to serve, relative to the site's root.
pub(crate) type Files<'a> = &'a [(&'a str, &'a [u8])];

impl Nginx {
    /// Starts nginx serving `files` with `server` as the body of its `server { … }` block, or
    /// returns `None` after printing why the test is skipped when nginx is not installed.
    ///
    /// In `server`, `@ROOT@` stands for the site's root directory and `@DIR@` for the directory
    /// holding the configuration (for `auth_basic_user_file @DIR@/htpasswd`, say); `extra` files
    /// are written into that directory.
    pub(crate) fn start_or_skip(server: &str, files: Files<'_>, extra: Files<'_>) -> Option<Nginx> {
        if !Path::new(NGINX).exists() {
            crate::util::skip_without(
                "nginx",
                &format!("{NGINX} is absent (Debian's nginx-light)"),
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in files {
            write(&dir.path().join("www").join(name), content);
        }
        for (name, content) in extra {
            write(&dir.path().join(name), content);
        }
        std::fs::create_dir_all(dir.path().join("tmp")).expect("mkdir tmp");
        // A port picked now may be taken by the time nginx binds it (other tests and services
        // share the machine): try a few.
        let mut failures = String::new();
        for _ in 0..5 {
            let port = closed_port();
            let tls = server.contains("ssl_certificate");
            let config = config(dir.path(), port, server, tls);
            let config_path = dir.path().join("nginx.conf");
            std::fs::write(&config_path, config).expect("write nginx.conf");
            match launch(dir.path(), &config_path) {
                Launch::Ready(child, log) => {
                    return Some(Nginx {
                        child,
                        base: format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" }),
                        log,
                        _dir: dir,
                    });
                }
                Launch::PortTaken(log) => failures.push_str(&log),
                Launch::Failed(log) => panic!("nginx did not start; its log:\n{log}"),
            }
        }
        panic!("nginx could not bind a port in 5 tries:\n{failures}");
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS), without the trailing slash.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// What nginx logged so far (for failure messages).
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Launch {
    Ready(Child, Arc<Mutex<String>>),
    PortTaken(String),
    Failed(String),
}

/// Starts nginx and waits for the line it logs once its listening socket is open.
fn launch(dir: &Path, config: &Path) -> Launch {
    let mut child = Command::new(NGINX)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(config)
        .args(["-e", "stderr"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nginx");
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let kept = log.clone();
    // Reads the whole log (so nginx never blocks on a full pipe) and reports start-up events.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut l) = kept.lock() {
                l.push_str(&line);
                l.push('\n');
            }
            // In single-process mode nginx logs its OS status (ending with the descriptor limit)
            // right after opening its listening sockets; with a master process it would log
            // "start worker processes".
            if line.contains("getrlimit(RLIMIT_NOFILE)") || line.contains("start worker process") {
                let _ = tx.send(Event::Ready);
            } else if line.contains("bind() to") && line.contains("Address already in use") {
                let _ = tx.send(Event::PortTaken);
            }
        }
        let _ = tx.send(Event::Exited);
    });
    let event = rx.recv_timeout(START_LIMIT);
    let text = || log.lock().map(|l| l.clone()).unwrap_or_default();
    match event {
        Ok(Event::Ready) => Launch::Ready(child, log),
        Ok(Event::PortTaken) => {
            let _ = child.kill();
            let _ = child.wait();
            Launch::PortTaken(text())
        }
        Ok(Event::Exited) | Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            Launch::Failed(format!("{status:?}\n{}", text()))
        }
    }
}

enum Event {
    Ready,
    PortTaken,
    Exited,
}

/// A server body that names `ssl_certificate` listens with TLS (and HTTP/2 by ALPN); one that
/// holds `@H2C@` speaks HTTP/2 over plain TCP (h2c with prior knowledge) instead of HTTP/1.1.
fn config(dir: &Path, port: u16, server: &str, tls: bool) -> String {
    let d = dir.display();
    let listen_tls = match (tls, server.contains("@H2C@")) {
        (true, _) => " ssl http2",
        (false, true) => " http2",
        (false, false) => "",
    };
    let server = server
        .replace("@H2C@", "")
        .replace("@ROOT@", &format!("{d}/www"))
        .replace("@DIR@", &d.to_string());
    format!(
        "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  types {{ application/json json; text/plain txt; text/html html; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port}{listen_tls};
    root {d}/www;
{server}
  }}
}}
"
    )
}

fn write(path: &PathBuf, content: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write site file");
}

/// An htpasswd line for `user`: an Apache MD5 hash from `openssl passwd -apr1` when openssl is
/// installed, else nginx's `{PLAIN}` scheme.
pub(crate) fn htpasswd_line(user: &str, password: &str) -> String {
    let hashed = Command::new("openssl")
        .args(["passwd", "-apr1", password])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| s.starts_with("$apr1$"));
    match hashed {
        Some(hash) => format!("{user}:{hash}\n"),
        None => format!("{user}:{{PLAIN}}{password}\n"),
    }
}
