//! Blueprint instances (authentik's `BlueprintInstance`, spec §5 and §6.1): blueprints the
//! server keeps, their text in the database (`path` empty) or in a file of the blueprints
//! directory, each with the context it runs in and what its last run did.
//!
//! **An instance applies as the caller who asks for it, never as the system.** authentik's
//! apply task runs as the system, so anyone allowed to create an instance with database
//! content could write anything through it. Here every entry goes through the API's cores with
//! the caller's permissions and the delegation rules, exactly as a blueprint the caller applied
//! by hand: an instance lets nobody do what they could not do themselves. Only files of the
//! blueprints directory, which are the operator's, are applied as the system, by discovery and
//! the watcher (`blueprint_lifecycle.rs`), through this same `apply`.
//!
//! **Files stay inside the blueprints directory.** A path is relative, has no `..`, and must
//! resolve (symbolic links followed) to a regular file whose path, compared component by
//! component, lies below the directory as resolved. authentik compares the two as strings, so
//! a sibling directory whose name merely starts with the directory's (`/blueprints-x` beside
//! `/blueprints`) passes its check; a component comparison does not. The path is checked when
//! it is written and again at every run, since links and files change in between.
//!
//! Content is validated as authentik validates it, by a dry run, but as the caller: a plan of
//! content the caller could not apply is refused when it is written.
//!
//! **OCI sources** (`oci://…` paths) are pulled at every run through `garrison-oci`, the OCI
//! client the plugin registry uses, with its policy (internal addresses refused unless listed
//! in `GARRISON_OCI_REGISTRIES`) at every connection. A path is only parsed when it is
//! written, without network access, as authentik does not fetch then either. Such instances
//! apply as the caller who asks, are never applied by the server on its own and never cleaned
//! up (spec §5.5, §5.7). Credentials in an `oci://` path are kept in `path` (authentik's
//! field) and shown nowhere else: events, errors and pages show the path without them.
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use chrono::Utc;
use garrison_blueprint::Limits;
use garrison_model::models::BLUEPRINT_INSTANCE;
use garrison_model::{
    BlueprintFile, BlueprintFileMeta, BlueprintInstance, BlueprintInstanceChanges, BlueprintStatus,
    FieldErrors, ListQuery, Page,
};
use garrison_store::blueprints::{self as store, RunRecord};
use garrison_store::{Conn, RowRef};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::blueprints::RunOptions;
use crate::validate;
use crate::{ServiceError, ServiceResult, Services, Tx};

/// authentik's messages, word for word.
const NEITHER_PATH_NOR_CONTENT: &str = "Either path or content must be set.";
const NO_SUCH_FILE: &str = "Blueprint file does not exist";
const FAILED_TO_VALIDATE: &str = "Failed to validate blueprint";

const NO_DIRECTORY: &str = "This server has no blueprints directory (GARRISON_BLUEPRINTS_DIR), so \
     an instance cannot name a file; give its blueprint as content instead.";
const FILE_INSTANCES_FOR_SUPERUSERS: &str = "The server applies an instance naming a blueprint \
     file itself, with every permission, whenever the file changes; only a superuser may point an \
     instance at a file, or change the context of such an instance or enable it.";
/// authentik's `name` is unbounded text; this only keeps a name displayable.
const MAX_NAME: usize = 1024;

#[derive(Clone, Debug, Default)]
pub struct BlueprintInstanceFilter {
    pub name: Option<String>,
    pub path: Option<String>,
}

fn perm(action: &str) -> String {
    BLUEPRINT_INSTANCE.permission(action)
}

pub(crate) fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(Sha512::digest(bytes))
}

impl Audited for BlueprintInstance {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: BLUEPRINT_INSTANCE,
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// A blueprint's text and context may carry passwords and token keys (a user's
    /// `password`, a token's `key`, context values fed to them): events record a hash of the
    /// text (enough to see that it changed, too long to guess back) and the context's keys only.
    fn audit_view(&self) -> Value {
        let context_keys: Vec<&String> = self.context.keys().collect();
        let content_sha512 =
            (!self.content.is_empty()).then(|| sha512_hex(self.content.as_bytes()));
        json!({
            "name": self.name,
            // An `oci://` path may carry registry credentials.
            "path": garrison_oci::without_credentials(&self.path),
            "content_sha512": content_sha512,
            "context_keys": context_keys,
            "enabled": self.enabled,
            "status": self.status,
            "last_applied_hash": self.last_applied_hash,
            "metadata": self.metadata,
            "last_result": self.last_result,
        })
    }
}

/// What a dry run of a request's `content` found.
///
/// authentik validates content by planning it. A plan runs in a transaction of its own, which
/// cannot nest inside the write's, so the wrappers plan *before* the write's transaction
/// begins and hand the verdict to the core. Only this module makes one (through
/// [`Services::check_blueprint_instance_content`]), and a core refuses one made for other
/// content: no write stores content that was not checked.
#[derive(Debug)]
pub struct CheckedContent {
    content_sha512: Option<String>,
    errors: FieldErrors,
    /// Not dry-run because the instance already holds exactly this content (a client sending
    /// back what it read); the core confirms that under its lock.
    already_stored: bool,
}

