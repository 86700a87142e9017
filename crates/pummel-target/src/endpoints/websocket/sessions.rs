//! What each `/ws/...` endpoint does once the handshake is done: one task per socket, running
//! until the client leaves, the protocol fails, or the server shuts down.
//!
//! Memory per idle socket is kept small so a server can hold tens of thousands: a 4 KiB read
//! buffer (tungstenite allocates it eagerly; its default is 128 KiB), no write buffering beyond the
//! frame being written, and a task whose state is a `select!` over the socket and, for the fan-out
//! endpoints, a broadcast receiver.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::hub::OpenSocket;

type Io = TokioIo<Upgraded>;
type Socket = WebSocketStream<Io>;

/// Read buffer per socket.
const READ_BUFFER: usize = 4 * 1024;
/// Largest message `/ws/echo` and the others accept.
const MAX_MESSAGE: usize = 1024 * 1024;
/// Largest message `/ws/broadcast` accepts: the channel keeps up to 1024 of them for slow
/// subscribers, so this bounds its memory at 64 MiB.
const MAX_BROADCAST_MESSAGE: usize = 64 * 1024;
/// How long a closing handshake (or the garbage write) may take before the socket is just dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Close reason of `/ws/close`.
pub(crate) const CLOSE_REASON: &str = "going away for a test";

/// Bytes `/ws/garbage` sends: the first frame header has all three reserved bits set and a reserved
/// opcode, which every client must reject (RFC 6455 §5.2).
const GARBAGE: &[u8] = b"\xff\x00this is not a WebSocket frame\r\n\xfe\xfd";

/// The endpoints, with what each needs subscribed before the 101 goes out (so a client sees every
/// message sent after its handshake completed).
pub(crate) enum Behaviour {
    Echo,
    Broadcast(broadcast::Receiver<Message>),
    Feed(broadcast::Receiver<Utf8Bytes>),
    Close,
    Garbage,
    Silent,
}

/// Runs one socket's session after the 101 response.
pub(crate) async fn run(behaviour: Behaviour, upgrade: OnUpgrade, mut socket: OpenSocket) {
    // Fails when the client went away before the upgrade completed; `socket` is uncounted on return.
    let Ok(upgraded) = upgrade.await else {
        return;
    };
    let io = TokioIo::new(upgraded);
    match behaviour {
        Behaviour::Echo => echo(websocket(io, MAX_MESSAGE).await, &mut socket).await,
        Behaviour::Broadcast(receiver) => {
            let ws = websocket(io, MAX_BROADCAST_MESSAGE).await;
            fan_out(ws, &mut socket, receiver, true).await;
        }
        Behaviour::Feed(receiver) => {
            let ws = websocket(io, MAX_MESSAGE).await;
            fan_out(ws, &mut socket, receiver, false).await;
        }
        Behaviour::Close => close_at_once(websocket(io, MAX_MESSAGE).await).await,
        Behaviour::Garbage => garbage(io).await,
        Behaviour::Silent => silent(io, &mut socket).await,
    }
}

async fn websocket(io: Io, max_message: usize) -> Socket {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        // Write each message straight out rather than buffering 128 KiB first.
        .write_buffer_size(0)
        // Must exceed `write_buffer_size` plus one message (tungstenite checks it).
        .max_write_buffer_size(2 * max_message + READ_BUFFER)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await
}

/// `/ws/echo`: every text and binary message straight back. Pings are answered and a client close
/// is completed by tungstenite itself as long as the loop keeps reading.
async fn echo(mut ws: Socket, socket: &mut OpenSocket) {
    loop {
        tokio::select! {
            () = socket.stopping() => return going_away(ws).await,
            message = ws.next() => match message {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
}

/// Something `fan_out` can forward as a message.
trait IntoMessage: Clone {
    fn into_message(self) -> Message;
}

impl IntoMessage for Message {
    fn into_message(self) -> Message {
        self
    }
}

impl IntoMessage for Utf8Bytes {
    fn into_message(self) -> Message {
        Message::Text(self)
    }
}

/// `/ws/broadcast` (`publish`: client messages go to every subscriber) and `/ws/feed` (client
/// messages are ignored): forwards whatever the channel carries. A subscriber whose client reads
/// too slowly falls behind the channel and skips messages — counted, never disconnected.
async fn fan_out<T: IntoMessage>(
    mut ws: Socket,
    socket: &mut OpenSocket,
    mut receiver: broadcast::Receiver<T>,
    publish: bool,
) {
    loop {
        tokio::select! {
            () = socket.stopping() => return going_away(ws).await,
            message = ws.next() => match message {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if publish {
                        socket.hub().broadcast(message);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            received = receiver.recv() => match received {
                Ok(item) => {
                    if ws.send(item.into_message()).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(skipped)) => socket.hub().count_skipped(skipped),
                // The sender lives as long as the server's shared state: it is shutting down.
                Err(RecvError::Closed) => return going_away(ws).await,
            },
        }
    }
}

/// `/ws/close`: closes at once with 1011 and [`CLOSE_REASON`], then waits (briefly) for the
/// client's close reply.
async fn close_at_once(mut ws: Socket) {
    let frame = CloseFrame {
        code: CloseCode::Error,
        reason: Utf8Bytes::from_static(CLOSE_REASON),
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

/// `/ws/garbage`: bytes that are not WebSocket frames, then end of stream.
async fn garbage(mut io: Io) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        io.write_all(GARBAGE).await?;
        io.shutdown().await
    })
    .await;
}

/// `/ws/silent`: never writes a byte — not even a pong or a close reply — and discards whatever
/// arrives, until the client goes away.
async fn silent(mut io: Io, socket: &mut OpenSocket) {
    let mut discard = [0u8; 512];
    loop {
        tokio::select! {
            () = socket.stopping() => return,
            read = io.read(&mut discard) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
        }
    }
}

/// Closes with 1001 on server shutdown, without waiting long for the client.
async fn going_away(mut ws: Socket) {
    let frame = CloseFrame {
        code: CloseCode::Away,
        reason: Utf8Bytes::from_static("server shutting down"),
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, ws.close(Some(frame))).await;
}
