//! The client end of the wire: one WebSocket connection to a server, for
//! an agent (`/v1/agent`) or a client (`/v1/client`), over TLS when the
//! server's URL is https.

pub(crate) mod connect;
pub(crate) mod http;

pub(crate) use connect::{connect, ConnectError, Socket};
