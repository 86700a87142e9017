//! Connections: TCP, optionally wrapped in TLS, behind one stream type.

use crate::http::failure_reason;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::{InvalidDnsNameError, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::proxy::ProxyUrl;
use super::target::TargetUrl;
use crate::ErrorKind;

/// A connection to the target: plain TCP or TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// Whether the TLS handshake agreed on HTTP/2 through ALPN.
    pub(crate) fn negotiated_h2(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(tls) => tls.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }
}

/// A connector for an https target whose host cannot be a TLS server name
/// (one a certificate could name): nothing can connect to it over TLS.
#[derive(Debug, thiserror::Error)]
#[error("{host:?} is not a valid TLS server name: {source}")]
pub struct InvalidServerName {
    /// The target's host, as the URL gave it.
    pub host: String,
    source: InvalidDnsNameError,
}

/// Opens connections to one target; cheap to clone.
#[derive(Clone)]
pub(crate) struct Connector {
    addrs: Arc<[SocketAddr]>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    /// The proxy the connection goes through (then `addrs` are the
    /// proxy's).
    proxy: Option<Via>,
}

/// How a connector goes through a proxy.
#[derive(Clone)]
struct Via {
    proxy: Arc<ProxyUrl>,
    /// The target a tunnel is opened to (`CONNECT host:port`); `None` when
    /// requests are forwarded in absolute form instead.
    tunnel_to: Option<(Arc<str>, u16)>,
}

impl Connector {
    /// `addrs` are the target's resolved addresses; `tls` is set for https.
    pub(crate) fn new(
        target: &TargetUrl,
        addrs: Vec<SocketAddr>,
        tls: Option<Arc<rustls::ClientConfig>>,
        connect_timeout: Duration,
    ) -> Result<Connector, InvalidServerName> {
        let tls = match tls {
            None => None,
            Some(config) => {
                let name = ServerName::try_from(target.host.clone()).map_err(|source| {
                    InvalidServerName {
                        host: target.host.clone(),
                        source,
                    }
                })?;
                Some((TlsConnector::from(config), name))
            }
        };
        Ok(Connector {
            addrs: addrs.into(),
            tls,
            connect_timeout,
            proxy: None,
        })
    }

    /// Sends this connector's connections through `proxy`, found at
    /// `proxy_addrs`. A TLS target always goes through a `CONNECT` tunnel;
    /// a plain one too when `tunnel` is set (a WebSocket, HTTP/2 with prior
    /// knowledge), else its requests are forwarded in absolute form.
    pub(crate) fn through(
        mut self,
        proxy: Arc<ProxyUrl>,
        proxy_addrs: Vec<SocketAddr>,
        target: &TargetUrl,
        tunnel: bool,
    ) -> Connector {
        let tunnel_to =
            (tunnel || self.tls.is_some()).then(|| (Arc::from(target.host.as_str()), target.port));
        self.addrs = proxy_addrs.into();
        self.proxy = Some(Via { proxy, tunnel_to });
        self
    }

    /// The proxy that takes this connector's requests in absolute form
    /// (a plain http target without a tunnel).
    pub(crate) fn forwarding_proxy(&self) -> Option<&ProxyUrl> {
        self.proxy
            .as_ref()
            .filter(|via| via.tunnel_to.is_none())
            .map(|via| &*via.proxy)
    }

    /// Connects (TCP, then a proxy's tunnel and TLS if configured), each
    /// phase within the connect timeout. `attempt` picks which resolved
    /// address to use, so connections spread over all of a host's
    /// addresses.
    pub(crate) async fn connect(&self, attempt: usize) -> Result<Stream, ErrorKind> {
        let addr = self.addrs[attempt % self.addrs.len()];
        let mut tcp =
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Err(_) => return Err(ErrorKind::ConnectTimeout),
                Ok(Err(e)) => return Err(crate::http::io_error::connect_kind_of(&e)),
                Ok(Ok(tcp)) => tcp,
            };
        // Requests are small and latency matters: never wait for Nagle.
        let _ = tcp.set_nodelay(true);
        if let Some(Via {
            proxy,
            tunnel_to: Some((host, port)),
        }) = &self.proxy
        {
            let tunnel = super::proxy::open_tunnel(&mut tcp, proxy, host, *port);
            match tokio::time::timeout(self.connect_timeout, tunnel).await {
                Err(_) => return Err(ErrorKind::ConnectTimeout),
                Ok(Err(kind)) => return Err(kind),
                Ok(Ok(())) => {}
            }
        }
        let Some((connector, name)) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        match tokio::time::timeout(self.connect_timeout, connector.connect(name.clone(), tcp)).await
        {
            Err(_) => Err(ErrorKind::ConnectTimeout),
            Ok(Err(e)) => Err(match e.kind() {
                io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => {
                    failure_reason::note(ErrorKind::Tls, failure_reason::tls(&e))
                }
                _ => {
                    let kind = crate::http::io_error::kind_of(&e);
                    if matches!(
                        kind,
                        ErrorKind::MalformedResponse | ErrorKind::Io | ErrorKind::Tls
                    ) {
                        failure_reason::note(ErrorKind::Tls, failure_reason::tls(&e))
                    } else {
                        kind
                    }
                }
            }),
            Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}
