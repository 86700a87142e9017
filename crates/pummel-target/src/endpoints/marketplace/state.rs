//! The marketplace's data, its operations, and the one lock around them.
//!
//! [`Store`] is plain single-threaded data with the rules of the API (unique user names, owners,
//! average ratings, the size cap); [`Marketplace`] puts it behind a `std::sync::RwLock` together
//! with the credential source and the live feed. Reads (search, app pages, session checks) share
//! the lock; writes (register, login, create, review, delete) take it briefly and never across an
//! `.await`. Only `/api` requests and feed events touch it: the plain endpoints never do. The
//! values it takes in and hands out are in `records`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::credentials::{Credentials, PasswordHash};
use super::feed::{Feed, FeedEvent};
use super::records::{AppInfo, AppQuery, NewApp, NewReview, Page, Review, Stats, UserInfo, Window};
use crate::timestamp;

/// Default cap on stored objects (users + sessions + apps + reviews), so that a long load test
/// against the demo API cannot eat the machine. Beyond it, writes answer 507.
pub(crate) const MAX_OBJECTS: u64 = 1_000_000;

/// Default cap on the bytes of text stored (names, descriptions, review texts, tokens): the object
/// cap alone would still allow a million 4 KiB descriptions.
pub(crate) const MAX_TEXT_BYTES: u64 = 256 * 1024 * 1024;

/// How much the store may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) objects: u64,
    pub(crate) text_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            objects: MAX_OBJECTS,
            text_bytes: MAX_TEXT_BYTES,
        }
    }
}

/// Why a store operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreError {
    UsernameTaken,
    /// The user a session names no longer exists (cannot happen today: users are never deleted).
    NoSuchUser,
    NoSuchApp,
    NotOwner,
    /// A [`Limits`] cap is reached.
    Full,
}

struct User {
    info: UserInfo,
    password: PasswordHash,
}

struct App {
    info: AppInfo,
    owner_id: u64,
    /// Lower-cased `name\ndescription`, computed once so a search does not lower-case every app.
    haystack: Box<str>,
    reviews: Vec<Review>,
    rating_sum: u64,
}

/// The marketplace's data. Single-threaded; [`Marketplace`] adds the lock.
pub(crate) struct Store {
    limits: Limits,
    /// User `id` is at index `id - 1`; users are never deleted.
    users: Vec<User>,
    user_ids: HashMap<Arc<str>, u64>,
    /// Session token → user id.
    sessions: HashMap<Box<str>, u64>,
    /// By id, so listings come out in creation order.
    apps: BTreeMap<u64, App>,
    next_app_id: u64,
    next_review_id: u64,
    review_count: u64,
    text_bytes: u64,
}

impl Store {
    pub(crate) fn new(limits: Limits) -> Self {
        Store {
            limits,
            users: Vec::new(),
            user_ids: HashMap::new(),
            sessions: HashMap::new(),
            apps: BTreeMap::new(),
            next_app_id: 1,
            next_review_id: 1,
            review_count: 0,
            text_bytes: 0,
        }
    }

    fn objects(&self) -> u64 {
        self.users.len() as u64
            + self.sessions.len() as u64
            + self.apps.len() as u64
            + self.review_count
    }

    /// Checks that one more object carrying `text_bytes` of text fits, and accounts for the text.
    fn reserve(&mut self, text_bytes: usize) -> Result<(), StoreError> {
        let text_bytes = text_bytes as u64;
        if self.objects() >= self.limits.objects
            || self.text_bytes.saturating_add(text_bytes) > self.limits.text_bytes
        {
            return Err(StoreError::Full);
        }
        self.text_bytes += text_bytes;
        Ok(())
    }

    fn release(&mut self, text_bytes: usize) {
        self.text_bytes = self.text_bytes.saturating_sub(text_bytes as u64);
    }

