//! Email over SMTP with lettre: plain, STARTTLS or TLS as the `--smtp`
//! URL says (rustls, the public roots).

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use super::{NotifyError, Summary};

pub(super) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub(super) fn new(url: &str, from: &str) -> Result<Mailer, NotifyError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                NotifyError(format!(
                    "--smtp {}: {e} (expected smtp://HOST:PORT, smtp://HOST:PORT?tls=required or \
                     smtps://HOST:PORT, with USER:PASS@ before the host if needed)",
                    redact(url)
                ))
            })?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let from = from
            .parse()
            .map_err(|e| NotifyError(format!("--mail-from {from:?}: {e}")))?;
        Ok(Mailer { transport, from })
    }

    pub(super) async fn send(&self, to: &str, summary: &Summary) -> Result<(), String> {
        let to = to.parse().map_err(|e| format!("bad address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(summary.subject())
            .header(ContentType::TEXT_PLAIN)
            .body(summary.text())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
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
