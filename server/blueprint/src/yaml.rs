//! Loading YAML text into a tree of [`Node`]s, the way authentik's PyYAML loader reads it.
//!
//! The tree is built here from saphyr-parser's events rather than by a YAML library's loader,
//! because a blueprint needs what such loaders drop or decide differently:
//!
//! - **YAML 1.1 resolution** of plain scalars, as PyYAML's `SafeLoader` does it (`yes` is true,
//!   `0777` is 511, `1e3` is a string; the rules are in the private `scalar` module). Quoted
//!   and block scalars are always strings.
//! - **The tag on every node**: authentik's 14 tags become typed [`TagNode`]s as the node is
//!   built, so a malformed tag is a load error with its line; `!!str`, `!!int`, `!!float`,
//!   `!!bool`, `!!null`, `!!seq` and `!!map` are honoured; any other tag is refused by name.
//! - **Anchors, aliases and merge keys** (`<<`), with every node an alias copies counted
//!   against [`Limits::max_nodes`], so an alias bomb fails fast.
//! - **Line and column** of every node, for error messages.
//!
//! Mapping keys become strings, spelled as Python's `json.dumps` would spell them (`true`,
//! `null`, `1`, `1.5`): authentik hands its data to serializers and stores through JSON, and
//! a `Node` tree is easier to use with one key type. (Consequence: `1` and `"1"` are the same
//! key here, while in Python they are different until the data is serialized.) A sequence,
//! mapping or tag as a key is refused.
//!
//! Duplicate keys: the last value wins at the position of the first, as in a Python dict.

use std::borrow::Cow;
use std::collections::HashMap;

use indexmap::IndexMap;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span};

use crate::limits::Limits;
use crate::scalar::{self, IntError, Plain};
use crate::suggest;
use crate::tags::{self, Raw, TAG_NAMES, TagNode};
use crate::value::{Value, json_float_key};

/// One node of a loaded document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    /// 1-based line where the node (or its tag) starts.
    pub line: u32,
    /// 1-based column (in characters) where the node (or its tag) starts.
    pub column: u32,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in document order, unique (see the module documentation for duplicates and
    /// merge keys).
    Map(Vec<(String, Node)>),
    /// One of authentik's 14 tags, already checked for shape.
    Tag(Box<TagNode>),
}

/// Why a document could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct LoadError {
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub message: String,
}

impl LoadError {
    pub fn new(line: u32, column: u32, message: impl Into<String>) -> LoadError {
        LoadError {
            line: line.max(1),
            column: column.max(1),
            message: message.into(),
        }
    }

    fn at(node: &Node, message: impl Into<String>) -> LoadError {
        LoadError::new(node.line, node.column, message)
    }
}

impl From<ScanError> for LoadError {
    fn from(error: ScanError) -> LoadError {
        let (line, column) = position(*error.marker());
        LoadError::new(line, column, error.info().to_owned())
    }
}

impl NodeValue {
    /// What kind of value this is, for messages (see [`Node::kind_name`]).
    pub fn kind_name(&self) -> String {
        match self {
            NodeValue::Null => "null".to_owned(),
            NodeValue::Bool(_) => "a boolean".to_owned(),
            NodeValue::Int(_) => "an integer".to_owned(),
            NodeValue::Float(_) => "a float".to_owned(),
            NodeValue::Str(_) => "a string".to_owned(),
            NodeValue::Seq(_) => "a sequence".to_owned(),
            NodeValue::Map(_) => "a mapping".to_owned(),
            NodeValue::Tag(tag) => format!("a `{}` tag", tag.tag.name()),
        }
    }
}

impl Node {
    pub fn new(value: NodeValue, line: u32, column: u32) -> Node {
        Node {
            value,
            line,
            column,
        }
    }

    /// What kind of node this is, for messages: "null", "a boolean", "an integer", "a float",
    /// "a string", "a sequence", "a mapping", "a `!Find` tag".
    pub fn kind_name(&self) -> String {
        self.value.kind_name()
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            NodeValue::Map(pairs) => Some(pairs),
            _ => None,
        }
    }

    pub fn as_tag(&self) -> Option<&TagNode> {
        match &self.value {
            NodeValue::Tag(tag) => Some(tag),
            _ => None,
        }
    }

    /// The value under `key` if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, node)| node)
    }

    /// The first tag found in this node or below it (depth first), if any.
    pub fn first_tag(&self) -> Option<&TagNode> {
        match &self.value {
            NodeValue::Tag(tag) => Some(tag),
            NodeValue::Seq(items) => items.iter().find_map(Node::first_tag),
            NodeValue::Map(pairs) => pairs.iter().find_map(|(_, node)| node.first_tag()),
            _ => None,
        }
    }

    /// The value of a node that holds no tag anywhere; `None` if it does (use the evaluator
    /// for those).
    pub fn to_value_untagged(&self) -> Option<Value> {
        Some(match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::Int(*i),
            NodeValue::Float(f) => Value::Float(*f),
            NodeValue::Str(s) => Value::Str(s.clone()),
            NodeValue::Seq(items) => Value::List(
                items
                    .iter()
                    .map(Node::to_value_untagged)
                    .collect::<Option<Vec<Value>>>()?,
            ),
            NodeValue::Map(pairs) => Value::Map(
                pairs
                    .iter()
                    .map(|(key, node)| Some((key.clone(), node.to_value_untagged()?)))
                    .collect::<Option<IndexMap<String, Value>>>()?,
            ),
            NodeValue::Tag(_) => return None,
        })
    }

    /// A node tree holding `value` (every node at `line`/`column`): how a caller turns a
    /// context given as data (an instance's JSON context, built-in defaults) into nodes to
    /// merge with a blueprint's own context.
    pub fn from_value(value: &Value, line: u32, column: u32) -> Node {
        let value = match value {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Int(i) => NodeValue::Int(*i),
            Value::Float(f) => NodeValue::Float(*f),
            Value::Str(s) => NodeValue::Str(s.clone()),
            Value::List(items) => NodeValue::Seq(
                items
                    .iter()
                    .map(|item| Node::from_value(item, line, column))
                    .collect(),
            ),
            Value::Map(map) => NodeValue::Map(
                map.iter()
                    .map(|(key, item)| (key.clone(), Node::from_value(item, line, column)))
                    .collect(),
            ),
        };
        Node::new(value, line, column)
    }

    /// Python truthiness of a literal node without resolving anything: containers by their
    /// length (a list holding tags is non-empty whatever they resolve to). `None` for a tag.
    pub fn literal_truthy(&self) -> Option<bool> {
        Some(match &self.value {
            NodeValue::Null => false,
            NodeValue::Bool(b) => *b,
            NodeValue::Int(i) => *i != 0,
            NodeValue::Float(f) => *f != 0.0,
            NodeValue::Str(s) => !s.is_empty(),
            NodeValue::Seq(items) => !items.is_empty(),
            NodeValue::Map(pairs) => !pairs.is_empty(),
            NodeValue::Tag(_) => return None,
        })
    }
}

