//! Resolving nodes into [`Value`]s: authentik's tag semantics, lazily, through a [`Scope`].
//!
//! authentik resolves an entry's tags when the entry is processed (after every earlier entry
//! was written in the same transaction), and again every time a value is needed. The engine
//! does the same by calling [`Evaluator::resolve`] on the entry's nodes at that moment; this
//! module knows nothing of the store: lookups (`!KeyOf`, `!Find`, `!FindObject`), the
//! environment (`!Env`), files (`!File`) and the merged context (`!Context`) come from the
//! engine's [`Scope`].
//!
//! # Where tags are resolved (spec §2.1)
//!
//! [`Evaluator::resolve`] is authentik's *structural* resolution (`tag_resolver`): a tag is
//! resolved, mappings and sequences are walked into their **values** (keys are never
//! resolved), and what a tag returns is not walked again. Inside a tag only some argument
//! slots resolve a nested tag, and only when the tag is given *directly* in that slot:
//!
//! | tag | resolved arguments |
//! |---|---|
//! | `!Format` | each argument |
//! | `!Find`, `!FindObject` | model, each query key and value |
//! | `!Condition` | mode (an extension: authentik crashes on a tag there), each argument |
//! | `!If` | the condition; the chosen branch structurally (deeply) |
//! | `!Enumerate` | the iterable; the body structurally, once per item |
//! | `!AtIndex` | object and key (not the default) |
//! | `!Context` | the looked-up value or the default, when it is itself a tag |
//! | `!Env`, `!File` | nothing |
//!
//! A literal argument (a list or mapping written in place) is taken as it is. If it holds a
//! tag somewhere inside, authentik would pass that tag object on unresolved, which can only
//! end in garbage or a crash; here that is an [`EvalError`] naming the tag and its line.
//! (Truth tests of literals — `!If`, `!Condition` — need no resolution and do not fail.)
//!
//! `!Index N`/`!Value N` read the N-th enclosing `!Enumerate` *reached structurally*: an
//! `!Enumerate` met by [`Evaluator::resolve`] (as a value, in a list or mapping, in an `!If`
//! branch or an `!Enumerate` body) is pushed on the stack they read; one given directly as an
//! argument of another tag is resolved without being pushed, exactly as in authentik.

use indexmap::IndexMap;

use crate::format::percent_format;
use crate::tags::{EnumerateOutput, Tag, TagNode};
use crate::value::{Value, deep_merge};
use crate::yaml::{Node, NodeValue};

/// A failure while resolving a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct EvalError {
    /// Line of the tag that failed (1-based). A [`Scope`] may leave it 0: the evaluator fills
    /// in the line of the tag it was resolving.
    pub line: u32,
    pub message: String,
}

impl EvalError {
    /// An error without a position, for [`Scope`] implementations.
    pub fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            line: 0,
            message: message.into(),
        }
    }

    pub fn at(line: u32, message: impl Into<String>) -> EvalError {
        EvalError {
            line,
            message: message.into(),
        }
    }

    fn or_line(mut self, line: u32) -> EvalError {
        if self.line == 0 {
            self.line = line;
        }
        self
    }
}

/// What the evaluator needs from the world. Implemented by the engine that applies
/// blueprints (which sets up, before each entry, whatever the lookups need: the transaction,
/// the entries processed so far, the current entry's model for `!KeyOf`'s policy-binding
/// rule).
pub trait Scope {
    /// `!KeyOf id`: the primary key of the object an earlier entry with this `id` produced.
    /// authentik's error when there is none: "KeyOf: failed to find entry with `id` of `X`
    /// and a model instance".
    fn key_of(&mut self, id: &str) -> Result<Value, EvalError>;

    /// `!Find`: the primary key of the first object of `model` (`app_label.model`) matching
    /// all of `query` (Django-style lookups), or `None`. An unknown model is an error.
    fn find(&mut self, model: &str, query: &[(String, Value)]) -> Result<Option<Value>, EvalError>;

    /// `!FindObject`: like [`Scope::find`], but the object's API representation.
    fn find_object(
        &mut self,
        model: &str,
        query: &[(String, Value)],
    ) -> Result<Option<Value>, EvalError>;

    /// `!Env`: the variable's value, or `None` when unset. (An empty value counts as unset;
    /// the evaluator takes care of that.)
    fn env(&self, name: &str) -> Option<String>;

    /// `!File`: the file's text, or `None` when it cannot be read (authentik logs a warning
    /// and uses the default). The evaluator strips surrounding whitespace. Whether and where
    /// files may be read is the implementation's decision.
    fn file(&mut self, path: &str) -> Result<Option<String>, EvalError>;

    /// The merged context (built-in defaults ← the blueprint's `context` ← the instance's
    /// context, merged with [`crate::deep_merge_nodes`]). Values may be tags: `!Context`
    /// resolves a value that is itself a tag, not tags nested inside it.
    fn context(&self) -> &IndexMap<String, Node>;
}

/// Steps (nodes and tags resolved) one evaluator may take before it gives up.
pub const DEFAULT_MAX_STEPS: u64 = 10_000_000;

/// Nesting of resolution (tree depth plus tag indirections, such as a context value that is
/// a `!Context` tag) before the evaluator gives up: a `!Context` cycle ends here.
const MAX_NESTING: usize = 160;

/// Resolves nodes against a [`Scope`] (a concrete type or `dyn Scope`).
pub struct Evaluator<'a, S: Scope + ?Sized> {
    scope: &'a mut S,
    /// The `!Enumerate` tags reached structurally, innermost last, with their current item
    /// (`None` until their iteration starts).
    frames: Vec<Option<(Value, Value)>>,
    steps: u64,
    max_steps: u64,
    nesting: usize,
}

