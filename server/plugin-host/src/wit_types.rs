//! The `types` interface of each WIT version: the records every world's functions use. It has
//! no functions and is not a capability; the host links it (empty) for every world so that a
//! component importing it for its types resolves. The worlds reuse these bindings (`with:`).
use wasmtime::component::{HasSelf, Linker};

use crate::capabilities::{PluginKind, unbound};
use crate::state::HostState;

/// The interface's name, unversioned.
pub(crate) const INTERFACE: &str = "garrison:plugin/types";

pub(crate) mod v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        interfaces: "import garrison:plugin/types@0.1.0;",
    });
}

/// garrison:plugin@0.2.0's `types`: the same records, distinct Rust types; the provider world
/// adapts them to 0.1.0's at the edge.
pub(crate) mod v0_2_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.2.0",
        interfaces: "import garrison:plugin/types@0.2.0;",
    });
}

pub(crate) use v0_1_0::garrison::plugin::types::PluginError;

impl v0_1_0::garrison::plugin::types::Host for HostState {}

impl v0_2_0::garrison::plugin::types::Host for HostState {}

/// Links the `types` interface at every WIT version the host serves for `kind`.
pub(crate) fn add_to_linker(
    linker: &mut Linker<HostState>,
    kind: PluginKind,
) -> wasmtime::Result<()> {
    for version in kind.wit_versions() {
        match *version {
            "0.1.0" => v0_1_0::garrison::plugin::types::add_to_linker::<
                HostState,
                HasSelf<HostState>,
            >(linker, |state| state)?,
            "0.2.0" => v0_2_0::garrison::plugin::types::add_to_linker::<
                HostState,
                HasSelf<HostState>,
            >(linker, |state| state)?,
            other => return Err(unbound(INTERFACE, kind, other)),
        }
    }
    Ok(())
}
