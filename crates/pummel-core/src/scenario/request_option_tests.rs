//! Validation of request options, selection and arrivals: every new key's
//! mistakes are errors at their `file:line:col`.

use super::test_support::{assert_error, Located};
use super::{load_str_with, LoadOptions};

fn errors(text: &str, env: &[(&str, &str)]) -> Vec<Located> {
    let options = env
        .iter()
        .fold(LoadOptions::default(), |o, (k, v)| o.with_env(*k, *v));
    super::test_support::errors(text, &options)
}

#[test]
fn request_options_are_checked_where_they_are_written() {
    let e = errors(
        r#"target: http://127.0.0.1:8080
defaults:
  follow_redirects: maybe
  hosts: { shop.test: not-an-ip, "a.test:80": 127.0.0.1 }
scenarios:
  - name: a
    steps:
      - request:
          url: /x
          follow_redirects: 101
          multipart:
            f: { file: missing.bin }
            g: { value: x, file: y }
            h: { filename: x }
        check:
          css: { "input[": exists }
        capture:
          t: { css: "a", attr: href, regex: "x" }
          u: { header: x, attr: y }
"#,
        &[],
    );
    assert_error(
        &e,
        3,
        21,
        "`follow_redirects` must be true, false or a number",
    );
    assert_error(&e, 4, 23, "`not-an-ip` is not an IP address");
    assert_error(&e, 4, 34, "is not a host name");
    assert_error(&e, 10, 29, "`follow_redirects` must be at most 100");
    assert_error(&e, 12, 24, "cannot read missing.bin");
    assert_error(&e, 13, 18, "`value` conflicts with `file`");
    assert_error(&e, 14, 16, "needs `file`");
    assert_error(&e, 16, 18, "is not a CSS selector");
    assert_error(&e, 18, 16, "`css` conflicts with `regex`");
    assert_error(&e, 19, 27, "`attr` only applies to `css`");
}

#[test]
fn targets_from_the_environment_and_arrivals_are_checked() {
    let file = "target: \"{{ env.BASE }}/shop\"\nload: { rate: 5, duration: 1s, arrivals: poison }\nscenarios:\n  - name: a\n    steps:\n      - request: /x\n";
    let e = errors(file, &[]);
    assert_error(&e, 1, 13, "environment variable `BASE` is not set");
    assert_error(&e, 2, 42, "unknown arrivals `poison`");
    let e = errors(file, &[("BASE", "ftp://h")]);
    assert_error(&e, 1, 13, "`target`, with the environment's values");
    let e = errors(
        "target: \"{{ vu }}\"\nload: { vus: 1, iterations: 1, arrivals: poisson }\nscenarios:\n  - name: a\n    steps:\n      - request: /x\n",
        &[],
    );
    assert_error(&e, 1, 13, "`target` may only use environment variables");
    assert_error(&e, 2, 32, "`arrivals` does not apply to a `vus` load model");

    let ok = file.replace("poison", "poisson");
    let options = LoadOptions::default().with_env("BASE", "http://127.0.0.1:9");
    let plan = load_str_with("t.yaml", &ok, &options).unwrap();
    assert_eq!(
        plan.target.as_ref().map(|t| t.absolute()),
        Some("http://127.0.0.1:9/shop".to_owned())
    );
    assert_eq!(plan.arrivals, super::load_model::Arrivals::Poisson);
    // `--target` replaces a target whose variable is not even set.
    let options = LoadOptions {
        target: crate::http::TargetUrl::parse("http://127.0.0.1:7").ok(),
        ..LoadOptions::default()
    };
    let plan = load_str_with("t.yaml", &ok, &options).unwrap();
    assert_eq!(plan.target.map(|t| t.port), Some(7));
}

#[test]
fn scenarios_are_selected_by_name() {
    let mut plan = load_str_with(
        "t.yaml",
        "target: http://h\nscenarios:\n  - { name: a, steps: [ { request: /a } ] }\n  - { name: b, steps: [ { request: /b } ] }\n",
        &LoadOptions::default(),
    )
    .unwrap();
    let err = plan.select_scenarios(&["c".into()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no scenario named `c` (the file's scenarios: `a`, `b`)"
    );
    plan.select_scenarios(&["b".into()]).unwrap();
    assert_eq!(plan.scenario_count(), 1);
    plan.run_once();
    assert!(plan.in_order);
}

#[test]
fn client_tls_settings_are_checked_where_they_are_written() {
    let not_pem = std::env::temp_dir().join(format!("pummel-not-pem-{}.pem", std::process::id()));
    std::fs::write(&not_pem, "just text\n").expect("write");
    let text = format!(
        r#"target: https://127.0.0.1:8443
defaults:
  tls: {{ cert: c.pem, insecure: sometimes, keys: k.pem }}
scenarios:
  - name: a
    steps:
      - request:
          url: /x
          tls: {{ ca: missing-ca.pem }}
      - request:
          url: /y
          tls: {{ key: k.pem }}
      - request:
          url: /z
          tls: {{ ca: "{not_pem}" }}
      - request:
          url: /w
          tls: [cert]
"#,
        not_pem = not_pem.display()
    );
    let e = errors(&text, &[]);
    let _ = std::fs::remove_file(&not_pem);
    assert_error(&e, 3, 33, "`tls.insecure` must be true or false");
    assert_error(&e, 3, 44, "unknown key `keys` in `tls`");
    assert_error(&e, 3, 10, "`tls.cert` needs `key`");
    assert_error(&e, 9, 22, "cannot read missing-ca.pem");
    assert_error(&e, 12, 18, "`tls.key` needs `cert`");
    assert_error(&e, 15, 22, "holds no PEM certificate");
    assert_error(&e, 18, 16, "`tls` must be a mapping");
}

/// `ws_connect` takes `tls` and `proxy` as a request does: checked where
/// written, and a socket that writes a request's settings shares its
/// profile (one TLS configuration for both).
#[test]
fn socket_tls_and_proxy_are_checked_and_shared_with_requests() {
    let e = errors(
        r#"target: https://127.0.0.1:8443
scenarios:
  - name: a
    steps:
      - ws_connect:
          url: /ws/echo
          tls: { ca: missing-ca.pem, verify: no }
          proxy: socks5://127.0.0.1:1080
      - ws_connect: { url: /ws/echo, tsl: { insecure: true } }
"#,
        &[],
    );
    assert_error(&e, 7, 22, "cannot read missing-ca.pem");
    assert_error(&e, 7, 38, "unknown key `verify` in `tls`");
    assert_error(&e, 8, 18, "`proxy`");
    assert_error(&e, 9, 38, "unknown key `tsl` in `ws_connect`");

    let plan = load_str_with(
        "t.yaml",
        r#"target: https://127.0.0.1:8443
scenarios:
  - name: a
    steps:
      - request: { url: /, tls: { insecure: true } }
      - ws_connect: { url: /ws/echo, tls: { insecure: true }, proxy: false }
      - ws_connect: /ws/echo
"#,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.tls_profiles.len(), 1, "one profile for both steps");
    let connects: Vec<_> = plan.scenarios[0]
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            crate::scenario::model::StepKind::WebSocket(ws) => match &ws.action {
                crate::scenario::websocket::WsAction::Connect(c) => Some(c),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(connects[0].tls, Some(0));
    assert_eq!(connects[0].proxy, crate::http::proxy::ProxySetting::Direct);
    assert_eq!(connects[1].tls, None, "the defaults' (none here)");
    assert_eq!(connects[1].proxy, crate::http::proxy::ProxySetting::Inherit);
}
