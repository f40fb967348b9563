//! Password hashing, random keys and sealing of secrets at rest.
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::{ServiceError, ServiceResult};

pub(crate) fn hash_password(password: &str) -> ServiceResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
}

/// A fixed hash to verify against when the user does not exist, so that the time a failed
/// login takes does not reveal whether the username exists.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-for-timing").unwrap_or_default())
}

/// Verifies `password` against a PHC string; an empty or malformed stored hash never matches.
pub(crate) fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.filter(|s| !s.is_empty());
    let candidate = stored.unwrap_or_else(|| decoy_hash());
    let Ok(parsed) = PasswordHash::new(candidate) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

/// Password hashing is CPU-bound (tens of milliseconds); at most this many run at once, on the
/// blocking pool, so a flood of logins or password changes queues instead of starving the
/// server of threads and memory.
const CONCURRENT_HASHES: usize = 4;

fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(CONCURRENT_HASHES))
}

/// How long a hash waits for a permit before the call is refused as throttled.
const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn on_hashing_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    let _permit = tokio::time::timeout(HASH_QUEUE_WAIT, hashing_permits().acquire())
        .await
        .map_err(|_| ServiceError::RateLimited {
            retry_after_secs: HASH_QUEUE_WAIT.as_secs(),
        })?
        .map_err(|_| ServiceError::Internal("the password hashing pool is closed".into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
}

pub(crate) async fn hash_password_blocking(password: &str) -> ServiceResult<String> {
    let password = password.to_owned();
    on_hashing_pool(move || hash_password(&password)).await?
}

pub(crate) async fn verify_password_blocking(
    password: &str,
    stored: Option<String>,
) -> ServiceResult<bool> {
    let password = password.to_owned();
    on_hashing_pool(move || verify_password(&password, stored.as_deref())).await
}

pub(crate) fn random_alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(crate) fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Seals secrets (token keys) with a key derived from the server's secret, so a copy of the
/// database alone does not reveal them.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_passphrase(passphrase: &str) -> Self {
        let key = Sha256::digest(format!("garrison-secret-box:{passphrase}").as_bytes());
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    pub fn seal(&self, plaintext: &str) -> ServiceResult<String> {
        let nonce_bytes: [u8; 24] = rand::thread_rng().r#gen();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(nonce, plaintext.as_bytes())
            .map_err(|_| ServiceError::Internal("sealing a secret failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend(sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> ServiceResult<String> {
        let corrupt = || {
            ServiceError::Internal("a sealed secret could not be opened (wrong secret key?)".into())
        };
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| corrupt())?;
        if bytes.len() < 24 {
            return Err(corrupt());
        }
        let (nonce, body) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&hash)));
        assert!(!verify_password("wrong", Some(&hash)));
        assert!(
            !verify_password("", Some("")),
            "unusable password never matches"
        );
        assert!(
            !verify_password("decoy-password-for-timing", None),
            "decoy never logs anyone in"
        );
    }

    #[test]
    fn sealed_secrets_round_trip_and_resist_the_wrong_key() {
        let a = SecretBox::from_passphrase("one");
        let sealed = a.seal("token-key").unwrap();
        assert_ne!(
            sealed,
            a.seal("token-key").unwrap(),
            "fresh nonce every time"
        );
        assert_eq!(a.open(&sealed).unwrap(), "token-key");
        assert!(SecretBox::from_passphrase("two").open(&sealed).is_err());
        assert!(a.open("not-base64!").is_err());
    }
}
