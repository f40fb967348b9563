//! What the evaluator asks of the world, answered for one run: earlier entries' objects
//! (`!KeyOf`), lookups (`!Find`, `!FindObject`), the environment (`!Env`), files (`!File`) and
//! the merged context (`!Context`).
//!
//! # Lookups: a synchronous evaluator over an asynchronous store
//!
//! The evaluator is synchronous; reading the store is not. So a lookup the scope has not
//! answered yet is *recorded* ([`EngineScope::take_pending`]) and the evaluation ends with an
//! error; the engine then runs the lookup in the transaction, stores its result (keyed by
//! model and query) and evaluates the entry again from the start. Evaluation is
//! deterministic — the same nodes, the same scope, the same answers — so the second run takes
//! the same path up to the lookup, finds its answer and goes on, possibly to the next lookup.
//! An entry with *n* lookups is evaluated *n* + 1 times; the engine bounds *n* per entry.
//! Answers are kept for one entry only: the next entry is evaluated after this one wrote, and
//! must see the store as it is then, as authentik's lookups do.
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use garrison_blueprint::{
    Blueprint, EvalError, Node, NodeValue, Scope, Value as BpValue, deep_merge_nodes,
};
use indexmap::IndexMap;

use super::RunOptions;
use super::registry::{Kind, Object};
use crate::authz::Caller;

/// The message of the error that ends an evaluation waiting for a lookup. The engine never
/// reports it: it performs the lookup and evaluates again.
pub(super) const LOOKUP_PENDING: &str =
    "a lookup is pending (the engine runs it and evaluates this entry again)";

/// The largest file `!File` reads.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A lookup's answer: the first match's primary key (`!Find`) and serialized form
/// (`!FindObject`).
#[derive(Clone, Debug)]
pub(super) struct Found {
    pub pk: BpValue,
    pub object: BpValue,
}

/// Model and query (as JSON text): what identifies one lookup.
pub(super) type LookupKey = (Kind, String);

/// A lookup the evaluator asked for and the engine has yet to run.
#[derive(Clone, Debug)]
pub(super) struct Lookup {
    pub kind: Kind,
    pub query: Vec<(String, serde_json::Value)>,
    pub key: LookupKey,
}

pub(super) struct EngineScope {
    /// Entry `id` → the primary key of the object that entry produced.
    key_of: HashMap<String, BpValue>,
    context: IndexMap<String, Node>,
    /// Whether `!Env` reads the environment (superusers only: see [`Scope::env`] below).
    env_allowed: bool,
    /// The environment given with the run ([`RunOptions::env`]), read instead of the
    /// process's.
    env: Option<BTreeMap<String, String>>,
    files_root: Option<PathBuf>,
    /// Answers for the current entry; an answer may be an error about the query itself.
    found: HashMap<LookupKey, Result<Option<Found>, String>>,
    pending: Option<Lookup>,
}

impl EngineScope {
    pub(super) fn new(blueprint: &Blueprint, caller: &Caller, options: &RunOptions) -> Self {
        Self {
            key_of: HashMap::new(),
            context: merged_context(blueprint, &options.context),
            env_allowed: caller.principal.is_superuser(),
            env: options.env.clone(),
            files_root: options.files_root.clone(),
            found: HashMap::new(),
            pending: None,
        }
    }

    /// Forgets the previous entry's lookups.
    pub(super) fn start_entry(&mut self) {
        self.found.clear();
        self.pending = None;
    }

    /// Whether the last evaluation stopped at a lookup the store must answer.
    pub(super) fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    pub(super) fn take_pending(&mut self) -> Option<Lookup> {
        self.pending.take()
    }

    pub(super) fn answer(&mut self, key: LookupKey, answer: Result<Option<Found>, String>) {
        self.found.insert(key, answer);
    }

    /// Makes `object` the target of `!KeyOf <entry id>` for the entries that follow. The first
    /// entry with that id that produced an object wins, as in authentik.
    pub(super) fn remember(&mut self, id: Option<&str>, object: &Object) {
        self.remember_pk(id, || object.pk());
    }

    /// [`Self::remember`] for an object known by its primary key alone.
    pub(super) fn remember_pk(&mut self, id: Option<&str>, pk: impl FnOnce() -> serde_json::Value) {
        if let Some(id) = id {
            self.key_of
                .entry(id.to_owned())
                .or_insert_with(|| BpValue::from_json(&pk()));
        }
    }

    fn lookup(
        &mut self,
        tag: &str,
        model: &str,
        query: &[(String, BpValue)],
    ) -> Result<Option<Found>, EvalError> {
        let kind = super::resolve_model(model)
            .map_err(|message| EvalError::new(format!("`{tag}`: {message}")))?;
        let query: Vec<(String, serde_json::Value)> = query
            .iter()
            .map(|(key, value)| (key.clone(), value.to_json()))
            .collect();
        let key = (
            kind,
            serde_json::Value::from(query_json(&query)).to_string(),
        );
        match self.found.get(&key) {
            Some(Ok(found)) => Ok(found.clone()),
            Some(Err(message)) => Err(EvalError::new(format!(
                "`{tag}` on {}: {message}",
                kind.qualified()
            ))),
            None => {
                if self.pending.is_none() {
                    self.pending = Some(Lookup { kind, query, key });
                }
                Err(EvalError::new(LOOKUP_PENDING))
            }
        }
    }
}