impl CheckedContent {
    /// Adds the dry run's findings to `errors`, after making sure it checked `content`.
    /// `stored`: the instance's content as the core read it under its lock (`None` when
    /// creating).
    fn report(
        self,
        content: Option<&str>,
        stored: Option<&str>,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if self.content_sha512 != content.map(|text| sha512_hex(text.as_bytes())) {
            return Err(ServiceError::Internal(
                "a blueprint instance's content was checked for another request".into(),
            ));
        }
        if self.already_stored && content != stored {
            errors.add(
                "content",
                "The blueprint instance changed while this request was checked; send it again.",
            );
        }
        for (field, messages) in self.errors.0 {
            for message in messages {
                errors.add(field.clone(), message);
            }
        }
        Ok(())
    }
}

/// An instance's text and the directory its `!File` tags may read below.
pub struct BlueprintSource {
    pub text: String,
    pub files_root: Option<PathBuf>,
}

/// Where an import's blueprint comes from.
#[derive(Clone, Debug)]
pub enum ImportSource {
    Text(String),
    /// A file of the blueprints directory, as `available/` lists it.
    Path(String),
}

/// A one-shot import (authentik's `import/`).
#[derive(Clone, Debug)]
pub struct BlueprintImport {
    pub source: ImportSource,
    pub context: Map<String, Value>,
}

/// authentik's `BlueprintImportResult`: whether it applied, and what happened as log events.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportResult {
    pub success: bool,
    pub logs: Vec<Value>,
}

/// What applying a blueprint would do (Garrison's `plan/`, beyond authentik): the
/// [`Outcome`](crate::blueprints::Outcome) of a run that writes nothing, or, when no entry could
/// run, the `stage` it stopped at (`retrieve`: no text to read; `parse`) with its `message` and
/// `line`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BlueprintPlan {
    /// No entry failed and the text could be read and parsed.
    pub success: bool,
    /// `retrieve` or `parse` when the run could not start; `plan` when an entry failed
    /// (`failure` names it); `None` on success.
    pub stage: Option<&'static str>,
    /// Why the run could not start (`retrieve`, `parse`).
    pub message: Option<String>,
    pub line: Option<u32>,
    /// Keys authentik would silently ignore, with their lines.
    pub warnings: Vec<String>,
    #[serde(flatten)]
    pub outcome: crate::blueprints::Outcome,
}

impl BlueprintPlan {
    fn stopped(stage: &'static str, message: String, line: Option<u32>) -> Self {
        BlueprintPlan {
            success: false,
            stage: Some(stage),
            message: Some(message),
            line,
            warnings: Vec::new(),
            outcome: crate::blueprints::Outcome::default(),
        }
    }
}

/// One of authentik's `LogEvent`s.
fn log_event(level: &str, event: String, attributes: Value) -> Value {
    json!({
        "timestamp": Utc::now(),
        "log_level": level,
        "logger": "garrison.blueprints",
        "event": event,
        "attributes": attributes,
    })
}

/// What one run of an instance came to, ready to be recorded.
struct InstanceRun {
    status: BlueprintStatus,
    /// Set on success only: a failed run keeps the last success's hash.
    hash: Option<String>,
    /// The blueprint's `metadata`; `None` when the text could not be read or has none.
    metadata: Option<Map<String, Value>>,
    result: Value,
}

impl InstanceRun {
    /// A run that stopped before any entry ran (the text could not be read or parsed).
    fn stopped(stage: &str, message: String, line: Option<u32>) -> Self {
        let mut result = json!({"success": false, "stage": stage, "message": message});
        if let Some(line) = line {
            result["line"] = json!(line);
        }
        Self {
            status: BlueprintStatus::Error,
            hash: None,
            metadata: None,
            result,
        }
    }
}

/// authentik's `asdict(metadata)`: `{"name", "labels"}`.
fn metadata_json(metadata: &garrison_blueprint::Metadata) -> Map<String, Value> {
    let labels: Map<String, Value> = metadata
        .labels
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let mut map = Map::new();
    map.insert("name".into(), Value::String(metadata.name.clone()));
    map.insert("labels".into(), Value::Object(labels));
    map
}

/// Whether a relative path names something discovery would list: a `*.yaml` file outside
/// hidden directories (authentik globs `**/*.yaml` and skips components starting with `.`).
fn looks_like_blueprint(relative: &Path) -> bool {
    let visible = relative.components().all(|component| match component {
        Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
        _ => true,
    });
    let yaml = relative
        .file_name()
        .is_some_and(|name| name.to_string_lossy().ends_with(".yaml"));
    visible && yaml
}

