//! The structure of a blueprint v1 file: `version`, `metadata`, `context`, `entries`.
//!
//! authentik maps the loaded YAML onto its dataclasses with dacite: types are checked, but
//! unknown keys are dropped silently (a typo such as `identifer:` simply vanishes). Here types
//! are checked the same way — an error names the entry, its section and its line — and every
//! unknown key is kept out of the result just as authentik does, **but reported** as a
//! [`Warning`] with the closest known key when one is within two edits. This is a deliberate
//! improvement: the blueprint means the same thing, and its author learns about the typo.
//!
//! Tags stay unevaluated [`Node`]s here; [`crate::eval`] resolves them when the engine
//! processes each entry.

use std::fmt;

use indexmap::IndexMap;

use crate::limits::Limits;
use crate::suggest;
use crate::yaml::{LoadError, Node, NodeValue, load};

const TOP_KEYS: [&str; 4] = ["version", "metadata", "context", "entries"];
const METADATA_KEYS: [&str; 2] = ["name", "labels"];
const ENTRY_KEYS: [&str; 7] = [
    "model",
    "state",
    "conditions",
    "identifiers",
    "attrs",
    "permissions",
    "id",
];
const PERMISSION_KEYS: [&str; 3] = ["permission", "user", "role"];

/// The states an entry may ask for.
pub const STATES: [&str; 4] = ["present", "created", "must_created", "absent"];

/// A parsed blueprint, tags unevaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Blueprint {
    /// Always 1 (the only version there is); 1 also when the file omits it (with a warning).
    pub version: i64,
    pub metadata: Option<Metadata>,
    /// The file's `context`, in order. Values may be tags.
    pub context: Vec<(String, Node)>,
    /// All entries in order; a sectioned `entries` mapping is flattened in section order.
    pub entries: Vec<Entry>,
    /// Things authentik would silently ignore (unknown keys) or assume (a missing version).
    pub warnings: Vec<Warning>,
}

impl Blueprint {
    /// The file's context as a map, ready to be merged under the built-in defaults and over
    /// by an instance's context ([`crate::deep_merge_nodes`]).
    pub fn context_map(&self) -> IndexMap<String, Node> {
        self.context.iter().cloned().collect()
    }

    /// A metadata label's value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.metadata.as_ref()?.labels.get(name).map(String::as_str)
    }
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub labels: IndexMap<String, String>,
}

/// One entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position among all entries, 0-based, across sections. (Messages number entries from
    /// 1, as people count: see [`Entry::label`].)
    pub index: usize,
    /// The section name when `entries` is a mapping of sections.
    pub section: Option<String>,
    /// Line where the entry starts.
    pub line: u32,
    /// A string (`app_label.model`) or a tag.
    pub model: Node,
    /// A string (one of [`STATES`]) or a tag; `present` when omitted.
    pub state: Node,
    /// The state as written when it is not a tag. authentik's `must_created` check reads the
    /// raw state, so a tag resolving to `must_created` behaves like `present` there.
    pub raw_state: Option<String>,
    /// The local name `!KeyOf` refers to (a plain string: tags are not allowed here).
    pub id: Option<String>,
    /// A mapping (empty when omitted or null).
    pub identifiers: Node,
    /// A mapping (empty when omitted or null).
    pub attrs: Node,
    pub conditions: Vec<Node>,
    pub permissions: Vec<PermissionEntry>,
}

impl Entry {
    /// "entry 3 (line 40)" or "entry 3 in section `flows` (line 40)", numbered from 1.
    pub fn label(&self) -> String {
        entry_label(self.index, self.section.as_deref(), self.line)
    }
}

fn entry_label(index: usize, section: Option<&str>, line: u32) -> String {
    match section {
        Some(section) => format!("entry {} in section `{section}` (line {line})", index + 1),
        None => format!("entry {} (line {line})", index + 1),
    }
}

