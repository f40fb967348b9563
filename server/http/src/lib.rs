//! Garrison's machine edge: what programs talk to.
//!
//! It authenticates requests (bearer token or session cookie: [`identify`], shared with the
//! browser edge), serves the REST API under `/api/v3` with authentik's shapes and status
//! codes, health checks and Prometheus metrics, and holds the limits every edge applies
//! ([`limits`]). The browser edge (login gate, CSRF, forms) lives in `garrison-web`, so the
//! API and (later) the outpost websocket grow here without touching it. It knows no SQL:
//! everything goes through `garrison-services`.
#![deny(unsafe_code)]

pub mod api;
pub mod channel;
pub mod cookies;
mod error;
pub mod health;
pub mod identity;
pub mod limits;
pub mod metrics;
mod openapi;
mod origin;
pub mod plugin_upload;

pub use error::ApiError;
pub use identity::{RequestIdentity, identify};
pub use metrics::Metrics;
pub use origin::origin;

use garrison_services::Services;

/// Settings the HTTP layer needs, validated by the binary's configuration.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Mark cookies `Secure` (serve behind TLS).
    pub secure_cookies: bool,
    /// How many trusted proxies in front append to `X-Forwarded-For` (0: ignore the header).
    /// The client's address is the entry that many places from the right: entries further
    /// left were written by the client itself and prove nothing.
    pub trusted_proxies: usize,
}

/// Shared state of every handler. Axum clones it for each extractor and middleware that asks
/// for it, several times per request, so it is one shared pointer to [`AppParts`].
#[derive(Clone)]
pub struct AppState(std::sync::Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(std::sync::Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct AppParts {
    pub services: Services,
    pub registry: garrison_registry::Registry,
    pub settings: HttpSettings,
    pub metrics: Metrics,
    /// This replica's outpost websockets.
    pub hub: channel::OutpostHub,
}