impl<'a, S: Scope + ?Sized> Evaluator<'a, S> {
    pub fn new(scope: &'a mut S) -> Self {
        Evaluator {
            scope,
            frames: Vec::new(),
            steps: 0,
            max_steps: DEFAULT_MAX_STEPS,
            nesting: 0,
        }
    }

    /// Overrides [`DEFAULT_MAX_STEPS`] (counted over the evaluator's whole life).
    pub fn with_max_steps(mut self, max_steps: u64) -> Self {
        self.max_steps = max_steps;
        self
    }

    /// The scope, e.g. to record the entry just processed between two entries.
    pub fn scope(&mut self) -> &mut S {
        &mut *self.scope
    }

    /// Structural resolution of `node` (authentik's `tag_resolver`): the value of `attrs`,
    /// `identifiers`, `model`, `state`, a condition or a permission field.
    ///
    /// # Errors
    /// An [`EvalError`] with the line of the tag that failed.
    pub fn resolve(&mut self, node: &Node) -> Result<Value, EvalError> {
        self.enter(node.line)?;
        let result = self.resolve_inner(node);
        self.nesting -= 1;
        result
    }

    /// Whether an entry's `conditions` all hold: every condition is resolved first (so an
    /// error in any of them is reported, as in authentik), then Python-truth-tested. An entry
    /// without conditions applies (`all([])` is true).
    ///
    /// # Errors
    /// The first resolution error.
    pub fn conditions_hold(&mut self, conditions: &[Node]) -> Result<bool, EvalError> {
        let mut values = Vec::with_capacity(conditions.len());
        for condition in conditions {
            values.push(self.resolve(condition)?);
        }
        Ok(truthy_all(&values))
    }