/// One item of an entry's `permissions`.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionEntry {
    /// A string (`app_label.codename` or a codename) or a tag.
    pub permission: Node,
    /// A user's primary key (an integer) or a tag.
    pub user: Option<Node>,
    /// A role's primary key (a string) or a tag.
    pub role: Option<Node>,
    pub line: u32,
}

/// Something authentik would accept silently but the author probably did not mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: u32,
    /// Starts with where: "line 3: …" or "entry 2 (line 17): …".
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a blueprint could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not loadable YAML (or beyond the limits).
    Load(LoadError),
    /// A top-level key or `metadata` has the wrong shape.
    Invalid { line: u32, message: String },
    /// An entry has the wrong shape.
    Entry {
        /// 0-based, across sections.
        index: usize,
        section: Option<String>,
        line: u32,
        message: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Load(error) => write!(f, "{error}"),
            ParseError::Invalid { line, message } => write!(f, "line {line}: {message}"),
            ParseError::Entry {
                index,
                section,
                line,
                message,
            } => write!(
                f,
                "{}: {message}",
                entry_label(*index, section.as_deref(), *line)
            ),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<LoadError> for ParseError {
    fn from(error: LoadError) -> ParseError {
        ParseError::Load(error)
    }
}

impl ParseError {
    /// The 1-based line the error points at.
    pub fn line(&self) -> u32 {
        match self {
            ParseError::Load(error) => error.line,
            ParseError::Invalid { line, .. } | ParseError::Entry { line, .. } => *line,
        }
    }
}

fn invalid(line: u32, message: impl Into<String>) -> ParseError {
    ParseError::Invalid {
        line,
        message: message.into(),
    }
}

fn get<'n>(pairs: &'n [(String, Node)], key: &str) -> Option<&'n Node> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, node)| node)
}

/// Moves the value of `key` out of `pairs` (a null is left in its place), so that a subtree
/// becomes part of the blueprint without being copied.
fn take(pairs: &mut [(String, Node)], key: &str) -> Option<Node> {
    pairs.iter_mut().find(|(k, _)| k == key).map(|(_, node)| {
        let placeholder = Node::new(NodeValue::Null, node.line, node.column);
        std::mem::replace(node, placeholder)
    })
}

/// Pushes a warning for every key of `pairs` not in `known`.
fn warn_unknown(
    pairs: &[(String, Node)],
    known: &[&str],
    place: impl Fn(&str) -> String,
    warnings: &mut Vec<Warning>,
) {
    for (key, node) in pairs {
        if !known.contains(&key.as_str()) {
            warnings.push(Warning {
                line: node.line,
                message: format!(
                    "{} is ignored{}",
                    place(key),
                    suggest::did_you_mean(key, known)
                ),
            });
        }
    }
}

