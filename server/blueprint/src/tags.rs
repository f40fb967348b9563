//! authentik's 14 blueprint tags as a typed tree, built while the document loads.
//!
//! authentik constructs its tag objects at load time but checks almost nothing about their
//! shape: a two-item `!If` or a one-item `!Format` crashes the importer with an `IndexError`,
//! a mapping under `!KeyOf` fails later in odd ways. Here each tag is checked when it is read,
//! so a malformed tag is a [`LoadError`] that names the tag, what it expects, and its line.
//! What the tags *do* is in [`crate::eval`].
//!
//! Where authentik would only fail at resolution time in a way that is certain from the text
//! alone (a format string that is not a string, an `!Enumerate` output other than SEQ/MAP, a
//! `!Condition` mode that is not a known literal, an `!Enumerate` iterating over its own
//! `!Index 0`), the error is raised here instead. Where authentik silently ignores surplus
//! items (`!If` with four, a `!Find` query pair with three), this is an error too.

use crate::value::json_float_key;
use crate::yaml::{LoadError, Node, NodeValue};

/// The tags authentik's `BlueprintLoader` registers, exactly as they are spelled.
pub const TAG_NAMES: [&str; 14] = [
    "!KeyOf",
    "!Find",
    "!FindObject",
    "!Context",
    "!Format",
    "!Condition",
    "!If",
    "!Env",
    "!File",
    "!Enumerate",
    "!Value",
    "!Index",
    "!AtIndex",
    "!ParseJSON",
];

/// The modes of `!Condition` (matched case-insensitively).
pub const CONDITION_MODES: [&str; 6] = ["AND", "NAND", "OR", "NOR", "XOR", "XNOR"];

/// A tag and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct TagNode {
    pub tag: Tag,
    /// 1-based line of the tag.
    pub line: u32,
}

/// One blueprint tag with its arguments (as unevaluated nodes where authentik evaluates them
/// lazily).
#[derive(Debug, Clone, PartialEq)]
pub enum Tag {
    /// `!KeyOf id`: the primary key of the object an earlier entry with that `id` produced.
    KeyOf(String),
    /// `!Env NAME` or `!Env [NAME, default]`.
    Env { name: String, default: Option<Node> },
    /// `!File PATH` or `!File [PATH, default]`.
    File { path: String, default: Option<Node> },
    /// `!Context KEY` or `!Context [KEY, default]`. A non-string scalar key is spelled as
    /// mapping keys are (`1`, `true`), since context keys are strings here.
    Context { key: String, default: Option<Node> },
    /// `!ParseJSON 'text'` (scalar only).
    ParseJson(String),
    /// `!Format [format, arg, …]`.
    Format { format: String, args: Vec<Node> },
    /// `!Find [model, [key, value], …]`: a primary key, or null.
    Find {
        model: Node,
        query: Vec<(Node, Node)>,
    },
    /// `!FindObject [model, [key, value], …]`: an object's API representation, or null.
    FindObject {
        model: Node,
        query: Vec<(Node, Node)>,
    },
    /// `!Condition [MODE, value, …]` with at least one value. `mode` is a string literal
    /// (checked at load) or a tag (checked when resolved).
    Condition { mode: Node, args: Vec<Node> },
    /// `!If [cond]` (gives a boolean) or `!If [cond, then, else]`.
    If {
        cond: Node,
        then: Option<(Node, Node)>,
    },
    /// `!Enumerate [iterable, SEQ|MAP, body]`.
    Enumerate {
        iterable: Node,
        output: EnumerateOutput,
        body: Node,
    },
    /// `!Index N`: the key or index of the current item of the N-th enclosing `!Enumerate`.
    Index(u32),
    /// `!Value N`: the value of the current item of the N-th enclosing `!Enumerate`.
    Value(u32),
    /// `!AtIndex [object, key]` or `!AtIndex [object, key, default]`.
    AtIndex {
        object: Node,
        key: Node,
        default: Option<Node>,
    },
}

/// What `!Enumerate` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumerateOutput {
    /// A list of the bodies.
    Seq,
    /// A mapping merged from the bodies (each a `[key, value]` pair or a mapping).
    Map,
}

