//! HTTPS and WSS against a real TLS server (nginx with a self-signed certificate made for the
//! test): an untrusted certificate is a counted `tls` error, `-k` accepts it, HTTP/2 is agreed by
//! ALPN, and a WebSocket URL to a server that does not upgrade is a named handshake error.

use std::process::Command;

use crate::scenarios::nginx::Nginx;
use crate::util::{self, brief, pummel, u};

/// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command; `None`
/// (the test skips, saying why) when openssl is not installed.
pub(crate) fn self_signed(dir: &std::path::Path) -> Option<(Vec<u8>, Vec<u8>)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(out) if out.status.success() => Some((
            std::fs::read(cert).expect("cert"),
            std::fs::read(key).expect("key"),
        )),
        Ok(out) => panic!("openssl failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            util::skip_without(
                "https_http2_and_untrusted_certificates",
                &format!("no openssl to make a certificate ({e})"),
            );
            None
        }
    }
}

#[test]
fn https_http2_and_untrusted_certificates() {
    let _machine = util::busy();
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((cert, key)) = self_signed(dir.path()) else {
        return;
    };
    let server = "    ssl_certificate @DIR@/cert.pem;\n    ssl_certificate_key @DIR@/key.pem;\n    location / { return 200 \"hello over tls\\n\"; }\n";
    let Some(nginx) = Nginx::start_or_skip(server, &[], &[("cert.pem", &cert), ("key.pem", &key)])
    else {
        return;
    };
    let url = format!("{}/", nginx.base());

    // The certificate is self-signed: without -k every request is a counted TLS failure.
    let r = pummel(&["bench", "-n", "4", "-c", "1", "--json", &url]).json_ok();
    assert_eq!(u(&r, "/errors/tls"), 4, "{}\n{}", brief(&r), nginx.log());

    // With -k: HTTP/1.1 over TLS, then HTTP/2 agreed by ALPN with several streams.
    let r = pummel(&["bench", "-k", "-n", "200", "-c", "4", "--json", &url]).json_ok();
    util::assert_consistent(&r);
    assert_eq!(r["status"]["200"], 200, "{}", brief(&r));
    let body = "hello over tls\n".len() as u64;
    assert!(u(&r, "/bytes_received") > 200 * body, "{}", brief(&r));
    let r = pummel(&[
        "bench",
        "-k",
        "--http2",
        "--h2-streams",
        "4",
        "-n",
        "200",
        "-c",
        "2",
        "--json",
        &url,
    ])
    .json_ok();
    util::assert_consistent(&r);
    assert_eq!(r["status"]["200"], 200, "{}", brief(&r));
    assert_eq!(
        u(&r, "/bytes_received"),
        200 * body,
        "HTTP/2 counts body bytes\n{}",
        brief(&r)
    );

    // wss:// to a server that answers but does not upgrade.
    let wss = url.replacen("https://", "wss://", 1);
    let r = pummel(&["bench", "-k", "-n", "3", "-c", "1", "--json", &wss]).json_ok();
    assert_eq!(u(&r, "/errors/ws_handshake"), 3, "{}", brief(&r));
}
