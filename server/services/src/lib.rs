//! Garrison's services: the one write path.
//!
//! The REST API, the UI's server functions, the CLI and (later) blueprints create and change
//! objects only through these functions. Each one validates its input, checks the caller's
//! permissions, writes in one transaction and records the audit event in that same
//! transaction. Nothing here knows HTTP, JSON request shapes or Leptos; callers describe
//! themselves with a [`Caller`].
#![deny(unsafe_code)]

mod audit;
pub mod auth;
pub mod authz;
mod bootstrap;
mod crypto;
mod error;
mod events;
mod groups;
pub mod plugins;
mod roles;
mod tokens;
mod users;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use garrison_bus::Bus;
use garrison_store::Store;

pub use auth::{LoginOutcome, SessionKey};
pub use authz::{Caller, Principal, Via};
pub use bootstrap::{BootstrapOutcome, BootstrapRequest};
pub use crypto::SecretBox;
pub use error::{ServiceError, ServiceResult};
pub use events::EventFilter;
pub use groups::GroupFilter;
pub use plugins::PluginChanges;
pub use roles::PermissionInfo;
pub use tokens::CreatedToken;
pub use users::UserFilter;

/// Settings the services need, already validated by the binary's configuration layer.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    pub session_lifetime: Duration,
    /// Failed logins allowed per username (and, separately, per client address) in one window.
    pub login_failures_allowed: u64,
    pub login_failure_window: Duration,
    /// How long a newly created expiring token lives when the caller gives no expiry.
    pub default_token_lifetime: Duration,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(14 * 24 * 3600),
            login_failures_allowed: 5,
            login_failure_window: Duration::from_secs(300),
            default_token_lifetime: Duration::from_secs(30 * 60),
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
}

impl Services {
    pub fn new(store: Store, bus: Bus, secrets: SecretBox, settings: ServiceSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                bus,
                secrets,
                settings,
            }),
        }
    }

    /// Loads the server's secret key from the store, generating it on first start, unless
    /// `configured` gives one. Replicas starting together agree on one key.
    pub async fn load_secret_box(
        store: &Store,
        configured: Option<&str>,
    ) -> ServiceResult<SecretBox> {
        if let Some(key) = configured {
            return Ok(SecretBox::from_passphrase(key));
        }
        let mut conn = store.conn().await?;
        let fresh = crypto::random_alphanumeric(64);
        let key = garrison_store::settings::get_or_insert(&mut conn, "secret_key", &fresh).await?;
        Ok(SecretBox::from_passphrase(&key))
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
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

    /// Store and cache both answer: what readiness means.
    pub async fn ready(&self) -> (bool, bool) {
        let (store, bus) = tokio::join!(self.inner.store.ping(), self.inner.bus.ping());
        (store, bus)
    }
}