    fn enter(&mut self, line: u32) -> Result<(), EvalError> {
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(EvalError::at(
                line,
                format!(
                    "evaluation took more than {} steps; giving up",
                    self.max_steps
                ),
            ));
        }
        if self.nesting >= MAX_NESTING {
            return Err(EvalError::at(
                line,
                "tags nest too deeply (does a context value refer back to itself?)",
            ));
        }
        self.nesting += 1;
        Ok(())
    }

    fn resolve_inner(&mut self, node: &Node) -> Result<Value, EvalError> {
        Ok(match &node.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::Int(*i),
            NodeValue::Float(f) => Value::Float(*f),
            NodeValue::Str(s) => Value::Str(s.clone()),
            NodeValue::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.resolve(item)?);
                }
                Value::List(out)
            }
            NodeValue::Map(pairs) => {
                let mut out = IndexMap::with_capacity(pairs.len());
                for (key, item) in pairs {
                    out.insert(key.clone(), self.resolve(item)?);
                }
                Value::Map(out)
            }
            NodeValue::Tag(tag) => {
                if matches!(tag.tag, Tag::Enumerate { .. }) {
                    // Reached structurally: this Enumerate is visible to `!Index`/`!Value`
                    // (already while its iterable is resolved, as in authentik).
                    self.frames.push(None);
                    let frame = self.frames.len() - 1;
                    let result = self.tag_value(tag, Some(frame));
                    self.frames.truncate(frame);
                    result?
                } else {
                    self.tag_value(tag, None)?
                }
            }
        })
    }

    /// A tag given directly in an argument slot (authentik's `tag.resolve()`).
    fn resolve_tag(&mut self, tag: &TagNode) -> Result<Value, EvalError> {
        self.tag_value(tag, None)
    }

    fn tag_value(&mut self, tag: &TagNode, frame: Option<usize>) -> Result<Value, EvalError> {
        self.enter(tag.line)?;
        let result = match &tag.tag {
            Tag::KeyOf(id) => self.scope.key_of(id),
            Tag::Env { name, default } => self.env(name, default.as_ref()),
            Tag::File { path, default } => self.file(path, default.as_ref()),
            Tag::Context { key, default } => self.context(key, default.as_ref()),
            Tag::ParseJson(text) => parse_json(text),
            Tag::Format { format, args } => self.format(format, args),
            Tag::Find { model, query } => self.find(false, model, query),
            Tag::FindObject { model, query } => self.find(true, model, query),
            Tag::Condition { mode, args } => self.condition(mode, args),
            Tag::If { cond, then } => self.if_(cond, then.as_ref()),
            Tag::Enumerate {
                iterable,
                output,
                body,
            } => self.enumerate(iterable, *output, body, frame),
            Tag::Index(depth) => self.enumerated("!Index", *depth, true),
            Tag::Value(depth) => self.enumerated("!Value", *depth, false),
            Tag::AtIndex {
                object,
                key,
                default,
            } => self.at_index(object, key, default.as_ref()),
        };
        self.nesting -= 1;
        result.map_err(|error| error.or_line(tag.line))
    }

    /// An argument slot that resolves a tag given directly and takes a literal as it is.
    fn argument(&mut self, node: &Node, tag: &str, what: &str) -> Result<Value, EvalError> {
        match &node.value {
            NodeValue::Tag(inner) => self.resolve_tag(inner),
            _ => literal(node, tag, what),
        }
    }

    /// Truth of an argument authentik truth-tests: a tag given directly is resolved, a
    /// literal is judged as written.
    fn truth(&mut self, node: &Node) -> Result<bool, EvalError> {
        match &node.value {
            NodeValue::Tag(inner) => Ok(self.resolve_tag(inner)?.truthy()),
            _ => Ok(node.literal_truthy().unwrap_or(true)),
        }
    }

    /// A value authentik returns as written (a default): a tag is refused.
    fn default_value(default: Option<&Node>, tag: &str) -> Result<Value, EvalError> {
        match default {
            None => Ok(Value::Null),
            Some(node) => literal(node, tag, "the default"),
        }
    }

    fn env(&mut self, name: &str, default: Option<&Node>) -> Result<Value, EvalError> {
        match self.scope.env(name) {
            Some(value) if !value.is_empty() => Ok(Value::Str(value)),
            _ => Self::default_value(default, "!Env"),
        }
    }

    fn file(&mut self, path: &str, default: Option<&Node>) -> Result<Value, EvalError> {
        match self.scope.file(path)? {
            Some(text) => Ok(Value::Str(text.trim().to_owned())),
            None => Self::default_value(default, "!File"),
        }
    }

    fn context(&mut self, key: &str, default: Option<&Node>) -> Result<Value, EvalError> {
        let node = match self.scope.context().get(key) {
            Some(node) => node.clone(),
            None => match default {
                Some(node) => node.clone(),
                None => return Ok(Value::Null),
            },
        };
        match &node.value {
            NodeValue::Tag(inner) => self.resolve_tag(inner),
            _ => literal(&node, "!Context", &format!("the context value `{key}`")),
        }
    }

    fn format(&mut self, format: &str, args: &[Node]) -> Result<Value, EvalError> {
        let mut values = Vec::with_capacity(args.len());
        for (index, arg) in args.iter().enumerate() {
            values.push(self.argument(arg, "!Format", &format!("argument {}", index + 1))?);
        }
        percent_format(format, &values)
            .map(Value::Str)
            .map_err(|error| EvalError::new(format!("`!Format`: {error}")))
    }

    fn find(
        &mut self,
        object: bool,
        model: &Node,
        query: &[(Node, Node)],
    ) -> Result<Value, EvalError> {
        let tag = if object { "!FindObject" } else { "!Find" };
        let model = self.string_argument(model, tag, "the model")?;
        let mut resolved = Vec::with_capacity(query.len());
        for (key, value) in query {
            let key = self.string_argument(key, tag, "a query key")?;
            let value = self.argument(value, tag, &format!("the value for `{key}`"))?;
            resolved.push((key, value));
        }
        let found = if object {
            self.scope.find_object(&model, &resolved)?
        } else {
            self.scope.find(&model, &resolved)?
        };
        Ok(found.unwrap_or(Value::Null))
    }

    /// An argument that must be (or resolve to) a string.
    fn string_argument(&mut self, node: &Node, tag: &str, what: &str) -> Result<String, EvalError> {
        match self.argument(node, tag, what)? {
            Value::Str(s) => Ok(s),
            other => Err(EvalError::at(
                node.line,
                format!(
                    "`{tag}`: {what} must be a string, found {}",
                    other.python_type()
                ),
            )),
        }
    }

    fn condition(&mut self, mode: &Node, args: &[Node]) -> Result<Value, EvalError> {
        let mode = self.string_argument(mode, "!Condition", "the mode")?;
        let mut truths = Vec::with_capacity(args.len());
        for arg in args {
            truths.push(self.truth(arg)?);
        }
        if truths.is_empty() {
            return Err(EvalError::new(
                "`!Condition`: at least one value is required after the mode",
            ));
        }
        let count = truths.iter().filter(|truth| **truth).count();
        let result = match mode.to_uppercase().as_str() {
            "AND" => count == truths.len(),
            "NAND" => count != truths.len(),
            "OR" => count > 0,
            "NOR" => count == 0,
            // Chained exclusive or: true when an odd number of values are true.
            "XOR" => count % 2 == 1,
            "XNOR" => count % 2 == 0,
            _ => {
                return Err(EvalError::new(format!(
                    "`!Condition`: unknown mode `{mode}` (expected AND, NAND, OR, NOR, XOR or \
                     XNOR)"
                )));
            }
        };
        Ok(Value::Bool(result))
    }

    fn if_(&mut self, cond: &Node, then: Option<&(Node, Node)>) -> Result<Value, EvalError> {
        let truth = self.truth(cond)?;
        match then {
            None => Ok(Value::Bool(truth)),
            Some((when_true, when_false)) => {
                self.resolve(if truth { when_true } else { when_false })
            }
        }
    }

    fn enumerate(
        &mut self,
        iterable: &Node,
        output: EnumerateOutput,
        body: &Node,
        frame: Option<usize>,
    ) -> Result<Value, EvalError> {
        let source = self.argument(iterable, "!Enumerate", "the iterable")?;
        let items: Vec<(Value, Value)> = match source {
            Value::Map(map) => map
                .into_iter()
                .map(|(key, value)| (Value::Str(key), value))
                .collect(),
            Value::List(list) => list
                .into_iter()
                .enumerate()
                .map(|(index, value)| (index_value(index), value))
                .collect(),
            Value::Str(text) => text
                .chars()
                .enumerate()
                .map(|(index, c)| (index_value(index), Value::Str(c.to_string())))
                .collect(),
            other => {
                return Err(EvalError::new(format!(
                    "`!Enumerate`'s iterable must be an iterable such as a sequence or a \
                     mapping, found {}",
                    other.python_type()
                )));
            }
        };
        let mut list = Vec::new();
        let mut map = Value::Map(IndexMap::new());
        for item in items {
            if let Some(frame) = frame
                && let Some(slot) = self.frames.get_mut(frame)
            {
                *slot = Some(item);
            }
            let resolved = self.resolve(body)?;
            match output {
                EnumerateOutput::Seq => list.push(resolved),
                EnumerateOutput::Map => {
                    let addition = match resolved {
                        Value::List(pair) if pair.len() == 2 => {
                            let mut pair = pair.into_iter();
                            let (key, value) = match (pair.next(), pair.next()) {
                                (Some(key), Some(value)) => (key, value),
                                _ => (Value::Null, Value::Null),
                            };
                            let Some(key) = key.json_key() else {
                                return Err(EvalError::new(format!(
                                    "`!Enumerate`: a MAP key must be a scalar, found {}",
                                    key.python_type()
                                )));
                            };
                            let mut single = IndexMap::new();
                            single.insert(key, value);
                            Value::Map(single)
                        }
                        Value::Map(entries) => Value::Map(entries),
                        other => {
                            return Err(EvalError::new(format!(
                                "Invalid Enumerate item found: {} (a MAP body must give a \
                                 `[key, value]` pair or a mapping)",
                                other.python_str()
                            )));
                        }
                    };
                    map = deep_merge(map, addition);
                }
            }
        }
        Ok(match output {
            EnumerateOutput::Seq => Value::List(list),
            EnumerateOutput::Map => map,
        })
    }

    fn enumerated(&self, tag: &str, depth: u32, index: bool) -> Result<Value, EvalError> {
        let depth = depth as usize;
        let available = self.frames.len();
        if depth >= available {
            return Err(EvalError::new(if available == 0 || depth == 0 {
                format!("`{tag}` tags are only usable inside an `!Enumerate` tag")
            } else {
                format!(
                    "`{tag}` tag: invalid depth: {depth}. Max depth: {}",
                    available - 1
                )
            }));
        }
        match &self.frames[available - 1 - depth] {
            Some((key, value)) => Ok(if index { key.clone() } else { value.clone() }),
            None => Err(EvalError::new(format!(
                "`{tag} {depth}` refers to an `!Enumerate` that has no current item yet (it \
                 is still resolving its iterable)"
            ))),
        }
    }

    fn at_index(
        &mut self,
        object: &Node,
        key: &Node,
        default: Option<&Node>,
    ) -> Result<Value, EvalError> {
        const TAG: &str = "!AtIndex";
        let resolved = match &object.value {
            NodeValue::Tag(inner) => Some(self.resolve_tag(inner)?),
            _ => None,
        };
        let key = self.argument(key, TAG, "the key")?;
        let found = match &resolved {
            Some(value) => lookup_value(value, &key)?.cloned(),
            None => match lookup_node(object, &key)? {
                Some(node) => Some(literal(node, TAG, "the selected item")?),
                None => None,
            },
        };
        if let Some(found) = found {
            return Ok(found);
        }
        if default.is_some() {
            return Self::default_value(default, TAG);
        }
        let is_list = match &resolved {
            Some(value) => matches!(value, Value::List(_)),
            None => matches!(object.value, NodeValue::Seq(_)),
        };
        Err(EvalError::new(if is_list {
            format!("`{TAG}`: Index out of range: {}", key.python_str())
        } else {
            format!("`{TAG}`: Key does not exist: {}", key.python_str())
        }))
    }
}

