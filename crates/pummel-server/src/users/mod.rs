//! Users of the web service: local accounts (argon2id password hashes),
//! sign-in sessions in cookies, CSRF tokens for every form, API tokens that
//! belong to users, and the limit on failed sign-ins.
//!
//! Identity stays one thing across the service: a user's name is the owner
//! of their runs and of their API tokens, so a run submitted with a token
//! from the command line and one started from the web page are the same
//! user's.

pub(crate) mod limit;
pub(crate) mod password;
pub(crate) mod session;

use crate::token::Role;

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserRole {
    /// Everything: every user's runs, the agents, the users.
    Admin,
    /// Their own runs and tokens.
    User,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<UserRole> {
        match text {
            "admin" => Some(UserRole::Admin),
            "user" => Some(UserRole::User),
            _ => None,
        }
    }

    /// The role of the API tokens this user makes: a user's token is a
    /// client's (submit and follow runs), an admin's an admin's.
    pub(crate) fn token_role(self) -> Role {
        match self {
            UserRole::Admin => Role::Admin,
            UserRole::User => Role::Client,
        }
    }
}

/// A signed-in user, as the pages see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) role: UserRole,
}

impl User {
    pub(crate) fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }

    /// Whether this user may see and control a run owned by `owner`.
    pub(crate) fn may_see(&self, owner: &str) -> bool {
        self.is_admin() || self.name == owner
    }
}

/// A user name: what a token's owner, a run's owner and a URL may carry
/// without surprise.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_names() {
        for role in [UserRole::Admin, UserRole::User] {
            assert_eq!(UserRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(UserRole::parse("root"), None);
        assert_eq!(UserRole::User.token_role(), Role::Client);
        assert!(valid_name("ada.lovelace@example"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("<script>"));
        let user = User {
            name: "ada".into(),
            role: UserRole::User,
        };
        assert!(user.may_see("ada") && !user.may_see("bob"));
        let admin = User {
            name: "root".into(),
            role: UserRole::Admin,
        };
        assert!(admin.may_see("bob"));
    }
}
