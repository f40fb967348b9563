//! Policy plugins: the `policy` world of garrison:plugin@0.1.0 (hooks on events).
//!
//! Only the world's export is bound here; its imports (`types`, `log`, `secrets`) are the shared
//! bindings in `wit_types` and `capabilities`, linked by those modules.
use crate::call::{Runner, run_export};
use crate::state::HostState;
use crate::{CallError, Manifest, PluginStats};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "policy",
        exports: { default: async },
        with: {
            "garrison:plugin/types": crate::wit_types::v0_1_0::garrison::plugin::types,
            "garrison:plugin/log": crate::capabilities::log::v0_1_0::garrison::plugin::log,
            "garrison:plugin/secrets": crate::capabilities::secrets::bindings::garrison::plugin::secrets,
        },
    });
}

pub use bindings::exports::garrison::plugin::hook::{Decision, Event};

/// A loaded policy plugin. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct PolicyPlugin {
    runner: Runner,
    pre: bindings::PolicyPre<HostState>,
}

impl PolicyPlugin {
    pub(crate) fn new(
        runner: Runner,
        pre: wasmtime::component::InstancePre<HostState>,
    ) -> wasmtime::Result<Self> {
        Ok(Self {
            runner,
            pre: bindings::PolicyPre::new(pre)?,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.runner.manifest
    }

    pub fn stats(&self) -> &PluginStats {
        &self.runner.stats
    }

    /// Pass or fail `event`. Hooks fail closed: an error is never a pass.
    pub async fn evaluate(&self, event: &Event) -> Result<Decision, CallError> {
        run_export!(self, self.pre, garrison_plugin_hook, |hook, store| hook
            .call_evaluate(&mut store, event))
    }
}