/// A query as JSON, `[[key, value], …]`, for the cache key.
fn query_json(query: &[(String, serde_json::Value)]) -> Vec<serde_json::Value> {
    query
        .iter()
        .map(|(key, value)| serde_json::Value::Array(vec![key.clone().into(), value.clone()]))
        .collect()
}

impl Scope for EngineScope {
    fn key_of(&mut self, id: &str) -> Result<BpValue, EvalError> {
        self.key_of.get(id).cloned().ok_or_else(|| {
            EvalError::new(format!(
                "KeyOf: failed to find entry with `id` of `{id}` and a model instance"
            ))
        })
    }

    fn find(
        &mut self,
        model: &str,
        query: &[(String, BpValue)],
    ) -> Result<Option<BpValue>, EvalError> {
        Ok(self.lookup("!Find", model, query)?.map(|found| found.pk))
    }

    fn find_object(
        &mut self,
        model: &str,
        query: &[(String, BpValue)],
    ) -> Result<Option<BpValue>, EvalError> {
        Ok(self
            .lookup("!FindObject", model, query)?
            .map(|found| found.object))
    }

    /// The environment is the server's (or the one the run was given): only a superuser's
    /// blueprint (the system's and the command line's included) reads it, and never
    /// Garrison's own settings (`GARRISON_*`, among them the sealing key), which read as
    /// unset. Anyone else's `!Env` gets its default.
    fn env(&self, name: &str) -> Option<String> {
        if !self.env_allowed || name.to_ascii_uppercase().starts_with("GARRISON_") {
            return None;
        }
        match &self.env {
            Some(env) => env.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// Files are read only below the run's `files_root` (relative paths are taken from it; an
    /// absolute path must lie inside it); without one, `!File` always gives its default.
    fn file(&mut self, path: &str) -> Result<Option<String>, EvalError> {
        let Some(root) = &self.files_root else {
            return Ok(None);
        };
        read_confined(root, path).map_err(|message| EvalError::new(format!("`!File`: {message}")))
    }

    fn context(&self) -> &IndexMap<String, Node> {
        &self.context
    }
}

/// Built-in defaults ← the blueprint's `context` ← the instance's context, merged as authentik
/// merges them (mappings recursively, lists concatenated).
pub(super) fn merged_context(
    blueprint: &Blueprint,
    instance: &serde_json::Map<String, serde_json::Value>,
) -> IndexMap<String, Node> {
    // Every model Garrison has permissions for, as authentik lists every model it allows (the
    // shipped read-only role grants `view_` on each), not only those a blueprint can write.
    let mut models = IndexMap::new();
    for model in garrison_model::models::ALL {
        models.insert(
            model.model.to_owned(),
            BpValue::Str(model.app_label.to_owned()),
        );
    }
    let mut builtins = IndexMap::new();
    builtins.insert(
        "goauthentik.io/rbac/models".to_owned(),
        BpValue::Map(models),
    );
    // Garrison has no enterprise licence. (authentik 2026.2 stores a one-element tuple here
    // by mistake, which is always truthy; Garrison stores the plain boolean.)
    builtins.insert(
        "goauthentik.io/enterprise/licensed".to_owned(),
        BpValue::Bool(false),
    );
    let base = Node::from_value(&BpValue::Map(builtins), 1, 1);
    let file = Node::new(NodeValue::Map(blueprint.context.clone()), 1, 1);
    let instance = Node::from_value(
        &BpValue::from_json(&serde_json::Value::Object(instance.clone())),
        1,
        1,
    );
    match deep_merge_nodes(deep_merge_nodes(base, file), instance).value {
        NodeValue::Map(pairs) => pairs.into_iter().collect(),
        _ => IndexMap::new(),
    }
}

/// Reads `path` (relative to `root`, or absolute inside it). A path that leaves `root`, by
/// `..` or through a symbolic link, is refused whether or not it exists; one that cannot be
/// read, or is not UTF-8, gives `None` (the tag's default), as authentik does on an `OSError`.
pub(super) fn read_confined(root: &Path, path: &str) -> Result<Option<String>, String> {
    let Ok(canonical) = root.canonicalize() else {
        return Ok(None);
    };
    let outside = || format!("`{path}` is outside the directory blueprints may read files from");
    // An absolute path may name the root as configured or as resolved.
    let wanted = lexical(&canonical.join(path));
    if !wanted.starts_with(&canonical) && !wanted.starts_with(lexical(root)) {
        return Err(outside());
    }
    let Ok(real) = wanted.canonicalize() else {
        return Ok(None);
    };
    if !real.starts_with(&canonical) {
        return Err(outside());
    }
    let Ok(file) = std::fs::File::open(&real) else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    if file
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .is_err()
    {
        return Ok(None);
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("`{path}` is larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(String::from_utf8(bytes).ok())
}

/// `path` with `.` and `..` resolved as text (no file system access).
pub(super) fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