/// deepmerge's `always_merger` on node trees (see [`crate::deep_merge`] for the rules on
/// values): how a caller layers contexts (built-in defaults, then the blueprint's `context`,
/// then the instance's) before evaluation. A tag is merged like a scalar: the overlay wins.
pub fn deep_merge_nodes(base: Node, overlay: Node) -> Node {
    match (base.value, overlay.value) {
        (NodeValue::Map(base_pairs), NodeValue::Map(overlay_pairs)) => {
            let mut merged: IndexMap<String, Node> = base_pairs.into_iter().collect();
            for (key, value) in overlay_pairs {
                match merged.get_mut(&key) {
                    Some(existing) => {
                        let previous =
                            std::mem::replace(existing, Node::new(NodeValue::Null, 1, 1));
                        *existing = deep_merge_nodes(previous, value);
                    }
                    None => {
                        merged.insert(key, value);
                    }
                }
            }
            Node::new(
                NodeValue::Map(merged.into_iter().collect()),
                base.line,
                base.column,
            )
        }
        (NodeValue::Seq(mut base_items), NodeValue::Seq(overlay_items)) => {
            base_items.extend(overlay_items);
            Node::new(NodeValue::Seq(base_items), base.line, base.column)
        }
        (_, value) => Node::new(value, overlay.line, overlay.column),
    }
}

