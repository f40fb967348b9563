//! Applying and planning authentik blueprints through the services.
//!
//! A run takes one parsed [`Blueprint`] and processes its entries in document order inside
//! ONE transaction, every entry through the same `*_in` cores the API calls, with the run's
//! [`Caller`]: validation, permissions, the delegation rules and audit events are exactly the
//! API's, and a blueprint can do nothing its author could not do by hand. A blueprint applies
//! in one transaction or not at all: the run stops at the first entry that fails, and
//! [`Services::apply_blueprint`] then rolls everything back (authentik's all-or-nothing).
//! [`Services::plan_blueprint`] runs the very same code in a transaction that is always
//! rolled back, so a plan sees what each entry would find, create and change, including
//! earlier entries' effects, and writes nothing; nothing is announced after it either.
//!
//! Per entry (authentik's importer, spec §3.3):
//! 1. the model is resolved first — an unknown model fails the run even when the entry's
//!    conditions are false;
//! 2. conditions: all must be truthy, or the entry is skipped (and is no `!KeyOf` target);
//! 3. state, identifiers and attrs are resolved (lookups: see [`scope`]);
//! 4. the existing object is `pk` OR (every other identifier), among what the caller may view;
//! 5. the data written is attrs deep-merged with the identifiers (identifiers win, mappings
//!    merge, lists concatenate), without `pk`;
//! 6. the state decides: `present` creates or updates only what differs (nothing differs:
//!    nothing is written or audited), `created` creates once, `must_created` fails on an
//!    existing object, `absent` deletes;
//! 7. the object becomes the target of `!KeyOf <id>`.
//!
//! The models a blueprint can write: `authentik_core.group`, `authentik_rbac.role`,
//! `authentik_core.user`, `authentik_core.application`, `authentik_brands.brand`,
//! `authentik_core.token`, the four providers an outpost serves
//! (`authentik_providers_proxy.proxyprovider`, `authentik_providers_ldap.ldapprovider`,
//! `authentik_providers_radius.radiusprovider`, `authentik_providers_rac.racprovider`),
//! `authentik_outposts.outpost`, `authentik_crypto.certificatekeypair`, and the service
//! connections `authentik_outposts.dockerserviceconnection` and
//! `authentik_outposts.kubernetesserviceconnection` (see [`registry`]). Secrets an entry
//! writes — a user's `password`, a token's `key`, a keypair's `key_data`, a Kubernetes
//! connection's `kubeconfig`, a RADIUS provider's `shared_secret` — are compared with what is
//! stored inside the server, without being handed out or recorded as viewed, and never shown:
//! a plan says `"(hidden)"`.
//!
//! `authentik_blueprints.metaapplyblueprint` applies another instance inside the same run
//! (see [`meta`]: a failing child fails the parent, and cycles are refused, naming them).
//!
//! An entry's `permissions:` grants object permissions on its object to roles (see
//! [`grants`]). Not yet supported, and refused rather than ignored: grants to users, and
//! `permissions` on users.
mod batch;
mod export;
mod grants;
mod lookup;
mod meta;
mod registry;
mod schema;
mod scope;
mod write;

pub use export::{Export, ExportSelection, ModelSelection, Placeholder, PlaceholderSource};
pub use schema::{SCHEMA_PATH, json_schema};

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use garrison_blueprint::{Blueprint, Entry, Evaluator, Value as BpValue, deep_merge};
use serde::Serialize;
use serde_json::{Map, Value};

use self::registry::Kind;
use self::scope::EngineScope;
use crate::authz::Caller;
use crate::{ServiceError, ServiceResult, Services, Tx};

/// How many `!Find`/`!FindObject` lookups one entry may make (each one costs an evaluation
/// of the entry; see [`scope`]).
const MAX_LOOKUPS_PER_ENTRY: usize = 1_000;

/// Whether a run writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Commits when every entry succeeded.
    Apply,
    /// Runs everything, then always rolls back.
    Plan,
}

/// How far a run has got: `done` of the blueprint's `total` entries are processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunProgress {
    pub done: usize,
    pub total: usize,
}

/// Told of a run's progress (see [`RunOptions::progress`]). It is called inside the run, in
/// its transaction's time, so it must return at once: record or draw, never wait.
pub type ProgressHook = Arc<dyn Fn(RunProgress) + Send + Sync>;