    fn user(&self, id: u64) -> Option<&User> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.users.get(index)
    }

    pub(crate) fn register(
        &mut self,
        username: &str,
        password: PasswordHash,
    ) -> Result<UserInfo, StoreError> {
        if self.user_ids.contains_key(username) {
            return Err(StoreError::UsernameTaken);
        }
        self.reserve(username.len())?;
        let info = UserInfo {
            id: self.users.len() as u64 + 1,
            username: Arc::from(username),
        };
        self.user_ids.insert(Arc::clone(&info.username), info.id);
        self.users.push(User {
            info: info.clone(),
            password,
        });
        Ok(info)
    }

    /// The user's id and stored password, to check a login outside the write lock.
    pub(crate) fn password_of(&self, username: &str) -> Option<(u64, PasswordHash)> {
        let id = *self.user_ids.get(username)?;
        Some((id, self.user(id)?.password))
    }

    pub(crate) fn open_session(&mut self, user_id: u64, token: String) -> Result<(), StoreError> {
        self.reserve(token.len())?;
        self.sessions.insert(token.into_boxed_str(), user_id);
        Ok(())
    }

    pub(crate) fn session_user(&self, token: &str) -> Option<UserInfo> {
        let id = *self.sessions.get(token)?;
        Some(self.user(id)?.info.clone())
    }

    /// Ends a session; false if there was no such session.
    pub(crate) fn close_session(&mut self, token: &str) -> bool {
        let closed = self.sessions.remove(token).is_some();
        if closed {
            self.release(token.len());
        }
        closed
    }

    pub(crate) fn create_app(
        &mut self,
        owner_id: u64,
        app: NewApp,
        created_at: Arc<str>,
    ) -> Result<AppInfo, StoreError> {
        let owner = Arc::clone(
            &self
                .user(owner_id)
                .ok_or(StoreError::NoSuchUser)?
                .info
                .username,
        );
        self.reserve(app_text_len(&app))?;
        let haystack = format!("{}\n{}", app.name, app.description)
            .to_lowercase()
            .into_boxed_str();
        let info = AppInfo {
            id: self.next_app_id,
            name: app.name.into(),
            category: app.category.into(),
            description: app.description.into(),
            owner,
            created_at,
            rating: None,
            reviews: 0,
        };
        self.next_app_id += 1;
        self.apps.insert(
            info.id,
            App {
                info: info.clone(),
                owner_id,
                haystack,
                reviews: Vec::new(),
                rating_sum: 0,
            },
        );
        Ok(info)
    }

    pub(crate) fn app(&self, id: u64) -> Option<AppInfo> {
        self.apps.get(&id).map(|app| app.info.clone())
    }

    pub(crate) fn search(&self, query: &AppQuery) -> Page<AppInfo> {
        let text = query.text.as_deref().map(str::to_lowercase);
        let matches = self.apps.values().filter(|app| {
            query
                .category
                .as_deref()
                .is_none_or(|c| app.info.category.eq_ignore_ascii_case(c))
                && text.as_deref().is_none_or(|t| app.haystack.contains(t))
        });
        page(matches.map(|app| &app.info), query.window)
    }

    /// Deletes an app and its reviews, if `user_id` owns it.
    pub(crate) fn delete_app(&mut self, id: u64, user_id: u64) -> Result<(), StoreError> {
        let app = self.apps.get(&id).ok_or(StoreError::NoSuchApp)?;
        if app.owner_id != user_id {
            return Err(StoreError::NotOwner);
        }
        if let Some(app) = self.apps.remove(&id) {
            self.review_count -= app.reviews.len() as u64;
            let review_text: usize = app.reviews.iter().map(|r| r.text.len()).sum();
            self.release(app_text_len_of(&app.info) + review_text);
        }
        Ok(())
    }

    pub(crate) fn add_review(
        &mut self,
        app_id: u64,
        author_id: u64,
        review: NewReview,
        created_at: Arc<str>,
    ) -> Result<(Review, AppInfo), StoreError> {
        let author = Arc::clone(
            &self
                .user(author_id)
                .ok_or(StoreError::NoSuchUser)?
                .info
                .username,
        );
        if !self.apps.contains_key(&app_id) {
            return Err(StoreError::NoSuchApp);
        }
        self.reserve(review.text.len())?;
        let review = Review {
            id: self.next_review_id,
            app_id,
            author,
            rating: review.rating,
            text: review.text.into(),
            created_at,
        };
        let Some(app) = self.apps.get_mut(&app_id) else {
            return Err(StoreError::NoSuchApp);
        };
        app.rating_sum += u64::from(review.rating);
        app.reviews.push(review.clone());
        app.info.reviews = app.reviews.len() as u64;
        app.info.rating = Some(average(app.rating_sum, app.info.reviews));
        let info = app.info.clone();
        self.next_review_id += 1;
        self.review_count += 1;
        Ok((review, info))
    }

    pub(crate) fn reviews(&self, app_id: u64, window: Window) -> Result<Page<Review>, StoreError> {
        let app = self.apps.get(&app_id).ok_or(StoreError::NoSuchApp)?;
        Ok(page(app.reviews.iter(), window))
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            users: self.users.len() as u64,
            apps: self.apps.len() as u64,
            reviews: self.review_count,
            sessions: self.sessions.len() as u64,
        }
    }
}

