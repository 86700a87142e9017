//! Password hashes and session tokens for the demo marketplace.
//!
//! **Demo-grade only.** Passwords are stored as a salted 64-bit SipHash (std's `DefaultHasher`):
//! not plaintext, and cheap enough that a load test logging in thousands of times a second measures
//! the HTTP path rather than a key-derivation function — but far too fast to resist an offline
//! guessing attack. A real service would use argon2 or scrypt. Nothing of value is ever stored here.
//!
//! Tokens and salts come from SipHash keyed with a per-server random key (std's `RandomState`,
//! seeded from the OS) over a counter: unpredictable to clients, unique per server, and free of any
//! extra dependency.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A user's stored password: a salt and the salted hash.
#[derive(Clone, Copy)]
pub(crate) struct PasswordHash {
    salt: u64,
    hash: u64,
}

impl PasswordHash {
    /// Whether `password` is the one this hash was made from.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        salted_hash(self.salt, password) == self.hash
    }
}

fn salted_hash(salt: u64, password: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    salt.hash(&mut hasher);
    password.hash(&mut hasher);
    hasher.finish()
}

/// Source of salts and session tokens for one server.
pub(crate) struct Credentials {
    key: RandomState,
    counter: AtomicU64,
}

impl Credentials {
    pub(crate) fn new() -> Self {
        Credentials {
            key: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// 64 unpredictable bits; `lane` separates the uses of one counter value.
    fn random(&self, lane: u8) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.key.hash_one((n, lane))
    }

    /// Hashes a new password with a fresh salt.
    pub(crate) fn hash_password(&self, password: &[u8]) -> PasswordHash {
        let salt = self.random(0);
        PasswordHash {
            salt,
            hash: salted_hash(salt, password),
        }
    }

    /// A new session token: 128 random bits as 32 lower-case hex digits (valid in a cookie value
    /// and a bearer credential as it is).
    pub(crate) fn session_token(&self) -> String {
        format!("{:016x}{:016x}", self.random(1), self.random(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let credentials = Credentials::new();
        let a = credentials.hash_password(b"secret");
        let b = credentials.hash_password(b"secret");
        assert!(a.verify(b"secret"));
        assert!(!a.verify(b"Secret"));
        assert!(!a.verify(b""));
        assert_ne!(a.hash, b.hash, "same password, different salts");
    }

    #[test]
    fn tokens_are_unique_hex() {
        let credentials = Credentials::new();
        let tokens: std::collections::HashSet<_> =
            (0..1000).map(|_| credentials.session_token()).collect();
        assert_eq!(tokens.len(), 1000);
        assert!(tokens
            .iter()
            .all(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
