//! The key that seals secrets at rest (token keys, later service-connection credentials).
//!
//! It must not live beside what it protects: a copy of the database alone must not reveal
//! the secrets in it. So the key comes from configuration (`GARRISON_SECRET_KEY`, e.g. a
//! mounted secret) or from a file in the data directory readable by the server's user only,
//! created on first start. A key that an older version kept in the database is moved into the
//! file and removed from the database.
use std::io::Write;
use std::path::{Path, PathBuf};

use garrison_store::{Store, settings};

use crate::crypto::{self, SecretBox};
use crate::{ServiceError, ServiceResult};

/// The database setting older versions kept the key in.
const LEGACY_SETTING: &str = "secret_key";

/// Where the sealing key came from: the binary says so at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    /// Read from this file.
    File(PathBuf),
    /// Generated now and written to this file.
    Created(PathBuf),
    /// Found in the database (an older version put it there), moved to this file.
    MovedFromDatabase(PathBuf),
}

fn key_error(path: &Path, action: &str, error: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!(
        "cannot {action} the secret key file {}: {error}",
        path.display()
    ))
}

/// Writes `key` to `path` readable by the owner only; fails if the file already exists.
fn create_key_file(path: &Path, key: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(key.as_bytes())?;
    file.sync_all()
}

fn read_key_file(path: &Path) -> ServiceResult<String> {
    let key = std::fs::read_to_string(path).map_err(|e| key_error(path, "read", e))?;
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(ServiceError::Internal(format!(
            "the secret key file {} is empty; restore it from a backup (secrets sealed with the old key cannot be opened without it)",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "the secret key file is readable by other users; restrict it with chmod 600");
            }
        }
    }
    Ok(key)
}

impl crate::Services {
    /// Loads the sealing key: `configured` if given, else the key file (created on first start,
    /// or filled from the database of an older version).
    pub async fn load_secret_box(
        store: &Store,
        configured: Option<&str>,
        key_file: &Path,
    ) -> ServiceResult<(SecretBox, KeySource)> {
        if let Some(key) = configured {
            return Ok((SecretBox::from_passphrase(key), KeySource::Configured));
        }
        if key_file.exists() {
            let key = read_key_file(key_file)?;
            Self::forget_legacy_key(store, &key).await?;
            return Ok((
                SecretBox::from_passphrase(&key),
                KeySource::File(key_file.to_owned()),
            ));
        }
        let legacy = {
            let mut reader = store.read().await?;
            settings::get(reader.conn(), LEGACY_SETTING).await?
        };
        let (key, source) = match legacy {
            Some(key) => (key, KeySource::MovedFromDatabase(key_file.to_owned())),
            None => (
                crypto::random_alphanumeric(64),
                KeySource::Created(key_file.to_owned()),
            ),
        };
        match create_key_file(key_file, &key) {
            Ok(()) => {}
            // Another process sharing the data directory won the race: use its key.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let key = read_key_file(key_file)?;
                return Ok((
                    SecretBox::from_passphrase(&key),
                    KeySource::File(key_file.to_owned()),
                ));
            }
            Err(error) => return Err(key_error(key_file, "create", error)),
        }
        Self::forget_legacy_key(store, &key).await?;
        Ok((SecretBox::from_passphrase(&key), source))
    }

    /// Removes the key from the database once it is safely in the file.
    async fn forget_legacy_key(store: &Store, key: &str) -> ServiceResult<()> {
        let mut tx = store.begin().await?;
        if settings::take(&mut tx, LEGACY_SETTING, key).await? {
            tracing::info!("the secret key was moved out of the database into the key file");
        }
        tx.commit().await?;
        Ok(())
    }
}
