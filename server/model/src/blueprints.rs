//! Blueprint instances (authentik's `BlueprintInstance`): a blueprint kept by the server, its
//! text in the database or in a file of the blueprints directory, with the context it runs in
//! and what its last run did. Shapes and defaults are authentik's; `last_result` is Garrison's.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Timestamp;

/// How an instance's last run went. authentik defines all five and only ever sets
/// `successful`, `error` and `unknown` (the default, before any run); Garrison does the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlueprintStatus {
    Successful,
    Warning,
    Error,
    Orphaned,
    #[default]
    Unknown,
}

impl BlueprintStatus {
    pub const ALL: [BlueprintStatus; 5] = [
        BlueprintStatus::Successful,
        BlueprintStatus::Warning,
        BlueprintStatus::Error,
        BlueprintStatus::Orphaned,
        BlueprintStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlueprintStatus::Successful => "successful",
            BlueprintStatus::Warning => "warning",
            BlueprintStatus::Error => "error",
            BlueprintStatus::Orphaned => "orphaned",
            BlueprintStatus::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// Where an instance's text comes from, as its `path` says.
pub const OCI_PREFIX: &str = "oci://";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlueprintInstance {
    pub pk: Uuid,
    pub name: String,
    /// `""`: the text is `content`; `oci://…`: an OCI artifact; otherwise a file, relative to
    /// the blueprints directory.
    pub path: String,
    /// The blueprint's text when `path` is `""`.
    pub content: String,
    /// Merged over the blueprint's own `context` when it runs.
    pub context: Map<String, Value>,
    /// The blueprint's `metadata` (`name`, `labels`) as of the last run that could read it.
    pub metadata: Map<String, Value>,
    /// When the last run ended, successful or not (authentik's `auto_now` field).
    pub last_applied: Timestamp,
    /// SHA-512 (hex) of the text last applied successfully; `""` before the first success.
    pub last_applied_hash: String,
    pub status: BlueprintStatus,
    pub enabled: bool,
    /// Never filled (vestigial in authentik too); kept for the client's shape.
    pub managed_models: Vec<String>,
    pub managed: Option<String>,
    pub created: Timestamp,
    pub last_updated: Timestamp,
    /// Garrison's own: what the last run did, as JSON. `{"success": true, …}` or
    /// `{"success": false, "message": …}`, naming the failing entry (index, line, model,
    /// identifiers) when one failed. `None` before the first run.
    pub last_result: Option<Value>,
}

impl BlueprintInstance {
    /// Whether the text lives in the database (`path` is empty).
    pub fn is_database_content(&self) -> bool {
        self.path.is_empty()
    }

    /// Whether the text is an OCI artifact.
    pub fn is_oci(&self) -> bool {
        self.path.starts_with(OCI_PREFIX)
    }
}

/// The fields a request may write; `None` leaves a field as it is (or at its default when
/// creating).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlueprintInstanceChanges {
    pub name: Option<String>,
    pub path: Option<String>,
    pub content: Option<String>,
    pub context: Option<Map<String, Value>>,
    pub enabled: Option<bool>,
}

/// One blueprint file in the blueprints directory, as `available/` lists it (authentik's
/// `BlueprintFile`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlueprintFile {
    /// Relative to the blueprints directory.
    pub path: String,
    /// Modification time, whole seconds since the epoch (authentik sends an integer although
    /// its schema says date-time).
    pub last_m: i64,
    /// SHA-512 (hex) of the file's bytes.
    pub hash: String,
    /// The file's `metadata`, when it has one.
    pub meta: Option<BlueprintFileMeta>,
    pub version: i64,
}

/// A blueprint's `metadata` block (authentik's `Metadata`), labels in file order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlueprintFileMeta {
    pub name: String,
    pub labels: Vec<(String, String)>,
}
