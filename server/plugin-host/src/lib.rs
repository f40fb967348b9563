//! Garrison's plugin host: WebAssembly components run by wasmtime, behind one safe API.
//!
//! - One [`PluginHost`] per process: one engine (pooling allocator, copy-on-write memory images,
//!   epoch interruption), compiled components cached on disk by digest and engine settings.
//! - Loading checks a component's imports against its manifest and the operator's grants
//!   ([`capabilities::check`], also the validate-only path of the review screen); anything
//!   undeclared or ungranted is refused, naming the interface.
//! - Every call gets a fresh instance from a pre-linked `InstancePre`, a deadline and a memory
//!   cap. A trap, a timeout or exhausted memory is a [`CallError`] for that call, counted per
//!   plugin; the host and the other plugins carry on.
//!
//! Where things live:
//! - **Host capabilities** (log, secrets, outbound HTTP, Docker, Kubernetes): one module each
//!   under `capabilities/`, owning its grant's string form and review text, its import rule,
//!   its host implementation and its linker registration for the worlds that import it.
//!   `capabilities/mod.rs` lists the set once; adding a capability is a new module there plus
//!   one line in that list (see [`capabilities`]).
//! - **Worlds** (`provider.rs` at 0.1.0 and 0.2.0, `policy.rs`, `backend.rs`): each binds only
//!   its export and the typed plugin callers use; its imports reuse the capabilities' bindings
//!   and the shared `types` (`wit_types.rs`) through bindgen's `with:`.
//! - The store of a call and each world's linker: `state.rs`; running a call: `call.rs`;
//!   engine, compiling and loading: `engine.rs`; the compiled-component cache: `cache.rs`;
//!   counters: `stats.rs`.
//!
//! Nothing here knows Garrison's services or HTTP; callers turn results into grants or events.
#![deny(unsafe_code)]

mod backend;
mod cache;
mod call;
pub mod capabilities;
mod engine;
mod policy;
mod provider;
mod state;
mod stats;
mod wit_types;

pub use backend::{BackendPlugin, ConnectionStatus, Deployment, Description};
pub use capabilities::outbound_http::Target;
pub use capabilities::{Capability, Grants, LoadError, Manifest, PluginKind};
pub use engine::{HostConfig, Inspection, PluginHost};
pub use policy::{Decision, Event, PolicyPlugin};
pub use provider::{
    Certificate, ObjectRef, OutpostInfo, PermissionGrant, ProviderInfo, ProviderPlugin,
};
pub use stats::{BUCKET_BOUNDS_US, PluginStats, StatsSnapshot};

use std::time::Duration;

/// Per-call limits of one plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(500),
            memory_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why one plugin call failed. None of these affects the host or other calls.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    #[error("plugin {plugin} ran past its deadline of {deadline:?} and was stopped")]
    Timeout { plugin: String, deadline: Duration },
    #[error("plugin {plugin} exceeded its memory cap of {cap_bytes} bytes")]
    MemoryExhausted { plugin: String, cap_bytes: usize },
    #[error("plugin {plugin} trapped: {message}")]
    Trap { plugin: String, message: String },
    #[error("plugin {plugin} could not be instantiated: {message}")]
    Instantiate { plugin: String, message: String },
    #[error("plugin {plugin} reported an error: {message}")]
    Plugin { plugin: String, message: String },
}