/// Loads and checks a blueprint.
///
/// # Errors
/// [`ParseError::Load`] for YAML problems and limits, [`ParseError::Invalid`] for the
/// top-level structure and `metadata`, [`ParseError::Entry`] for an entry.
pub fn parse(text: &str, limits: &Limits) -> Result<Blueprint, ParseError> {
    let root = load(text, limits)?;
    let root_line = root.line;
    let mut top = match root.value {
        NodeValue::Map(pairs) => pairs,
        NodeValue::Null => return Err(invalid(root.line, "the blueprint is empty")),
        other => {
            return Err(invalid(
                root.line,
                format!(
                    "a blueprint must be a mapping (with `version`, `metadata`, `context` and \
                     `entries`), found {}",
                    other.kind_name()
                ),
            ));
        }
    };
    let mut warnings = Vec::new();
    warn_unknown(
        &top,
        &TOP_KEYS,
        |key| format!("line {}: unknown top-level key `{key}`", line_of(&top, key)),
        &mut warnings,
    );

    let version = match get(&top, "version") {
        None => {
            warnings.push(Warning {
                line: root_line,
                message: format!(
                    "line {}: `version` is missing; assuming 1 (authentik's schema requires it)",
                    root_line
                ),
            });
            1
        }
        Some(node) => match node.value {
            NodeValue::Int(1) => 1,
            NodeValue::Int(version) => {
                return Err(invalid(
                    node.line,
                    format!("unsupported blueprint version {version} (only 1 is supported)"),
                ));
            }
            _ => {
                return Err(invalid(
                    node.line,
                    format!("`version` must be an integer, found {}", node.kind_name()),
                ));
            }
        },
    };

    let metadata = match get(&top, "metadata") {
        None => None,
        Some(node) if node.is_null() => None,
        Some(node) => Some(parse_metadata(node, &mut warnings)?),
    };

    let context = match take(&mut top, "context") {
        None => Vec::new(),
        Some(node) => match node.value {
            NodeValue::Map(pairs) => pairs,
            other => {
                return Err(invalid(
                    node.line,
                    format!("`context` must be a mapping, found {}", other.kind_name()),
                ));
            }
        },
    };

    let mut entries = Vec::new();
    match take(&mut top, "entries") {
        None => {}
        Some(node) => match node.value {
            NodeValue::Seq(items) => {
                entries.reserve_exact(items.len());
                for item in items {
                    let entry = parse_entry(item, entries.len(), None, &mut warnings)?;
                    entries.push(entry);
                }
            }
            NodeValue::Map(sections) => {
                for (section, list) in sections {
                    let line = list.line;
                    let items = match list.value {
                        NodeValue::Seq(items) => items,
                        other => {
                            return Err(invalid(
                                line,
                                format!(
                                    "section `{section}` of `entries` must be a sequence of \
                                     entries, found {}",
                                    other.kind_name()
                                ),
                            ));
                        }
                    };
                    entries.reserve(items.len());
                    for item in items {
                        let entry = parse_entry(
                            item,
                            entries.len(),
                            Some(section.as_str()),
                            &mut warnings,
                        )?;
                        entries.push(entry);
                    }
                }
            }
            other => {
                return Err(invalid(
                    node.line,
                    format!(
                        "`entries` must be a sequence of entries or a mapping of sections, \
                         found {}",
                        other.kind_name()
                    ),
                ));
            }
        },
    }

    Ok(Blueprint {
        version,
        metadata,
        context,
        entries,
        warnings,
    })
}

fn line_of(pairs: &[(String, Node)], key: &str) -> u32 {
    get(pairs, key).map_or(1, |node| node.line)
}

fn parse_metadata(node: &Node, warnings: &mut Vec<Warning>) -> Result<Metadata, ParseError> {
    let Some(pairs) = node.as_map() else {
        return Err(invalid(
            node.line,
            format!("`metadata` must be a mapping, found {}", node.kind_name()),
        ));
    };
    warn_unknown(
        pairs,
        &METADATA_KEYS,
        |key| {
            format!(
                "line {}: unknown key `{key}` in `metadata`",
                line_of(pairs, key)
            )
        },
        warnings,
    );
    let name = match get(pairs, "name") {
        Some(Node {
            value: NodeValue::Str(name),
            ..
        }) => name.clone(),
        Some(other) => {
            return Err(invalid(
                other.line,
                format!(
                    "`metadata.name` must be a string, found {}",
                    other.kind_name()
                ),
            ));
        }
        None => {
            return Err(invalid(
                node.line,
                "`metadata.name` is missing (it is required when `metadata` is given)",
            ));
        }
    };
    let mut labels = IndexMap::new();
    if let Some(labels_node) = get(pairs, "labels") {
        let Some(label_pairs) = labels_node.as_map() else {
            return Err(invalid(
                labels_node.line,
                format!(
                    "`metadata.labels` must be a mapping of strings, found {}",
                    labels_node.kind_name()
                ),
            ));
        };
        for (key, value) in label_pairs {
            match &value.value {
                NodeValue::Str(text) => {
                    labels.insert(key.clone(), text.clone());
                }
                _ => {
                    let hint = match &value.value {
                        NodeValue::Bool(b) => format!(" (quote it: `{key}: \"{b}\"`)"),
                        NodeValue::Int(i) => format!(" (quote it: `{key}: \"{i}\"`)"),
                        _ => String::new(),
                    };
                    return Err(invalid(
                        value.line,
                        format!(
                            "metadata label `{key}` must be a string, found {}{hint}",
                            value.kind_name()
                        ),
                    ));
                }
            }
        }
    }
    Ok(Metadata { name, labels })
}