/// What a run needs besides the blueprint.
#[derive(Clone, Default, Serialize)]
pub struct RunOptions {
    /// The instance's context, merged over the blueprint's own `context` (which is merged over
    /// the built-in defaults).
    pub context: Map<String, Value>,
    /// The directory `!File` may read below. `None`: `!File` always gives its default.
    pub files_root: Option<PathBuf>,
    /// The environment `!Env` reads instead of the process's, when given: for instances whose
    /// environment is given explicitly, and for tests (which run side by side in one process
    /// and must not change its environment). A variable it lacks reads as unset. The same
    /// rules apply as to the process's environment: only a superuser's blueprint reads it,
    /// and `GARRISON_*` names read as unset. Its values may be secrets: they are neither
    /// serialized nor shown by `Debug`.
    #[serde(skip)]
    pub env: Option<BTreeMap<String, String>>,
    /// The name of the blueprint instance this run applies, if it is one: a
    /// `metaapplyblueprint` entry leading back to it closes a cycle.
    pub instance: Option<String>,
    /// Called after each of the blueprint's own entries is processed, with how many are done
    /// out of how many it has, so that a caller can show progress (the CLI draws a bar). A
    /// `metaapplyblueprint` entry counts as one, once its child has run: the child's entries
    /// are not known before it is found, and a total that grew mid-run would not be true.
    /// Not called for the entry a run fails at. `None` costs nothing; it never changes what
    /// the run does.
    #[serde(skip)]
    pub progress: Option<ProgressHook>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("context", &self.context)
            .field("files_root", &self.files_root)
            .field(
                "env",
                &self.env.as_ref().map(|env| env.keys().collect::<Vec<_>>()),
            )
            .field("instance", &self.instance)
            .field("progress", &self.progress.as_ref().map(|_| "(hook)"))
            .finish()
    }
}

/// What a run did (or, planned, would do).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// The entries processed, in order, up to (not including) a failing one.
    pub entries: Vec<EntryOutcome>,
    /// The entry that failed; then nothing was written (apply) or would be (plan).
    pub failure: Option<EntryFailure>,
    /// Whether any entry created, updated or deleted something.
    pub changed: bool,
    /// The outposts this run sends (planned: would send) a new configuration once it commits,
    /// by name, among those the caller may view; empty when the run failed, which sends
    /// nothing. An outpost the run deletes is not among them.
    pub outposts: Vec<OutpostUpdate>,
    /// How many more outposts receive an update that the caller may not view (their names
    /// are not the caller's to learn).
    pub outposts_not_shown: usize,
}

/// An outpost a run sends a new configuration to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutpostUpdate {
    pub pk: uuid::Uuid,
    pub name: String,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }

    /// The outposts the run updates, for one line of a report (`edge, lan (and 2 more you
    /// may not view)`); `None` when it updates none.
    pub fn outposts_text(&self) -> Option<String> {
        let names: Vec<&str> = self
            .outposts
            .iter()
            .map(|outpost| outpost.name.as_str())
            .collect();
        match (names.is_empty(), self.outposts_not_shown) {
            (true, 0) => None,
            (false, 0) => Some(names.join(", ")),
            (true, hidden) => Some(format!("{hidden} you may not view")),
            (false, hidden) => Some(format!(
                "{} (and {hidden} more you may not view)",
                names.join(", ")
            )),
        }
    }
}

/// One processed entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryOutcome {
    /// 0-based, across sections (messages number entries from 1).
    pub index: usize,
    pub line: u32,
    /// `app_label.model`, as Garrison spells it.
    pub model: String,
    /// The resolved identifiers (empty when the entry was skipped before resolving them).
    pub identifiers: Map<String, Value>,
    #[serde(flatten)]
    pub action: Action,
}

/// What happened to an entry's object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Every field the entry set (old values `null`).
    Created {
        fields: Vec<FieldChange>,
    },
    /// The fields that differed.
    Updated {
        fields: Vec<FieldChange>,
    },
    /// The object exists and already holds everything the entry says: nothing written.
    Unchanged,
    Deleted,
    /// A `metaapplyblueprint` entry applied the instance `blueprint`; its entries' outcomes.
    Applied {
        blueprint: String,
        changed: bool,
        entries: Vec<EntryOutcome>,
    },
    /// Conditions false; `absent` with nothing to delete; `created` and the object exists.
    Skipped {
        reason: String,
    },
}