fn app_text_len(app: &NewApp) -> usize {
    app.name.len() + app.category.len() + app.description.len()
}

fn app_text_len_of(app: &AppInfo) -> usize {
    app.name.len() + app.category.len() + app.description.len()
}

/// Mean rating rounded to two decimals (JSON readers see `4.33`, not `4.333333333333333`).
fn average(sum: u64, count: u64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    (sum as f64 / count as f64 * 100.0).round() / 100.0
}

/// Counts all items and clones the ones inside the window.
fn page<'a, T: Clone + 'a>(items: impl Iterator<Item = &'a T>, window: Window) -> Page<T> {
    let mut total = 0;
    let mut out = Vec::with_capacity(window.limit.min(100));
    for item in items {
        if total >= window.offset && out.len() < window.limit {
            out.push(item.clone());
        }
        total += 1;
    }
    Page { total, items: out }
}

/// The store behind its lock, plus what writes need besides it: the credential source and the
/// live feed that `/ws/feed` subscribers read.
pub(crate) struct Marketplace {
    store: RwLock<Store>,
    credentials: Credentials,
    feed: Feed,
    tally: super::tally::Tally,
}

impl Marketplace {
    pub(crate) fn new(limits: Limits) -> Self {
        Marketplace {
            store: RwLock::new(Store::new(limits)),
            credentials: Credentials::new(),
            feed: Feed::new(),
            tally: super::tally::Tally::default(),
        }
    }

    /// The per-key request counts of `/api/hit`, `/api/flaky` and `/api/hits`.
    pub(crate) fn tally(&self) -> &super::tally::Tally {
        &self.tally
    }

    // Nothing panics while holding the lock, but should it ever, the data is still consistent
    // enough for a demo: keep serving rather than turning every later request into a panic.
    fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn feed(&self) -> &Feed {
        &self.feed
    }

    pub(crate) fn register(&self, username: &str, password: &[u8]) -> Result<UserInfo, StoreError> {
        // Hash outside the lock.
        let password = self.credentials.hash_password(password);
        self.write().register(username, password)
    }

    /// A new session token if the credentials are right, `Ok(None)` if they are not.
    pub(crate) fn login(
        &self,
        username: &str,
        password: &[u8],
    ) -> Result<Option<String>, StoreError> {
        let Some((user_id, stored)) = self.read().password_of(username) else {
            return Ok(None);
        };
        if !stored.verify(password) {
            return Ok(None);
        }
        let token = self.credentials.session_token();
        self.write().open_session(user_id, token.clone())?;
        Ok(Some(token))
    }

    pub(crate) fn logout(&self, token: &str) -> bool {
        self.write().close_session(token)
    }

    pub(crate) fn session_user(&self, token: &str) -> Option<UserInfo> {
        self.read().session_user(token)
    }

    pub(crate) fn create_app(&self, owner: &UserInfo, app: NewApp) -> Result<AppInfo, StoreError> {
        let created_at = Arc::from(timestamp::now_rfc3339());
        let mut store = self.write();
        let app = store.create_app(owner.id, app, created_at)?;
        // Published under the lock, so feed subscribers see events in the order the store
        // applied them (an app always before its reviews).
        self.feed.publish(&FeedEvent::App { app: &app });
        drop(store);
        Ok(app)
    }

    pub(crate) fn app(&self, id: u64) -> Option<AppInfo> {
        self.read().app(id)
    }

    pub(crate) fn search(&self, query: &AppQuery) -> Page<AppInfo> {
        self.read().search(query)
    }

    pub(crate) fn delete_app(&self, id: u64, user: &UserInfo) -> Result<(), StoreError> {
        self.write().delete_app(id, user.id)
    }

