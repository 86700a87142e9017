//! HTTP clients: a lean HTTP/1.1 connection for the hot path, hyper for
//! HTTP/2, rustls for TLS.

pub(crate) mod chunked;
pub(crate) mod connect_filter;
pub(crate) mod decode;
pub(crate) mod failure_reason;
pub(crate) mod h1;
pub(crate) mod h2;
pub(crate) mod io_error;
pub(crate) mod proxy;
pub(crate) mod redirect;
pub(crate) mod request;
pub(crate) mod session;
pub(crate) mod target;
pub(crate) mod tls;
pub(crate) mod transport;

pub use connect_filter::ConnectFilter;
pub(crate) use h1::{Discard, H1Connection, H1Error};
pub use proxy::{ProxyUrl, ProxyUrlError};
pub use request::{parse_header, Bytes, HeaderError, Method, RequestSpec};
pub use target::{Scheme, TargetUrl, UrlError};
pub(crate) use transport::Connector;
