//! Secrets kept at rest encrypted: repository credentials, webhook secrets.
//!
//! ChaCha20-Poly1305 (an AEAD) with one 256-bit key per server. The key is
//! not in the database, so a copy of the store file alone reveals nothing:
//! it comes from `PUMMEL_SECRET_KEY` (64 hex digits), from the file named by
//! `PUMMEL_SECRET_KEY_FILE`, or else from `secret.key` in the data
//! directory, made on first use with mode 0600. Each sealed value is a fresh
//! 96-bit random nonce followed by the ciphertext and its tag; the value's
//! purpose (say `repo:web:credential`) is bound in as associated data, so a
//! sealed value cannot be moved to another row or column and still open.

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The key file's name in the data directory.
const KEY_FILE: &str = "secret.key";
const NONCE_BYTES: usize = 12;

/// Why secrets cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the secret key {source_name}: {reason}")]
    Key { source_name: String, reason: String },
    #[error("cannot make random bytes: {0}")]
    Random(getrandom::Error),
    #[error("a sealed secret does not open with this server's key (was the key changed?)")]
    Open,
}

/// Seals and opens secrets with the server's key.
pub(crate) struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl Sealer {
    /// The key from the environment, or the data directory's key file
    /// (made when missing).
    pub(crate) fn from_env_or_dir(data_dir: &Path) -> Result<Sealer, SealError> {
        if let Ok(hex) = std::env::var("PUMMEL_SECRET_KEY") {
            return Sealer::from_hex(&hex, "in PUMMEL_SECRET_KEY");
        }
        let file = std::env::var_os("PUMMEL_SECRET_KEY_FILE")
            .map_or_else(|| data_dir.join(KEY_FILE), PathBuf::from);
        match std::fs::read_to_string(&file) {
            Ok(text) => Sealer::from_hex(text.trim(), &format!("in {}", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(SealError::Random)?;
                // With the store in PostgreSQL and no --data-dir, the
                // directory is a scratch one that may not exist yet.
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| SealError::Key {
                        source_name: file.display().to_string(),
                        reason: format!("its directory cannot be made: {e}"),
                    })?;
                }
                write_private(&file, &hex(&key)).map_err(|e| SealError::Key {
                    source_name: file.display().to_string(),
                    reason: format!("cannot be written: {e}"),
                })?;
                Ok(Sealer::from_bytes(&key))
            }
            Err(e) => Err(SealError::Key {
                source_name: file.display().to_string(),
                reason: format!("cannot be read: {e}"),
            }),
        }
    }

    fn from_hex(text: &str, source_name: &str) -> Result<Sealer, SealError> {
        let bad = || SealError::Key {
            source_name: source_name.to_owned(),
            reason: "must be 64 hexadecimal digits (32 bytes)".to_owned(),
        };
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Sealer::from_bytes(&key))
    }

    fn from_bytes(key: &[u8; 32]) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Encrypts `secret` for `purpose`: nonce, then ciphertext and tag.
    pub(crate) fn seal(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(SealError::Random)?;
        let payload = Payload {
            msg: secret,
            aad: purpose.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`Sealer::seal`] made for the same `purpose`.
    pub(crate) fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_BYTES {
            return Err(SealError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a file only its owner may read.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::from_env_or_dir(dir.path()).unwrap();
        let sealed = sealer.seal("repo:a:credential", b"ghp_secret").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"ghp_secret"));
        assert_eq!(
            sealer.open("repo:a:credential", &sealed).unwrap(),
            b"ghp_secret"
        );
        assert!(sealer.open("repo:b:credential", &sealed).is_err());
        // The same key file opens it again (a restart).
        let again = Sealer::from_env_or_dir(dir.path()).unwrap();
        assert!(again.open("repo:a:credential", &sealed).is_ok());
        let other = Sealer::from_hex(&"ab".repeat(32), "test").unwrap();
        assert!(other.open("repo:a:credential", &sealed).is_err());
        assert!(Sealer::from_hex("abc", "test").is_err());
    }
}