impl Action {
    /// Whether this wrote (or, planned, would write) something.
    pub fn is_change(&self) -> bool {
        match self {
            Action::Created { .. } | Action::Updated { .. } | Action::Deleted => true,
            Action::Applied { changed, .. } => *changed,
            Action::Unchanged | Action::Skipped { .. } => false,
        }
    }
}

/// One field's value before and after. Passwords show as `"(hidden)"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// The entry a run stopped at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryFailure {
    /// 0-based, across sections.
    pub index: usize,
    pub line: u32,
    /// As far as it was resolved (as written when it could not be).
    pub model: String,
    /// As far as they were resolved.
    pub identifiers: Map<String, Value>,
    /// "entry 3 (line 40) authentik_core.group {name: admins}: name: group with this name
    /// already exists."
    pub message: String,
}

/// Why an entry stopped: a failure of the entry (reported in the [`Outcome`]), or of the
/// infrastructure (the run's `Err`).
#[derive(Debug)]
enum EntryError {
    Failed(String),
    Infra(ServiceError),
}

impl From<ServiceError> for EntryError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Validation(errors) => EntryError::Failed(errors.to_string()),
            ServiceError::Escalation { reason } => EntryError::Failed(reason),
            // A uniqueness race with another writer is this entry's conflict.
            ServiceError::Store(garrison_store::StoreError::Unique { .. }) => {
                EntryError::Failed(error.to_string())
            }
            ServiceError::Store(_)
            | ServiceError::Bus(_)
            | ServiceError::Internal(_)
            | ServiceError::RateLimited { .. } => EntryError::Infra(error),
            ServiceError::NotFound { .. }
            | ServiceError::Forbidden { .. }
            | ServiceError::Unauthenticated => EntryError::Failed(error.to_string()),
        }
    }
}

impl From<garrison_store::StoreError> for EntryError {
    fn from(error: garrison_store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// A state an entry may ask for (spec §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Present,
    Created,
    MustCreated,
    Absent,
}

impl State {
    /// The resolved state. authentik checks `must_created` against the state as written, so a
    /// tag resolving to `must_created` behaves like `present`.
    fn parse(value: &BpValue, raw: Option<&str>) -> Result<State, String> {
        let invalid = || {
            format!(
                "`state` must be one of present, created, must_created, absent; found {}",
                value.python_repr()
            )
        };
        let BpValue::Str(text) = value else {
            return Err(invalid());
        };
        Ok(match text.as_str() {
            "present" => State::Present,
            "created" => State::Created,
            "absent" => State::Absent,
            "must_created" if raw == Some("must_created") => State::MustCreated,
            "must_created" => State::Present,
            _ => return Err(invalid()),
        })
    }
}

/// An entry once its tags are resolved.
enum Evaluated {
    ConditionsFalse,
    /// `absent`, and resolving the identifiers failed: authentik swallows that and skips.
    AbsentInvalid(String),
    Entry {
        kind: Kind,
        state: State,
        identifiers: BpValue,
        attrs: BpValue,
        grants: Vec<grants::Grant>,
    },
    /// A `metaapplyblueprint` entry (see [`meta`]).
    MetaApply {
        attrs: BpValue,
    },
}

/// How far an entry got, for its outcome or failure.
#[derive(Default)]
struct Progress {
    model: Option<String>,
    identifiers: Map<String, Value>,
}

/// One run: the scope its entries evaluate in and the outcome so far.
struct Run<'o> {
    scope: EngineScope,
    outcome: Outcome,
    options: &'o RunOptions,
    total: usize,
}