/// Python's `all()` over resolved conditions (`all([])` is true).
pub fn truthy_all(values: &[Value]) -> bool {
    values.iter().all(Value::truthy)
}

fn index_value(index: usize) -> Value {
    Value::Int(i64::try_from(index).unwrap_or(i64::MAX))
}

fn parse_json(text: &str) -> Result<Value, EvalError> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|json| Value::from_json(&json))
        .map_err(|error| EvalError::new(format!("`!ParseJSON`: {error}")))
}

/// A node taken as written; a tag in it is refused (see the module documentation).
fn literal(node: &Node, tag: &str, what: &str) -> Result<Value, EvalError> {
    if let Some(value) = node.to_value_untagged() {
        return Ok(value);
    }
    let inner = node.first_tag();
    let (line, name) = inner.map_or((node.line, "?"), |inner| (inner.line, inner.tag.name()));
    Err(EvalError::at(
        line,
        if matches!(node.value, NodeValue::Tag(_)) {
            format!(
                "`{tag}`: {what} is a `{name}` tag, which authentik passes on unresolved here; \
                 use a literal value"
            )
        } else {
            format!(
                "`{tag}`: {what} holds a `{name}` tag inside {}; authentik resolves a tag here \
                 only when it is given directly, and passes nested ones on unresolved",
                node.kind_name()
            )
        },
    ))
}

/// The position a list index selects (negative indexes count from the end).
fn list_position(key: &Value, len: usize) -> Result<Option<usize>, EvalError> {
    let index = match key {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        other => {
            return Err(EvalError::new(format!(
                "`!AtIndex`: Invalid index for list: {}",
                other.python_str()
            )));
        }
    };
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let position = if index < 0 { index + len } else { index };
    Ok(if (0..len).contains(&position) {
        usize::try_from(position).ok()
    } else {
        None
    })
}

/// A mapping key as the string keys are stored under (non-string scalars by their JSON
/// spelling).
fn map_key(key: &Value) -> Result<String, EvalError> {
    key.json_key().ok_or_else(|| {
        EvalError::new(format!(
            "`!AtIndex`: unhashable key type: '{}'",
            key.python_type()
        ))
    })
}

fn not_indexable(kind: &str) -> EvalError {
    EvalError::new(format!(
        "`!AtIndex`: the object must be a sequence or a mapping, found {kind}"
    ))
}

fn lookup_value<'v>(object: &'v Value, key: &Value) -> Result<Option<&'v Value>, EvalError> {
    match object {
        Value::List(items) => Ok(list_position(key, items.len())?.map(|i| &items[i])),
        Value::Map(map) => Ok(map.get(&map_key(key)?)),
        Value::Null => Err(EvalError::new(
            "`!AtIndex`: the object is null (did a `!FindObject` find nothing?)",
        )),
        other => Err(not_indexable(other.python_type())),
    }
}

