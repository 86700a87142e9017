//! Recorded secrets — passwords, tokens, API keys, `Authorization` values — never reach the
//! scenario file: each becomes `{{ env.NAME }}`, and the conversion lists the names to set.

use crate::text::Text;

/// Whether a field, header or parameter of this name carries a secret.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const CONTAINS: [&str; 11] = [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "credential",
        "privatekey",
        "accesskey",
        "sessionid",
        "authorization",
    ];
    const EXACT: [&str; 8] = [
        "pass",
        "pwd",
        "pin",
        "key",
        "auth",
        "sig",
        "signature",
        "otp",
    ];
    CONTAINS.iter().any(|w| folded.contains(w)) || EXACT.contains(&folded.as_str())
}

/// An environment variable the converted file reads, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// The name to set (`PASSWORD`).
    pub name: String,
    /// What it stands for (`form field password of POST /login`).
    pub used_for: String,
    /// The value starts request URLs (a base URL, as `target: "{{ env.BASE_URL }}"`): a
    /// stand-in for it must be an `http://` URL.
    pub is_url: bool,
}

/// Hands out environment names: one per distinct recorded secret, so a password typed twice is
/// one variable, and two different tokens are two.
#[derive(Debug, Default)]
pub(crate) struct Vault {
    /// Name, recorded value (kept in memory only, to recognise the same secret again), use.
    entries: Vec<(String, String, String)>,
}

impl Vault {
    /// The `env.NAME` expression for `value`, recorded under `hint`.
    pub(crate) fn expr_for(&mut self, hint: &str, value: &str, used_for: &str) -> String {
        if let Some((name, _, _)) = self.entries.iter().find(|(_, v, _)| v == value) {
            return format!("env.{name}");
        }
        let base = env_name(hint);
        let mut name = base.clone();
        let mut n = 2;
        while self.entries.iter().any(|(taken, _, _)| *taken == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.entries
            .push((name.clone(), value.to_owned(), used_for.to_owned()));
        format!("env.{name}")
    }

    /// Replaces `text` by an environment variable when it is a literal secret.
    pub(crate) fn hide(&mut self, text: &mut Text, hint: &str, used_for: &str) {
        if let Some(value) = text.as_literal() {
            if !value.is_empty() {
                *text = Text::expr(self.expr_for(hint, &value, used_for));
            }
        }
    }

    /// Each recorded secret and its `env.NAME` expression.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = (&str, String)> {
        self.entries
            .iter()
            .map(|(name, value, _)| (value.as_str(), format!("env.{name}")))
    }

    pub(crate) fn into_env(self) -> Vec<EnvVar> {
        self.entries
            .into_iter()
            .map(|(name, _, used_for)| EnvVar {
                name,
                used_for,
                is_url: false,
            })
            .collect()
    }
}

/// `x-api-key` → `X_API_KEY`; never empty, never starting with a digit.
pub(crate) fn env_name(hint: &str) -> String {
    let mut name: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_matches('_').to_owned();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "SECRET_");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "user[password]",
            "api_key",
            "X-Api-Key",
            "client_secret",
            "access_token",
            "pwd",
            "Authorization",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["username", "author", "q", "quantity", "csrf", "keyboard"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn one_variable_per_secret_value() {
        let mut vault = Vault::default();
        assert_eq!(vault.expr_for("password", "hunter2", "a"), "env.PASSWORD");
        assert_eq!(vault.expr_for("password", "hunter2", "b"), "env.PASSWORD");
        assert_eq!(vault.expr_for("password", "other", "c"), "env.PASSWORD_2");
        assert_eq!(vault.expr_for("x-api-key", "k", "d"), "env.X_API_KEY");
        let env = vault.into_env();
        assert_eq!(env.len(), 3);
        assert!(env.iter().all(|e| !e.used_for.contains("hunter2")));
    }

    #[test]
    fn hidden_values_leave_no_trace_in_the_template() {
        let mut vault = Vault::default();
        let mut t = Text::lit("s3cr3t-value");
        vault.hide(&mut t, "token", "header");
        assert_eq!(t.render(), "{{ env.TOKEN }}");
    }
}
