//! Garrison's domain types: what a user, group, role, token or event *is*.
//!
//! This crate knows nothing of storage, HTTP or Leptos. It is compiled both into the server and
//! into the browser's hydration bundle, so it must stay free of I/O and of native-only crates.
#![deny(unsafe_code)]

mod blueprints;
mod errors;
mod event;
mod identity;
mod listing;
pub mod models;
mod outpost_health;
mod outposts;
mod plugin;

pub use blueprints::{
    BlueprintFile, BlueprintFileMeta, BlueprintInstance, BlueprintInstanceChanges, BlueprintStatus,
    OCI_PREFIX,
};
pub use errors::FieldErrors;
pub use event::{Event, EventAction};
pub use identity::{
    Group, GroupChanges, Role, RoleChanges, Token, TokenChanges, TokenIntent, User, UserChanges,
    UserType,
};
pub use listing::{ListQuery, Page, PageRequest};
pub use outpost_health::{
    HealthEvent, HealthEventKind, InstanceHealth, InstanceState, InstanceTrack, VERSION_SHOULD,
    health_timeline,
};
pub use outposts::{
    Application, ApplicationChanges, Brand, BrandChanges, CertificateKeyPair,
    CertificateKeyPairChanges, ConfigError, EMBEDDED_OUTPOST_MANAGED, EMBEDDED_OUTPOST_NAME,
    LdapAccessMode, LdapSettings, Outpost, OutpostChanges, OutpostConfig, PolicyEngineMode,
    Provider, ProviderChanges, ProviderKind, ProviderSettings, ProxyMode, ProxySettings,
    RacSettings, RadiusSettings, ServiceConnection, ServiceConnectionChanges,
    ServiceConnectionKind, ServiceConnectionState, refresh_interval_seconds,
};
pub use plugin::{
    MAX_DEADLINE_MS, MAX_MEMORY_MIB, Plugin, PluginCallStats, PluginCapability, PluginRecord,
    PluginSource, PluginState, PluginWorld,
};

/// Page-size limits shared by the API and the UI.
pub mod listing_limits {
    pub use crate::listing::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
}

/// Timestamps are UTC everywhere.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Counts shown on the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DashboardCounts {
    pub users: u64,
    pub groups: u64,
    pub roles: u64,
    pub tokens: u64,
    pub events_24h: u64,
}
