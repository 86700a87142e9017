//! The values the marketplace API takes in and hands out: users, apps and reviews as the API shows
//! them, validated submissions, searches and pages.
//!
//! Plain data with no rules attached (those are in `state`), so that the feed, request parsing and
//! handlers can use them without depending on the store.
//!
//! Strings that responses repeat (names, descriptions, timestamps) are `Arc<str>`, so handing an
//! app or a review out of the lock is a few reference-count bumps rather than copies.

use std::sync::Arc;

use serde::Serialize;

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UserInfo {
    pub(crate) id: u64,
    pub(crate) username: Arc<str>,
}

/// An app as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppInfo {
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) category: Arc<str>,
    pub(crate) description: Arc<str>,
    /// The owner's user name.
    pub(crate) owner: Arc<str>,
    pub(crate) created_at: Arc<str>,
    /// Average review rating rounded to two decimals; `null` before the first review.
    pub(crate) rating: Option<f64>,
    /// Number of reviews.
    pub(crate) reviews: u64,
}

/// A review as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Review {
    pub(crate) id: u64,
    pub(crate) app_id: u64,
    /// The author's user name.
    pub(crate) author: Arc<str>,
    pub(crate) rating: u8,
    pub(crate) text: Arc<str>,
    pub(crate) created_at: Arc<str>,
}

/// A validated app submission.
#[derive(Debug, Clone)]
pub(crate) struct NewApp {
    pub(crate) name: String,
    pub(crate) category: String,
    pub(crate) description: String,
}

/// A validated review submission (`rating` already checked to be 1..=5).
#[derive(Debug, Clone)]
pub(crate) struct NewReview {
    pub(crate) rating: u8,
    pub(crate) text: String,
}

/// One page of a listing.
#[derive(Debug, Serialize)]
pub(crate) struct Page<T> {
    /// Number of matching items, across all pages.
    pub(crate) total: usize,
    pub(crate) items: Vec<T>,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

/// A search of the apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppQuery {
    /// Matched case-insensitively against name and description.
    pub(crate) text: Option<String>,
    /// Matched case-insensitively (ASCII) against the category.
    pub(crate) category: Option<String>,
    pub(crate) window: Window,
}

/// Counts for `/api/stats`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) users: u64,
    pub(crate) apps: u64,
    pub(crate) reviews: u64,
    pub(crate) sessions: u64,
}
