//! The shop's sessions: each browser (cookie) has its own CSRF token, its own items (their ids
//! differ between sessions), its own cart and orders. A value from another session is refused,
//! which is what makes a replay without correlation fail.
//!
//! Bounded: at most [`MAX_SESSIONS`] sessions (the oldest is forgotten first) and
//! [`MAX_ORDERS`] orders per session, so a long load test cannot eat the machine.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::rng;

pub(crate) const MAX_SESSIONS: usize = 10_000;
pub(crate) const MAX_ORDERS: usize = 100;
const ITEM_NAMES: [&str; 4] = ["Chess set", "Go board", "Drum kit", "Toolbox"];

pub(crate) struct Item {
    pub(crate) id: u32,
    pub(crate) name: &'static str,
}

pub(crate) struct Order {
    pub(crate) id: String,
    pub(crate) item: u32,
    pub(crate) quantity: u32,
}

pub(crate) struct Session {
    pub(crate) csrf: String,
    pub(crate) user: Option<String>,
    pub(crate) items: Vec<Item>,
    pub(crate) cart: String,
    pub(crate) orders: VecDeque<Order>,
}

impl Session {
    fn new() -> Session {
        Session {
            csrf: token(),
            user: None,
            // Six-digit ids, different in every session.
            items: ITEM_NAMES
                .iter()
                .map(|name| Item {
                    id: 100_000 + u32::try_from(rng::below(900_000)).unwrap_or(0),
                    name,
                })
                .collect(),
            cart: format!("cart-{}", &token()[..12]),
            orders: VecDeque::new(),
        }
    }

    /// A new CSRF token: on login and logout, as applications do.
    pub(crate) fn rotate_csrf(&mut self) {
        self.csrf = token();
    }

    pub(crate) fn item(&self, id: u32) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    pub(crate) fn add_order(&mut self, item: u32, quantity: u32) -> String {
        let id = format!("ord-{}", &token()[..16]);
        if self.orders.len() >= MAX_ORDERS {
            self.orders.pop_front();
        }
        self.orders.push_back(Order {
            id: id.clone(),
            item,
            quantity,
        });
        id
    }
}

/// 32 hex digits.
fn token() -> String {
    format!("{:016x}{:016x}", rng::below(u64::MAX), rng::below(u64::MAX))
}

#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, Session>,
    order: VecDeque<String>,
}

/// All sessions, behind one lock (the shop is a demo flow, not a benchmark path).
#[derive(Default)]
pub(crate) struct Shop {
    sessions: Mutex<Sessions>,
}

impl Shop {
    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the session `id`, if it exists.
    pub(crate) fn with<T>(&self, id: Option<&str>, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut sessions = self.lock();
        id.and_then(|id| sessions.by_id.get_mut(id)).map(f)
    }

    /// Runs `f` on the session `id`, creating one if there is none; returns the session id too.
    pub(crate) fn with_or_new<T>(
        &self,
        id: Option<&str>,
        f: impl FnOnce(&mut Session) -> T,
    ) -> (String, T) {
        let mut sessions = self.lock();
        if let Some((id, session)) = id.and_then(|id| sessions.by_id.get_mut(id).map(|s| (id, s))) {
            return (id.to_owned(), f(session));
        }
        if sessions.order.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.order.pop_front() {
                sessions.by_id.remove(&oldest);
            }
        }
        let id = token();
        let mut session = Session::new();
        let value = f(&mut session);
        sessions.by_id.insert(id.clone(), session);
        sessions.order.push_back(id.clone());
        (id, value)
    }
}
