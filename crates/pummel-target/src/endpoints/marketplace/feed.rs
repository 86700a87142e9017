//! The marketplace's live feed: every new app and review, as the JSON text `/ws/feed` pushes.
//!
//! A `tokio::sync::broadcast` channel of ready-made text-frame payloads: an event is serialised
//! once, whatever the number of subscribers, and each subscriber's copy is a reference-count bump.
//! With no subscriber, publishing costs one atomic load. A subscriber that falls more than
//! [`CAPACITY`] events behind skips the oldest ones (the WebSocket side counts them).

use serde::Serialize;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::records::{AppInfo, Review};

/// Events kept for slow subscribers.
pub(crate) const CAPACITY: usize = 1024;

/// One feed event: `{"type":"app","app":{...}}` or `{"type":"review","review":{...}}`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum FeedEvent<'a> {
    App { app: &'a AppInfo },
    Review { review: &'a Review },
}

pub(crate) struct Feed {
    sender: broadcast::Sender<Utf8Bytes>,
}

impl Feed {
    pub(crate) fn new() -> Self {
        Feed {
            sender: broadcast::Sender::new(CAPACITY),
        }
    }

    /// Sends an event to every current subscriber.
    pub(crate) fn publish(&self, event: &FeedEvent<'_>) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        // Serialising these plain structs cannot fail; if it somehow did, the event is dropped.
        if let Ok(json) = serde_json::to_string(event) {
            // An error only means every subscriber left meanwhile.
            let _ = self.sender.send(Utf8Bytes::from(json));
        }
    }

    /// A receiver of every event published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn events_are_tagged_json() {
        let feed = Feed::new();
        feed.publish(&FeedEvent::Review {
            review: &Review {
                id: 1,
                app_id: 2,
                author: Arc::from("a"),
                rating: 5,
                text: Arc::from("t"),
                created_at: Arc::from("2024-01-01T00:00:00Z"),
            },
        });
        let mut receiver = feed.subscribe();
        let app = AppInfo {
            id: 7,
            name: Arc::from("n"),
            category: Arc::from("c"),
            description: Arc::from("d"),
            owner: Arc::from("o"),
            created_at: Arc::from("2024-01-01T00:00:00Z"),
            rating: None,
            reviews: 0,
        };
        feed.publish(&FeedEvent::App { app: &app });
        let text = receiver.try_recv().expect("an event");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["type"], "app");
        assert_eq!(json["app"]["id"], 7);
        assert_eq!(json["app"]["rating"], serde_json::Value::Null);
        assert!(
            receiver.try_recv().is_err(),
            "the earlier event had no subscriber"
        );
    }
}