impl Run<'_> {
    /// Records how the entry at `position` ended. `Ok(false)`: it failed, and the run stops
    /// there; `Err`: the store failed.
    fn settle(
        &mut self,
        position: usize,
        entry: &Entry,
        progress: Progress,
        result: Result<Action, EntryError>,
    ) -> ServiceResult<bool> {
        let model = progress.model.unwrap_or_else(|| model_as_written(entry));
        match result {
            Ok(action) => {
                self.outcome.changed |= action.is_change();
                self.outcome.entries.push(EntryOutcome {
                    index: entry.index,
                    line: entry.line,
                    model,
                    identifiers: progress.identifiers,
                    action,
                });
                if let Some(hook) = &self.options.progress {
                    hook(RunProgress {
                        done: position + 1,
                        total: self.total,
                    });
                }
                Ok(true)
            }
            Err(EntryError::Failed(message)) => {
                let message = format!(
                    "{} {model}{}: {message}",
                    entry.label(),
                    describe_identifiers(&progress.identifiers)
                );
                self.outcome.failure = Some(EntryFailure {
                    index: entry.index,
                    line: entry.line,
                    model,
                    identifiers: progress.identifiers,
                    message,
                });
                Ok(false)
            }
            Err(EntryError::Infra(error)) => Err(error),
        }
    }
}

/// Whether an entry naming `model` can be applied: `Err` says why not, as a run would (the
/// model is unknown, not one Garrison implements yet, or malformed). What
/// `garrison blueprint validate` checks without a store.
pub fn check_model(model: &str) -> Result<(), String> {
    if meta_model(model) {
        return Ok(());
    }
    resolve_model(model).map(|_| ())
}

/// Whether `text` names `authentik_blueprints.metaapplyblueprint`.
fn meta_model(text: &str) -> bool {
    text.split_once('.')
        .is_some_and(|(app_label, model)| meta::is_meta_apply(app_label, model))
}

/// The kind an entry's (or `!Find`'s) model names: `app_label.model`, the model part in any
/// case.
fn resolve_model(text: &str) -> Result<Kind, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let (app_label, model) = match parts.as_slice() {
        [app_label, model] => (*app_label, *model),
        _ => return Err(format!("model `{text}` must be written `app_label.model`")),
    };
    if meta::is_meta_apply(app_label, model) {
        return Err(format!(
            "`{text}` applies a blueprint: it has no objects to find or refer to"
        ));
    }
    Kind::from_name(app_label, model)
        .ok_or_else(|| format!("model `{text}` is not one Garrison implements"))
}