/// Where an entry is, for its errors.
struct Place<'s> {
    index: usize,
    section: Option<&'s str>,
    line: u32,
}

impl Place<'_> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::Entry {
            index: self.index,
            section: self.section.map(str::to_owned),
            line: self.line,
            message: message.into(),
        }
    }

    fn label(&self) -> String {
        entry_label(self.index, self.section, self.line)
    }
}

fn parse_entry(
    node: Node,
    index: usize,
    section: Option<&str>,
    warnings: &mut Vec<Warning>,
) -> Result<Entry, ParseError> {
    let place = Place {
        index,
        section,
        line: node.line,
    };
    let (line, column) = (node.line, node.column);
    let mut pairs = match node.value {
        NodeValue::Map(pairs) => pairs,
        other => {
            return Err(place.error(format!(
                "an entry must be a mapping (with `model`, `identifiers`, `attrs`, …), found {}",
                other.kind_name()
            )));
        }
    };
    warn_unknown(
        &pairs,
        &ENTRY_KEYS,
        |key| format!("{}: unknown key `{key}`", place.label()),
        warnings,
    );

    let model = match take(&mut pairs, "model") {
        None => return Err(place.error("`model` is missing")),
        Some(model) => match model.value {
            NodeValue::Str(_) | NodeValue::Tag(_) => model,
            _ => {
                return Err(place.error(format!(
                    "`model` must be a string (`app_label.model`) or a tag, found {}",
                    model.kind_name()
                )));
            }
        },
    };

    let (state, raw_state) = match take(&mut pairs, "state") {
        None => (
            Node::new(NodeValue::Str("present".to_owned()), line, column),
            Some("present".to_owned()),
        ),
        Some(state) => match &state.value {
            NodeValue::Str(text) if STATES.contains(&text.as_str()) => {
                let raw = Some(text.clone());
                (state, raw)
            }
            NodeValue::Tag(_) => (state, None),
            _ => {
                let found = match state.as_str() {
                    Some(text) => format!("`{text}`"),
                    None => state.kind_name(),
                };
                return Err(place.error(format!(
                    "`state` must be one of {}, found {found}",
                    STATES.join(", ")
                )));
            }
        },
    };

    let id = match get(&pairs, "id") {
        None => None,
        Some(id) => match &id.value {
            NodeValue::Null => None,
            NodeValue::Str(text) => Some(text.clone()),
            NodeValue::Tag(_) => {
                return Err(place.error(format!(
                    "`id` must be a plain string, found {} (`!KeyOf` finds entries by their \
                     literal id)",
                    id.kind_name()
                )));
            }
            _ => {
                return Err(place.error(format!("`id` must be a string, found {}", id.kind_name())));
            }
        },
    };

    let mut mapping = |key: &str| -> Result<Node, ParseError> {
        match take(&mut pairs, key) {
            None => Ok(Node::new(NodeValue::Map(Vec::new()), line, column)),
            Some(value) if value.is_null() => Ok(Node::new(
                NodeValue::Map(Vec::new()),
                value.line,
                value.column,
            )),
            Some(value) if value.as_map().is_some() => Ok(value),
            Some(value) => Err(place.error(format!(
                "`{key}` must be a mapping, found {}",
                value.kind_name()
            ))),
        }
    };
    let identifiers = mapping("identifiers")?;
    let attrs = mapping("attrs")?;

    let conditions = match take(&mut pairs, "conditions") {
        None => Vec::new(),
        Some(conditions) => match conditions.value {
            NodeValue::Seq(items) => items,
            other => {
                return Err(place.error(format!(
                    "`conditions` must be a sequence, found {}",
                    other.kind_name()
                )));
            }
        },
    };

    let mut permissions = Vec::new();
    if let Some(list) = get(&pairs, "permissions") {
        let Some(items) = list.as_seq() else {
            return Err(place.error(format!(
                "`permissions` must be a sequence, found {}",
                list.kind_name()
            )));
        };
        for (number, item) in items.iter().enumerate() {
            permissions.push(parse_permission(item, number + 1, &place, warnings)?);
        }
    }

    Ok(Entry {
        index,
        section: section.map(str::to_owned),
        line,
        model,
        state,
        raw_state,
        id,
        identifiers,
        attrs,
        conditions,
        permissions,
    })
}

