//! What a plugin *is* to an operator: where it came from, what it asked for, what it was
//! granted, whether it runs, and how its calls go.
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The largest per-call limits an operator may give a plugin: enforced by the services, shown
/// as the bounds of the limits form.
pub const MAX_DEADLINE_MS: u64 = 60_000;
pub const MAX_MEMORY_MIB: u64 = 256;

/// Where a plugin's component comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginSource {
    /// Shipped inside the server binary.
    Builtin,
    /// A file in the configured plugins directory.
    Directory,
    /// Uploaded through the UI or the API.
    Upload,
    /// Pulled from an OCI registry, pinned by digest.
    Oci,
}

impl PluginSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginSource::Builtin => "builtin",
            PluginSource::Directory => "directory",
            PluginSource::Upload => "upload",
            PluginSource::Oci => "oci",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Builtin, Self::Directory, Self::Upload, Self::Oci]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The world a plugin's component implements: what kind of plugin it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginWorld {
    Provider,
    DeploymentBackend,
    Policy,
}

impl PluginWorld {
    pub const ALL: [PluginWorld; 3] = [
        PluginWorld::Provider,
        PluginWorld::DeploymentBackend,
        PluginWorld::Policy,
    ];

    /// The world's name in the WIT package.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginWorld::Provider => "provider",
            PluginWorld::DeploymentBackend => "deployment-backend",
            PluginWorld::Policy => "policy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == text)
    }
}

/// An installed plugin as recorded: what the operator reviewed and decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRecord {
    pub name: String,
    pub version: String,
    pub kind: PluginWorld,
    pub wit_version: String,
    pub source: PluginSource,
    /// The file, upload name or OCI reference it came from.
    pub source_ref: String,
    /// `sha256:…` of the component.
    pub digest: String,
    /// Capabilities as their canonical strings.
    pub requested: Vec<String>,
    pub granted: Vec<String>,
    pub enabled: bool,
    pub deadline_ms: u64,
    pub memory_mib: u64,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// Whether a plugin is serving calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "message", rename_all = "lowercase")]
pub enum PluginState {
    Running,
    Disabled,
    /// Enabled, but it could not be loaded; the message says why.
    Failed(String),
}

/// Call counters and latency of one plugin since the server started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginCallStats {
    pub calls: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub memory_exhausted: u64,
    pub traps: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Latency histogram: (upper bound in microseconds, calls at or under it and above the
    /// previous bound). The last bound is `u64::MAX`.
    pub latency_buckets: Vec<(u64, u64)>,
}

/// One requested capability as the review screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginCapability {
    pub capability: String,
    /// What it allows, in words.
    pub description: String,
    pub granted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plugin {
    pub name: String,
    pub version: String,
    /// "provider", "deployment-backend" or "policy".
    pub kind: String,
    pub wit_version: String,
    pub source: PluginSource,
    pub source_ref: String,
    pub digest: String,
    /// Capabilities the manifest asks for (`secret:NAME`, `outbound-http:ORIGIN`, `docker`,
    /// `kubernetes`).
    pub requested: Vec<String>,
    pub granted: Vec<String>,
    /// The requested capabilities with what each allows and whether it is granted.
    pub capabilities: Vec<PluginCapability>,
    pub enabled: bool,
    pub deadline_ms: u64,
    pub memory_mib: u64,
    pub state: PluginState,
    pub stats: PluginCallStats,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl Plugin {
    /// Requested capabilities not granted yet: what the review screen asks the operator about.
    pub fn pending(&self) -> Vec<String> {
        self.requested
            .iter()
            .filter(|c| !self.granted.contains(c))
            .cloned()
            .collect()
    }
}
