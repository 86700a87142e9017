//! Dialling the server: TCP, TLS when the URL says https (the public roots,
//! plus a private CA given with `--server-ca`), then the WebSocket upgrade
//! with the token as a bearer credential.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use pummel_core::http::{Scheme, TargetUrl};
use pummel_server::wire::{self, MAX_MESSAGE_BYTES};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A byte stream: plain TCP or TLS over it.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to the server.
pub(crate) struct Socket {
    ws: WebSocketStream<Box<dyn Io>>,
    /// When the server was last heard from (any frame, pongs included).
    last_heard: std::time::Instant,
}

/// Why the server could not be reached or refused us.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("bad server URL {url:?}: {reason} (expected http://HOST:PORT or https://HOST:PORT)")]
    Url { url: String, reason: String },
    #[error("cannot read the CA file {file}: {reason}")]
    Ca { file: PathBuf, reason: String },
    #[error("cannot connect to the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server at {url} refused the token: {reason}")]
    Refused { url: String, reason: String },
    #[error("the connection to the server was lost: {0}")]
    Lost(String),
    #[error("the server sent a malformed message: {0}")]
    Protocol(String),
}

impl ConnectError {
    /// Whether trying again may help (a refusal will not change).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectError::Unreachable { .. } | ConnectError::Lost(_)
        )
    }
}

/// How long connecting (TCP, TLS, upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `path` (`/v1/agent` or `/v1/client`) of the server at `url`.
pub(crate) async fn connect(
    url: &str,
    path: &str,
    token: &str,
    ca: Option<&Path>,
) -> Result<Socket, ConnectError> {
    let target = TargetUrl::parse(url).map_err(|e| ConnectError::Url {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let tls = match target.scheme {
        Scheme::Https => Some(client_config(ca)?),
        Scheme::Http => None,
    };
    let unreachable = |reason: String| ConnectError::Unreachable {
        url: url.to_owned(),
        reason,
    };
    let dial = async {
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match tls {
            Some(config) => {
                let name = ServerName::try_from(target.host.clone())
                    .map_err(|e| unreachable(e.to_string()))?;
                let stream = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| unreachable(format!("TLS: {e}")))?;
                Box::new(stream)
            }
            None => Box::new(tcp),
        };
        let ws_scheme = if target.scheme.is_tls() { "wss" } else { "ws" };
        let mut request = format!("{ws_scheme}://{}{path}", target.authority)
            .into_client_request()
            .map_err(|e| unreachable(e.to_string()))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            ConnectError::Refused {
                url: url.to_owned(),
                reason: "the token has characters a header cannot carry".to_owned(),
            }
        })?;
        request.headers_mut().insert(wire::AUTHORIZATION, bearer);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        tokio_tungstenite::client_async_with_config(request, io, Some(config))
            .await
            .map(|(ws, _)| Socket {
                ws,
                last_heard: std::time::Instant::now(),
            })
            .map_err(|e| refusal(url, e))
    };
    tokio::time::timeout(CONNECT_TIMEOUT, dial)
        .await
        .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
}

/// A failed upgrade: a 401/403 is a refusal that names why; anything else
/// is the network's.
fn refusal(url: &str, error: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Http(response) if matches!(response.status().as_u16(), 401 | 403) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                .unwrap_or_default();
            ConnectError::Refused {
                url: url.to_owned(),
                reason: format!("{} {body}", response.status()),
            }
        }
        other => ConnectError::Unreachable {
            url: url.to_owned(),
            reason: other.to_string(),
        },
    }
}

pub(crate) fn client_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = ca {
        let bad = |reason: String| ConnectError::Ca {
            file: file.to_path_buf(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in it".to_owned()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ConnectError::Ca {
        file: ca.map(Path::to_path_buf).unwrap_or_default(),
        reason: e.to_string(),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Socket {
    pub(crate) async fn send<T: serde::Serialize>(
        &mut self,
        message: &T,
    ) -> Result<(), ConnectError> {
        let text = wire::encode(message).map_err(|e| ConnectError::Protocol(e.to_string()))?;
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| ConnectError::Lost(e.to_string()))
    }

    /// The next message; `None` when the server closed the connection.
    pub(crate) async fn receive<T: serde::de::DeserializeOwned>(
        &mut self,
    ) -> Result<Option<T>, ConnectError> {
        loop {
            let next = self.ws.next().await;
            self.last_heard = std::time::Instant::now();
            match next {
                None | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Text(text))) => {
                    return wire::decode(text.as_str())
                        .map(Some)
                        .map_err(|e| ConnectError::Protocol(e.to_string()));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(ConnectError::Lost(e.to_string())),
            }
        }
    }

    /// A WebSocket ping: the server's pong shows the link is alive even
    /// when it has nothing to say.
    pub(crate) async fn ping(&mut self) -> Result<(), ConnectError> {
        self.ws
            .send(Message::Ping(Vec::new().into()))
            .await
            .map_err(|e| ConnectError::Lost(e.to_string()))
    }

    /// How long since the server was last heard from.
    pub(crate) fn silent_for(&self) -> Duration {
        self.last_heard.elapsed()
    }

    pub(crate) async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