impl Tag {
    /// The tag as written: `!KeyOf`, `!ParseJSON`, …
    pub fn name(&self) -> &'static str {
        match self {
            Tag::KeyOf(_) => "!KeyOf",
            Tag::Env { .. } => "!Env",
            Tag::File { .. } => "!File",
            Tag::Context { .. } => "!Context",
            Tag::ParseJson(_) => "!ParseJSON",
            Tag::Format { .. } => "!Format",
            Tag::Find { .. } => "!Find",
            Tag::FindObject { .. } => "!FindObject",
            Tag::Condition { .. } => "!Condition",
            Tag::If { .. } => "!If",
            Tag::Enumerate { .. } => "!Enumerate",
            Tag::Index(_) => "!Index",
            Tag::Value(_) => "!Value",
            Tag::AtIndex { .. } => "!AtIndex",
        }
    }
}

/// Whether `name` (a full tag name such as `!KeyOf`) is one of authentik's tags.
pub(crate) fn is_blueprint_tag(name: &str) -> bool {
    TAG_NAMES.contains(&name)
}

/// The node a tag was written on, before it is interpreted.
pub(crate) enum Raw {
    /// The scalar's text exactly as written (authentik reads `node.value`, unresolved).
    Scalar(String),
    Seq(Vec<Node>),
    Map,
}

impl Raw {
    fn found(&self) -> String {
        match self {
            Raw::Scalar(_) => "a scalar".to_owned(),
            Raw::Seq(items) if items.len() == 1 => "a sequence of 1 item".to_owned(),
            Raw::Seq(items) => format!("a sequence of {} items", items.len()),
            Raw::Map => "a mapping".to_owned(),
        }
    }
}

struct Shape<'n> {
    name: &'n str,
    line: u32,
    column: u32,
}

impl Shape<'_> {
    fn error(&self, message: impl std::fmt::Display) -> LoadError {
        LoadError::new(self.line, self.column, format!("`{}` {message}", self.name))
    }

    fn expects(&self, expected: &str, raw: &Raw) -> LoadError {
        self.error(format_args!("expects {expected}, found {}", raw.found()))
    }

    fn scalar(&self, raw: Raw, expected: &str) -> Result<String, LoadError> {
        match raw {
            Raw::Scalar(text) => Ok(text),
            other => Err(self.expects(expected, &other)),
        }
    }

    /// The items of a sequence with one of `counts` items (or, with `at_least`, at least
    /// `counts[0]`).
    fn seq(
        &self,
        raw: Raw,
        counts: &[usize],
        at_least: bool,
        expected: &str,
    ) -> Result<Vec<Node>, LoadError> {
        match raw {
            Raw::Seq(items)
                if counts.contains(&items.len())
                    || (at_least && items.len() >= counts.first().copied().unwrap_or(0)) =>
            {
                Ok(items)
            }
            other => Err(self.expects(expected, &other)),
        }
    }
}