fn json_map(value: &BpValue) -> Map<String, Value> {
    match value.to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Identifiers as an outcome or a failure message repeats them: a secret given as one (a
/// mistake, refused by the lookup) shows as `"(hidden)"`.
fn shown_identifiers(kind: Kind, identifiers: &BpValue) -> Map<String, Value> {
    let mut shown = json_map(identifiers);
    for (key, value) in shown.iter_mut() {
        let field = key
            .split_once("__")
            .map_or(key.as_str(), |(field, _)| field);
        if kind.schema().secrets.contains(&field) {
            *value = Value::String(write::HIDDEN.to_owned());
        }
    }
    shown
}

/// authentik flattens an identifier given as a mapping with a `pk` (a `!FindObject` result)
/// to that pk.
fn flatten_pk_mappings(identifiers: BpValue) -> BpValue {
    match identifiers {
        BpValue::Map(map) => BpValue::Map(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        BpValue::Map(mut inner) if inner.contains_key("pk") => {
                            inner.shift_remove("pk").unwrap_or(BpValue::Null)
                        }
                        other => other,
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// What an entry writes: its attrs deep-merged with its identifiers, without `pk` (a primary
/// key only ever finds an object).
fn entry_data(attrs: BpValue, identifiers: BpValue) -> Map<String, Value> {
    let mut data = json_map(&deep_merge(attrs, identifiers));
    data.remove("pk");
    data
}

/// One evaluation of an entry (synchronous; a missing lookup ends it, see [`scope`]).
fn evaluate(
    scope: &mut EngineScope,
    entry: &Entry,
    progress: &mut Progress,
) -> Result<Evaluated, String> {
    let mut evaluator = Evaluator::new(scope);
    let model = match evaluator
        .resolve(&entry.model)
        .map_err(|error| format!("`model`: {error}"))?
    {
        BpValue::Str(text) => text,
        other => {
            return Err(format!(
                "`model` must be a string, found {}",
                other.python_type()
            ));
        }
    };
    progress.model = Some(model.clone());
    // The model is resolved before the conditions: an unknown one fails even when they are
    // false. `None`: the meta model.
    let kind = if meta_model(&model) {
        None
    } else {
        Some(resolve_model(&model)?)
    };
    progress.model = Some(kind.map_or_else(
        || "authentik_blueprints.metaapplyblueprint".to_owned(),
        Kind::qualified,
    ));
    if !evaluator
        .conditions_hold(&entry.conditions)
        .map_err(|error| format!("`conditions`: {error}"))?
    {
        return Ok(Evaluated::ConditionsFalse);
    }
    let Some(kind) = kind else {
        if !entry.permissions.is_empty() {
            return Err("a metaapplyblueprint entry has no object to grant permissions on".into());
        }
        let attrs = evaluator
            .resolve(&entry.attrs)
            .map_err(|error| format!("`attrs`: {error}"))?;
        refuse_non_finite("attrs", &attrs)?;
        return Ok(Evaluated::MetaApply { attrs });
    };
    let state = evaluator
        .resolve(&entry.state)
        .map_err(|error| format!("`state`: {error}"))?;
    let state = State::parse(&state, entry.raw_state.as_deref())?;
    let identifiers = match evaluator.resolve(&entry.identifiers) {
        Ok(identifiers) => flatten_pk_mappings(identifiers),
        Err(error) if state == State::Absent => {
            return Ok(Evaluated::AbsentInvalid(format!("`identifiers`: {error}")));
        }
        Err(error) => return Err(format!("`identifiers`: {error}")),
    };
    refuse_non_finite("identifiers", &identifiers)?;
    progress.identifiers = shown_identifiers(kind, &identifiers);
    // An entry that deletes writes nothing: its attrs are not needed.
    let attrs = if state == State::Absent {
        BpValue::Map(Default::default())
    } else {
        evaluator
            .resolve(&entry.attrs)
            .map_err(|error| format!("`attrs`: {error}"))?
    };
    refuse_non_finite("attrs", &attrs)?;
    // Granted on the entry's object once it is saved (see [`grants`]).
    let mut entry_grants = Vec::new();
    for item in &entry.permissions {
        let mut resolve = |node: &garrison_blueprint::Node| {
            evaluator
                .resolve(node)
                .map_err(|error| format!("`permissions` (line {}): {error}", item.line))
        };
        let permission = resolve(&item.permission)?;
        let user = item.user.as_ref().map(&mut resolve).transpose()?;
        let role = item.role.as_ref().map(&mut resolve).transpose()?;
        entry_grants.push(
            grants::parse_grant(&permission, user.as_ref(), role.as_ref())
                .map_err(|error| format!("`permissions` (line {}): {error}", item.line))?,
        );
    }
    Ok(Evaluated::Entry {
        kind,
        state,
        identifiers,
        attrs,
        grants: entry_grants,
    })
}

/// Refuses a NaN or an infinity in an entry's `section`, naming where it is: data is stored
/// as JSON, which has neither, and turning one into `null` would lose what was written.
fn refuse_non_finite(section: &str, value: &BpValue) -> Result<(), String> {
    match value.first_non_finite() {
        None => Ok(()),
        Some((path, f)) => Err(format!(
            "`{section}{path}`: {} cannot be stored, as JSON has no infinity or NaN",
            garrison_blueprint::yaml_non_finite(f)
        )),
    }
}

/// ` {name: admins, parent: 3}`, or nothing when there are no identifiers.
fn describe_identifiers(identifiers: &Map<String, Value>) -> String {
    if identifiers.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = identifiers
        .iter()
        .map(|(key, value)| match value {
            Value::String(text) => format!("{key}: {text}"),
            other => format!("{key}: {other}"),
        })
        .collect();
    format!(" {{{}}}", pairs.join(", "))
}

fn model_as_written(entry: &Entry) -> String {
    entry
        .model
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| "(model given by a tag)".to_owned())
}

fn must_created_message(identifiers: &Map<String, Value>) -> String {
    const MESSAGE: &str = "State is set to must_created and object exists already";
    if identifiers.is_empty() {
        return MESSAGE.to_owned();
    }
    identifiers
        .keys()
        .map(|key| format!("{key}: {MESSAGE}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Services {
    /// Plans or applies, as `mode` says.
    pub async fn run_blueprint(
        &self,
        mode: Mode,
        caller: &Caller,
        blueprint: &Blueprint,
        options: &RunOptions,
    ) -> ServiceResult<Outcome> {
        match mode {
            Mode::Apply => self.apply_blueprint(caller, blueprint, options).await,
            Mode::Plan => self.plan_blueprint(caller, blueprint, options).await,
        }
    }

    /// Runs everything in a transaction that is always rolled back: nothing is written and no
    /// after-commit message is sent. The outcome says what applying would do (against the
    /// store as it is now).
    pub async fn plan_blueprint(
        &self,
        caller: &Caller,
        blueprint: &Blueprint,
        options: &RunOptions,
    ) -> ServiceResult<Outcome> {
        self.run_and_settle(Mode::Plan, caller, blueprint, options)
            .await
    }

    /// Commits only when every entry succeeded; otherwise rolls back and returns the outcome
    /// with its `failure` set. An `Err` is an infrastructure failure (the store unreachable);
    /// nothing is written then either.
    pub async fn apply_blueprint(
        &self,
        caller: &Caller,
        blueprint: &Blueprint,
        options: &RunOptions,
    ) -> ServiceResult<Outcome> {
        self.run_and_settle(Mode::Apply, caller, blueprint, options)
            .await
    }

    /// One run in its own transaction, committed only when applying and every entry
    /// succeeded; rolled back otherwise.
    async fn run_and_settle(
        &self,
        mode: Mode,
        caller: &Caller,
        blueprint: &Blueprint,
        options: &RunOptions,
    ) -> ServiceResult<Outcome> {
        let mut tx = self.begin().await?;
        let mut outcome = match self
            .run_blueprint_in(&mut tx, caller, blueprint, options)
            .await
        {
            Ok(outcome) => outcome,
            Err(error) => {
                // The error is what matters; the rollback (or the drop) undoes the rest.
                let _ = tx.rollback().await;
                return Err(error);
            }
        };
        if outcome.failure.is_none() {
            (outcome.outposts, outcome.outposts_not_shown) =
                self.outposts_updated_by(&mut tx, caller).await?;
        }
        if mode == Mode::Apply && outcome.failure.is_none() {
            self.commit(tx).await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    /// The outposts `tx` would send a new configuration once it commits (what the services
    /// queued as `OutpostChanged`), read inside `tx` so that outposts it creates are found: the
    /// ones `caller` may view, by name, and how many others.
    async fn outposts_updated_by(
        &self,
        tx: &mut Tx,
        caller: &Caller,
    ) -> ServiceResult<(Vec<OutpostUpdate>, usize)> {
        let view = garrison_model::models::OUTPOST.permission("view");
        let (mut shown, mut not_shown) = (Vec::new(), 0);
        for message in tx.pending() {
            let garrison_bus::Message::OutpostChanged { outpost } = message else {
                continue;
            };
            let Some(record) = garrison_store::outposts::outposts::get(tx.conn(), outpost).await?
            else {
                continue;
            };
            if caller.principal.has_on(&view, &outpost.to_string()) {
                shown.push(OutpostUpdate {
                    pk: outpost,
                    name: record.name,
                });
            } else {
                not_shown += 1;
            }
        }
        shown.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((shown, not_shown))
    }

    /// Processes every entry in `tx` and stops at the first that fails. Neither commits nor
    /// rolls back: after an outcome with a `failure` (or an `Err`) the caller must roll `tx`
    /// back (on PostgreSQL a failed statement leaves the transaction unusable anyway).
    pub async fn run_blueprint_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        blueprint: &Blueprint,
        options: &RunOptions,
    ) -> ServiceResult<Outcome> {
        let mut stack: Vec<String> = options.instance.iter().cloned().collect();
        self.run_entries_in(tx, caller, blueprint, options, &mut stack)
            .await
    }

    /// [`Services::run_blueprint_in`] inside the instances being meta-applied (`stack`,
    /// outermost first).
    ///
    /// Entries that create plain groups wait in a batch written in a few statements (see
    /// [`batch`]); everything else runs one entry at a time, and the batch is written before
    /// any entry that could read or name what it creates, so each entry still sees the store
    /// as every earlier entry left it.
    async fn run_entries_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        blueprint: &Blueprint,
        options: &RunOptions,
        stack: &mut Vec<String>,
    ) -> ServiceResult<Outcome> {
        let mut run = Run {
            scope: EngineScope::new(blueprint, caller, options),
            outcome: Outcome {
                entries: Vec::with_capacity(blueprint.entries.len()),
                ..Outcome::default()
            },
            options,
            total: blueprint.entries.len(),
        };
        let mut batch = batch::GroupBatch::for_entries(blueprint.entries.len());
        for (position, entry) in blueprint.entries.iter().enumerate() {
            let mut progress = Progress::default();
            run.scope.start_entry();
            // Evaluated without the store first: an entry that needs no lookup is evaluated
            // once, and a plain group joins the batch.
            let first = evaluate(&mut run.scope, entry, &mut progress);
            let first = if run.scope.has_pending() {
                None
            } else {
                Some(first)
            };
            let first = match first {
                Some(Ok(evaluated)) => match batch.offer(position, entry, evaluated, progress) {
                    Ok(()) => {
                        // A full batch is written at once, so the next plain group starts the
                        // next batch instead of running alone.
                        if batch.is_full()
                            && !self
                                .write_batch(tx, caller, &mut batch, &mut run, stack)
                                .await?
                        {
                            return Ok(run.outcome);
                        }
                        continue;
                    }
                    Err((evaluated, returned)) => {
                        progress = returned;
                        Some(Ok(evaluated))
                    }
                },
                other => other,
            };
            // Whatever waits is written first: this entry may read it.
            if !batch.is_empty()
                && !self
                    .write_batch(tx, caller, &mut batch, &mut run, stack)
                    .await?
            {
                return Ok(run.outcome);
            }
            let first = match first {
                Some(Ok(evaluated)) => Some(evaluated),
                // Evaluated again, with the store (and the batch written: an evaluation that
                // failed may have named a group that was waiting).
                _ => {
                    run.scope.start_entry();
                    progress = Progress::default();
                    None
                }
            };
            let result = self
                .run_entry(
                    tx,
                    caller,
                    entry,
                    first,
                    &mut run.scope,
                    &mut progress,
                    stack,
                )
                .await;
            if !run.settle(position, entry, progress, result)? {
                return Ok(run.outcome);
            }
        }
        if !batch.is_empty() {
            self.write_batch(tx, caller, &mut batch, &mut run, stack)
                .await?;
        }
        Ok(run.outcome)
    }

    /// Writes the waiting groups in one go, or, when the batch path declines (one of them would
    /// be refused), one entry at a time so the refused one is named. False: an entry failed and
    /// the run stops.
    async fn write_batch(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        batch: &mut batch::GroupBatch<'_>,
        run: &mut Run<'_>,
        stack: &mut Vec<String>,
    ) -> ServiceResult<bool> {
        let mut waiting = batch.take();
        // Moved, not copied: a batch that declines runs its entries from their evaluations.
        let changes: Vec<garrison_model::GroupChanges> = waiting
            .iter_mut()
            .map(|group| std::mem::take(&mut group.changes))
            .collect();
        match self.create_plain_groups_in(tx, caller, changes).await {
            Ok(Some(created)) => {
                for (waiting, pk) in waiting.into_iter().zip(created) {
                    run.scope
                        .remember_pk(waiting.entry.id.as_deref(), || registry::uuid_pk(pk));
                    let action = Action::Created {
                        fields: waiting.fields,
                    };
                    run.settle(
                        waiting.position,
                        waiting.entry,
                        waiting.progress,
                        Ok(action),
                    )?;
                }
                Ok(true)
            }
            Ok(None) => {
                for waiting in waiting {
                    let result = self
                        .apply_evaluated(
                            tx,
                            caller,
                            waiting.entry,
                            waiting.evaluated,
                            &mut run.scope,
                            stack,
                        )
                        .await;
                    if !run.settle(waiting.position, waiting.entry, waiting.progress, result)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            // Refused before anything was written (the caller may not add groups): the first
            // waiting entry is where the run stops, as it would have one entry at a time.
            Err(error) => {
                let first = waiting.into_iter().next();
                match first {
                    Some(first) => run.settle(
                        first.position,
                        first.entry,
                        first.progress,
                        Err(error.into()),
                    ),
                    None => Ok(true),
                }
            }
        }
    }

    /// Runs one entry: evaluates it (`first`: its evaluation without the store, when it
    /// needed no lookup) and applies what it says.
    #[allow(clippy::too_many_arguments)]
    async fn run_entry(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        entry: &Entry,
        first: Option<Evaluated>,
        scope: &mut EngineScope,
        progress: &mut Progress,
        stack: &mut Vec<String>,
    ) -> Result<Action, EntryError> {
        let evaluated = match first {
            Some(evaluated) => evaluated,
            None => {
                self.evaluate_entry(tx, caller, entry, scope, progress)
                    .await?
            }
        };
        self.apply_evaluated(tx, caller, entry, evaluated, scope, stack)
            .await
    }

    /// What an evaluated entry does to the store.
    async fn apply_evaluated(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        entry: &Entry,
        evaluated: Evaluated,
        scope: &mut EngineScope,
        stack: &mut Vec<String>,
    ) -> Result<Action, EntryError> {
        let (kind, state, identifiers, attrs, entry_grants) = match evaluated {
            Evaluated::ConditionsFalse => {
                return Ok(Action::Skipped {
                    reason: "conditions are false".into(),
                });
            }
            Evaluated::AbsentInvalid(message) => {
                return Ok(Action::Skipped {
                    reason: format!("state absent and the entry is invalid ({message})"),
                });
            }
            Evaluated::Entry {
                kind,
                state,
                identifiers,
                attrs,
                grants,
            } => (kind, state, identifiers, attrs, grants),
            Evaluated::MetaApply { attrs } => {
                return self.meta_apply(tx, caller, &attrs, stack).await;
            }
        };
        let identifiers_json = json_map(&identifiers);
        let existing = match lookup::find_existing(tx, caller, kind, &identifiers_json).await {
            Ok(existing) => existing,
            // authentik skips an `absent` entry whose lookup fails.
            Err(EntryError::Failed(message)) if state == State::Absent => {
                return Ok(Action::Skipped {
                    reason: format!("state absent and the entry is invalid ({message})"),
                });
            }
            Err(error) => return Err(error),
        };

        if state == State::Absent {
            return Ok(match existing {
                None => Action::Skipped {
                    reason: "state absent and nothing matches".into(),
                },
                Some(object) => {
                    write::delete(self, tx, caller, &object).await?;
                    Action::Deleted
                }
            });
        }

        let data = entry_data(attrs, identifiers);
        let (object, action) = match (state, existing) {
            (State::MustCreated, Some(_)) => {
                return Err(EntryError::Failed(must_created_message(&identifiers_json)));
            }
            (_, None) => {
                let (object, fields) = write::create(self, tx, caller, kind, &data).await?;
                (object, Action::Created { fields })
            }
            (State::Created, Some(object)) => {
                write::validate(kind, &data)?;
                (
                    object,
                    Action::Skipped {
                        reason: "exists; state created".into(),
                    },
                )
            }
            (_, Some(object)) => {
                let (object, fields) = write::update(self, tx, caller, &object, &data).await?;
                let action = if fields.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Updated { fields }
                };
                (object, action)
            }
        };
        let granted = self
            .grant_entry_permissions(tx, caller, &object, &entry_grants)
            .await?;
        let action = match action {
            _ if granted.is_empty() => action,
            Action::Created { mut fields } => {
                fields.extend(granted);
                Action::Created { fields }
            }
            Action::Updated { mut fields } => {
                fields.extend(granted);
                Action::Updated { fields }
            }
            // Unchanged, or `created` and not rewritten: the grants are the change.
            _ => Action::Updated { fields: granted },
        };
        scope.remember(entry.id.as_deref(), &object);
        Ok(action)
    }

    /// Evaluates an entry, running the lookups it asks for in `tx` one at a time and
    /// evaluating it again after each (see [`scope`]).
    async fn evaluate_entry(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        entry: &Entry,
        scope: &mut EngineScope,
        progress: &mut Progress,
    ) -> Result<Evaluated, EntryError> {
        let mut lookups = 0;
        loop {
            let result = evaluate(scope, entry, progress);
            let Some(lookup) = scope.take_pending() else {
                return result.map_err(EntryError::Failed);
            };
            lookups += 1;
            if lookups > MAX_LOOKUPS_PER_ENTRY {
                return Err(EntryError::Failed(format!(
                    "more than {MAX_LOOKUPS_PER_ENTRY} `!Find`/`!FindObject` lookups in one entry"
                )));
            }
            let answer = lookup::perform(tx, caller, &lookup).await?;
            scope.answer(lookup.key, answer);
        }
    }
}
