//! Garrison's HTTP edge.
//!
//! The only layer that knows status codes, headers, cookies and JSON request shapes. It
//! authenticates requests (bearer token or session cookie), enforces CSRF on cookie-borne
//! writes, serves the REST API under `/api/v3`, health checks and Prometheus metrics, and
//! turns service errors into authentik-shaped error bodies. It knows no SQL: everything goes
//! through `garrison-services`.
#![deny(unsafe_code)]

pub mod api;
pub mod cookies;
pub mod csrf;
mod error;
pub mod health;
pub mod identity;
pub mod metrics;
mod openapi;
pub mod redirect;
pub mod upload;

pub use error::ApiError;
pub use identity::{RequestIdentity, identify};
pub use metrics::Metrics;

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

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub registry: garrison_registry::Registry,
    pub settings: HttpSettings,
    pub metrics: Metrics,
}