/// Loads exactly one YAML document.
///
/// # Errors
/// A [`LoadError`] with the line and column of the problem: YAML syntax, an empty input, a
/// second document, an unknown tag or a malformed blueprint tag, a non-scalar mapping key,
/// an integer beyond 64 bits, an alias to an unknown anchor, or a limit exceeded.
pub fn load(text: &str, limits: &Limits) -> Result<Node, LoadError> {
    if text.len() > limits.max_bytes {
        return Err(LoadError::new(
            1,
            1,
            format!(
                "the blueprint is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let mut builder = Builder::new(limits);
    for next in Parser::new_from_str(text) {
        if builder.event(next)? == Flow::Done {
            break;
        }
    }
    builder.finish()
}

type Scanned<'t> = Result<(Event<'t>, Span), ScanError>;

/// A scanner error as a [`LoadError`]. The scanner refuses more than 255 nested flow
/// collections itself (and may reach that before the builder sees the first one, since it
/// reads a whole flow collection ahead when it could be a mapping key); that is reported as
/// the depth limit it is.
fn scan_error(error: &ScanError, limits: &Limits) -> LoadError {
    let (line, column) = position(*error.marker());
    if error.info() == "recursion limit exceeded" {
        return LoadError::new(
            line,
            column,
            format!(
                "the blueprint nests deeper than the depth limit of {} levels",
                limits.max_depth
            ),
        );
    }
    LoadError::new(line, column, error.info().to_owned())
}

/// 1-based line and column of a parser position.
fn position(marker: Marker) -> (u32, u32) {
    let line = u32::try_from(marker.line()).unwrap_or(u32::MAX).max(1);
    let column = u32::try_from(marker.col())
        .unwrap_or(u32::MAX - 1)
        .saturating_add(1);
    (line, column)
}

/// Bytes a scanned string may hold beyond its text and still be kept as it is.
const FITTED_SLACK: usize = 16;

/// The text of a scalar, as the node keeps it. The scanner builds every plain scalar in a
/// buffer sized for long text (over 128 bytes), so a tree of short keys and values kept in
/// those buffers held several times its text (a 741 KiB blueprint of 5,000 entries: about
/// 7 MiB of mostly empty buffers, memory the kernel must hand over page by page). Such a
/// string is copied to its size instead; its buffer is freed at once and reused for the
/// scanner's next scalar.
fn fitted(text: Cow<'_, str>) -> String {
    match text {
        Cow::Owned(owned) if owned.capacity() <= owned.len() + FITTED_SLACK => owned,
        other => other.as_ref().to_owned(),
    }
}

/// The full name of a tag: `!KeyOf`, `tag:yaml.org,2002:str` (for `!!str`), `!` (the
/// non-specific tag), or a verbatim tag's text.
fn tag_name(tag: &saphyr_parser::Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

const CORE: &str = "tag:yaml.org,2002:";

/// A tag's name as the author would write it (`!!str` rather than its expansion).
fn display_tag(name: &str) -> String {
    match name.strip_prefix(CORE) {
        Some(suffix) => format!("!!{suffix}"),
        None => name.to_owned(),
    }
}

fn unknown_tag(name: &str) -> String {
    let shown = display_tag(name);
    format!(
        "unsupported tag `{shown}`{}: a blueprint may use authentik's tags ({}) and the \
         standard !!str, !!int, !!float, !!bool, !!null, !!seq and !!map",
        suggest::did_you_mean(&shown, &TAG_NAMES),
        TAG_NAMES.join(", ")
    )
}

/// A mapping key as the string it becomes.
fn key_text(node: Node) -> Result<String, LoadError> {
    match node.value {
        NodeValue::Null => Ok("null".to_owned()),
        NodeValue::Bool(b) => Ok(b.to_string()),
        NodeValue::Int(i) => Ok(i.to_string()),
        NodeValue::Float(f) => Ok(json_float_key(f)),
        NodeValue::Str(s) => Ok(s),
        _ => Err(LoadError::at(
            &node,
            format!("a mapping key must be a scalar, found {}", node.kind_name()),
        )),
    }
}

struct Anchored {
    node: Node,
    /// Nodes in the anchored subtree (what an alias to it adds to the count).
    nodes: usize,
    /// Nesting levels the subtree occupies (0 for a scalar).
    height: usize,
}

enum Key {
    Merge,
    Text(String),
}

/// An open collection's children wait on the builder's stacks (`items`, `pairs`) from `start`
/// on, and move to a vector of their exact size when it closes: collections are mostly small
/// (a vector grown by pushes holds room for four pairs or more), and a large one is not copied
/// as it grows.
enum FrameKind {
    Seq {
        start: usize,
    },
    Map {
        /// Where its pairs (in document order, merge keys aside) start on `Builder::pairs`.
        start: usize,
        /// The values of the merge keys (`<<`), in document order: where they sit among the
        /// other keys makes no difference (merged pairs always come first).
        merges: Vec<Node>,
        /// The key read, waiting for its value.
        key: Option<Key>,
    },
}

/// A sequence or mapping being built.
struct Frame {
    kind: FrameKind,
    tag: Option<String>,
    anchor: usize,
    line: u32,
    column: u32,
    /// The node count before this node was counted.
    nodes_before: usize,
    /// The largest height among the children so far.
    height: usize,
}

struct Builder<'l> {
    limits: &'l Limits,
    stack: Vec<Frame>,
    /// The children of the open sequences, innermost last (see [`FrameKind`]).
    items: Vec<Node>,
    /// The pairs of the open mappings, innermost last.
    pairs: Vec<(String, Node)>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    documents: usize,
    root: Option<Node>,
}

/// Whether the builder wants more events.
#[derive(PartialEq, Eq)]
enum Flow {
    More,
    /// The stream ended.
    Done,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Builder<'l> {
        Builder {
            limits,
            stack: Vec::new(),
            items: Vec::new(),
            pairs: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            documents: 0,
            root: None,
        }
    }

    fn finish(self) -> Result<Node, LoadError> {
        self.root
            .ok_or_else(|| LoadError::new(1, 1, "the blueprint is empty"))
    }

    /// Takes the parser's next event (or its error) into the tree.
    fn event(&mut self, next: Scanned<'_>) -> Result<Flow, LoadError> {
        let (event, span) = next.map_err(|error| scan_error(&error, self.limits))?;
        let (line, column) = position(span.start);
        match event {
            Event::StreamEnd => return Ok(Flow::Done),
            Event::DocumentStart(_) => {
                if self.documents > 0 {
                    return Err(LoadError::new(
                        line,
                        column,
                        "a second YAML document starts here; a blueprint is exactly one document",
                    ));
                }
                self.documents += 1;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|tag| tag_name(&tag));
                self.scalar(text, style, anchor, tag, line, column)?;
            }
            Event::SequenceStart(anchor, tag) => {
                let tag = tag.map(|tag| tag_name(&tag));
                let kind = FrameKind::Seq {
                    start: self.items.len(),
                };
                self.open(kind, anchor, tag, line, column)?;
            }
            Event::MappingStart(anchor, tag) => {
                let tag = tag.map(|tag| tag_name(&tag));
                let kind = FrameKind::Map {
                    start: self.pairs.len(),
                    merges: Vec::new(),
                    key: None,
                };
                self.open(kind, anchor, tag, line, column)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Alias(anchor) => self.alias(anchor, line, column)?,
            _ => {}
        }
        Ok(Flow::More)
    }

    fn count(&mut self, nodes: usize, line: u32, column: u32) -> Result<(), LoadError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > self.limits.max_nodes {
            return Err(LoadError::new(
                line,
                column,
                format!(
                    "the blueprint expands to more than the node limit of {} nodes (every \
                     node an alias copies counts); refusing it",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn check_depth(&self, extra: usize, line: u32, column: u32) -> Result<(), LoadError> {
        if self.stack.len().saturating_add(extra) > self.limits.max_depth {
            return Err(LoadError::new(
                line,
                column,
                format!(
                    "the blueprint nests deeper than the depth limit of {} levels",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn in_key_position(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        )
    }

    /// Remembers an anchored node for its aliases. The kept copy counts against the node
    /// limit too, so nested anchors cannot multiply memory behind the limit's back.
    fn remember(
        &mut self,
        anchor: usize,
        node: &Node,
        nodes: usize,
        height: usize,
    ) -> Result<(), LoadError> {
        if anchor == 0 {
            return Ok(());
        }
        self.count(nodes, node.line, node.column)?;
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                nodes,
                height,
            },
        );
        Ok(())
    }

    /// Hands a finished node to its parent (or makes it the root).
    fn complete(&mut self, node: Node, height: usize, merge_key: bool) -> Result<(), LoadError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        frame.height = frame.height.max(height);
        match &mut frame.kind {
            FrameKind::Seq { .. } => self.items.push(node),
            FrameKind::Map { merges, key, .. } => match key.take() {
                None => {
                    *key = Some(if merge_key {
                        Key::Merge
                    } else {
                        Key::Text(key_text(node)?)
                    });
                }
                Some(Key::Text(text)) => self.pairs.push((text, node)),
                Some(Key::Merge) => merges.push(node),
            },
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        // Owned when the scanner had to build the text: moved into the node (see `fitted`).
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<String>,
        line: u32,
        column: u32,
    ) -> Result<(), LoadError> {
        self.count(1, line, column)?;
        let key_position = self.in_key_position();
        let mut merge_key = false;
        let error = |message: String| LoadError::new(line, column, message);
        let value = match tag {
            None if style == ScalarStyle::Plain => match scalar::resolve_plain(&text) {
                Ok(Plain::Null) => NodeValue::Null,
                Ok(Plain::Bool(b)) => NodeValue::Bool(b),
                Ok(Plain::Int(i)) => NodeValue::Int(i),
                Ok(Plain::Float(f)) => NodeValue::Float(f),
                Ok(Plain::Str) => NodeValue::Str(fitted(text)),
                Ok(Plain::Merge) if key_position => {
                    merge_key = true;
                    NodeValue::Str(fitted(text))
                }
                Ok(Plain::Merge) => {
                    return Err(error(
                        "a plain `<<` is a merge key and only allowed as a mapping key; \
                         quote it (\"<<\") to mean the text"
                            .to_owned(),
                    ));
                }
                // PyYAML turns a `=` key into the string "=".
                Ok(Plain::ValueType) if key_position => NodeValue::Str(fitted(text)),
                Ok(Plain::ValueType) => {
                    return Err(error(
                        "a plain `=` cannot be loaded (YAML 1.1 resolves it to the \"value\" \
                         type, which authentik's loader cannot construct); quote it (\"=\")"
                            .to_owned(),
                    ));
                }
                Err(IntError::Overflow) => {
                    return Err(error(format!(
                        "the integer `{text}` does not fit in 64 bits"
                    )));
                }
                Err(IntError::Invalid) => {
                    return Err(error(format!(
                        "`{text}` has the form of a YAML 1.1 integer but no digits; quote it \
                         if it is text"
                    )));
                }
            },
            None => NodeValue::Str(fitted(text)),
            Some(name) => tagged_scalar(&name, &text, line, column)?,
        };
        let node = Node::new(value, line, column);
        self.remember(anchor, &node, 1, 0)?;
        self.complete(node, 0, merge_key)
    }

    fn open(
        &mut self,
        kind: FrameKind,
        anchor: usize,
        tag: Option<String>,
        line: u32,
        column: u32,
    ) -> Result<(), LoadError> {
        self.check_depth(1, line, column)?;
        let nodes_before = self.nodes;
        self.count(1, line, column)?;
        self.stack.push(Frame {
            kind,
            tag,
            anchor,
            line,
            column,
            nodes_before,
            height: 0,
        });
        Ok(())
    }

    fn close(&mut self) -> Result<(), LoadError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (line, column) = (frame.line, frame.column);
        let height = frame.height + 1;
        let value = match frame.kind {
            FrameKind::Seq { start } => {
                let items: Vec<Node> = self.items.drain(start..).collect();
                match frame.tag.as_deref() {
                    None | Some("!") => NodeValue::Seq(items),
                    Some(name) if name.strip_prefix(CORE) == Some("seq") => NodeValue::Seq(items),
                    Some(name) => tagged_collection(name, Raw::Seq(items), line, column)?,
                }
            }
            FrameKind::Map { start, merges, .. } => {
                let pairs = finish_map(self.pairs.drain(start..).collect(), merges)?;
                match frame.tag.as_deref() {
                    None | Some("!") => NodeValue::Map(pairs),
                    Some(name) if name.strip_prefix(CORE) == Some("map") => NodeValue::Map(pairs),
                    Some(name) => tagged_collection(name, Raw::Map, line, column)?,
                }
            }
        };
        let node = Node::new(value, line, column);
        let nodes = self.nodes - frame.nodes_before;
        self.remember(frame.anchor, &node, nodes, height)?;
        self.complete(node, height, false)
    }

    fn alias(&mut self, anchor: usize, line: u32, column: u32) -> Result<(), LoadError> {
        let Some(anchored) = self.anchors.get(&anchor) else {
            return Err(LoadError::new(
                line,
                column,
                "this alias refers to an anchor that is not defined before it, or to a node \
                 that contains the alias itself",
            ));
        };
        let (nodes, height) = (anchored.nodes, anchored.height);
        // Check the cost before copying anything.
        self.count(nodes, line, column)?;
        self.check_depth(height, line, column)?;
        let node = self.anchors[&anchor].node.clone();
        self.complete(node, height, false)
    }
}

/// A scalar with an explicit tag.
fn tagged_scalar(name: &str, text: &str, line: u32, column: u32) -> Result<NodeValue, LoadError> {
    let error = |message: String| LoadError::new(line, column, message);
    if name == "!" {
        return Ok(NodeValue::Str(text.to_owned()));
    }
    if let Some(core) = name.strip_prefix(CORE) {
        return match core {
            "str" => Ok(NodeValue::Str(text.to_owned())),
            "null" => Ok(NodeValue::Null),
            "int" => match scalar::construct_int(text) {
                Ok(i) => Ok(NodeValue::Int(i)),
                Err(IntError::Overflow) => Err(error(format!(
                    "the integer `{text}` does not fit in 64 bits"
                ))),
                Err(IntError::Invalid) => {
                    Err(error(format!("`!!int` cannot read `{text}` as an integer")))
                }
            },
            "float" => scalar::construct_float(text)
                .map(NodeValue::Float)
                .ok_or_else(|| error(format!("`!!float` cannot read `{text}` as a number"))),
            "bool" => scalar::construct_bool(text)
                .map(NodeValue::Bool)
                .ok_or_else(|| {
                    error(format!(
                        "`!!bool` expects yes, no, true, false, on or off, found `{text}`"
                    ))
                }),
            "seq" => Err(error(
                "`!!seq` expects a sequence, found a scalar".to_owned(),
            )),
            "map" => Err(error(
                "`!!map` expects a mapping, found a scalar".to_owned(),
            )),
            _ => Err(error(unknown_tag(name))),
        };
    }
    if tags::is_blueprint_tag(name) {
        let tag = tags::build(name, Raw::Scalar(text.to_owned()), line, column)?;
        return Ok(NodeValue::Tag(Box::new(tag)));
    }
    Err(error(unknown_tag(name)))
}

/// A sequence or mapping with an explicit tag other than `!`, `!!seq` on a sequence or
/// `!!map` on a mapping.
fn tagged_collection(name: &str, raw: Raw, line: u32, column: u32) -> Result<NodeValue, LoadError> {
    let found = match raw {
        Raw::Map => "a mapping",
        _ => "a sequence",
    };
    if let Some(core) = name.strip_prefix(CORE) {
        let expected = match core {
            "str" | "int" | "float" | "bool" | "null" => "a scalar",
            "seq" => "a sequence",
            "map" => "a mapping",
            _ => return Err(LoadError::new(line, column, unknown_tag(name))),
        };
        return Err(LoadError::new(
            line,
            column,
            format!("`!!{core}` expects {expected}, found {found}"),
        ));
    }
    if tags::is_blueprint_tag(name) {
        let tag = tags::build(name, raw, line, column)?;
        return Ok(NodeValue::Tag(Box::new(tag)));
    }
    Err(LoadError::new(line, column, unknown_tag(name)))
}

/// Applies merge keys and duplicate-key rules, as PyYAML's `flatten_mapping` and a Python
/// dict do: merged pairs come first (from a sequence of mappings, earlier mappings win over
/// later ones), then the mapping's own pairs; a later pair for the same key replaces the
/// value and keeps the first position. So explicit keys win over merged ones.
fn finish_map(
    pairs: Vec<(String, Node)>,
    merges: Vec<Node>,
) -> Result<Vec<(String, Node)>, LoadError> {
    if merges.is_empty() {
        // Most mappings: kept as they are unless a key repeats.
        if has_unique_keys(&pairs) {
            return Ok(pairs);
        }
        return Ok(unique_pairs(pairs.into_iter()));
    }
    let merge_error = |node: &Node| {
        LoadError::at(
            node,
            format!(
                "a merge key (`<<`) takes a mapping or a sequence of mappings, found {}",
                node.kind_name()
            ),
        )
    };
    let mut merged: Vec<(String, Node)> = Vec::new();
    for node in merges {
        match node.value {
            NodeValue::Map(entries) => merged.extend(entries),
            NodeValue::Seq(items) => {
                let mut groups = Vec::with_capacity(items.len());
                for item in items {
                    if !matches!(item.value, NodeValue::Map(_)) {
                        return Err(merge_error(&item));
                    }
                    if let NodeValue::Map(entries) = item.value {
                        groups.push(entries);
                    }
                }
                for entries in groups.into_iter().rev() {
                    merged.extend(entries);
                }
            }
            other => return Err(merge_error(&Node::new(other, node.line, node.column))),
        }
    }
    Ok(unique_pairs(merged.into_iter().chain(pairs)))
}

/// Whether no key is given twice.
fn has_unique_keys(pairs: &[(String, Node)]) -> bool {
    if pairs.len() <= LINEAR_KEYS {
        return pairs
            .iter()
            .enumerate()
            .all(|(position, (key, _))| pairs[..position].iter().all(|(other, _)| other != key));
    }
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    pairs.iter().all(|(key, _)| seen.insert(key.as_str()))
}

/// Keys this many or fewer are told apart by comparing them, without a hash index: most
/// mappings of a blueprint have a handful of keys.
const LINEAR_KEYS: usize = 16;

/// The pairs with one per key, as a Python dict keeps them: a later pair for a key replaces
/// the value and keeps the first position.
fn unique_pairs(pairs: impl Iterator<Item = (String, Node)>) -> Vec<(String, Node)> {
    let mut unique: Vec<(String, Node)> = Vec::with_capacity(pairs.size_hint().0);
    // Built once the mapping outgrows a linear search: key -> position in `unique`.
    let mut index: Option<HashMap<String, usize>> = None;
    for (key, node) in pairs {
        let found = match &index {
            Some(index) => index.get(&key).copied(),
            None => unique.iter().position(|(existing, _)| *existing == key),
        };
        if let Some(position) = found {
            unique[position].1 = node;
            continue;
        }
        if let Some(index) = &mut index {
            index.insert(key.clone(), unique.len());
        }
        unique.push((key, node));
        if index.is_none() && unique.len() > LINEAR_KEYS {
            index = Some(
                unique
                    .iter()
                    .enumerate()
                    .map(|(position, (key, _))| (key.clone(), position))
                    .collect(),
            );
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::Tag;

    fn load_ok(text: &str) -> Node {
        load(text, &Limits::default()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn load_err(text: &str) -> LoadError {
        match load(text, &Limits::default()) {
            Ok(node) => panic!("{text:?} loaded: {node:?}"),
            Err(error) => error,
        }
    }

    /// The value of `key` in a top-level mapping.
    fn value_of(text: &str, key: &str) -> NodeValue {
        load_ok(text)
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {text:?}"))
            .value
            .clone()
    }

    fn keys(node: &Node) -> Vec<&str> {
        node.as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect()
    }

    fn s(text: &str) -> NodeValue {
        NodeValue::Str(text.to_owned())
    }

    /// A large blueprint's tree is most of what a parse keeps: it holds its text and its
    /// children, not the scanner's buffers or room for children that never came.
    #[test]
    fn a_tree_holds_its_text_and_children_without_spare_room() {
        let root = load_ok(
            "entries:\n- model: authentik_core.group\n  identifiers:\n    name: admins\n  \
             attrs: {is_superuser: true}\n- model: authentik_core.user\n",
        );
        fn check(node: &Node) {
            match &node.value {
                NodeValue::Str(text) => assert!(
                    text.capacity() <= text.len() + FITTED_SLACK,
                    "{text:?} keeps room for {} bytes",
                    text.capacity()
                ),
                NodeValue::Seq(items) => {
                    assert_eq!(items.capacity(), items.len(), "{node:?}");
                    items.iter().for_each(check);
                }
                NodeValue::Map(pairs) => {
                    assert_eq!(pairs.capacity(), pairs.len(), "{node:?}");
                    for (key, value) in pairs {
                        assert!(key.capacity() <= key.len() + FITTED_SLACK, "{key:?}");
                        check(value);
                    }
                }
                _ => {}
            }
        }
        check(&root);
        let entries = root
            .get("entries")
            .and_then(Node::as_seq)
            .map(<[Node]>::len);
        assert_eq!(entries, Some(2));
    }

    #[test]
    fn yaml_1_1_examples_from_the_spec() {
        // §1.1 and §13.1.
        assert_eq!(value_of("enabled: no", "enabled"), NodeValue::Bool(false));
        assert_eq!(value_of("a: yes", "a"), NodeValue::Bool(true));
        assert_eq!(value_of("a: off", "a"), NodeValue::Bool(false));
        assert_eq!(value_of("a: On", "a"), NodeValue::Bool(true));
        assert_eq!(value_of("a: 1:20", "a"), NodeValue::Int(80));
        assert_eq!(value_of("a: 0777", "a"), NodeValue::Int(511));
        assert_eq!(value_of("a: 1_000", "a"), NodeValue::Int(1000));
        assert_eq!(value_of("a: 1e3", "a"), s("1e3"));
        assert_eq!(value_of("a: 2024-01-01", "a"), s("2024-01-01"));
        assert_eq!(
            value_of("a: 2001-12-14t21:59:43.10-05:00", "a"),
            s("2001-12-14t21:59:43.10-05:00")
        );
        assert_eq!(value_of("a: ~", "a"), NodeValue::Null);
        assert_eq!(value_of("a: null", "a"), NodeValue::Null);
        assert_eq!(value_of("a:", "a"), NodeValue::Null);
        assert_eq!(value_of("a: y", "a"), s("y"));
        assert_eq!(value_of("a: n", "a"), s("n"));
        assert_eq!(value_of("a: 1.5", "a"), NodeValue::Float(1.5));
        assert_eq!(value_of("a: 1:20.5", "a"), NodeValue::Float(80.5));
        assert_eq!(value_of("a: .inf", "a"), NodeValue::Float(f64::INFINITY));
        assert_eq!(value_of("a: 0x1F", "a"), NodeValue::Int(31));
        assert_eq!(value_of("a: 0b101", "a"), NodeValue::Int(5));
        assert_eq!(value_of("a: -1:20", "a"), NodeValue::Int(-80));
    }

    #[test]
    fn only_plain_scalars_are_resolved() {
        assert_eq!(value_of("a: 'yes'", "a"), s("yes"));
        assert_eq!(value_of("a: \"0777\"", "a"), s("0777"));
        assert_eq!(value_of("a: |\n  true\n", "a"), s("true\n"));
        assert_eq!(value_of("a: >-\n  12\n", "a"), s("12"));
        assert_eq!(value_of("a: \"\"", "a"), s(""));
    }

    #[test]
    fn standard_tags_are_honoured() {
        assert_eq!(value_of("a: !!str yes", "a"), s("yes"));
        assert_eq!(value_of("a: !!str 0777", "a"), s("0777"));
        assert_eq!(value_of("a: !!int \"12\"", "a"), NodeValue::Int(12));
        assert_eq!(value_of("a: !!float 1", "a"), NodeValue::Float(1.0));
        assert_eq!(value_of("a: !!float '1e3'", "a"), NodeValue::Float(1000.0));
        assert_eq!(value_of("a: !!bool \"Yes\"", "a"), NodeValue::Bool(true));
        assert_eq!(value_of("a: !!null x", "a"), NodeValue::Null);
        assert_eq!(value_of("a: ! 12", "a"), s("12"));
        assert_eq!(
            value_of("a: !!seq [1]", "a"),
            NodeValue::Seq(vec![Node::new(NodeValue::Int(1), 1, 11)])
        );
        assert!(matches!(
            value_of("a: !!map {b: 1}", "a"),
            NodeValue::Map(_)
        ));

        let error = load_err("a: !!int 1.5");
        assert!(error.message.contains("!!int"), "{}", error.message);
        let error = load_err("a: !!bool y");
        assert!(error.message.contains("!!bool"), "{}", error.message);
        let error = load_err("a: !!str [a]");
        assert!(
            error.message.contains("expects a scalar"),
            "{}",
            error.message
        );
        let error = load_err("a: !!seq a");
        assert!(
            error.message.contains("expects a sequence"),
            "{}",
            error.message
        );
    }

    #[test]
    fn unknown_tags_are_refused_by_name_and_line() {
        let error = load_err("a: 1\nb:\n  c: !Foo x\n");
        assert_eq!(error.line, 3);
        assert!(error.message.contains("`!Foo`"), "{}", error.message);
        let error = load_err("a: !keyof x");
        assert!(
            error.message.contains("did you mean `!KeyOf`"),
            "{}",
            error.message
        );
        let error = load_err("a: !!binary aGVsbG8=");
        assert!(error.message.contains("`!!binary`"), "{}", error.message);
        let error = load_err("a: !!set {x: null}");
        assert!(error.message.contains("`!!set`"), "{}", error.message);
    }

    #[test]
    fn blueprint_tags_become_tag_nodes() {
        let node = load_ok("a: !KeyOf flow\nb: !Find [m, [k, !Context v]]\n");
        let a = node.get("a").unwrap();
        assert_eq!(a.as_tag().unwrap().tag, Tag::KeyOf("flow".to_owned()));
        assert_eq!(a.line, 1);
        let b = node.get("b").unwrap().as_tag().unwrap();
        assert_eq!(b.line, 2);
        assert!(matches!(b.tag, Tag::Find { .. }));
    }

    #[test]
    fn json_is_yaml() {
        let node = load_ok(
            r#"{"version": 1, "entries": [{"model": "a.b", "attrs": {"x": [1, 2.5, true, null, "yes"]}}]}"#,
        );
        let value = node.to_value_untagged().unwrap();
        assert_eq!(
            value.to_json(),
            serde_json::json!({
                "version": 1,
                "entries": [{"model": "a.b", "attrs": {"x": [1, 2.5, true, null, "yes"]}}]
            })
        );
    }

    #[test]
    fn keys_are_spelled_like_json() {
        let node = load_ok("{true: a, null: b, 1: c, 1.5: d, ~: e, 0x10: f, \"x\": g}");
        assert_eq!(keys(&node), ["true", "null", "1", "1.5", "16", "x"]);
        // `~` and `null` are the same key: the later value, the first position.
        assert_eq!(node.get("null").unwrap().value, s("e"));
        let error = load_err("a: 1\n? [x, y]\n: z\n");
        assert_eq!(error.line, 2);
        assert!(
            error.message.contains("must be a scalar"),
            "{}",
            error.message
        );
        let error = load_err("a: 1\n? {b: 2}\n: c\n");
        assert!(
            error.message.contains("found a mapping"),
            "{}",
            error.message
        );
        let error = load_err("!KeyOf x: 1");
        assert!(error.message.contains("`!KeyOf` tag"), "{}", error.message);
    }

    #[test]
    fn duplicate_keys_last_value_first_position() {
        let node = load_ok("a: 1\nb: 2\na: 3\n");
        assert_eq!(keys(&node), ["a", "b"]);
        assert_eq!(node.get("a").unwrap().value, NodeValue::Int(3));
    }

    #[test]
    fn duplicate_keys_in_a_large_mapping_too() {
        // Past the keys told apart by comparison: the same rule through the hash index, for
        // a duplicate of a key seen before the index existed and of one seen after.
        let mut text: String = (0..30).map(|n| format!("k{n}: {n}\n")).collect();
        text.push_str("k3: three\nk25: twenty-five\n");
        let node = load_ok(&text);
        let expected: Vec<String> = (0..30).map(|n| format!("k{n}")).collect();
        assert_eq!(keys(&node), expected);
        assert_eq!(node.get("k3").unwrap().value, s("three"));
        assert_eq!(node.get("k25").unwrap().value, s("twenty-five"));
        assert_eq!(node.get("k24").unwrap().value, NodeValue::Int(24));
    }

    #[test]
    fn anchors_and_aliases_copy_nodes() {
        let node = load_ok("base: &b {x: 1, y: [a, b]}\ncopy: *b\nscalar: &s hello\nagain: *s\n");
        assert_eq!(
            node.get("copy").unwrap().value,
            node.get("base").unwrap().value
        );
        assert_eq!(node.get("again").unwrap().value, s("hello"));
        // The parser refuses an alias to an anchor it never saw.
        let error = load_err("a: *nope\n");
        assert_eq!(error.line, 1);
        // An alias inside the node its anchor names.
        assert!(load("a: &x [1, *x]\n", &Limits::default()).is_err());
    }

    #[test]
    fn merge_keys() {
        let text = "\
base: &base {a: 1, b: 2}
other: &other {b: 20, c: 30}
one:
  <<: *base
  b: 3
many:
  <<: [*base, *other]
  d: 4
";
        let node = load_ok(text);
        let one = node.get("one").unwrap();
        assert_eq!(keys(one), ["a", "b"]);
        // Explicit keys win over merged ones.
        assert_eq!(one.get("b").unwrap().value, NodeValue::Int(3));
        let many = node.get("many").unwrap();
        // Earlier mappings win over later ones; merged keys come first (later mapping's keys
        // first, as PyYAML orders them), then the mapping's own.
        assert_eq!(keys(many), ["b", "c", "a", "d"]);
        assert_eq!(many.get("b").unwrap().value, NodeValue::Int(2));
        assert_eq!(many.get("c").unwrap().value, NodeValue::Int(30));
        // A quoted `<<` is an ordinary key.
        let node = load_ok("\"<<\": {a: 1}\n");
        assert_eq!(keys(&node), ["<<"]);

        let error = load_err("a: 1\nb:\n  <<: [x]\n");
        assert!(error.message.contains("merge key"), "{}", error.message);
        let error = load_err("b:\n  <<: 1\n");
        assert!(error.message.contains("merge key"), "{}", error.message);
        let error = load_err("a: <<\n");
        assert!(error.message.contains("merge key"), "{}", error.message);
    }

    #[test]
    fn value_indicator() {
        let error = load_err("a: =\n");
        assert!(error.message.contains('='), "{}", error.message);
        // As a key, PyYAML makes it the string "=".
        assert_eq!(keys(&load_ok("=: 1\n")), ["="]);
    }

    #[test]
    fn integer_overflow_names_the_line() {
        let error = load_err("a: 1\nb: 9223372036854775808\n");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("64 bits"), "{}", error.message);
        assert_eq!(
            value_of("a: -9223372036854775808", "a"),
            NodeValue::Int(i64::MIN)
        );
    }

    #[test]
    fn lines_and_columns() {
        let node = load_ok("a: 1\nb:\n  - x\n  - !KeyOf y\n");
        assert_eq!((node.line, node.column), (1, 1));
        let b = node.get("b").unwrap();
        assert_eq!(b.line, 3);
        let items = b.as_seq().unwrap();
        assert_eq!((items[0].line, items[0].column), (3, 5));
        assert_eq!(items[1].line, 4);
        assert_eq!(items[1].as_tag().unwrap().line, 4);
    }

    #[test]
    fn exactly_one_document() {
        assert_eq!(load_err("").message, "the blueprint is empty");
        assert_eq!(
            load_err("# just a comment\n").message,
            "the blueprint is empty"
        );
        let error = load_err("a: 1\n---\nb: 2\n");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("second"), "{}", error.message);
        // An explicit start and end of one document is fine.
        assert_eq!(value_of("---\na: 1\n...\n", "a"), NodeValue::Int(1));
        // A bare `---` is a document holding null.
        assert!(load_ok("---\n").is_null());
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let error = load_err("a: [1, 2\nb: 3\n");
        assert!(error.line >= 1);
        let error = load_err("a: 1\nb: 'unterminated\n");
        assert!(error.line >= 2, "{error}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..9 {
            let previous = format!("*a{}", level - 1);
            let items = vec![previous; 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = load_err(&text);
        assert!(error.message.contains("node limit"), "{}", error.message);

        // A small limit counts alias copies too.
        let limits = Limits {
            max_nodes: 20,
            ..Limits::default()
        };
        let text = "a: &a [1, 2, 3, 4, 5]\nb: [*a, *a, *a]\n";
        let error = load(text, &limits).unwrap_err();
        assert!(error.message.contains("node limit"), "{}", error.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Within the scanner's own flow limit: our depth limit answers.
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = load_err(&text);
        assert!(error.message.contains("depth limit"), "{}", error.message);
        // 10,000 levels: the scanner stops first (at 255), reported as the depth limit.
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let error = load_err(&text);
        assert_eq!(error.line, 1);
        assert!(error.message.contains("depth limit"), "{}", error.message);
        // Block sequences and mappings.
        let text = format!("{}x\n", "- ".repeat(10_000));
        let error = load_err(&text);
        assert!(error.message.contains("depth limit"), "{}", error.message);
        let mut text = String::new();
        for level in 0..100 {
            text.push_str(&" ".repeat(level));
            text.push_str("k:\n");
        }
        let error = load_err(&text);
        assert!(error.message.contains("depth limit"), "{}", error.message);
        // 64 levels are fine.
        let text = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(load(&text, &Limits::default()).is_ok());
        // An alias cannot smuggle depth past the limit.
        let limits = Limits {
            max_depth: 5,
            ..Limits::default()
        };
        let text = "a: &a [[[1]]]\nb: [[*a]]\n";
        let error = load(text, &limits).unwrap_err();
        assert!(error.message.contains("depth limit"), "{}", error.message);
    }

    #[test]
    fn oversized_input_is_refused() {
        let limits = Limits {
            max_bytes: 16,
            ..Limits::default()
        };
        let error = load("a: 0123456789abcdef\n", &limits).unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.message.contains("limit"), "{}", error.message);
    }

    #[test]
    fn untagged_values_and_back() {
        let node = load_ok("a: [1, {b: null}]\nc: !KeyOf x\n");
        assert!(node.to_value_untagged().is_none());
        assert_eq!(node.first_tag().unwrap().line, 2);
        let a = node.get("a").unwrap();
        let value = a.to_value_untagged().unwrap();
        let back = Node::from_value(&value, 1, 1);
        assert_eq!(back.to_value_untagged().unwrap(), value);
    }

    #[test]
    fn node_merge_for_contexts() {
        let base = load_ok("foo: bar\nlist: [a]\nmap: {x: 1}\n");
        let overlay = load_ok("bar: baz\nlist: [b]\nmap: {y: 2}\n");
        let merged = deep_merge_nodes(base, overlay);
        assert_eq!(keys(&merged), ["foo", "list", "map", "bar"]);
        let value = merged.to_value_untagged().unwrap();
        assert_eq!(
            value.to_json(),
            serde_json::json!({"foo": "bar", "list": ["a", "b"], "map": {"x": 1, "y": 2}, "bar": "baz"})
        );
    }
}
