//! Email over SMTP with lettre: plain, STARTTLS or TLS as the `--smtp`
//! URL says (rustls; the public roots, plus the CA of `--smtp-ca` for a
//! relay whose certificate a private CA signed).
//!
//! With STARTTLS required (`?tls=required`) a relay that does not offer
//! STARTTLS, or whose certificate does not verify, gets no mail: the
//! message is never sent in the clear.

use std::path::Path;

use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use super::retry::Attempt;
use super::{NotifyError, Summary};

pub(super) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub(super) fn new(url: &str, from: &str, ca: Option<&Path>) -> Result<Mailer, NotifyError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                NotifyError(format!(
                    "--smtp {}: {e} (expected smtp://HOST:PORT, smtp://HOST:PORT?tls=required or \
                     smtps://HOST:PORT, with USER:PASS@ before the host if needed)",
                    redact(url)
                ))
            })?
            .timeout(Some(std::time::Duration::from_secs(30)));
        if let Some(ca) = ca {
            builder = builder.tls(with_ca(url, ca)?);
        }
        let transport = builder.build();
        let from = from
            .parse()
            .map_err(|e| NotifyError(format!("--mail-from {from:?}: {e}")))?;
        Ok(Mailer { transport, from })
    }

    /// One attempt at mailing `summary` to `to`. A relay that is down,
    /// slow or answers 4xx may take it later; a 5xx, a certificate that does
    /// not verify or a bad address will not change.
    pub(super) async fn send(&self, to: &str, summary: &Summary) -> Attempt {
        let to = match to.parse() {
            Ok(to) => to,
            Err(e) => return Attempt::Final(format!("bad address: {e}")),
        };
        let message = match Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(summary.subject())
            .header(ContentType::TEXT_PLAIN)
            .body(summary.text())
        {
            Ok(message) => message,
            Err(e) => return Attempt::Final(e.to_string()),
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Delivered,
            Err(e) if e.is_permanent() || e.is_tls() || e.is_client() => {
                Attempt::Final(describe(&e))
            }
            Err(e) => Attempt::Transient(describe(&e)),
        }
    }
}

/// lettre's error with its causes (a certificate that does not verify is
/// two levels down), so the record says why.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// The URL's TLS mode again, with `ca` trusted besides the public roots.
fn with_ca(url: &str, ca: &Path) -> Result<Tls, NotifyError> {
    let pem =
        std::fs::read(ca).map_err(|e| NotifyError(format!("--smtp-ca {}: {e}", ca.display())))?;
    let certificate = Certificate::from_pem(&pem).map_err(|e| {
        NotifyError(format!(
            "--smtp-ca {}: not a PEM certificate: {e}",
            ca.display()
        ))
    })?;
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => hostport.split(':').next().unwrap_or(hostport),
    };
    let parameters = TlsParameters::builder(host.to_owned())
        .add_root_certificate(certificate)
        .build_rustls()
        .map_err(|e| NotifyError(format!("--smtp-ca {}: {e}", ca.display())))?;
    let query = url.split_once('?').map_or("", |(_, q)| q);
    match (scheme, query) {
        ("smtps", _) => Ok(Tls::Wrapper(parameters)),
        ("smtp", q) if q.contains("tls=required") => Ok(Tls::Required(parameters)),
        ("smtp", q) if q.contains("tls=opportunistic") => Ok(Tls::Opportunistic(parameters)),
        _ => Err(NotifyError(format!(
            "--smtp-ca is for a relay spoken to over TLS: use smtps://HOST:PORT or \
             smtp://HOST:PORT?tls=required (not {})",
            redact(url)
        ))),
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let host = rest.rsplit('@').next().unwrap_or(rest);
            format!("{scheme}://…@{host}")
        }
        _ => url.to_owned(),
    }
}
