//! Postman's `{{name}}` variables and `{{$dynamic}}` values in pummel template terms.

use crate::text::{Piece, Text};

/// A piece of Postman text: literal, or a `{{…}}` reference.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    Lit(&'a str),
    Var(&'a str),
}

/// Splits Postman text at its `{{name}}` references.
pub(crate) fn parts(s: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        let name = rest[open + 2..open + 2 + close].trim();
        if name.is_empty() || name.contains(['{', '}']) {
            out.push(Part::Lit(&rest[..open + 2]));
            rest = &rest[open + 2..];
            continue;
        }
        if open > 0 {
            out.push(Part::Lit(&rest[..open]));
        }
        out.push(Part::Var(name));
        rest = &rest[open + 2 + close + 2..];
    }
    if !rest.is_empty() {
        out.push(Part::Lit(rest));
    }
    out
}

/// A pummel name for a Postman variable: letters, digits, `_` and `-`, starting with a letter or
/// `_`, and none of the reserved names nor the expression keywords (`{{ and }}` does not parse,
/// and `{{ true }}` is the boolean, not the variable).
pub(crate) fn variable_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    if crate::text::is_reserved_name(&out) {
        out.push_str("_var");
    }
    out
}

/// What a Postman dynamic variable (`$guid`) becomes: a template, and whether it is the same
/// kind of value (an approximation keeps the shape that servers usually validate, such as an
/// email's `@`, and the conversion says which were approximated).
pub(crate) fn dynamic(name: &str) -> (Text, bool) {
    let expr = |e: &str| Text::expr(e);
    let token = |n: u32, suffix: &str| {
        let mut t = Text::expr(format!("random_string({n})"));
        t.push(Piece::Lit(suffix.to_owned()));
        t
    };
    match name {
        "$guid" | "$randomUUID" => (expr("uuid()"), true),
        "$timestamp" => (expr("timestamp()"), true),
        "$randomInt" => (expr("random_int(0, 1000)"), true),
        "$randomAlphaNumeric" => (expr("random_string(1)"), true),
        "$randomBoolean" => (expr("random_choice('true', 'false')"), true),
        "$randomEmail" | "$randomExampleEmail" => (token(10, "@example.com"), true),
        "$randomUserName" | "$randomPassword" => (token(12, ""), true),
        "$randomPhoneNumber" => {
            let mut t = Text::lit("555-");
            t.push(Piece::Expr("random_int(100, 999)".to_owned()));
            t.push(Piece::Lit("-".to_owned()));
            t.push(Piece::Expr("random_int(1000, 9999)".to_owned()));
            (t, true)
        }
        "$randomUrl" => {
            let mut t = Text::lit("https://");
            t.append(token(8, ".example.com"));
            (t, true)
        }
        _ => (expr("random_string(8)"), false),
    }
}

/// Converts Postman text, resolving each reference with `resolve` (name → template).
pub(crate) fn convert(s: &str, resolve: &mut dyn FnMut(&str) -> Text) -> Text {
    let mut text = Text::default();
    for part in parts(s) {
        match part {
            Part::Lit(l) => text.push(Piece::Lit(l.to_owned())),
            Part::Var(name) => text.append(resolve(name)),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_literals() {
        assert_eq!(
            parts("{{baseUrl}}/apps/{{ id }}?x={"),
            vec![
                Part::Var("baseUrl"),
                Part::Lit("/apps/"),
                Part::Var("id"),
                Part::Lit("?x={")
            ]
        );
        assert_eq!(parts("no vars"), vec![Part::Lit("no vars")]);
        assert_eq!(parts("{{}}x"), vec![Part::Lit("{{"), Part::Lit("}}x")]);
    }

    #[test]
    fn names_and_dynamic_values() {
        assert_eq!(variable_name("base url"), "base_url");
        assert_eq!(variable_name("1st"), "_1st");
        assert_eq!(variable_name("vu"), "vu_var");
        for keyword in ["and", "or", "not", "true", "false"] {
            assert_eq!(variable_name(keyword), format!("{keyword}_var"));
        }
        assert_eq!(variable_name("android"), "android");
        assert_eq!(dynamic("$guid").0.render(), "{{ uuid() }}");
        assert_eq!(
            dynamic("$randomEmail").0.render(),
            "{{ random_string(10) }}@example.com"
        );
        assert!(!dynamic("$randomFirstName").1);
        let t = convert("Bearer {{token}} {{$timestamp}}", &mut |n| {
            if n.starts_with('$') {
                dynamic(n).0
            } else {
                Text::expr(variable_name(n))
            }
        });
        assert_eq!(t.render(), "Bearer {{ token }} {{ timestamp() }}");
    }
}