fn lookup_node<'n>(object: &'n Node, key: &Value) -> Result<Option<&'n Node>, EvalError> {
    match &object.value {
        NodeValue::Seq(items) => Ok(list_position(key, items.len())?.map(|i| &items[i])),
        NodeValue::Map(pairs) => {
            let key = map_key(key)?;
            Ok(pairs.iter().find(|(k, _)| *k == key).map(|(_, node)| node))
        }
        NodeValue::Null => Err(EvalError::new("`!AtIndex`: the object is null")),
        _ => Err(not_indexable(&object.kind_name())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::limits::Limits;
    use crate::yaml::{deep_merge_nodes, load};

    /// The scope of authentik's tag tests: context `{foo: bar, sequence: [foo, bar], mapping:
    /// {key1: value, key2: 2}}` from the file, merged with the instance context `{bar: baz}`.
    struct TestScope {
        context: IndexMap<String, Node>,
        env: HashMap<String, String>,
        files: HashMap<String, String>,
        keys: HashMap<String, Value>,
        finds: Vec<(String, Vec<(String, Value)>)>,
    }

    impl TestScope {
        fn new(file_context: &str) -> TestScope {
            let file = load(file_context, &Limits::default()).unwrap();
            let instance = Node::from_value(
                &Value::Map(IndexMap::from([(
                    "bar".to_owned(),
                    Value::Str("baz".to_owned()),
                )])),
                1,
                1,
            );
            let merged = deep_merge_nodes(file, instance);
            let context = merged.as_map().unwrap().iter().cloned().collect();
            TestScope {
                context,
                env: HashMap::from([("foo".to_owned(), "env-foo".to_owned())]),
                files: HashMap::from([("/secret".to_owned(), "  s3cret\n".to_owned())]),
                keys: HashMap::from([("policy".to_owned(), Value::Str("policy-pk".to_owned()))]),
                finds: Vec::new(),
            }
        }

        fn standard() -> TestScope {
            TestScope::new(
                "foo: bar\n\
                 sequence: [foo, bar]\n\
                 mapping: {key1: value, key2: 2}\n\
                 policy_property: name\n\
                 policy_property_value: foo-bar-baz-qux\n\
                 context1: context-nested-value\n\
                 context2: !Context context1\n\
                 loop: !Context loop\n\
                 goauthentik.io/rbac/models: {user: authentik_core, flow: authentik_flows}\n",
            )
        }
    }

    impl Scope for TestScope {
        fn key_of(&mut self, id: &str) -> Result<Value, EvalError> {
            self.keys.get(id).cloned().ok_or_else(|| {
                EvalError::new(format!(
                    "KeyOf: failed to find entry with `id` of `{id}` and a model instance"
                ))
            })
        }

        fn find(
            &mut self,
            model: &str,
            query: &[(String, Value)],
        ) -> Result<Option<Value>, EvalError> {
            self.finds.push((model.to_owned(), query.to_vec()));
            match model {
                "authentik_flows.flow" => Ok(Some(Value::Str("flow-pk".to_owned()))),
                "authentik_policies_expression.expressionpolicy" => {
                    Ok(Some(Value::Str("policy-pk".to_owned())))
                }
                "authentik_brands.brand" => Ok(None),
                _ => Err(EvalError::new(format!("unknown model {model}"))),
            }
        }

        fn find_object(
            &mut self,
            model: &str,
            query: &[(String, Value)],
        ) -> Result<Option<Value>, EvalError> {
            let wanted = [("scope_name".to_owned(), Value::Str("openid".to_owned()))];
            if model == "authentik_providers_oauth2.scopemapping" && query == wanted {
                let mut object = IndexMap::new();
                object.insert("scope_name".to_owned(), Value::Str("openid".to_owned()));
                object.insert(
                    "managed".to_owned(),
                    Value::Str("goauthentik.io/providers/oauth2/scope-openid".to_owned()),
                );
                Ok(Some(Value::Map(object)))
            } else {
                Ok(None)
            }
        }

        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).cloned()
        }

        fn file(&mut self, path: &str) -> Result<Option<String>, EvalError> {
            Ok(self.files.get(path).cloned())
        }

        fn context(&self) -> &IndexMap<String, Node> {
            &self.context
        }
    }

    fn eval_in(scope: &mut TestScope, text: &str) -> Result<Value, EvalError> {
        let node = load(text, &Limits::default()).unwrap_or_else(|e| panic!("{text}: {e}"));
        Evaluator::new(scope).resolve(&node)
    }

    fn eval(text: &str) -> Value {
        eval_in(&mut TestScope::standard(), text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn eval_err(text: &str) -> EvalError {
        match eval_in(&mut TestScope::standard(), text) {
            Ok(value) => panic!("{text} gave {value:?}"),
            Err(error) => error,
        }
    }

    fn json(value: &Value) -> serde_json::Value {
        value.to_json()
    }

    #[test]
    fn worked_examples_from_the_spec() {
        // §2.3, with the values authentik's own test asserts.
        assert_eq!(
            eval("!Format [foo-%s-%s-%s, !Context foo, !Context bar, qux]"),
            Value::Str("foo-bar-baz-qux".to_owned())
        );
        assert_eq!(
            eval("!Condition [XOR, !Context foo, !Format [\"%s\", \"a_string\"], 1]"),
            Value::Bool(true)
        );
        assert_eq!(eval("!If [!Context foo]"), Value::Bool(true));
        assert_eq!(eval("!If [null, false, 2]"), Value::Int(2));
        assert_eq!(
            json(&eval(
                "!Enumerate [!Context sequence, MAP, [!Format [\"index: %d\", !Index 0], !Value 0]]"
            )),
            serde_json::json!({"index: 0": "foo", "index: 1": "bar"})
        );
        assert_eq!(
            eval("!AtIndex [!Context mapping, \"invalid\", \"non existent\"]"),
            Value::Str("non existent".to_owned())
        );
        assert_eq!(
            eval(
                "!AtIndex [!FindObject [authentik_providers_oauth2.scopemapping, [scope_name, \
                 openid]], managed]"
            ),
            Value::Str("goauthentik.io/providers/oauth2/scope-openid".to_owned())
        );
        assert_eq!(eval("!Env [bar-baz, null]"), Value::Null);
        assert_eq!(eval("!File '/does-not-exist'"), Value::Null);
        assert_eq!(
            json(&eval("!ParseJSON '{\"foo\": \"bar\"}'")),
            serde_json::json!({"foo": "bar"})
        );
    }

    #[test]
    fn authentiks_tag_fixture() {
        // authentik's `fixtures/tags.yaml` attributes (with `%%` written as `%`), and the
        // values its test expects.
        let text = r#"
policy_pk1: !Format ["%s-%s", !Find [authentik_policies_expression.expressionpolicy, [!Context policy_property, !Context policy_property_value], [expression, return True]], suffix]
policy_pk2: !Format ["%s-%s", !KeyOf policy, suffix]
boolAnd: !Condition [AND, !Context foo, !Format ["%s", "a_string"], 1]
boolNand: !Condition [NAND, !Context foo, !Format ["%s", "a_string"], 1]
boolOr: !Condition [OR, !Context foo, !Format ["%s", "a_string"], null]
boolNor: !Condition [NOR, !Context foo, !Format ["%s", "a_string"], null]
boolXor: !Condition [XOR, !Context foo, !Format ["%s", "a_string"], 1]
boolXnor: !Condition [XNOR, !Context foo, !Format ["%s", "a_string"], 1]
boolComplex: !Condition [XNOR, !Condition [AND, !Context non_existing], !Condition [NOR, a string], !Condition [XOR, null]]
if_true_complex: !If [true, {dictionary: {with: {keys: "and_values"}, and_nested_custom_tags: !Format ["foo-%s", !Context foo]}}, null]
if_false_complex: !If [!Condition [AND, false], null, [list, with, items, !Format ["foo-%s", !Context foo]]]
if_true_simple: !If [!Context foo, true, text]
if_short: !If [!Context foo]
if_false_simple: !If [null, false, 2]
enumerate_mapping_to_mapping: !Enumerate [!Context mapping, MAP, [!Format ["prefix-%s", !Index 0], !Format ["other-prefix-%s", !Value 0]]]
enumerate_mapping_to_sequence: !Enumerate [!Context mapping, SEQ, !Format ["prefixed-pair-%s-%s", !Index 0, !Value 0]]
enumerate_sequence_to_sequence: !Enumerate [!Context sequence, SEQ, !Format ["prefixed-items-%s-%s", !Index 0, !Value 0]]
enumerate_sequence_to_mapping: !Enumerate [!Context sequence, MAP, [!Format ["index: %d", !Index 0], !Value 0]]
nested_complex_enumeration: !Enumerate [
  !Context sequence,
  MAP,
  [
    !Index 0,
    !Enumerate [
      !Context mapping,
      MAP,
      [
        !Format ["%s", !Index 0],
        [
          !Enumerate [!Value 2, SEQ, !Format ["prefixed-%s", !Value 0]],
          {outer_value: !Value 1, outer_index: !Index 1, middle_value: !Value 0, middle_index: !Index 0}
        ]
      ]
    ]
  ]
  ]
nested_context: !Context context2
at_index_sequence: !AtIndex [!Context sequence, 0]
at_index_sequence_default: !AtIndex [!Context sequence, 100, "non existent"]
at_index_mapping: !AtIndex [!Context mapping, "key2"]
at_index_mapping_default: !AtIndex [!Context mapping, "invalid", "non existent"]
find_object: !AtIndex [!FindObject [authentik_providers_oauth2.scopemapping, [scope_name, openid]], managed]
env_null: !Env [bar-baz, null]
env_set: !Env foo
env_default: !Env [unset, default]
file_content: !File /secret
file_default: !File [/missing, default]
file_non_existent: !File '/does-not-exist'
json_parse: !ParseJSON '{"foo": "bar"}'
"#;
        let mut scope = TestScope::standard();
        let value = eval_in(&mut scope, text).unwrap();
        let inner = |prefix: &str, index: i64, outer: &str| {
            serde_json::json!({
                "key1": [
                    [format!("{prefix}-{}", &outer[0..1]), format!("{prefix}-{}", &outer[1..2]), format!("{prefix}-{}", &outer[2..3])],
                    {"outer_value": outer, "outer_index": index, "middle_value": "value", "middle_index": "key1"}
                ],
                "key2": [
                    [format!("{prefix}-{}", &outer[0..1]), format!("{prefix}-{}", &outer[1..2]), format!("{prefix}-{}", &outer[2..3])],
                    {"outer_value": outer, "outer_index": index, "middle_value": 2, "middle_index": "key2"}
                ]
            })
        };
        let expected = serde_json::json!({
            "policy_pk1": "policy-pk-suffix",
            "policy_pk2": "policy-pk-suffix",
            "boolAnd": true,
            "boolNand": false,
            "boolOr": true,
            "boolNor": false,
            "boolXor": true,
            "boolXnor": false,
            "boolComplex": true,
            "if_true_complex": {
                "dictionary": {"with": {"keys": "and_values"}, "and_nested_custom_tags": "foo-bar"}
            },
            "if_false_complex": ["list", "with", "items", "foo-bar"],
            "if_true_simple": true,
            "if_short": true,
            "if_false_simple": 2,
            "enumerate_mapping_to_mapping": {
                "prefix-key1": "other-prefix-value",
                "prefix-key2": "other-prefix-2"
            },
            "enumerate_mapping_to_sequence": ["prefixed-pair-key1-value", "prefixed-pair-key2-2"],
            "enumerate_sequence_to_sequence": ["prefixed-items-0-foo", "prefixed-items-1-bar"],
            "enumerate_sequence_to_mapping": {"index: 0": "foo", "index: 1": "bar"},
            "nested_complex_enumeration": {
                "0": inner("prefixed", 0, "foo"),
                "1": inner("prefixed", 1, "bar")
            },
            "nested_context": "context-nested-value",
            "at_index_sequence": "foo",
            "at_index_sequence_default": "non existent",
            "at_index_mapping": 2,
            "at_index_mapping_default": "non existent",
            "find_object": "goauthentik.io/providers/oauth2/scope-openid",
            "env_null": null,
            "env_set": "env-foo",
            "env_default": "default",
            "file_content": "s3cret",
            "file_default": "default",
            "file_non_existent": null,
            "json_parse": {"foo": "bar"}
        });
        assert_eq!(json(&value), expected);
        // `!Find` received its query with resolved keys and values.
        assert_eq!(
            scope.finds[0],
            (
                "authentik_policies_expression.expressionpolicy".to_owned(),
                vec![
                    ("name".to_owned(), Value::Str("foo-bar-baz-qux".to_owned())),
                    (
                        "expression".to_owned(),
                        Value::Str("return True".to_owned())
                    ),
                ]
            )
        );
    }

    #[test]
    fn rbac_read_only_role() {
        let value = eval(
            "!Enumerate [!Context goauthentik.io/rbac/models, SEQ, !Format [\"%s.view_%s\", \
             !Value 0, !Index 0]]",
        );
        assert_eq!(
            json(&value),
            serde_json::json!(["authentik_core.view_user", "authentik_flows.view_flow"])
        );
    }

    #[test]
    fn structural_walk_resolves_values_not_keys() {
        let value = eval("{a: [1, !Context foo], !!str b: {c: !If [true, x, y]}}");
        assert_eq!(
            json(&value),
            serde_json::json!({"a": [1, "bar"], "b": {"c": "x"}})
        );
    }

    #[test]
    fn enumerate_details() {
        // Strings iterate over characters; MAP bodies may be mappings (deep-merged, lists
        // concatenated).
        assert_eq!(
            json(&eval("!Enumerate [abc, SEQ, [!Index 0, !Value 0]]")),
            serde_json::json!([[0, "a"], [1, "b"], [2, "c"]])
        );
        assert_eq!(
            json(&eval("!Enumerate [[a, b], MAP, {all: [!Value 0]}]")),
            serde_json::json!({"all": ["a", "b"]})
        );
        let error = eval_err("!Enumerate [[a], MAP, [only-one]]");
        assert!(
            error.message.contains("Invalid Enumerate item"),
            "{}",
            error.message
        );
        let error = eval_err("!Enumerate [[a], MAP, text]");
        assert!(
            error.message.contains("Invalid Enumerate item"),
            "{}",
            error.message
        );
        let error = eval_err("!Enumerate [5, SEQ, x]");
        assert!(error.message.contains("iterable"), "{}", error.message);
        let error = eval_err("!Enumerate [null, SEQ, x]");
        assert!(error.message.contains("NoneType"), "{}", error.message);
    }

    #[test]
    fn index_and_value_outside_enumerate() {
        let error = eval_err("a:\n  b: !Index 0\n");
        assert_eq!(error.line, 2);
        assert!(
            error.message.contains("only usable inside an `!Enumerate`"),
            "{}",
            error.message
        );
        let error = eval_err("!Enumerate [[a], SEQ, !Value 1]");
        assert!(
            error.message.contains("invalid depth: 1"),
            "{}",
            error.message
        );
    }

    #[test]
    fn enumerate_as_an_argument_is_not_pushed() {
        // Given directly to `!Format`, the inner Enumerate is resolved without being pushed:
        // its `!Value 0` sees the outer Enumerate's item, as in authentik.
        let value =
            eval("!Enumerate [[x, y], SEQ, !Format [\"%s\", !Enumerate [[1, 2], SEQ, !Value 0]]]");
        assert_eq!(
            json(&value),
            serde_json::json!(["['x', 'x']", "['y', 'y']"])
        );
        // Reached structurally (inside a list), it is pushed: `!Value 0` is its own item.
        let value = eval("!Enumerate [[x, y], SEQ, [!Enumerate [[1, 2], SEQ, !Value 0]]]");
        assert_eq!(json(&value), serde_json::json!([[[1, 2]], [[1, 2]]]));
    }

    #[test]
    fn condition_modes() {
        let cases = [
            ("!Condition [and, 1, 1]", true),
            ("!Condition [AND, 1, 0]", false),
            ("!Condition [NAND, 1, 0]", true),
            ("!Condition [OR, 0, \"\"]", false),
            ("!Condition [OR, 0, \"false\"]", true),
            ("!Condition [NOR, 0, []]", true),
            ("!Condition [XOR, 1]", true),
            ("!Condition [XOR, 1, 1]", false),
            ("!Condition [XOR, 1, 1, 1]", true),
            ("!Condition [XNOR, 1, 1]", true),
            ("!Condition [XNOR, 0]", true),
            // A literal list is truth-tested by its length, tags inside it or not.
            ("!Condition [AND, [!Context missing]]", true),
            ("!Condition [!Format [\"%s\", OR], 0, 1]", true),
        ];
        for (text, expected) in cases {
            assert_eq!(eval(text), Value::Bool(expected), "{text}");
        }
        let error = eval_err("!Condition [!Format [\"%s\", MAYBE], 1]");
        assert!(error.message.contains("unknown mode"), "{}", error.message);
    }

    #[test]
    fn at_index_details() {
        assert_eq!(eval("!AtIndex [[a, b, c], -1]"), Value::Str("c".to_owned()));
        assert_eq!(eval("!AtIndex [{k: v}, k]"), Value::Str("v".to_owned()));
        let error = eval_err("!AtIndex [!Context sequence, 5]");
        assert!(
            error.message.contains("Index out of range: 5"),
            "{}",
            error.message
        );
        let error = eval_err("!AtIndex [!Context mapping, nope]");
        assert!(
            error.message.contains("Key does not exist: nope"),
            "{}",
            error.message
        );
        let error = eval_err("!AtIndex [!Context sequence, x]");
        assert!(
            error.message.contains("Invalid index for list"),
            "{}",
            error.message
        );
        let error = eval_err("!AtIndex [!FindObject [x.y, [a, b]], k]");
        assert!(error.message.contains("null"), "{}", error.message);
        // The default is not resolved: a tag there is refused.
        let error = eval_err("!AtIndex [[a], 3, !Context foo]");
        assert!(error.message.contains("unresolved"), "{}", error.message);
        // Only the selected item of a literal object must be tag-free.
        assert_eq!(
            eval("!AtIndex [[a, !Context foo], 0]"),
            Value::Str("a".to_owned())
        );
        let error = eval_err("!AtIndex [[a, !Context foo], 1]");
        assert!(error.message.contains("`!Context`"), "{}", error.message);
    }

    #[test]
    fn env_file_context_parse_json() {
        let mut scope = TestScope::standard();
        scope.env.insert("EMPTY".to_owned(), String::new());
        // An empty variable counts as unset.
        assert_eq!(
            eval_in(&mut scope, "!Env [EMPTY, fallback]").unwrap(),
            Value::Str("fallback".to_owned())
        );
        assert_eq!(eval("!Env unset"), Value::Null);
        // A tag as `!Env`'s default is not resolved by authentik: refused here.
        let error = eval_err("!Env [unset, !Context foo]");
        assert!(error.message.contains("unresolved"), "{}", error.message);
        // `!Context` resolves a tag default.
        assert_eq!(
            eval("!Context [missing, !Context foo]"),
            Value::Str("bar".to_owned())
        );
        assert_eq!(eval("!Context missing"), Value::Null);
        assert_eq!(
            json(&eval("!Context mapping")),
            serde_json::json!({"key1": "value", "key2": 2})
        );
        let error = eval_err("!Context loop");
        assert!(
            error.message.contains("nest too deeply"),
            "{}",
            error.message
        );
        let error = eval_err("a: 1\nb: !ParseJSON '{nope'\n");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("`!ParseJSON`"), "{}", error.message);
    }

    #[test]
    fn find_and_key_of() {
        assert_eq!(
            eval("!Find [authentik_flows.flow, [slug, default-authentication-flow]]"),
            Value::Str("flow-pk".to_owned())
        );
        assert_eq!(
            eval("!Find [authentik_brands.brand, [default, True]]"),
            Value::Null
        );
        assert_eq!(
            eval("!Condition [NOR, !Find [authentik_brands.brand, [default, True]]]"),
            Value::Bool(true)
        );
        assert_eq!(
            eval("!Find [!Format [\"%s\", authentik_flows.flow], [slug, x]]"),
            Value::Str("flow-pk".to_owned())
        );
        // A scope error gets the line of the tag.
        let error = eval_err("a: 1\nb: !KeyOf missing\n");
        assert_eq!(error.line, 2);
        assert!(
            error.message.contains("failed to find entry"),
            "{}",
            error.message
        );
        let error = eval_err("!Find [unknown.model, [a, b]]");
        assert_eq!(error.line, 1);
        let error = eval_err("!Find [!Context mapping, [a, b]]");
        assert!(
            error.message.contains("must be a string"),
            "{}",
            error.message
        );
    }

    #[test]
    fn format_errors_and_nested_literals() {
        let error = eval_err("!Format [\"%d\", abc]");
        assert!(
            error.message.contains("a real number is required, not str"),
            "{}",
            error.message
        );
        let error = eval_err("!Format [\"%s\", [!Context foo]]");
        assert!(
            error.message.contains("inside a sequence"),
            "{}",
            error.message
        );
    }

    #[test]
    fn conditions_and_truthiness() {
        let node = load(
            "- !Condition [AND, true, true, text]\n- true\n- text\n",
            &Limits::default(),
        )
        .unwrap();
        let mut scope = TestScope::standard();
        let mut evaluator = Evaluator::new(&mut scope);
        assert!(evaluator.conditions_hold(node.as_seq().unwrap()).unwrap());
        assert!(evaluator.conditions_hold(&[]).unwrap());
        let node = load("- true\n- \"\"\n", &Limits::default()).unwrap();
        assert!(!evaluator.conditions_hold(node.as_seq().unwrap()).unwrap());
        // Every condition is resolved, even after a false one.
        let node = load("- false\n- !KeyOf missing\n", &Limits::default()).unwrap();
        assert!(evaluator.conditions_hold(node.as_seq().unwrap()).is_err());
        assert!(truthy_all(&[]));
        assert!(truthy_all(&[Value::Str("false".to_owned())]));
        assert!(!truthy_all(&[Value::Int(0)]));
    }

    #[test]
    fn step_budget() {
        let mut scope = TestScope::standard();
        let node = load(
            "!Enumerate [abcdefghij, SEQ, !Enumerate [abcdefghij, SEQ, x]]",
            &Limits::default(),
        )
        .unwrap();
        let error = Evaluator::new(&mut scope)
            .with_max_steps(50)
            .resolve(&node)
            .unwrap_err();
        assert!(error.message.contains("steps"), "{}", error.message);
    }
}