/// The file `relative` names inside `root`, resolved: refused unless `relative` is a relative
/// path without `..` and resolves (links followed) to a regular `*.yaml` file below `root` as
/// resolved, compared component by component. The message says why, for the `path` field.
pub(crate) fn confined_file(root: &Path, relative: &str) -> Result<PathBuf, String> {
    let outside = || {
        format!(
            "`{relative}` is not inside the blueprints directory: give a path relative to it, \
             without `..`."
        )
    };
    let path = Path::new(relative);
    // An absolute path starts with the root (or a prefix); `..` could climb out. Both refused
    // as written, before anything is resolved.
    if relative.contains('\0')
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(outside());
    }
    if !looks_like_blueprint(path) {
        return Err(format!(
            "{NO_SUCH_FILE}: blueprints are `*.yaml` files outside hidden directories."
        ));
    }
    // A missing directory holds no files.
    let Ok(real_root) = root.canonicalize() else {
        return Err(NO_SUCH_FILE.to_owned());
    };
    let Ok(real) = real_root.join(path).canonicalize() else {
        return Err(NO_SUCH_FILE.to_owned());
    };
    if !real.starts_with(&real_root) {
        // A link (the file or a directory on the way) leads out of the directory.
        return Err(outside());
    }
    if !real.is_file() {
        return Err(NO_SUCH_FILE.to_owned());
    }
    Ok(real)
}

/// A file's bytes, at most the size a blueprint may have.
fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let max = Limits::default().max_bytes as u64;
    let file = std::fs::File::open(path)
        .map_err(|error| format!("cannot read the blueprint file: {error}"))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read the blueprint file: {error}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("the blueprint file is larger than {max} bytes"));
    }
    Ok(bytes)
}

/// A file instance's text, read below `root` (checked again: the file or a link on the way
/// may have changed since the path was accepted). `!File` reads below the file's own
/// directory, as for the command line.
fn read_instance_file(root: &Path, relative: &str) -> Result<BlueprintSource, String> {
    let file = confined_file(root, relative)?;
    let text = String::from_utf8(read_capped(&file)?)
        .map_err(|_| "the blueprint file is not UTF-8 text".to_owned())?;
    Ok(BlueprintSource {
        text,
        files_root: file.parent().map(Path::to_path_buf),
    })
}

/// One entry of `available/`, or why the file is not a usable blueprint.
pub(crate) fn describe_file(real_root: &Path, relative: &str) -> Result<BlueprintFile, String> {
    let file = confined_file(real_root, relative)?;
    let bytes = read_capped(&file)?;
    let last_m = std::fs::metadata(&file)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
    let text = std::str::from_utf8(&bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let blueprint =
        garrison_blueprint::parse(text, &Limits::default()).map_err(|error| error.to_string())?;
    Ok(BlueprintFile {
        path: relative.to_owned(),
        last_m,
        hash: sha512_hex(&bytes),
        meta: blueprint.metadata.map(|meta| BlueprintFileMeta {
            name: meta.name,
            labels: meta.labels.into_iter().collect(),
        }),
        version: blueprint.version,
    })
}

/// The blueprints directory as resolved, and every file below it that `available/` lists and
/// discovery looks at: `*.yaml` files, by path relative to it (with `/` between components,
/// whatever the platform), sorted. Directories (and files) whose name starts with `.` are
/// skipped, and linked directories are not entered (no loops, no way out); a linked file is
/// listed, and [`confined_file`] decides later whether it stays inside. `None` when the
/// directory cannot be resolved (it does not exist): it holds no files.
pub(crate) fn blueprint_paths(root: &Path) -> Option<(PathBuf, Vec<String>)> {
    let real_root = root.canonicalize().ok()?;
    let mut found = Vec::new();
    let mut directories = vec![real_root.clone()];
    while let Some(directory) = directories.pop() {
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(directory = %directory.display(), %error, "cannot list a blueprints directory");
                continue;
            }
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            // `file_type` does not follow links: a linked directory is not a directory here.
            if kind.is_dir() {
                directories.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(&real_root) else {
                continue;
            };
            if !looks_like_blueprint(relative) {
                continue;
            }
            let parts: Option<Vec<&str>> = relative
                .components()
                .map(|component| component.as_os_str().to_str())
                .collect();
            let Some(parts) = parts else {
                tracing::warn!(file = %path.display(), "skipping a blueprint file whose name is not UTF-8");
                continue;
            };
            found.push(parts.join("/"));
        }
    }
    found.sort();
    Some((real_root, found))
}

/// Every blueprint file below `root`, by path; a file that cannot be read or parsed is skipped
/// with a warning, never ending the listing.
fn list_blueprint_files(root: &Path) -> Vec<BlueprintFile> {
    let Some((real_root, paths)) = blueprint_paths(root) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for relative in paths {
        match describe_file(&real_root, &relative) {
            Ok(file) => found.push(file),
            Err(message) => {
                tracing::warn!(file = %relative, %message, "skipping a blueprint file that cannot be used")
            }
        }
    }
    found
}

/// An instance's `path` as events, errors and pages may show it: an `oci://` path without the
/// registry credentials it may carry (`***` in their place), any other path as it is.
pub fn shown_blueprint_path(path: &str) -> String {
    garrison_oci::without_credentials(path)
}

