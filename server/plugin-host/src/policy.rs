//! Policy plugins: the `policy` world of garrison:plugin@0.1.0 (hooks on events).
use wasmtime::Engine;
use wasmtime::component::HasSelf;

use crate::call::{Runner, run_export};
use crate::state::{self, HostState};
use crate::{CallError, Manifest, PluginStats};

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "policy",
        exports: { default: async },
        with: {
            "garrison:plugin/types": crate::provider::bindings::garrison::plugin::types,
            "garrison:plugin/log": crate::provider::bindings::garrison::plugin::log,
        },
    });
}

pub use bindings::exports::garrison::plugin::hook::{Decision, Event};
impl bindings::garrison::plugin::secrets::Host for HostState {
    /// Only secrets granted to this plugin exist for it; the value never reaches a log.
    fn get(&mut self, name: String) -> Result<String, String> {
        self.secrets
            .get(&name)
            .cloned()
            .ok_or_else(|| format!("secret {name:?} is not granted to this plugin"))
    }
}

pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<wasmtime::component::Linker<HostState>> {
    let mut linker = state::base_linker(engine)?;
    bindings::Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}

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