/// Builds the tag `name` (one of [`TAG_NAMES`]) from the node it was written on.
pub(crate) fn build(name: &str, raw: Raw, line: u32, column: u32) -> Result<TagNode, LoadError> {
    let shape = Shape { name, line, column };
    let tag = match name {
        "!KeyOf" => Tag::KeyOf(shape.scalar(raw, "a scalar: the `id` of an earlier entry")?),
        "!ParseJSON" => Tag::ParseJson(shape.scalar(raw, "a scalar holding JSON text")?),
        "!Index" | "!Value" => {
            let text = shape.scalar(
                raw,
                "a scalar: the depth (0 for the innermost `!Enumerate`)",
            )?;
            let depth = parse_depth(&text).ok_or_else(|| {
                shape.error(format_args!(
                    "expects a depth of 0 or more (0 for the innermost `!Enumerate`), found `{text}`"
                ))
            })?;
            if name == "!Index" {
                Tag::Index(depth)
            } else {
                Tag::Value(depth)
            }
        }
        "!Env" | "!File" | "!Context" => {
            let what = match name {
                "!Env" => "NAME",
                "!File" => "PATH",
                _ => "KEY",
            };
            let expected = format!("a scalar ({what}) or a sequence `[{what}, default]`");
            let (first, default) = match raw {
                Raw::Scalar(text) => (text, None),
                Raw::Seq(items) if (1..=2).contains(&items.len()) => {
                    let mut items = items.into_iter();
                    let first = items
                        .next()
                        .map(|node| key_scalar(&shape, &node, name == "!Context"));
                    let first = match first {
                        Some(result) => result?,
                        None => return Err(shape.error(format_args!("expects {expected}"))),
                    };
                    (first, items.next())
                }
                other => return Err(shape.expects(&expected, &other)),
            };
            match name {
                "!Env" => Tag::Env {
                    name: first,
                    default,
                },
                "!File" => Tag::File {
                    path: first,
                    default,
                },
                _ => Tag::Context {
                    key: first,
                    default,
                },
            }
        }
        "!Format" => {
            let items = shape.seq(raw, &[1], true, "a sequence `[format, arg, …]`")?;
            let mut items = items.into_iter();
            let format = match items.next() {
                Some(Node {
                    value: NodeValue::Str(format),
                    ..
                }) => format,
                Some(other) => {
                    return Err(shape.error(format_args!(
                        "expects a format string as its first item, found {}",
                        other.kind_name()
                    )));
                }
                None => return Err(shape.error("expects a format string as its first item")),
            };
            Tag::Format {
                format,
                args: items.collect(),
            }
        }
        "!Find" | "!FindObject" => {
            let items = shape.seq(raw, &[1], true, "a sequence `[model, [key, value], …]`")?;
            let mut items = items.into_iter();
            let Some(model) = items.next() else {
                return Err(shape.error("expects a model as its first item"));
            };
            if !matches!(model.value, NodeValue::Str(_) | NodeValue::Tag(_)) {
                return Err(shape.error(format_args!(
                    "expects a model (`app_label.model`) as its first item, found {}",
                    model.kind_name()
                )));
            }
            let mut query = Vec::new();
            for item in items {
                let found = item.kind_name();
                let line = item.line;
                match item.value {
                    NodeValue::Seq(pair) if pair.len() == 2 => {
                        let mut pair = pair.into_iter();
                        if let (Some(key), Some(value)) = (pair.next(), pair.next()) {
                            if !matches!(key.value, NodeValue::Str(_) | NodeValue::Tag(_)) {
                                return Err(shape.error(format_args!(
                                    "expects each query key to be a string (a field lookup such \
                                     as `name` or `slug__iexact`), found {} on line {}",
                                    key.kind_name(),
                                    key.line
                                )));
                            }
                            query.push((key, value));
                        }
                    }
                    NodeValue::Seq(pair) => {
                        return Err(shape.error(format_args!(
                            "expects each query item to be a pair `[key, value]`, found a \
                             sequence of {} items on line {line}",
                            pair.len()
                        )));
                    }
                    _ => {
                        return Err(shape.error(format_args!(
                            "expects each query item to be a pair `[key, value]`, found {found} \
                             on line {line}"
                        )));
                    }
                }
            }
            if name == "!Find" {
                Tag::Find { model, query }
            } else {
                Tag::FindObject { model, query }
            }
        }
        "!Condition" => {
            let items = shape.seq(
                raw,
                &[2],
                true,
                "a sequence `[MODE, value, …]` with at least one value",
            )?;
            let mut items = items.into_iter();
            let Some(mode) = items.next() else {
                return Err(shape.error("expects a mode"));
            };
            match &mode.value {
                NodeValue::Str(text) => {
                    if !CONDITION_MODES.contains(&text.to_uppercase().as_str()) {
                        return Err(shape.error(format_args!(
                            "has an unknown mode `{text}` (expected one of {})",
                            CONDITION_MODES.join(", ")
                        )));
                    }
                }
                NodeValue::Tag(_) => {}
                _ => {
                    return Err(shape.error(format_args!(
                        "expects a mode ({}) as its first item, found {}",
                        CONDITION_MODES.join(", "),
                        mode.kind_name()
                    )));
                }
            }
            Tag::Condition {
                mode,
                args: items.collect(),
            }
        }
        "!If" => {
            let items = shape.seq(
                raw,
                &[1, 3],
                false,
                "a sequence `[condition]` or `[condition, when_true, when_false]`",
            )?;
            let mut items = items.into_iter();
            let Some(cond) = items.next() else {
                return Err(shape.error("expects a condition"));
            };
            let then = match (items.next(), items.next()) {
                (Some(when_true), Some(when_false)) => Some((when_true, when_false)),
                _ => None,
            };
            Tag::If { cond, then }
        }
        "!Enumerate" => {
            let items = shape.seq(raw, &[3], false, "a sequence `[iterable, SEQ|MAP, body]`")?;
            let mut items = items.into_iter();
            let (Some(iterable), Some(output), Some(body)) =
                (items.next(), items.next(), items.next())
            else {
                return Err(shape.error("expects a sequence `[iterable, SEQ|MAP, body]`"));
            };
            let output = match output.as_str().map(str::to_uppercase).as_deref() {
                Some("SEQ") => EnumerateOutput::Seq,
                Some("MAP") => EnumerateOutput::Map,
                _ => {
                    let found = match output.as_str() {
                        Some(text) => format!("`{text}`"),
                        None => output.kind_name(),
                    };
                    return Err(shape.error(format_args!(
                        "expects SEQ or MAP as its second item, found {found}"
                    )));
                }
            };
            if let Some(inner) = iterable.as_tag()
                && matches!(inner.tag, Tag::Index(0) | Tag::Value(0))
            {
                return Err(shape.error(format_args!(
                    "iterates over its own current item (`{} 0`); use a depth of 1 or more to \
                     reach an enclosing `!Enumerate`",
                    inner.tag.name()
                )));
            }
            Tag::Enumerate {
                iterable,
                output,
                body,
            }
        }
        "!AtIndex" => {
            let items = shape.seq(
                raw,
                &[2, 3],
                false,
                "a sequence `[object, key]` or `[object, key, default]`",
            )?;
            let mut items = items.into_iter();
            let (Some(object), Some(key)) = (items.next(), items.next()) else {
                return Err(shape.error("expects a sequence `[object, key]`"));
            };
            Tag::AtIndex {
                object,
                key,
                default: items.next(),
            }
        }
        _ => {
            return Err(LoadError::new(
                line,
                column,
                format!("unsupported tag `{name}`"),
            ));
        }
    };
    Ok(TagNode { tag, line })
}