/// Whether `path` names a file of the blueprints directory (neither database content nor OCI).
fn names_file(path: &str) -> bool {
    !path.is_empty() && !path.starts_with(garrison_model::OCI_PREFIX)
}

/// Discovery and the watcher apply an instance naming a file as the system, with every
/// permission and with the instance's context (`blueprint_lifecycle.rs`). Whoever points an
/// instance at a file, changes such an instance's context or enables it decides what the system
/// runs, which hands on every right: only a superuser may, as delegation never exceeds the
/// delegator. (authentik runs every instance as the system and lets anyone who may add one.)
fn require_superuser_for_system_runs(caller: &Caller) -> ServiceResult<()> {
    if caller.principal.is_superuser() {
        Ok(())
    } else {
        Err(ServiceError::escalation(FILE_INSTANCES_FOR_SUPERUSERS))
    }
}

/// The instance as stored, read back inside the transaction that wrote it.
async fn stored(conn: &mut Conn, pk: Uuid) -> ServiceResult<BlueprintInstance> {
    store::get(conn, pk).await?.ok_or_else(|| {
        ServiceError::Internal(format!(
            "blueprint instance {pk} vanished inside its own write"
        ))
    })
}

impl Services {
    pub async fn list_blueprint_instances(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: BlueprintInstanceFilter,
    ) -> ServiceResult<Page<BlueprintInstance>> {
        let paging = crate::outposts::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let Some(only) = crate::outposts::visible(caller, &perm("view"))? else {
            return Ok(Page::empty(query.page));
        };
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
            &store::Filter {
                search: query.search.clone(),
                only,
                name: filter.name,
                path: filter.path,
            },
            paging,
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_blueprint_instance(
        &self,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<BlueprintInstance> {
        let mut reader = self.read().await?;
        self.get_blueprint_instance_on(reader.conn(), caller, pk)
            .await
    }

    /// The instance, if the caller may view it; otherwise it does not exist for them.
    async fn get_blueprint_instance_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<BlueprintInstance> {
        caller.principal.visibility(&perm("view"))?;
        if !caller.principal.has_on(&perm("view"), &pk.to_string()) {
            return Err(ServiceError::not_found("blueprint instance", pk));
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("blueprint instance", pk))
    }

    /// Dry-runs `content` (when given and not empty) as `caller` with `context`, before a
    /// write's transaction begins (see [`CheckedContent`]). A parse error or the failing
    /// entry is reported under `content`, as authentik reports its validation logs. An `Err`
    /// is an infrastructure failure.
    pub async fn check_blueprint_instance_content(
        &self,
        caller: &Caller,
        content: Option<&str>,
        context: &Map<String, Value>,
    ) -> ServiceResult<CheckedContent> {
        let mut errors = FieldErrors::new();
        if let Some(text) = content.filter(|text| !text.is_empty()) {
            match garrison_blueprint::parse(text, &Limits::default()) {
                Err(error) => {
                    errors.add("content", FAILED_TO_VALIDATE);
                    errors.add("content", format!("- {error}"));
                }
                Ok(blueprint) => {
                    let options = RunOptions {
                        context: context.clone(),
                        files_root: self.settings().blueprints_dir.clone(),
                        ..RunOptions::default()
                    };
                    let outcome = self.plan_blueprint(caller, &blueprint, &options).await?;
                    if let Some(failure) = outcome.failure {
                        errors.add("content", FAILED_TO_VALIDATE);
                        errors.add("content", format!("- {}", failure.message));
                    }
                }
            }
        }
        Ok(CheckedContent {
            content_sha512: content.map(|text| sha512_hex(text.as_bytes())),
            errors,
            already_stored: false,
        })
    }

    /// `path` as authentik accepts it: empty, an `oci://` reference (parsed here, never
    /// fetched: the registry is asked at every run), or a blueprint file inside the blueprints
    /// directory.
    fn check_instance_path(&self, path: &str, errors: &mut FieldErrors) {
        if path.is_empty() {
            return;
        }
        if path.starts_with(garrison_model::OCI_PREFIX) {
            // The error shows the path without its credentials.
            if let Err(error) = garrison_oci::BlueprintPath::parse(path) {
                errors.add("path", error.to_string());
            }
            return;
        }
        let Some(root) = &self.settings().blueprints_dir else {
            errors.add("path", NO_DIRECTORY);
            return;
        };
        if let Err(message) = confined_file(root, path) {
            errors.add("path", message);
        }
    }

    /// What every instance must satisfy after a write. `path_given`: the request set `path`
    /// (a stored path is not checked again on an unrelated change, as authentik validates only
    /// the fields given; a run checks it anyway).
    async fn check_blueprint_instance(
        &self,
        conn: &mut Conn,
        instance: &BlueprintInstance,
        path_given: bool,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if !instance.name.is_empty()
            && store::name_taken(conn, &instance.name, Some(instance.pk)).await?
        {
            errors.add("name", "blueprint instance with this name already exists.");
        }
        if path_given {
            self.check_instance_path(&instance.path, errors);
        }
        // The resulting instance, not only the fields given (authentik looks at the request's
        // fields, so it refuses a PATCH of `enabled` alone).
        if instance.path.is_empty() && instance.content.is_empty() {
            errors.add(FieldErrors::NON_FIELD, NEITHER_PATH_NOR_CONTENT);
        }
        Ok(())
    }

    pub async fn create_blueprint_instance(
        &self,
        caller: &Caller,
        changes: BlueprintInstanceChanges,
    ) -> ServiceResult<BlueprintInstance> {
        // Before the dry run: someone who may not create instances gets no plan either.
        caller.principal.require(&perm("add"))?;
        let context = changes.context.clone().unwrap_or_default();
        let checked = self
            .check_blueprint_instance_content(caller, changes.content.as_deref(), &context)
            .await?;
        one_tx!(self, |tx| self
            .create_blueprint_instance_in(&mut tx, caller, changes, checked))
    }

    /// Creates an instance. It is not applied (authentik's API does not apply on creation
    /// either): `apply` does that.
    pub async fn create_blueprint_instance_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: BlueprintInstanceChanges,
        checked: CheckedContent,
    ) -> ServiceResult<BlueprintInstance> {
        caller.principal.require(&perm("add"))?;
        if changes.path.as_deref().is_some_and(names_file) {
            require_superuser_for_system_runs(caller)?;
        }
        let mut errors = FieldErrors::new();
        checked.report(changes.content.as_deref(), None, &mut errors)?;
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            true,
            false,
            MAX_NAME,
        );
        let now = Utc::now();
        let instance = BlueprintInstance {
            pk: Uuid::new_v4(),
            name: name.unwrap_or_default().to_owned(),
            path: changes.path.clone().unwrap_or_default(),
            content: changes.content.clone().unwrap_or_default(),
            context: changes.context.clone().unwrap_or_default(),
            metadata: Map::new(),
            last_applied: now,
            last_applied_hash: String::new(),
            status: BlueprintStatus::Unknown,
            enabled: changes.enabled.unwrap_or(true),
            managed_models: Vec::new(),
            managed: None,
            created: now,
            last_updated: now,
            last_result: None,
        };
        self.check_blueprint_instance(tx.conn(), &instance, true, &mut errors)
            .await?;
        errors.into_result()?;
        store::insert(tx, &instance).await?;
        // As stored (timestamps at the store's precision), so the answer equals a later read.
        let instance = stored(tx.conn(), instance.pk).await?;
        audit::created(tx, caller, &instance).await?;
        Ok(instance)
    }

