//! The plugin registry's records: install, grant, enable, disable, remove — with permissions
//! and audit events like every other object. Nothing here runs WebAssembly: the registry
//! (garrison-registry) inspects and loads components and calls these to record the outcome.
use chrono::Utc;
use garrison_bus::Message;
use garrison_model::{MAX_DEADLINE_MS, MAX_MEMORY_MIB};
use garrison_model::{PluginRecord, PluginSource};
use garrison_store::RowRef;
use garrison_store::plugins as store;
use serde_json::{Value, json};

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::delegation::require_superuser;
use crate::{ServiceError, ServiceResult, Services, Tx};

pub const VIEW: &str = "garrison_plugins.view_plugin";
pub const ADD: &str = "garrison_plugins.add_plugin";
pub const CHANGE: &str = "garrison_plugins.change_plugin";
pub const DELETE: &str = "garrison_plugins.delete_plugin";

/// The deadline and memory cap a plugin gets unless the operator sets its own.
pub const DEFAULT_DEADLINE_MS: u64 = 500;
pub const DEFAULT_MEMORY_MIB: u64 = 64;

impl Audited for PluginRecord {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: garrison_model::models::PLUGIN,
            pk: self.name.clone(),
            name: &self.name,
        }
    }

    fn audit_view(&self) -> Value {
        json!({
            "name": self.name,
            "version": self.version,
            "kind": self.kind.as_str(),
            "source": self.source.as_str(),
            "source_ref": self.source_ref,
            "digest": self.digest,
            "requested": self.requested,
            "granted": self.granted,
            "enabled": self.enabled,
            "deadline_ms": self.deadline_ms,
            "memory_mib": self.memory_mib,
        })
    }
}

/// A change an operator makes to an installed plugin.
#[derive(Clone, Debug, Default)]
pub struct PluginChanges {
    /// The full granted set (replaces the current one).
    pub granted: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
}

impl Services {
    pub async fn list_plugins(&self, caller: &Caller) -> ServiceResult<Vec<PluginRecord>> {
        caller.principal.require(VIEW)?;
        let mut reader = self.read().await?;
        Ok(store::list(reader.conn()).await?)
    }

    pub async fn get_plugin(&self, caller: &Caller, name: &str) -> ServiceResult<PluginRecord> {
        let mut reader = self.read().await?;
        get_plugin_on(reader.conn(), caller, name).await
    }

    /// Records a newly installed plugin, disabled and with nothing granted; `component` is
    /// stored for sources that have no file of their own (upload, OCI).
    pub async fn install_plugin(
        &self,
        caller: &Caller,
        row: PluginRecord,
        component: Option<&[u8]>,
    ) -> ServiceResult<PluginRecord> {
        one_tx!(self, |tx| self
            .install_plugin_in(&mut tx, caller, row, component))
    }

