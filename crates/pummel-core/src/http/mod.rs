//! HTTP clients: a lean HTTP/1.1 connection for the hot path, hyper for
//! HTTP/2, rustls for TLS.

pub mod chunked;
pub mod h1;
pub mod h2;
pub(crate) mod io_error;
pub mod request;
pub mod session;
pub mod target;
pub mod tls;
pub mod transport;

pub use h1::{Discard, H1Connection, H1Error, ResponseSink};
pub use request::{parse_header, RequestSpec};
pub use target::{Scheme, TargetUrl};
pub use transport::{Connector, Stream};