/// The first item of `!Env`/`!File`/`!Context`'s sequence form: a literal scalar. `!Env` and
/// `!File` need a string (authentik would call `getenv`/`open` with anything else and crash);
/// `!Context` takes any scalar, spelled as a mapping key.
fn key_scalar(shape: &Shape<'_>, node: &Node, any_scalar: bool) -> Result<String, LoadError> {
    let text = match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        _ if !any_scalar => None,
        NodeValue::Null => Some("null".to_owned()),
        NodeValue::Bool(b) => Some(b.to_string()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::Float(f) => Some(json_float_key(*f)),
        _ => None,
    };
    text.ok_or_else(|| {
        let what = if any_scalar { "a scalar" } else { "a string" };
        shape.error(format_args!(
            "expects {what} as its first item, found {}",
            node.kind_name()
        ))
    })
}

/// Python's `int()` on a depth: optional surrounding whitespace and sign, digits with single
/// underscores between them. Negative depths and depths beyond `u32` are refused.
fn parse_depth(text: &str) -> Option<u32> {
    let text = text.trim();
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    cleaned.parse().ok()
}

#[cfg(test)]
mod tests {
    use crate::limits::Limits;
    use crate::yaml::{LoadError, NodeValue, load};

    use super::*;

    fn tag_of(text: &str) -> Tag {
        let node = load(text, &Limits::default()).unwrap();
        match node.value {
            NodeValue::Tag(tag) => tag.tag,
            other => panic!("not a tag: {other:?}"),
        }
    }

    fn error_of(text: &str) -> LoadError {
        load(text, &Limits::default()).unwrap_err()
    }

    #[test]
    fn scalar_forms() {
        assert_eq!(tag_of("!KeyOf flow"), Tag::KeyOf("flow".to_owned()));
        assert_eq!(tag_of("!Index 0"), Tag::Index(0));
        assert_eq!(tag_of("!Value 2"), Tag::Value(2));
        assert_eq!(
            tag_of("!ParseJSON '{\"foo\": \"bar\"}'"),
            Tag::ParseJson("{\"foo\": \"bar\"}".to_owned())
        );
        // The raw text, not its YAML 1.1 meaning.
        assert_eq!(
            tag_of("!Context 1"),
            Tag::Context {
                key: "1".to_owned(),
                default: None
            }
        );
        assert_eq!(
            tag_of("!Env yes"),
            Tag::Env {
                name: "yes".to_owned(),
                default: None
            }
        );
    }

