//! What the server does with the blueprints directory on its own (spec §5.2–§5.5): discovery
//! (an instance for every new file, and a run of every file that changed since its instance
//! last applied), cleanup (instances whose file is gone are deleted, their objects stay), the
//! watcher (changed files apply at once), and the lease that keeps this work on one replica at
//! a time.
//!
//! **Files in the blueprints directory apply as the system,** as in authentik: whoever can
//! write there is the operator (they could as well set `GARRISON_*`). Instances made through
//! the API still apply only as the caller who asks (see [`crate::blueprint_instances`]); the
//! system is simply a caller that holds everything, so the same `apply` serves both.
//!
//! **Only file instances are touched.** Database content and `oci://` sources are never
//! applied here and never cleaned up (spec §5.5, §5.7): discovery and the watcher look
//! instances up by a file's relative path (which never starts with `oci://`), and cleanup reads
//! only `store::list_file_instances`, which leaves both out.
//!
//! **A file that cannot be used never stops a run.** It is skipped with a warning and named in
//! the report; a failing run is recorded on its instance and named too.
//!
//! **Hashes compare the same bytes.** Discovery hashes the file's raw bytes, and a run hashes
//! the text it read, which is those bytes unchanged (UTF-8 checked, nothing translated).
//! authentik's run hashes text read with universal newlines, so a CRLF file never matches and
//! is re-applied on every discovery; here it matches.
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use garrison_model::{BlueprintFile, BlueprintInstance, BlueprintInstanceChanges, BlueprintStatus};
use garrison_store::{blueprints as store, leases};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::authz::Caller;
use crate::blueprint_instances::{blueprint_paths, confined_file, describe_file};
use crate::{ServiceError, ServiceResult, Services};

/// authentik's label: a file whose value for it is `false` (in any case) gets no instance from
/// discovery (it is still listed by `available/`).
pub const INSTANTIATE_LABEL: &str = "blueprints.goauthentik.io/instantiate";

/// The lease that keeps discovery, cleanup and the watcher's applies on one replica at a time.
pub const BLUEPRINT_LEASE: &str = "blueprints";

/// How long the lease lasts after its holder last started (or went on with) a run. It is renewed
/// before every apply, so it only has to outlast one apply and the gap between a change being
/// seen by two replicas watching the same files; a replica that dies holding it hands over
/// after this long. The holder keeps it after a run (it is not released): a second replica
/// that sees the same change a moment later must not apply it again.
pub const BLUEPRINT_LEASE_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// What one pass over the blueprints directory did: discovery, cleanup or a watcher's scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoveryReport {
    /// Instances created for new files, by name.
    pub created: Vec<String>,
    /// Instances whose run succeeded, by name.
    pub applied: Vec<String>,
    /// Instances whose run failed (recorded on the instance) or could not start.
    pub failed: Vec<FailedRun>,
    /// Files left alone because they cannot be used (unreadable, not UTF-8, not a valid
    /// blueprint) or no instance could be created for them.
    pub skipped: Vec<SkippedFile>,
    /// Instances deleted by cleanup because their file is gone, by name.
    pub removed: Vec<String>,
    /// The run stopped early because this replica lost the lease (another took it over).
    pub lease_lost: bool,
}

