//! What all WebSocket sessions of one server share: the open-socket gauge, the `/ws/broadcast`
//! channel, the count of messages lagging subscribers skipped, and the shutdown signal.
//!
//! Nothing here is touched by the plain HTTP endpoints; a session touches the gauge twice (open and
//! close) and the broadcast channel once per message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, watch, Notify};
use tokio_tungstenite::tungstenite::Message;

/// Messages `/ws/broadcast` keeps for slow subscribers before they start skipping.
pub(crate) const BROADCAST_CAPACITY: usize = 1024;

pub(crate) struct WebSocketHub {
    open: AtomicU64,
    skipped: AtomicU64,
    broadcast: broadcast::Sender<Message>,
    /// Becomes `true` once when the server shuts down.
    stop: watch::Sender<bool>,
    /// Notified when the last open socket closes.
    all_closed: Notify,
}

impl WebSocketHub {
    pub(crate) fn new() -> Self {
        WebSocketHub {
            open: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            broadcast: broadcast::Sender::new(BROADCAST_CAPACITY),
            stop: watch::Sender::new(false),
            all_closed: Notify::new(),
        }
    }

    /// Sockets accepted and not yet closed (counted from the 101 response on).
    pub(crate) fn open_sockets(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Messages that lagging `/ws/broadcast` and `/ws/feed` subscribers skipped.
    pub(crate) fn skipped_messages(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    pub(crate) fn count_skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a new socket; the returned guard uncounts it when dropped, however the session ends.
    pub(crate) fn open_socket(self: &Arc<Self>) -> OpenSocket {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenSocket {
            stop: self.stop.subscribe(),
            hub: Arc::clone(self),
        }
    }

    /// Sends a message to every `/ws/broadcast` subscriber (the sender included).
    pub(crate) fn broadcast(&self, message: Message) {
        // An error only means there is no subscriber left.
        let _ = self.broadcast.send(message);
    }

    pub(crate) fn subscribe_broadcast(&self) -> broadcast::Receiver<Message> {
        self.broadcast.subscribe()
    }

    /// Tells every session to close (with 1001 "going away"). Sessions opened later see it too.
    pub(crate) fn close_all(&self) {
        self.stop.send_replace(true);
    }

    /// Returns once no socket is open.
    pub(crate) async fn wait_all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            tokio::pin!(notified);
            // Register before checking, so a close between the check and the wait is not missed.
            notified.as_mut().enable();
            if self.open_sockets() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One open socket: keeps the gauge counted and hears the shutdown signal.
pub(crate) struct OpenSocket {
    hub: Arc<WebSocketHub>,
    stop: watch::Receiver<bool>,
}

impl OpenSocket {
    pub(crate) fn hub(&self) -> &WebSocketHub {
        &self.hub
    }

    /// Resolves when the server starts shutting down (or is gone).
    pub(crate) async fn stopping(&mut self) {
        let _ = self.stop.wait_for(|&stop| stop).await;
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        if self.hub.open.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.hub.all_closed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gauge_follows_guards_and_waiting_ends_at_zero() {
        let hub = Arc::new(WebSocketHub::new());
        let a = hub.open_socket();
        let b = hub.open_socket();
        assert_eq!(hub.open_sockets(), 2);
        drop(a);
        assert_eq!(hub.open_sockets(), 1);
        let waiter = tokio::spawn({
            let hub = Arc::clone(&hub);
            async move { hub.wait_all_closed().await }
        });
        drop(b);
        waiter.await.unwrap();
        assert_eq!(hub.open_sockets(), 0);
    }

    #[tokio::test]
    async fn stop_reaches_sockets_opened_before_and_after() {
        let hub = Arc::new(WebSocketHub::new());
        let mut before = hub.open_socket();
        hub.close_all();
        let mut after = hub.open_socket();
        before.stopping().await;
        after.stopping().await;
    }
}
