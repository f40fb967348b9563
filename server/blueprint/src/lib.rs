//! authentik blueprint v1 files: load, check, evaluate.
//!
//! A blueprint is a YAML file of entries (`model`, `identifiers`, `attrs`, …) with 14 custom
//! tags (`!KeyOf`, `!Find`, `!Context`, `!Enumerate`, …). This crate reads one the way
//! authentik reads it and evaluates its tags the way authentik does, in three steps:
//!
//! 1. **load** ([`load`]): YAML text to a [`Node`] tree, with YAML 1.1 scalar resolution as
//!    PyYAML does it (`yes` is true, `0777` is 511, `1e3` is a string), anchors, aliases and
//!    merge keys, every tag checked and typed ([`Tag`]), and [`Limits`] on size, depth and
//!    alias expansion;
//! 2. **parse** ([`parse`]): the tree to a [`Blueprint`] — version, metadata, context and
//!    entries with their types checked, errors naming the entry and line, and [`Warning`]s for
//!    keys authentik would silently ignore;
//! 3. **evaluate** ([`Evaluator`]): an entry's nodes to [`Value`]s, lazily, when the entry is
//!    processed, with authentik's rules on which tag arguments resolve nested tags, the
//!    `!Enumerate` context stack, Python truthiness and Python `%` formatting.
//!
//! The crate does no I/O and knows nothing of Garrison's store, HTTP edges or services. What
//! evaluation needs from the world — earlier entries' objects, database lookups, environment
//! variables, files, the merged context — it asks of a [`Scope`], which the engine that
//! applies blueprints through Garrison's services implements. That engine lives elsewhere.
#![deny(unsafe_code)]

mod document;
pub mod eval;
mod format;
mod limits;
mod scalar;
mod suggest;
mod tags;
mod value;
mod yaml;

pub use document::{
    Blueprint, Entry, Metadata, ParseError, PermissionEntry, STATES, Warning, parse,
};
pub use eval::{DEFAULT_MAX_STEPS, EvalError, Evaluator, Scope, truthy_all};
pub use format::{FormatError, percent_format};
pub use limits::Limits;
pub use tags::{CONDITION_MODES, EnumerateOutput, TAG_NAMES, Tag, TagNode};
pub use value::{Value, deep_merge, python_float_repr, python_str_repr, yaml_non_finite};
pub use yaml::{LoadError, Node, NodeValue, deep_merge_nodes, load};
