//! What a plugin says about itself (its manifest, its kind of world) and what the operator
//! granted it.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Capability, unversioned};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    Provider,
    DeploymentBackend,
    Policy,
}

impl PluginKind {
    /// The interface a component of this kind exports, unversioned.
    pub fn export(self) -> &'static str {
        match self {
            PluginKind::Provider => "garrison:plugin/expansion",
            PluginKind::DeploymentBackend => "garrison:plugin/backend",
            PluginKind::Policy => "garrison:plugin/hook",
        }
    }

    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Provider => "provider",
            PluginKind::DeploymentBackend => "deployment-backend",
            PluginKind::Policy => "policy",
        }
    }

    /// The WIT package versions this host serves for this kind, oldest first. A new version is
    /// added here, beside the old ones, when its world changes.
    pub fn wit_versions(self) -> &'static [&'static str] {
        match self {
            PluginKind::Provider => &["0.1.0", "0.2.0"],
            PluginKind::DeploymentBackend | PluginKind::Policy => &["0.1.0"],
        }
    }

    pub const ALL: [PluginKind; 3] = [
        PluginKind::Provider,
        PluginKind::DeploymentBackend,
        PluginKind::Policy,
    ];

    pub fn from_export(interface: &str) -> Option<PluginKind> {
        Self::ALL
            .into_iter()
            .find(|k| unversioned(interface) == k.export())
    }

    /// The kind whose world is named `world` ("provider", "deployment-backend", "policy").
    pub fn from_world(world: &str) -> Option<PluginKind> {
        Self::ALL.into_iter().find(|k| k.world() == world)
    }
}

/// What a plugin says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    /// The WIT package version it was built against, e.g. "0.1.0".
    pub wit_version: String,
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
}

/// What the operator granted a plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub capabilities: BTreeSet<Capability>,
}
