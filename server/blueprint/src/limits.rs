//! Bounds on what loading a blueprint may cost.
//!
//! They are checked while the tree is built from the parser's events, so a hostile document
//! (an alias bomb, a very deep nesting, a huge file) fails fast with a [`LoadError`] naming the
//! limit, and memory stays bounded by the limits rather than by what the document describes.
//!
//! [`LoadError`]: crate::LoadError

/// Bounds on loading one blueprint.
///
/// Construct with `Limits::default()` and override single fields with struct update syntax
/// (`Limits { max_depth: 16, ..Limits::default() }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Size of the text in bytes. Default 8 MiB.
    pub max_bytes: usize,
    /// Nesting levels of sequences and mappings (tagged or not); a scalar adds no level.
    /// Default 64. Aliases count with the depth of the node they copy.
    pub max_depth: usize,
    /// Nodes in the tree after alias expansion: every scalar, sequence and mapping (keys
    /// included), and every node an alias copies. The copy of an anchored node kept for its
    /// aliases counts too. Default 1,000,000.
    pub max_nodes: usize,
}

impl Limits {
    /// 8 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 8 * 1024 * 1024;
    /// 64 levels.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// One million nodes.
    pub const DEFAULT_MAX_NODES: usize = 1_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_nodes: Self::DEFAULT_MAX_NODES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let limits = Limits::default();
        assert_eq!(limits.max_bytes, 8 * 1024 * 1024);
        assert_eq!(limits.max_depth, 64);
        assert_eq!(limits.max_nodes, 1_000_000);
    }
}