    /// `partial`: a PATCH (nothing required). A PUT requires `name`; fields it leaves out keep
    /// their values, as Django REST framework's update does.
    pub async fn update_blueprint_instance(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: BlueprintInstanceChanges,
        partial: bool,
    ) -> ServiceResult<BlueprintInstance> {
        // The dry run needs the context the instance will have, and comes before the write's
        // transaction (see `CheckedContent`); the core checks everything again under its lock.
        let current = self.get_blueprint_instance(caller, pk).await?;
        caller
            .principal
            .require_on(&perm("change"), &pk.to_string())?;
        let content = changes.content.as_deref();
        let checked = if content == Some(current.content.as_str()) {
            // What the instance holds already was checked when it was written; a client that
            // sends it back unchanged (a PUT of what it read) is not held to a new dry run.
            CheckedContent {
                content_sha512: content.map(|text| sha512_hex(text.as_bytes())),
                errors: FieldErrors::new(),
                already_stored: true,
            }
        } else {
            let context = changes.context.clone().unwrap_or(current.context);
            self.check_blueprint_instance_content(caller, content, &context)
                .await?
        };
        one_tx!(self, |tx| self.update_blueprint_instance_in(
            &mut tx, caller, pk, changes, partial, checked
        ))
    }

    pub async fn update_blueprint_instance_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        changes: BlueprintInstanceChanges,
        partial: bool,
        checked: CheckedContent,
    ) -> ServiceResult<BlueprintInstance> {
        tx.lock_row(RowRef::BlueprintInstance(pk)).await?;
        let before = self
            .get_blueprint_instance_on(tx.conn(), caller, pk)
            .await?;
        caller
            .principal
            .require_on(&perm("change"), &pk.to_string())?;
        let mut errors = FieldErrors::new();
        checked.report(
            changes.content.as_deref(),
            Some(before.content.as_str()),
            &mut errors,
        )?;
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            MAX_NAME,
        );
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name.to_owned();
        }
        if let Some(path) = &changes.path {
            after.path = path.clone();
        }
        if let Some(content) = &changes.content {
            after.content = content.clone();
        }
        if let Some(context) = &changes.context {
            after.context = context.clone();
        }
        if let Some(enabled) = changes.enabled {
            after.enabled = enabled;
        }
        if names_file(&after.path)
            && (after.path != before.path
                || after.context != before.context
                || (after.enabled && !before.enabled))
        {
            require_superuser_for_system_runs(caller)?;
        }
        self.check_blueprint_instance(tx.conn(), &after, changes.path.is_some(), &mut errors)
            .await?;
        errors.into_result()?;
        store::update(tx, &after, Utc::now()).await?;
        let after = stored(tx.conn(), pk).await?;
        audit::updated(tx, caller, &before, &after).await?;
        Ok(after)
    }

    pub async fn delete_blueprint_instance(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        one_tx!(self, |tx| self
            .delete_blueprint_instance_in(&mut tx, caller, pk))
    }

    /// Deletes the instance; what its blueprint wrote stays, as in authentik.
    pub async fn delete_blueprint_instance_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::BlueprintInstance(pk)).await?;
        let before = self
            .get_blueprint_instance_on(tx.conn(), caller, pk)
            .await?;
        caller
            .principal
            .require_on(&perm("delete"), &pk.to_string())?;
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before).await?;
        Ok(())
    }

    /// Applies the instance's blueprint **as `caller`** and records how it went; returns the
    /// instance as recorded.
    ///
    /// Requires viewing the instance (authentik's rule for `apply`), and nothing else: the
    /// entries themselves need what they would need by hand, because they run as the caller.
    /// The system caller (discovery, the watcher) holds every permission, so it passes.
    /// A disabled instance is refused. The blueprint applies in one transaction or not at all
    /// (see [`Services::apply_blueprint`]); the outcome is recorded afterwards in a new one,
    /// so a failed run, rolled back, still leaves its status: `successful` with the SHA-512
    /// of the text, or `error` with the old hash kept. `last_result` says what happened, naming
    /// the failing entry. An `Err` is a refusal (not found, disabled) or an infrastructure
    /// failure; then nothing is recorded.
    pub async fn apply_blueprint_instance(
        &self,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<BlueprintInstance> {
        let instance = self.get_blueprint_instance(caller, pk).await?;
        if !instance.enabled {
            return Err(ServiceError::invalid(
                "enabled",
                "This blueprint instance is disabled; enable it to apply it.",
            ));
        }
        let run = self.run_blueprint_instance(caller, &instance).await?;
        one_tx!(self, |tx| self
            .record_blueprint_instance_run_in(&mut tx, caller, pk, &run))
    }

    /// The instance's text: `content`, a file below the blueprints directory, an OCI artifact
    /// pulled from its registry now, or `Err` saying why there is none to run (the message
    /// never holds an OCI path's credentials).
    /// Callers pass an instance they read through a permission-checked read
    /// ([`Services::get_blueprint_instance`]); the page that plans an instance uses it to show
    /// and plan exactly the text an apply would read.
    pub async fn retrieve_blueprint(
        &self,
        instance: &BlueprintInstance,
    ) -> ServiceResult<Result<BlueprintSource, String>> {
        let root = self.settings().blueprints_dir.clone();
        if instance.is_oci() {
            let path = match garrison_oci::BlueprintPath::parse(&instance.path) {
                Ok(path) => path,
                Err(error) => return Ok(Err(error.to_string())),
            };
            let allowed = garrison_oci::Allowed::new(&self.settings().oci_registries);
            let max_bytes = Limits::default().max_bytes as u64;
            let pulled = tokio::task::spawn_blocking(move || {
                garrison_oci::pull_blueprint(&path, &allowed, max_bytes)
            })
            .await
            .map_err(|error| {
                ServiceError::Internal(format!("pulling an OCI blueprint: {error}"))
            })?;
            // `!File` in an artifact reads below the blueprints directory, as for content kept
            // in the database.
            return Ok(pulled
                .map(|text| BlueprintSource {
                    text,
                    files_root: root,
                })
                .map_err(|error| error.to_string()));
        }
        if instance.is_database_content() {
            return Ok(Ok(BlueprintSource {
                text: instance.content.clone(),
                files_root: root,
            }));
        }
        let Some(root) = root else {
            return Ok(Err(NO_DIRECTORY.to_owned()));
        };
        let relative = instance.path.clone();
        tokio::task::spawn_blocking(move || read_instance_file(&root, &relative))
            .await
            .map_err(|error| ServiceError::Internal(format!("reading a blueprint file: {error}")))
    }

    async fn run_blueprint_instance(
        &self,
        caller: &Caller,
        instance: &BlueprintInstance,
    ) -> ServiceResult<InstanceRun> {
        let source = match self.retrieve_blueprint(instance).await? {
            Ok(source) => source,
            Err(message) => return Ok(InstanceRun::stopped("retrieve", message, None)),
        };
        let blueprint = match garrison_blueprint::parse(&source.text, &Limits::default()) {
            Ok(blueprint) => blueprint,
            Err(error) => {
                return Ok(InstanceRun::stopped(
                    "parse",
                    error.to_string(),
                    Some(error.line()),
                ));
            }
        };
        let metadata = blueprint.metadata.as_ref().map(metadata_json);
        let options = RunOptions {
            context: instance.context.clone(),
            files_root: source.files_root,
            instance: Some(instance.name.clone()),
            ..RunOptions::default()
        };
        // The caller's run, not the system's: see the module's documentation.
        let outcome = self.apply_blueprint(caller, &blueprint, &options).await?;
        let warnings: Vec<&str> = blueprint
            .warnings
            .iter()
            .map(|warning| warning.message.as_str())
            .collect();
        Ok(match outcome.failure {
            None => InstanceRun {
                status: BlueprintStatus::Successful,
                hash: Some(sha512_hex(source.text.as_bytes())),
                metadata,
                result: json!({
                    "success": true,
                    "changed": outcome.changed,
                    "entries": outcome.entries.len(),
                    "warnings": warnings,
                }),
            },
            Some(failure) => InstanceRun {
                status: BlueprintStatus::Error,
                hash: None,
                metadata,
                result: json!({
                    "success": false,
                    "stage": "apply",
                    "entry": {
                        "index": failure.index,
                        "line": failure.line,
                        "model": failure.model,
                        "identifiers": failure.identifiers,
                    },
                    "message": failure.message,
                    "warnings": warnings,
                }),
            },
        })
    }

    /// Records a run's outcome on the instance, audited as the caller's update of it.
    async fn record_blueprint_instance_run_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        run: &InstanceRun,
    ) -> ServiceResult<BlueprintInstance> {
        tx.lock_row(RowRef::BlueprintInstance(pk)).await?;
        // Deleted while it ran: nothing to record on.
        let before = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("blueprint instance", pk))?;
        let record = RunRecord {
            status: run.status,
            hash: run.hash.as_deref(),
            metadata: run.metadata.as_ref(),
            last_result: &run.result,
        };
        store::record_result(tx, pk, &record, Utc::now()).await?;
        let after = stored(tx.conn(), pk).await?;
        audit::updated(tx, caller, &before, &after).await?;
        // A failed run is also an event of its own, where operators watch for trouble (the
        // update above only says the status changed). The message names the failing entry and
        // repeats no secret: plans and failures show secrets as "(hidden)".
        if run.status == BlueprintStatus::Error {
            let mut context = Map::new();
            context.insert(
                "model".into(),
                audit::object_json(BLUEPRINT_INSTANCE, &pk.to_string(), &after.name),
            );
            context.insert(
                "message".into(),
                json!(format!(
                    "blueprint `{}` failed: {}",
                    after.name,
                    run.result["message"]
                        .as_str()
                        .unwrap_or("see its last result")
                )),
            );
            context.insert("last_result".into(), run.result.clone());
            audit::record(
                tx,
                caller,
                garrison_model::EventAction::ConfigurationError,
                context,
            )
            .await?;
        }
        Ok(after)
    }

    /// authentik's `import/`: validates and applies a blueprint once, without an instance —
    /// given as text, or as a file of the blueprints directory (`path`). Runs as the caller
    /// (whom authentik checks for add/change/delete on every entry's model first; here every
    /// entry goes through the API's checks anyway) and needs `add_blueprintinstance`, as in
    /// authentik. `Ok` whether or not it applied: `success` and the `logs` say.
    pub async fn import_blueprint(
        &self,
        caller: &Caller,
        import: BlueprintImport,
    ) -> ServiceResult<ImportResult> {
        caller.principal.require(&perm("add"))?;
        let BlueprintSource { text, files_root } = self.import_source(import.source).await?;
        let blueprint = match garrison_blueprint::parse(&text, &Limits::default()) {
            Ok(blueprint) => blueprint,
            Err(error) => {
                return Ok(ImportResult {
                    success: false,
                    logs: vec![log_event(
                        "error",
                        error.to_string(),
                        json!({"line": error.line()}),
                    )],
                });
            }
        };
        let options = RunOptions {
            context: import.context,
            files_root,
            ..RunOptions::default()
        };
        let outcome = self.apply_blueprint(caller, &blueprint, &options).await?;
        let mut logs: Vec<Value> = blueprint
            .warnings
            .iter()
            .map(|warning| {
                log_event(
                    "warning",
                    warning.message.clone(),
                    json!({"line": warning.line}),
                )
            })
            .collect();
        for entry in &outcome.entries {
            logs.push(log_event(
                "info",
                format!(
                    "entry {} (line {}) {}",
                    entry.index + 1,
                    entry.line,
                    entry.model
                ),
                serde_json::to_value(entry).unwrap_or(Value::Null),
            ));
        }
        if let Some(failure) = &outcome.failure {
            logs.push(log_event(
                "error",
                failure.message.clone(),
                serde_json::to_value(failure).unwrap_or(Value::Null),
            ));
        }
        Ok(ImportResult {
            success: outcome.succeeded(),
            logs,
        })
    }

    /// An import's (or a plan's) text: as given, or read from a file of the blueprints
    /// directory (a missing or outside file is refused under `path`).
    async fn import_source(&self, source: ImportSource) -> ServiceResult<BlueprintSource> {
        match source {
            ImportSource::Text(text) => Ok(BlueprintSource {
                text,
                files_root: self.settings().blueprints_dir.clone(),
            }),
            ImportSource::Path(path) => {
                let Some(root) = self.settings().blueprints_dir.clone() else {
                    return Err(ServiceError::invalid("path", NO_DIRECTORY));
                };
                let read = tokio::task::spawn_blocking(move || read_instance_file(&root, &path))
                    .await
                    .map_err(|error| {
                        ServiceError::Internal(format!("reading a blueprint file: {error}"))
                    })?;
                read.map_err(|message| {
                    ServiceError::invalid("path", format!("{NO_SUCH_FILE}: {message}"))
                })
            }
        }
    }

    /// What applying the instance now would do, as `caller` (whose permissions every entry is
    /// checked against, as in an apply): its text read as an apply reads it (the file or
    /// artifact as it is now), planned with its context. Nothing is written or recorded, and
    /// a disabled instance may be planned. Viewing the instance is all it takes, as for apply.
    pub async fn plan_blueprint_instance(
        &self,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<BlueprintPlan> {
        let instance = self.get_blueprint_instance(caller, pk).await?;
        let source = match self.retrieve_blueprint(&instance).await? {
            Ok(source) => source,
            Err(message) => return Ok(BlueprintPlan::stopped("retrieve", message, None)),
        };
        self.plan_source(caller, source, instance.context, Some(instance.name))
            .await
    }

    /// What applying a blueprint given as text (or as a file of the blueprints directory) with
    /// `context` would do, as `caller`, without an instance; nothing is written. Needs what
    /// `import/` needs (adding blueprint instances): the plan shows the values it would write,
    /// and `!File` reads the blueprints directory, so a dry run must not be open to more
    /// callers than the run itself.
    pub async fn plan_blueprint_import(
        &self,
        caller: &Caller,
        import: BlueprintImport,
    ) -> ServiceResult<BlueprintPlan> {
        caller.principal.require(&perm("add"))?;
        let source = self.import_source(import.source).await?;
        self.plan_source(caller, source, import.context, None).await
    }

    async fn plan_source(
        &self,
        caller: &Caller,
        source: BlueprintSource,
        context: Map<String, Value>,
        instance: Option<String>,
    ) -> ServiceResult<BlueprintPlan> {
        let blueprint = match garrison_blueprint::parse(&source.text, &Limits::default()) {
            Ok(blueprint) => blueprint,
            Err(error) => {
                return Ok(BlueprintPlan::stopped(
                    "parse",
                    error.to_string(),
                    Some(error.line()),
                ));
            }
        };
        let options = RunOptions {
            context,
            files_root: source.files_root,
            instance,
            ..RunOptions::default()
        };
        let outcome = self.plan_blueprint(caller, &blueprint, &options).await?;
        Ok(BlueprintPlan {
            success: outcome.succeeded(),
            stage: (!outcome.succeeded()).then_some("plan"),
            message: None,
            line: None,
            warnings: blueprint
                .warnings
                .iter()
                .map(|warning| format!("line {}: {}", warning.line, warning.message))
                .collect(),
            outcome,
        })
    }

    /// Every blueprint file in the blueprints directory (authentik's `available`): `*.yaml`
    /// below it, hidden directories and files skipped, each with its hash, modification time
    /// and metadata; a file that cannot be read or parsed is left out with a warning in the
    /// log. Requires viewing blueprint instances globally.
    pub async fn available_blueprints(&self, caller: &Caller) -> ServiceResult<Vec<BlueprintFile>> {
        caller.principal.require(&perm("view"))?;
        let Some(root) = self.settings().blueprints_dir.clone() else {
            return Ok(Vec::new());
        };
        tokio::task::spawn_blocking(move || list_blueprint_files(&root))
            .await
            .map_err(|error| {
                ServiceError::Internal(format!("listing the blueprints directory: {error}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_directory_are_refused_as_written() {
        let root = Path::new("/nonexistent-garrison-blueprints");
        for path in ["../x.yaml", "/etc/x.yaml", "a/../../x.yaml", "a/../x.yaml"] {
            let message = confined_file(root, path).unwrap_err();
            assert!(message.contains("not inside"), "{path}: {message}");
        }
        // Well-formed but missing: the directory does not exist.
        assert_eq!(
            confined_file(root, "a/x.yaml").unwrap_err(),
            NO_SUCH_FILE.to_owned()
        );
    }

    #[test]
    fn only_visible_yaml_files_are_blueprints() {
        assert!(looks_like_blueprint(Path::new("a/b.yaml")));
        assert!(!looks_like_blueprint(Path::new("a/b.yml")));
        assert!(!looks_like_blueprint(Path::new(".hidden/b.yaml")));
        assert!(!looks_like_blueprint(Path::new("a/.b.yaml")));
    }
}