fn parse_permission(
    node: &Node,
    number: usize,
    place: &Place<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<PermissionEntry, ParseError> {
    let what = format!("permission {number} (line {})", node.line);
    let Some(pairs) = node.as_map() else {
        return Err(place.error(format!(
            "{what} must be a mapping with `permission` and `user` or `role`, found {}",
            node.kind_name()
        )));
    };
    let label = place.label();
    warn_unknown(
        pairs,
        &PERMISSION_KEYS,
        |key| format!("{label}: unknown key `{key}` in {what}"),
        warnings,
    );
    let permission = match get(pairs, "permission") {
        None => return Err(place.error(format!("{what}: `permission` is missing"))),
        Some(permission) => match permission.value {
            NodeValue::Str(_) | NodeValue::Tag(_) => permission.clone(),
            _ => {
                return Err(place.error(format!(
                    "{what}: `permission` must be a string or a tag, found {}",
                    permission.kind_name()
                )));
            }
        },
    };
    let user = match get(pairs, "user") {
        None => None,
        Some(user) => match user.value {
            NodeValue::Null => None,
            NodeValue::Int(_) | NodeValue::Tag(_) => Some(user.clone()),
            _ => {
                return Err(place.error(format!(
                    "{what}: `user` must be a user's primary key (an integer) or a tag, found {}",
                    user.kind_name()
                )));
            }
        },
    };
    let role = match get(pairs, "role") {
        None => None,
        Some(role) => match role.value {
            NodeValue::Null => None,
            NodeValue::Str(_) | NodeValue::Tag(_) => Some(role.clone()),
            _ => {
                return Err(place.error(format!(
                    "{what}: `role` must be a role's primary key (a string) or a tag, found {}",
                    role.kind_name()
                )));
            }
        },
    };
    Ok(PermissionEntry {
        permission,
        user,
        role,
        line: node.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::Tag;

    fn parse_ok(text: &str) -> Blueprint {
        parse(text, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> ParseError {
        match parse(text, &Limits::default()) {
            Ok(blueprint) => panic!("parsed: {blueprint:?}"),
            Err(error) => error,
        }
    }

    const CANONICAL: &str = r#"version: 1
metadata:
  name: example
  labels:
    blueprints.goauthentik.io/instantiate: "false"
context:
  slug: my-flow
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers:
      slug: !Context slug
    attrs:
      name: My flow
      title: My flow
      designation: authentication
    permissions:
      - permission: view_flow
        role: !Find [authentik_rbac.role, [name, "My role"]]
  - model: authentik_flows.flowstagebinding
    identifiers:
      target: !KeyOf flow
      stage: !Find [authentik_stages_user_login.userloginstage, [name, default-authentication-login]]
      order: 10
"#;

    #[test]
    fn canonical_example() {
        let blueprint = parse_ok(CANONICAL);
        assert_eq!(blueprint.version, 1);
        assert!(blueprint.warnings.is_empty(), "{:?}", blueprint.warnings);
        let metadata = blueprint.metadata.as_ref().unwrap();
        assert_eq!(metadata.name, "example");
        assert_eq!(
            blueprint.label("blueprints.goauthentik.io/instantiate"),
            Some("false")
        );
        assert_eq!(blueprint.context.len(), 1);
        assert_eq!(blueprint.context_map()["slug"].as_str(), Some("my-flow"));
        assert_eq!(blueprint.entries.len(), 2);

        let flow = &blueprint.entries[0];
        assert_eq!(flow.index, 0);
        assert_eq!(flow.line, 9);
        assert_eq!(flow.model.as_str(), Some("authentik_flows.flow"));
        assert_eq!(flow.id.as_deref(), Some("flow"));
        assert_eq!(flow.raw_state.as_deref(), Some("present"));
        assert_eq!(flow.state.as_str(), Some("present"));
        assert!(matches!(
            flow.identifiers.get("slug").unwrap().as_tag().unwrap().tag,
            Tag::Context { .. }
        ));
        assert_eq!(flow.permissions.len(), 1);
        let permission = &flow.permissions[0];
        assert_eq!(permission.permission.as_str(), Some("view_flow"));
        assert!(permission.user.is_none());
        assert!(matches!(
            permission.role.as_ref().unwrap().as_tag().unwrap().tag,
            Tag::Find { .. }
        ));

        let binding = &blueprint.entries[1];
        assert_eq!(binding.index, 1);
        assert_eq!(binding.line, 20);
        assert!(binding.id.is_none());
        assert!(binding.attrs.as_map().unwrap().is_empty());
        assert_eq!(binding.label(), "entry 2 (line 20)");
    }

    #[test]
    fn version() {
        let blueprint = parse_ok("entries: []\n");
        assert_eq!(blueprint.version, 1);
        assert_eq!(blueprint.warnings.len(), 1);
        assert!(
            blueprint.warnings[0]
                .message
                .contains("`version` is missing")
        );

        let error = parse_err("version: 2\n");
        assert_eq!(
            error.to_string(),
            "line 1: unsupported blueprint version 2 (only 1 is supported)"
        );
        let error = parse_err("version: \"1\"\n");
        assert!(error.to_string().contains("must be an integer"), "{error}");
    }

    #[test]
    fn empty_and_non_mapping_documents() {
        assert!(parse_err("").to_string().contains("the blueprint is empty"));
        assert!(
            parse_err("---\n")
                .to_string()
                .contains("the blueprint is empty")
        );
        assert!(
            parse_err("[1, 2]")
                .to_string()
                .contains("must be a mapping")
        );
    }

    #[test]
    fn labels_must_be_strings() {
        let error = parse_err(
            "version: 1\nmetadata:\n  name: x\n  labels:\n    blueprints.goauthentik.io/instantiate: false\n",
        );
        assert_eq!(error.line(), 5);
        let message = error.to_string();
        assert!(
            message.contains("label `blueprints.goauthentik.io/instantiate` must be a string"),
            "{message}"
        );
        assert!(message.contains("quote it"), "{message}");
        let error = parse_err("version: 1\nmetadata:\n  labels: {}\n");
        assert!(
            error.to_string().contains("`metadata.name` is missing"),
            "{error}"
        );
        assert!(parse_ok("version: 1\nmetadata: null\n").metadata.is_none());
    }

    #[test]
    fn sections_are_flattened_in_order() {
        let blueprint = parse_ok(
            "version: 1\nentries:\n  first:\n    - model: a.b\n    - model: a.c\n  second:\n    - model: a.d\n",
        );
        let models: Vec<_> = blueprint
            .entries
            .iter()
            .map(|e| {
                (
                    e.index,
                    e.section.clone(),
                    e.model.as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            models,
            [
                (0, Some("first".to_owned()), "a.b".to_owned()),
                (1, Some("first".to_owned()), "a.c".to_owned()),
                (2, Some("second".to_owned()), "a.d".to_owned()),
            ]
        );
        assert_eq!(
            blueprint.entries[2].label(),
            "entry 3 in section `second` (line 7)"
        );
        let error = parse_err("version: 1\nentries:\n  first: nope\n");
        assert!(error.to_string().contains("section `first`"), "{error}");
    }

    #[test]
    fn type_errors_name_the_entry_and_line() {
        let text = "version: 1\nentries:\n  - model: a.b\n  - model: a.c\n  - model: a.d\n    attrs:\n      - x\n";
        let error = parse_err(text);
        assert_eq!(
            error.to_string(),
            "entry 3 (line 5): `attrs` must be a mapping, found a sequence"
        );
        assert_eq!(error.line(), 5);
        assert!(matches!(error, ParseError::Entry { index: 2, .. }));

        let cases = [
            (
                "version: 1\nentries: nope\n",
                "`entries` must be a sequence",
            ),
            (
                "version: 1\nentries:\n  - attrs: {}\n",
                "`model` is missing",
            ),
            (
                "version: 1\nentries:\n  - model: [a]\n",
                "`model` must be a string",
            ),
            (
                "version: 1\nentries:\n  - nope\n",
                "an entry must be a mapping",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    id: !KeyOf x\n",
                "`id` must be a plain string",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    id: 5\n",
                "`id` must be a string",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    state: gone\n",
                "`state` must be one of",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    identifiers: [a]\n",
                "`identifiers` must be a mapping",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    conditions: yes\n",
                "`conditions` must be a sequence",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    permissions: {}\n",
                "`permissions` must be a sequence",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    permissions: [x]\n",
                "permission 1",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    permissions: [{user: 1}]\n",
                "`permission` is missing",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    permissions: [{permission: p, user: x}]\n",
                "`user` must be",
            ),
            (
                "version: 1\nentries:\n  - model: a.b\n    permissions: [{permission: p, role: 5}]\n",
                "`role` must be",
            ),
            ("version: 1\ncontext: [a]\n", "`context` must be a mapping"),
            (
                "version: 1\nmetadata: [a]\n",
                "`metadata` must be a mapping",
            ),
        ];
        for (text, needle) in cases {
            let message = parse_err(text).to_string();
            assert!(message.contains(needle), "{text:?}: {message}");
        }
    }

    #[test]
    fn defaults_and_tagged_fields() {
        let blueprint = parse_ok(
            "version: 1\nentries:\n  - model: !Format [\"%s\", a.b]\n    state: !Format [\"%s\", present]\n    identifiers: null\n    attrs: null\n    conditions:\n      - !Condition [AND, true, true, text]\n      - true\n    permissions:\n      - permission: !Format [\"%s\", p]\n        user: !KeyOf u\n",
        );
        let entry = &blueprint.entries[0];
        assert!(entry.model.as_tag().is_some());
        assert!(entry.state.as_tag().is_some());
        // A tagged state has no raw state (authentik's must_created check reads the raw one).
        assert!(entry.raw_state.is_none());
        assert!(entry.identifiers.as_map().unwrap().is_empty());
        assert!(entry.attrs.as_map().unwrap().is_empty());
        assert_eq!(entry.conditions.len(), 2);
        assert!(
            entry.permissions[0]
                .user
                .as_ref()
                .unwrap()
                .as_tag()
                .is_some()
        );
        let blueprint = parse_ok("version: 1\nentries:\n  - model: a.b\n    state: must_created\n");
        assert_eq!(
            blueprint.entries[0].raw_state.as_deref(),
            Some("must_created")
        );
    }

    #[test]
    fn unknown_keys_are_warnings_with_suggestions() {
        let blueprint = parse_ok(
            "version: 1\nentry: []\nmetadata:\n  name: x\n  label: {}\nentries:\n  - model: a.b\n  - model: a.c\n    identifer:\n      name: x\n    permissions:\n      - permission: p\n        rol: r\n",
        );
        let messages: Vec<&str> = blueprint
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "line 2: unknown top-level key `entry` is ignored (did you mean `entries`?)",
                "line 5: unknown key `label` in `metadata` is ignored (did you mean `labels`?)",
                "entry 2 (line 8): unknown key `identifer` is ignored (did you mean `identifiers`?)",
                "entry 2 (line 8): unknown key `rol` in permission 1 (line 12) is ignored (did you \
                 mean `role`?)",
            ]
        );
        // The typo'd key is dropped, as authentik drops it.
        assert!(
            blueprint.entries[1]
                .identifiers
                .as_map()
                .unwrap()
                .is_empty()
        );
        assert_eq!(blueprint.warnings[2].line, 10);
    }
}
