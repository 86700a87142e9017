//! Passwords, kept as argon2id hashes (PHC strings: the algorithm, its
//! parameters and the salt travel with the hash, so stronger parameters
//! later still verify the old ones).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The shortest password accepted: shorter ones fall to a guess.
pub(crate) const MIN_LENGTH: usize = 10;

/// Hashing failed (never for a valid password: only a failing system RNG).
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub(crate) struct HashError(String);

/// The PHC string of `password` with a fresh random salt, argon2id with the
/// crate's default (OWASP's recommended) parameters.
pub(crate) fn hash(password: &str) -> Result<String, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the stored `phc` string (false, not an
/// error, for a malformed one: a sign-in simply fails).
pub(crate) fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of nothing anybody types, verified when the account does not
/// exist, so that an unknown name costs the same time as a wrong password
/// and the timing says nothing about which names exist.
pub(crate) fn burn_time(password: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$\
                         Wn3XjzS3hBm4l3bDgKDKMk0eU9fTA9eg6e3rnVRx2rU";
    let _ = verify(password, DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_their_password() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(verify("correct horse battery", &b));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("", &a));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert!(!a.contains("correct"));
    }
}