    pub async fn install_plugin_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        mut row: PluginRecord,
        component: Option<&[u8]>,
    ) -> ServiceResult<PluginRecord> {
        caller.principal.require(ADD)?;
        if store::get(tx.conn(), &row.name).await?.is_some() {
            return Err(ServiceError::invalid(
                "name",
                format!(
                    "a plugin named {:?} is already installed; remove it first to replace it",
                    row.name
                ),
            ));
        }
        let now = Utc::now();
        row.granted.clear();
        row.enabled = false;
        row.created = now;
        row.updated = now;
        if let Some(bytes) = component {
            store::put_component(tx, &row.digest, bytes).await?;
        }
        store::insert(tx, &row).await?;
        audit::created(tx, caller, &row).await?;
        tx.after_commit(Message::PluginChanged {
            name: row.name.clone(),
        });
        tracing::info!(plugin = %row.name, source = row.source.as_str(), digest = %row.digest, by = caller.principal.username(), "plugin installed");
        Ok(row)
    }

    /// Applies `changes` after validating them: grants must be among the requested
    /// capabilities, limits within bounds. Whether the plugin then loads is the registry's
    /// business; it calls this only once it did (or when disabling).
    pub async fn change_plugin(
        &self,
        caller: &Caller,
        name: &str,
        changes: PluginChanges,
    ) -> ServiceResult<PluginRecord> {
        one_tx!(self, |tx| self
            .change_plugin_in(&mut tx, caller, name, changes))
    }

    /// Whether `caller` may install (or have a component reviewed, which compiles it).
    pub fn may_install_plugin(&self, caller: &Caller) -> ServiceResult<()> {
        caller.principal.require(ADD)
    }

    /// Whether `caller` may make `changes` at all, before anything is loaded or written:
    /// the permission, and superuser status for new grants (a capability is a right over
    /// the server's secrets and network that no permission confers, so only a superuser may
    /// hand one to a plugin).
    pub fn may_change_plugin(
        &self,
        caller: &Caller,
        before: &PluginRecord,
        changes: &PluginChanges,
    ) -> ServiceResult<()> {
        caller.principal.require(CHANGE)?;
        if let Some(granted) = &changes.granted {
            if granted.iter().any(|c| !before.granted.contains(c)) {
                require_superuser(caller)?;
            }
        }
        Ok(())
    }

    pub async fn change_plugin_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        name: &str,
        changes: PluginChanges,
    ) -> ServiceResult<PluginRecord> {
        tx.lock_row(RowRef::Plugin(name)).await?;
        let before = get_plugin_on(tx.conn(), caller, name).await?;
        self.may_change_plugin(caller, &before, &changes)?;
        let after = planned_change(&before, &changes)?;
        if after == before {
            return Ok(before);
        }
        let after = PluginRecord {
            updated: Utc::now(),
            ..after
        };
        store::update(tx, &after).await?;
        audit::updated(tx, caller, &before, &after).await?;
        tx.after_commit(Message::PluginChanged {
            name: name.to_owned(),
        });
        tracing::info!(plugin = %name, enabled = after.enabled, granted = ?after.granted, by = caller.principal.username(), "plugin changed");
        Ok(after)
    }

    pub async fn delete_plugin(&self, caller: &Caller, name: &str) -> ServiceResult<PluginRecord> {
        one_tx!(self, |tx| self.delete_plugin_in(&mut tx, caller, name))
    }

    pub async fn delete_plugin_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        name: &str,
    ) -> ServiceResult<PluginRecord> {
        tx.lock_row(RowRef::Plugin(name)).await?;
        let before = get_plugin_on(tx.conn(), caller, name).await?;
        caller.principal.require(DELETE)?;
        if before.source == PluginSource::Builtin {
            return Err(ServiceError::invalid(
                "name",
                "built-in plugins ship with the server: disable it instead",
            ));
        }
        store::delete(tx, name).await?;
        audit::deleted(tx, caller, &before).await?;
        tx.after_commit(Message::PluginChanged {
            name: name.to_owned(),
        });
        tracing::info!(plugin = %name, by = caller.principal.username(), "plugin removed");
        Ok(before)
    }

    /// Brings the record of a plugin whose component lives outside the database (built in, or
    /// in the plugins directory) up to date with what this server found at start.
    ///
    /// - A new one is recorded: built-ins enabled (they request nothing and ship with the
    ///   server), directory plugins disabled until reviewed.
    /// - A directory plugin whose component changed (another digest, or another file claiming
    ///   the same name) is not the one the operator reviewed: it is disabled and its grants
    ///   are cleared, with an event, until it is reviewed again.
    /// - A built-in of a new server version keeps the operator's enabled/disabled choice.
    pub async fn sync_plugin(&self, found: PluginRecord) -> ServiceResult<PluginRecord> {
        let caller = Caller::system();
        let mut tx = self.begin().await?;
        tx.lock_row(RowRef::Plugin(&found.name)).await?;
        let existing = store::get(tx.conn(), &found.name).await?;
        let now = Utc::now();
        let row = match existing {
            None => {
                let row = PluginRecord {
                    granted: Vec::new(),
                    enabled: found.source == PluginSource::Builtin,
                    created: now,
                    updated: now,
                    ..found
                };
                store::insert(&mut tx, &row).await?;
                audit::created(&mut tx, &caller, &row).await?;
                row
            }
            Some(before) if before.source != found.source => {
                tracing::warn!(plugin = %found.name, installed = before.source.as_str(), found = found.source.as_str(), "a plugin with this name is already installed from another source; keeping the installed one");
                before
            }
            Some(before) => {
                let swapped = found.source != PluginSource::Builtin
                    && (found.digest != before.digest || found.source_ref != before.source_ref);
                let after = PluginRecord {
                    granted: if swapped {
                        Vec::new()
                    } else {
                        before
                            .granted
                            .iter()
                            .filter(|c| found.requested.contains(c))
                            .cloned()
                            .collect()
                    },
                    enabled: before.enabled && !swapped,
                    deadline_ms: before.deadline_ms,
                    memory_mib: before.memory_mib,
                    created: before.created,
                    updated: before.updated,
                    ..found
                };
                if swapped {
                    tracing::warn!(plugin = %after.name, file = %after.source_ref, digest = %after.digest, "a reviewed plugin's component changed: disabled with its grants cleared until it is reviewed again");
                }
                if after != before {
                    let after = PluginRecord {
                        updated: now,
                        ..after
                    };
                    store::update(&mut tx, &after).await?;
                    audit::updated(&mut tx, &caller, &before, &after).await?;
                    after
                } else {
                    before
                }
            }
        };
        self.commit(tx).await?;
        Ok(row)
    }

    /// An uploaded or pulled component, by digest.
    pub async fn plugin_component(&self, digest: &str) -> ServiceResult<Option<Vec<u8>>> {
        let mut reader = self.read().await?;
        Ok(store::component(reader.conn(), digest).await?)
    }
}

async fn get_plugin_on(
    conn: &mut garrison_store::Conn,
    caller: &Caller,
    name: &str,
) -> ServiceResult<PluginRecord> {
    caller.principal.require(VIEW)?;
    store::get(conn, name)
        .await?
        .ok_or_else(|| ServiceError::not_found("plugin", name))
}

/// What `before` becomes under `changes`, validated but not written: the registry loads the
/// result before [`Services::change_plugin`] records it.
pub fn planned_change(
    before: &PluginRecord,
    changes: &PluginChanges,
) -> ServiceResult<PluginRecord> {
    let mut errors = garrison_model::FieldErrors::new();
    let mut after = before.clone();
    if let Some(granted) = &changes.granted {
        let mut granted = granted.clone();
        granted.sort();
        granted.dedup();
        for capability in &granted {
            if !before.requested.contains(capability) {
                errors.add(
                    "granted",
                    format!("{capability:?} is not requested by plugin {}", before.name),
                );
            }
        }
        after.granted = granted;
    }
    if let Some(enabled) = changes.enabled {
        after.enabled = enabled;
    }
    if let Some(deadline) = changes.deadline_ms {
        if !(1..=MAX_DEADLINE_MS).contains(&deadline) {
            errors.add(
                "deadline_ms",
                format!("must be between 1 and {MAX_DEADLINE_MS}"),
            );
        }
        after.deadline_ms = deadline;
    }
    if let Some(memory) = changes.memory_mib {
        if !(1..=MAX_MEMORY_MIB).contains(&memory) {
            errors.add(
                "memory_mib",
                format!("must be between 1 and {MAX_MEMORY_MIB}"),
            );
        }
        after.memory_mib = memory;
    }
    errors.into_result()?;
    Ok(after)
}
