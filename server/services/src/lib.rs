//! Garrison's services: the one write path.
//!
//! The REST API, the UI's server functions, the CLI and (later) blueprints create and change
//! objects only through these functions. Each one validates its input, checks the caller's
//! permissions, writes in one transaction and records the audit event in that same
//! transaction. Nothing here knows HTTP, JSON request shapes or Leptos; callers describe
//! themselves with a [`Caller`].
#![deny(unsafe_code)]

/// Runs a `*_in` core in a transaction of its own: the door for one call from the API, the UI
/// or the CLI. An error returns early and drops the transaction, which rolls it back.
macro_rules! one_tx {
    ($services:expr, |$tx:ident| $core:expr) => {{
        let mut $tx = $services.begin().await?;
        let value = $core.await?;
        $services.commit($tx).await?;
        Ok(value)
    }};
}

mod audit;
pub mod auth;
pub mod authz;
pub mod blueprint_instances;
pub mod blueprint_lifecycle;
pub mod blueprints;
mod bootstrap;
mod counts;
mod crypto;
mod delegation;
mod error;
mod events;
pub mod extensions;
mod groups;
mod handover;
pub mod outposts;
pub mod plugins;
mod principals;
mod roles;
mod secret_key;
mod tokens;
mod tx;
mod users;
mod validate;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use garrison_bus::Bus;
use garrison_store::{Reader, Store};

pub use auth::{LoginOutcome, SessionKey};
pub use authz::{Caller, Principal, Via};
pub use blueprint_instances::{
    BlueprintImport, BlueprintInstanceFilter, BlueprintPlan, BlueprintSource, CheckedContent,
    ImportResult, ImportSource, shown_blueprint_path,
};
pub use blueprint_lifecycle::{BlueprintWatcher, DiscoveryReport, FailedRun, SkippedFile};
pub use bootstrap::{BootstrapOutcome, BootstrapRequest};
pub use crypto::SecretBox;
pub use error::{ServiceError, ServiceResult};
pub use events::{EventFilter, NewEvent};
pub use groups::GroupFilter;
pub use plugins::PluginChanges;
pub use roles::PermissionInfo;
pub use secret_key::KeySource;
pub use tokens::{CreatedToken, MIN_KEY_LENGTH};
pub use tx::Tx;
pub use users::{PasswordChange, UserFilter};

/// Settings the services need, already validated by the binary's configuration layer.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    pub session_lifetime: Duration,
    /// Failed logins allowed per username (and, separately, per client address) in one window.
    pub login_failures_allowed: u64,
    pub login_failure_window: Duration,
    /// How long a newly created expiring token lives when the caller gives no expiry.
    pub default_token_lifetime: Duration,
    /// The longest a token created or changed by a non-superuser may live.
    pub max_token_lifetime: Duration,
    /// The directory blueprint instances may name files in (and their `!File` reads below).
    /// `None`: instances hold their text in the database only; a path is refused.
    pub blueprints_dir: Option<PathBuf>,
    /// Registries (`host[:port]`, or `http://host[:port]` for plain HTTP) that `oci://`
    /// blueprint sources may name though they are internal addresses (`GARRISON_OCI_REGISTRIES`).
    pub oci_registries: Vec<String>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(14 * 24 * 3600),
            login_failures_allowed: 5,
            login_failure_window: Duration::from_secs(300),
            default_token_lifetime: Duration::from_secs(30 * 60),
            max_token_lifetime: Duration::from_secs(90 * 24 * 3600),
            blueprints_dir: None,
            oci_registries: Vec::new(),
        }
    }
}

/// A cheap handle to everything the services need. Clone it freely.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    bus: Bus,
    secrets: SecretBox,
    settings: ServiceSettings,
    /// Plugin-backed extensions, installed once the registry runs.
    extensions: std::sync::RwLock<extensions::Extensions>,
    principals: principals::PrincipalCache,
    counts: counts::ListCounts,
}

impl Services {
    pub fn new(store: Store, bus: Bus, secrets: SecretBox, settings: ServiceSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                bus,
                secrets,
                settings,
                extensions: Default::default(),
                principals: Default::default(),
                counts: Default::default(),
            }),
        }
    }

    /// The same services as another replica in this process would have them: same store,
    /// key and settings, the bus under its own origin (tests that run several replicas).
    pub fn as_another_replica(&self) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                bus: self.inner.bus.as_another_replica(),
                secrets: self.inner.secrets.clone(),
                settings: self.inner.settings.clone(),
                extensions: std::sync::RwLock::new(self.extensions_snapshot()),
                principals: Default::default(),
                counts: Default::default(),
            }),
        }
    }

    fn extensions_snapshot(&self) -> extensions::Extensions {
        self.inner
            .extensions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn principals(&self) -> &principals::PrincipalCache {
        &self.inner.principals
    }

    pub(crate) fn counts(&self) -> &counts::ListCounts {
        &self.inner.counts
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// A connection for reads outside any transaction.
    pub(crate) async fn read(&self) -> ServiceResult<Reader> {
        Ok(self.store().read().await?)
    }

    /// `"sqlite"` or `"postgres"`: for health output and logs.
    pub fn store_backend(&self) -> &'static str {
        self.inner.store.backend().name()
    }

    /// The database pool's state right now (open, idle, the SQLite write lock).
    pub fn store_status(&self) -> garrison_store::StoreStatus {
        self.inner.store.status()
    }

    /// Closes the database pool (graceful shutdown).
    pub async fn close(&self) {
        self.inner.store.close().await;
    }

    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    pub(crate) fn secrets(&self) -> &SecretBox {
        &self.inner.secrets
    }

    pub fn settings(&self) -> &ServiceSettings {
        &self.inner.settings
    }

    /// Deletes sessions that have expired; returns how many.
    pub async fn sweep_expired_sessions(&self) -> ServiceResult<u64> {
        let mut tx = self.begin().await?;
        let removed = garrison_store::sessions::delete_expired(&mut tx, chrono::Utc::now()).await?;
        self.commit(tx).await?;
        Ok(removed)
    }

    /// Store and cache both answer: what readiness means.
    pub async fn ready(&self) -> (bool, bool) {
        let (store, bus) = tokio::join!(self.inner.store.ping(), self.inner.bus.ping());
        (store, bus)
    }
}

#[cfg(test)]
mod tests {
    use garrison_model::models::ModelName;

    /// The permission names the services check are the models' own (`app_label.ACTION_model`).
    #[test]
    fn permission_constants_name_known_models() {
        let checked = [
            crate::users::VIEW,
            crate::groups::VIEW,
            crate::groups::ADD_USER,
            crate::groups::REMOVE_USER,
            crate::events::VIEW,
            crate::plugins::VIEW,
            crate::plugins::ADD,
            crate::plugins::CHANGE,
            crate::plugins::DELETE,
        ];
        for permission in checked {
            let (app_label, codename) = permission.split_once('.').expect("qualified");
            let model = garrison_model::models::ALL
                .iter()
                .find(|m| m.app_label == app_label && codename.ends_with(&format!("_{}", m.model)));
            assert!(model.is_some(), "{permission} names no known model");
            let model: &ModelName = model.unwrap();
            assert!(ModelName::find(&model.qualified()).is_some());
        }
    }
}
