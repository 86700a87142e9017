//! Tokens: random secrets, each with an owner's name and a role, kept only
//! as hashes.
//!
//! A token is 32 random bytes, so a fast hash (SHA-256) is enough to keep
//! it at rest: there is no dictionary to try, unlike a password (those take
//! argon2id, in the service).

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Connect as an agent and run the segments it is given.
    Agent,
    /// Submit, follow, stop runs; list and manage agents.
    Client,
    /// Everything a client and an agent may do.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Client => "client",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "agent" => Some(Role::Agent),
            "client" => Some(Role::Client),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may connect as an agent.
    pub fn may_run_agent(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }

    /// Whether this role may submit and manage runs and agents.
    pub fn may_use_client(self) -> bool {
        matches!(self, Role::Client | Role::Admin)
    }
}

/// A token's owner and role, as the store knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

/// Every token starts so, to be recognised in a log or a secret store.
const PREFIX: &str = "pmt_";

/// A fresh random token, as shown once to its owner.
pub(crate) fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The form a token is kept in: hex SHA-256.
pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() > 40);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Agent, Role::Client, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(!Role::Agent.may_use_client());
        assert!(!Role::Client.may_run_agent());
    }
}