    #[test]
    fn sequence_forms() {
        match tag_of("!Env [AUTHENTIK_BOOTSTRAP_TOKEN, null]") {
            Tag::Env { name, default } => {
                assert_eq!(name, "AUTHENTIK_BOOTSTRAP_TOKEN");
                assert!(default.unwrap().is_null());
            }
            other => panic!("{other:?}"),
        }
        match tag_of("!Find [authentik_flows.flow, [slug, !KeyOf x], [name, y]]") {
            Tag::Find { model, query } => {
                assert_eq!(model.as_str(), Some("authentik_flows.flow"));
                assert_eq!(query.len(), 2);
                assert!(matches!(query[0].1.as_tag().unwrap().tag, Tag::KeyOf(_)));
            }
            other => panic!("{other:?}"),
        }
        match tag_of("!Enumerate [[a, b], seq, !Value 0]") {
            Tag::Enumerate { output, .. } => assert_eq!(output, EnumerateOutput::Seq),
            other => panic!("{other:?}"),
        }
        assert!(matches!(tag_of("!If [x]"), Tag::If { then: None, .. }));
        assert!(matches!(
            tag_of("!If [x, 1, 2]"),
            Tag::If { then: Some(_), .. }
        ));
        assert!(matches!(
            tag_of("!AtIndex [[a], 0, d]"),
            Tag::AtIndex {
                default: Some(_),
                ..
            }
        ));
        assert!(matches!(
            tag_of("!Condition [or, a]"),
            Tag::Condition { .. }
        ));
        // A tag as the mode is resolved later.
        assert!(matches!(
            tag_of("!Condition [!Context mode, a]"),
            Tag::Condition { .. }
        ));
    }

    #[test]
    fn shape_errors_name_the_tag_and_line() {
        let error = error_of("a: 1\nb: !If [a, b]\n");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("`!If`"), "{}", error.message);
        assert!(error.message.contains("2 items"), "{}", error.message);

        let cases = [
            ("!KeyOf [a]", "`!KeyOf` expects a scalar"),
            ("!KeyOf {a: b}", "`!KeyOf` expects a scalar"),
            ("!ParseJSON [a]", "`!ParseJSON` expects a scalar"),
            ("!Index -1", "`!Index` expects a depth of 0 or more"),
            ("!Value x", "`!Value` expects a depth"),
            ("!Format []", "`!Format` expects a sequence"),
            ("!Format [1, a]", "format string"),
            ("!Format [!Context x]", "format string"),
            ("!Find [m, [a]]", "pair"),
            ("!Find [m, a]", "pair"),
            ("!Find [m, [1, b]]", "query key"),
            ("!Find [[m], [a, b]]", "model"),
            ("!Condition [AND]", "at least one value"),
            ("!Condition [MAYBE, a]", "unknown mode `MAYBE`"),
            ("!Condition [1, a]", "mode"),
            ("!If []", "`!If` expects"),
            ("!If [a, b, c, d]", "4 items"),
            ("!Enumerate [a, SEQ]", "`!Enumerate` expects"),
            ("!Enumerate [a, LIST, b]", "SEQ or MAP"),
            ("!Enumerate [!Index 0, SEQ, b]", "own current item"),
            ("!AtIndex [a]", "`!AtIndex` expects"),
            ("!Env [a, b, c]", "`!Env` expects"),
            ("!Env [[a], b]", "a string"),
            ("!File {a: b}", "`!File` expects"),
            ("!Context [[a]]", "a scalar"),
        ];
        for (text, needle) in cases {
            let error = error_of(text);
            assert!(
                error.message.contains(needle),
                "{text}: {} (wanted {needle})",
                error.message
            );
            assert_eq!(error.line, 1, "{text}");
        }
    }

    #[test]
    fn depth_parsing() {
        assert_eq!(parse_depth("0"), Some(0));
        assert_eq!(parse_depth(" 1 "), Some(1));
        assert_eq!(parse_depth("+2"), Some(2));
        assert_eq!(parse_depth("1_0"), Some(10));
        assert_eq!(parse_depth("-1"), None);
        assert_eq!(parse_depth("1__0"), None);
        assert_eq!(parse_depth(""), None);
        assert_eq!(parse_depth("x"), None);
    }
}
