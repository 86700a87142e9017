//! Hostile values the loader must refuse where they are written, because
//! at run time they would fail every request they are in (or send nothing
//! and pass).

use super::*;

fn errors(text: &str) -> Vec<(u32, u32, String)> {
    match load_str_with("t.yaml", text, &LoadOptions::default()) {
        Ok(_) => panic!("expected errors, the file loaded"),
        Err(d) => d
            .iter()
            .map(|d| (d.line, d.column, d.message.clone()))
            .collect(),
    }
}

fn with_request(request: &str) -> String {
    format!(
        "target: http://127.0.0.1:8080\nscenarios:\n  - name: s\n    steps:\n      - request: {request}\n"
    )
}

#[test]
fn a_bearer_token_no_header_can_carry_is_refused() {
    let e = errors(&with_request(r#"{ url: /, auth: { bearer: "a\nb" } }"#));
    assert!(
        e.iter().any(|(l, c, m)| (*l, *c) == (5, 44)
            && m.contains("`bearer`: the token has characters a header cannot carry")),
        "{e:?}"
    );
    let ok = with_request(r#"{ url: /, auth: { bearer: "abc.def" } }"#);
    assert!(load_str_with("t.yaml", &ok, &LoadOptions::default()).is_ok());
}