impl DiscoveryReport {
    /// Nothing happened: nothing to log.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
            && self.applied.is_empty()
            && self.failed.is_empty()
            && self.skipped.is_empty()
            && self.removed.is_empty()
            && !self.lease_lost
    }

    fn merge(&mut self, other: DiscoveryReport) {
        self.created.extend(other.created);
        self.applied.extend(other.applied);
        self.failed.extend(other.failed);
        self.skipped.extend(other.skipped);
        self.removed.extend(other.removed);
        self.lease_lost |= other.lease_lost;
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRun {
    pub name: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// Relative to the blueprints directory.
    pub path: String,
    pub reason: String,
}

/// The name discovery gives a new file's instance: its `metadata.name`, or its path when it
/// has none or a blank one (which no instance may be named).
fn instance_name(file: &BlueprintFile) -> String {
    match &file.meta {
        Some(meta) if !meta.name.trim().is_empty() => meta.name.clone(),
        _ => file.path.clone(),
    }
}

/// Whether the file asks not to be instantiated.
fn instantiate_refused(file: &BlueprintFile) -> bool {
    file.meta.as_ref().is_some_and(|meta| {
        meta.labels
            .iter()
            .any(|(key, value)| key == INSTANTIATE_LABEL && value.eq_ignore_ascii_case("false"))
    })
}

/// The blueprint files below `root` (only those in `only`, when given), each described or
/// with the reason it cannot be used. Blocking: reads every file.
fn read_directory(
    root: &Path,
    only: Option<&BTreeSet<String>>,
) -> Vec<Result<BlueprintFile, SkippedFile>> {
    let Some((real_root, paths)) = blueprint_paths(root) else {
        return Vec::new();
    };
    paths
        .into_iter()
        .filter(|path| only.is_none_or(|only| only.contains(path)))
        .map(|relative| match describe_file(&real_root, &relative) {
            Ok(file) => Ok(file),
            Err(reason) => Err(SkippedFile {
                path: relative,
                reason,
            }),
        })
        .collect()
}

/// What the watcher compares between two scans: modification time and size.
type Stamp = (Option<SystemTime>, u64);

/// Every blueprint file's stamp. Links are followed, so a file whose link now leads elsewhere
/// (a Kubernetes ConfigMap swaps its `..data` link on every update) shows as changed.
fn stamps(root: &Path) -> HashMap<String, Stamp> {
    let Some((real_root, paths)) = blueprint_paths(root) else {
        return HashMap::new();
    };
    paths
        .into_iter()
        .filter_map(|relative| {
            let meta = std::fs::metadata(real_root.join(&relative)).ok()?;
            Some((relative, (meta.modified().ok(), meta.len())))
        })
        .collect()
}

fn joined<T>(result: Result<T, tokio::task::JoinError>, what: &str) -> ServiceResult<T> {
    result.map_err(|error| ServiceError::Internal(format!("{what}: {error}")))
}

/// What a failed run's record says went wrong.
fn run_message(instance: &BlueprintInstance) -> String {
    instance
        .last_result
        .as_ref()
        .and_then(|result| result.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("the run failed")
        .to_owned()
}

impl Services {
    /// This replica's id, as it holds leases (its name on the bus).
    pub fn replica_id(&self) -> &str {
        self.bus().origin()
    }

    /// Takes the lease `name` for `holder` until `now + ttl` when it is free, expired or
    /// already `holder`'s; returns whether `holder` holds it now.
    pub async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> ServiceResult<bool> {
        let mut tx = self.begin().await?;
        let held = leases::try_acquire(&mut tx, name, holder, now, ttl).await?;
        self.commit(tx).await?;
        Ok(held)
    }

    /// Gives the lease up if `holder` holds it; returns whether it did.
    pub async fn release_lease(&self, name: &str, holder: &str) -> ServiceResult<bool> {
        let mut tx = self.begin().await?;
        let released = leases::release(&mut tx, name, holder).await?;
        self.commit(tx).await?;
        Ok(released)
    }

    /// Takes or renews the blueprint lease for this replica.
    async fn take_blueprint_lease(&self) -> ServiceResult<bool> {
        let holder = self.replica_id().to_owned();
        self.try_acquire_lease(BLUEPRINT_LEASE, &holder, Utc::now(), BLUEPRINT_LEASE_TTL)
            .await
    }

    /// Whether a run may go on: always without a lease (a direct call); with one, when this
    /// replica still holds it (renewed here). A store failure counts as lost: better one run
    /// stopped than two at once.
    async fn still_leased(&self, leased: bool) -> bool {
        if !leased {
            return true;
        }
        match self.take_blueprint_lease().await {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(%error, "cannot renew the blueprint lease; stopping the run");
                false
            }
        }
    }

    /// One scheduled run of the lifecycle (at start, then every discovery interval): cleanup,
    /// then discovery. Cleanup goes first so that a renamed file's old instance is gone before
    /// the new one takes its name. `None` when another replica holds the lease (it does the
    /// work).
    pub async fn run_blueprint_schedule(&self) -> ServiceResult<Option<DiscoveryReport>> {
        if !self.take_blueprint_lease().await? {
            return Ok(None);
        }
        let removed = self.remove_orphaned_blueprint_instances().await?;
        let mut report = self.discover_blueprint_files(None, true).await?;
        report.removed = removed;
        Ok(Some(report))
    }

    /// Discovery (authentik's `blueprints_discovery`), as the system: for every blueprint file
    /// of the directory, unless its `instantiate` label is `false`, an instance is created when
    /// none has its path (enabled, empty context, named after the file's `metadata.name` or its
    /// path), and the file's first instance (in name order, as authentik looks at the first
    /// only) is applied when it is enabled and its last successful run applied other bytes.
    ///
    /// A name already taken by another file's instance gets the path added, `"<name>
    /// (<path>)"`: authentik's run fails on the duplicate and stops, leaving every later file
    /// undiscovered. Takes no lease: the schedule and the watcher take it around this.
    pub async fn discover_blueprints(&self) -> ServiceResult<DiscoveryReport> {
        self.discover_blueprint_files(None, false).await
    }

    /// Discovery of the files in `only` (all when `None`). `leased`: the run holds the
    /// blueprint lease, renews it before each apply and stops if it was lost.
    async fn discover_blueprint_files(
        &self,
        only: Option<&BTreeSet<String>>,
        leased: bool,
    ) -> ServiceResult<DiscoveryReport> {
        let mut report = DiscoveryReport::default();
        let Some(root) = self.settings().blueprints_dir.clone() else {
            return Ok(report);
        };
        let only = only.cloned();
        let files = joined(
            tokio::task::spawn_blocking(move || read_directory(&root, only.as_ref())).await,
            "reading the blueprints directory",
        )?;
        for file in files {
            let file = match file {
                Ok(file) => file,
                Err(skipped) => {
                    tracing::warn!(file = %skipped.path, reason = %skipped.reason, "discovery skips a blueprint file that cannot be used");
                    report.skipped.push(skipped);
                    continue;
                }
            };
            if instantiate_refused(&file) {
                continue;
            }
            let instance = match self.instance_for_file(&file).await {
                Ok((instance, created)) => {
                    if created {
                        report.created.push(instance.name.clone());
                    }
                    instance
                }
                Err(error) => {
                    let reason = format!("no instance could be created for it: {error}");
                    tracing::warn!(file = %file.path, %reason, "discovery skips a blueprint file");
                    report.skipped.push(SkippedFile {
                        path: file.path.clone(),
                        reason,
                    });
                    continue;
                }
            };
            if !instance.enabled || instance.last_applied_hash == file.hash {
                continue;
            }
            if !self.still_leased(leased).await {
                report.lease_lost = true;
                break;
            }
            self.apply_as_system(&instance, &mut report).await;
        }
        Ok(report)
    }

    /// The first instance of `file`'s path, created when there is none; `true` when created.
    async fn instance_for_file(
        &self,
        file: &BlueprintFile,
    ) -> ServiceResult<(BlueprintInstance, bool)> {
        // Most files have their instance already: look without taking the write lock.
        {
            let mut reader = self.read().await?;
            if let Some(instance) = store::get_by_path(reader.conn(), &file.path).await? {
                return Ok((instance, false));
            }
        }
        let system = Caller::system();
        // The instance names a file and holds no content: there is nothing to dry-run.
        let checked = self
            .check_blueprint_instance_content(&system, None, &Map::new())
            .await?;
        let mut tx = self.begin().await?;
        // Again under the write transaction: another run may have created it meanwhile.
        if let Some(instance) = store::get_by_path(tx.conn(), &file.path).await? {
            tx.rollback().await?;
            return Ok((instance, false));
        }
        let mut name = instance_name(file);
        // No instance has this path, so an instance with this name is another file's (or the
        // API's): keep both, telling them apart by path.
        if store::name_taken(tx.conn(), &name, None).await? {
            name = format!("{name} ({})", file.path);
        }
        let changes = BlueprintInstanceChanges {
            name: Some(name),
            path: Some(file.path.clone()),
            content: None,
            context: Some(Map::new()),
            enabled: Some(true),
        };
        let instance = self
            .create_blueprint_instance_in(&mut tx, &system, changes, checked)
            .await?;
        self.commit(tx).await?;
        Ok((instance, true))
    }

    /// Applies `instance` as the system and notes the outcome. The system holds every
    /// permission, so `apply`'s view check passes and every entry may write what it says.
    async fn apply_as_system(&self, instance: &BlueprintInstance, report: &mut DiscoveryReport) {
        match self
            .apply_blueprint_instance(&Caller::system(), instance.pk)
            .await
        {
            Ok(applied) if applied.status == BlueprintStatus::Successful => {
                report.applied.push(applied.name);
            }
            Ok(applied) => report.failed.push(FailedRun {
                message: run_message(&applied),
                name: applied.name,
            }),
            // Deleted or disabled since it was read, or the store failed: the next run retries.
            Err(error) => report.failed.push(FailedRun {
                name: instance.name.clone(),
                message: error.to_string(),
            }),
        }
    }

    /// Applies every enabled instance of the file at `path`, whether or not its hash changed
    /// (authentik's watcher on a modified file).
    async fn apply_file_instances(
        &self,
        path: &str,
        leased: bool,
    ) -> ServiceResult<DiscoveryReport> {
        let instances = {
            let mut reader = self.read().await?;
            store::list_by_path(reader.conn(), path).await?
        };
        let mut report = DiscoveryReport::default();
        for instance in instances.iter().filter(|instance| instance.enabled) {
            if !self.still_leased(leased).await {
                report.lease_lost = true;
                break;
            }
            self.apply_as_system(instance, &mut report).await;
        }
        Ok(report)
    }

    /// Cleanup (authentik's `clear_failed_blueprints`): deletes, as the system and audited,
    /// every instance naming a file that is gone or now leads outside the blueprints
    /// directory; what their blueprints wrote stays. Database content and OCI sources are not
    /// looked at. Returns the deleted instances' names.
    ///
    /// When the directory itself is missing nothing is deleted (authentik would delete every
    /// file instance): a volume not mounted yet must not cost the operator their instances.
    pub async fn remove_orphaned_blueprint_instances(&self) -> ServiceResult<Vec<String>> {
        let Some(root) = self.settings().blueprints_dir.clone() else {
            return Ok(Vec::new());
        };
        let instances = {
            let mut reader = self.read().await?;
            store::list_file_instances(reader.conn()).await?
        };
        if instances.is_empty() {
            return Ok(Vec::new());
        }
        let candidates: Vec<(Uuid, String, String)> = instances
            .into_iter()
            .map(|instance| (instance.pk, instance.name, instance.path))
            .collect();
        let orphaned = joined(
            tokio::task::spawn_blocking(move || -> Option<Vec<(Uuid, String)>> {
                root.canonicalize().ok()?;
                Some(
                    candidates
                        .into_iter()
                        .filter(|(_, _, path)| confined_file(&root, path).is_err())
                        .map(|(pk, name, _)| (pk, name))
                        .collect::<Vec<_>>(),
                )
            })
            .await,
            "checking blueprint instances' files",
        )?;
        let Some(orphaned) = orphaned else {
            tracing::warn!(
                "the blueprints directory does not exist; no blueprint instance is removed"
            );
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for (pk, name) in orphaned {
            match self.remove_orphan(pk).await {
                Ok(()) => removed.push(name),
                // Deleted by someone else meanwhile: gone either way.
                Err(ServiceError::NotFound { .. }) => {}
                Err(error) => {
                    tracing::warn!(instance = %name, %error, "cannot remove a blueprint instance whose file is gone")
                }
            }
        }
        Ok(removed)
    }

    async fn remove_orphan(&self, pk: Uuid) -> ServiceResult<()> {
        let system = Caller::system();
        one_tx!(self, |tx| self
            .delete_blueprint_instance_in(&mut tx, &system, pk))
    }
}

/// The poll-based watcher (authentik's file observer, spec §5.5): each scan compares every
/// blueprint file's modification time and size with the previous scan's. A new file is
/// discovered; a changed file applies every enabled instance of it, without comparing hashes;
/// a deleted file is left to cleanup. The first scan only records what is there (discovery at
/// start covers it).
///
/// Polling, not inotify: it sees a Kubernetes ConfigMap update (a swap of the `..data` link,
/// which changes no watched file) and changes on network file systems, where inotify is silent.
#[derive(Debug, Default)]
pub struct BlueprintWatcher {
    /// What the last scan saw; `None` before the first.
    seen: Option<HashMap<String, Stamp>>,
}

impl BlueprintWatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// One scan. `None` when there were changes but another replica holds the blueprint
    /// lease: it sees the same files and applies them. An `Err` (the store unreachable) keeps
    /// the previous scan's view, so the next scan sees the same changes again.
    pub async fn scan(&mut self, services: &Services) -> ServiceResult<Option<DiscoveryReport>> {
        let Some(root) = services.settings().blueprints_dir.clone() else {
            return Ok(Some(DiscoveryReport::default()));
        };
        let now = joined(
            tokio::task::spawn_blocking(move || stamps(&root)).await,
            "scanning the blueprints directory",
        )?;
        let Some(before) = self.seen.take() else {
            self.seen = Some(now);
            return Ok(Some(DiscoveryReport::default()));
        };
        let mut created = BTreeSet::new();
        let mut modified = Vec::new();
        for (path, stamp) in &now {
            match before.get(path) {
                None => {
                    created.insert(path.clone());
                }
                Some(old) if old != stamp => modified.push(path.clone()),
                Some(_) => {}
            }
        }
        if created.is_empty() && modified.is_empty() {
            self.seen = Some(now);
            return Ok(Some(DiscoveryReport::default()));
        }
        let held = match services.take_blueprint_lease().await {
            Ok(held) => held,
            Err(error) => {
                self.seen = Some(before);
                return Err(error);
            }
        };
        self.seen = Some(now);
        if !held {
            return Ok(None);
        }
        let mut report = if created.is_empty() {
            DiscoveryReport::default()
        } else {
            services
                .discover_blueprint_files(Some(&created), true)
                .await?
        };
        modified.sort();
        for path in modified {
            if report.lease_lost {
                break;
            }
            report.merge(services.apply_file_instances(&path, true).await?);
        }
        Ok(Some(report))
    }
}