    pub(crate) fn add_review(
        &self,
        app_id: u64,
        author: &UserInfo,
        review: NewReview,
    ) -> Result<Review, StoreError> {
        let created_at = Arc::from(timestamp::now_rfc3339());
        let mut store = self.write();
        let (review, _app) = store.add_review(app_id, author.id, review, created_at)?;
        self.feed.publish(&FeedEvent::Review { review: &review });
        drop(store);
        Ok(review)
    }

    pub(crate) fn reviews(&self, app_id: u64, window: Window) -> Result<Page<Review>, StoreError> {
        self.read().reviews(app_id, window)
    }

    pub(crate) fn stats(&self) -> Stats {
        self.read().stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(limits: Limits) -> (Store, Credentials) {
        (Store::new(limits), Credentials::new())
    }

    fn new_app(name: &str, category: &str, description: &str) -> NewApp {
        NewApp {
            name: name.to_owned(),
            category: category.to_owned(),
            description: description.to_owned(),
        }
    }

    const WINDOW: Window = Window {
        limit: 20,
        offset: 0,
    };

    fn query(text: Option<&str>, category: Option<&str>, limit: usize, offset: usize) -> AppQuery {
        AppQuery {
            text: text.map(str::to_owned),
            category: category.map(str::to_owned),
            window: Window { limit, offset },
        }
    }

    #[test]
    fn users_are_unique_and_sequential() {
        let (mut store, credentials) = store(Limits::default());
        let alice = store
            .register("alice", credentials.hash_password(b"pw"))
            .unwrap();
        let bob = store
            .register("bob", credentials.hash_password(b"pw"))
            .unwrap();
        assert_eq!((alice.id, bob.id), (1, 2));
        assert_eq!(
            store
                .register("alice", credentials.hash_password(b"x"))
                .unwrap_err(),
            StoreError::UsernameTaken
        );
        let (id, password) = store.password_of("alice").unwrap();
        assert_eq!(id, 1);
        assert!(password.verify(b"pw"));
        assert!(store.password_of("carol").is_none());
    }

    #[test]
    fn sessions_open_resolve_and_close() {
        let (mut store, credentials) = store(Limits::default());
        let alice = store
            .register("alice", credentials.hash_password(b"pw"))
            .unwrap();
        store.open_session(alice.id, "t1".to_owned()).unwrap();
        assert_eq!(&*store.session_user("t1").unwrap().username, "alice");
        assert!(store.session_user("t2").is_none());
        assert!(store.close_session("t1"));
        assert!(!store.close_session("t1"));
        assert!(store.session_user("t1").is_none());
    }

    #[test]
    fn search_filters_counts_and_pages() {
        let (mut store, credentials) = store(Limits::default());
        let owner = store
            .register("o", credentials.hash_password(b"pw"))
            .unwrap();
        let now: Arc<str> = Arc::from("2024-01-01T00:00:00Z");
        for (name, category, description) in [
            ("Pixel Quest", "games", "A retro platformer"),
            ("Chess", "Games", "Classic board game"),
            ("Notes", "tools", "Write things down; quest-free"),
            ("Beats", "music", "Drum machine"),
        ] {
            store
                .create_app(owner.id, new_app(name, category, description), now.clone())
                .unwrap();
        }
        let names = |page: Page<AppInfo>| {
            (
                page.total,
                page.items
                    .iter()
                    .map(|a| a.name.to_string())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(names(store.search(&query(None, None, 20, 0))).0, 4);
        assert_eq!(
            names(store.search(&query(Some("QUEST"), None, 20, 0))),
            (2, vec!["Pixel Quest".to_owned(), "Notes".to_owned()])
        );
        assert_eq!(
            names(store.search(&query(None, Some("GAMES"), 20, 0))),
            (2, vec!["Pixel Quest".to_owned(), "Chess".to_owned()])
        );
        assert_eq!(
            names(store.search(&query(None, None, 2, 1))),
            (4, vec!["Chess".to_owned(), "Notes".to_owned()])
        );
        assert_eq!(names(store.search(&query(None, None, 20, 10))), (4, vec![]));
        assert_eq!(
            names(store.search(&query(Some("zzz"), None, 20, 0))),
            (0, vec![])
        );
    }

    #[test]
    fn reviews_update_the_average_and_deleting_removes_them() {
        let (mut store, credentials) = store(Limits::default());
        let owner = store
            .register("o", credentials.hash_password(b"pw"))
            .unwrap();
        let other = store
            .register("x", credentials.hash_password(b"pw"))
            .unwrap();
        let now: Arc<str> = Arc::from("2024-01-01T00:00:00Z");
        let app = store
            .create_app(owner.id, new_app("A", "tools", "d"), now.clone())
            .unwrap();
        assert_eq!((app.rating, app.reviews), (None, 0));
        for rating in [5, 4, 4] {
            let review = NewReview {
                rating,
                text: "ok".to_owned(),
            };
            store
                .add_review(app.id, other.id, review, now.clone())
                .unwrap();
        }
        let app = store.app(app.id).unwrap();
        assert_eq!((app.rating, app.reviews), (Some(4.33), 3));
        let page = store.reviews(app.id, WINDOW).unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(page.items[0].id, 1);
        assert_eq!(&*page.items[0].author, "x");
        let review = NewReview {
            rating: 1,
            text: String::new(),
        };
        assert_eq!(
            store.add_review(99, other.id, review, now).unwrap_err(),
            StoreError::NoSuchApp
        );

        assert_eq!(store.stats().reviews, 3);
        assert_eq!(
            store.delete_app(app.id, other.id).unwrap_err(),
            StoreError::NotOwner
        );
        store.delete_app(app.id, owner.id).unwrap();
        assert_eq!(
            store.delete_app(app.id, owner.id).unwrap_err(),
            StoreError::NoSuchApp
        );
        assert!(store.app(app.id).is_none());
        assert_eq!(
            store.reviews(app.id, WINDOW).unwrap_err(),
            StoreError::NoSuchApp
        );
        assert_eq!(
            store.stats(),
            Stats {
                users: 2,
                apps: 0,
                reviews: 0,
                sessions: 0
            }
        );
        assert_eq!(store.text_bytes, 2, "only the two user names remain");
    }

    #[test]
    fn the_object_cap_refuses_writes_and_frees_on_delete() {
        let (mut store, credentials) = store(Limits {
            objects: 3,
            text_bytes: u64::MAX,
        });
        let now: Arc<str> = Arc::from("2024-01-01T00:00:00Z");
        let user = store
            .register("u", credentials.hash_password(b"pw"))
            .unwrap();
        store.open_session(user.id, "t".to_owned()).unwrap();
        let app = store
            .create_app(user.id, new_app("A", "tools", "d"), now.clone())
            .unwrap();
        assert_eq!(
            store
                .register("v", credentials.hash_password(b"pw"))
                .unwrap_err(),
            StoreError::Full
        );
        assert_eq!(
            store.open_session(user.id, "t2".to_owned()).unwrap_err(),
            StoreError::Full
        );
        let review = NewReview {
            rating: 3,
            text: String::new(),
        };
        assert_eq!(
            store
                .add_review(app.id, user.id, review.clone(), now.clone())
                .unwrap_err(),
            StoreError::Full
        );
        // Reads still work when full, and freeing space lets writes through again.
        assert!(store.app(app.id).is_some());
        assert!(store.close_session("t"));
        store.add_review(app.id, user.id, review, now).unwrap();
    }

    #[test]
    fn the_text_cap_refuses_big_writes() {
        let (mut store, credentials) = store(Limits {
            objects: u64::MAX,
            text_bytes: 20,
        });
        let now: Arc<str> = Arc::from("2024-01-01T00:00:00Z");
        let user = store
            .register("user", credentials.hash_password(b"pw"))
            .unwrap();
        assert_eq!(
            store
                .create_app(user.id, new_app("A", "tools", &"d".repeat(20)), now.clone())
                .unwrap_err(),
            StoreError::Full
        );
        store
            .create_app(user.id, new_app("A", "tools", "d"), now)
            .unwrap();
    }

    #[test]
    fn marketplace_logs_in_with_the_right_password_only() {
        let market = Marketplace::new(Limits::default());
        let alice = market.register("alice", b"secret").unwrap();
        assert_eq!(market.login("alice", b"wrong").unwrap(), None);
        assert_eq!(market.login("nobody", b"secret").unwrap(), None);
        let token = market.login("alice", b"secret").unwrap().unwrap();
        assert_eq!(market.session_user(&token).unwrap().id, alice.id);
        assert!(market.logout(&token));
        assert!(market.session_user(&token).is_none());
    }
}
