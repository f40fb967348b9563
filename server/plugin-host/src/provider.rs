//! Provider plugins: the `provider` world of garrison:plugin@0.1.0.
use wasmtime::Engine;
use wasmtime::component::HasSelf;

use crate::call::{Runner, run_export};
use crate::state::{self, HostState};
use crate::{CallError, Manifest, PluginStats};

/// Also the home of the `types` and `log` bindings every other world reuses (`with:`), so the
/// host implements each shared interface once.
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "provider",
        exports: { default: async },
    });
}

use bindings::garrison::plugin::log::{Host as LogHost, Level};
pub(crate) use bindings::garrison::plugin::types::PluginError;
pub use bindings::garrison::plugin::types::{
    Certificate, ObjectRef, OutpostInfo, PermissionGrant, ProviderInfo,
};

impl bindings::garrison::plugin::types::Host for HostState {}

impl LogHost for HostState {
    fn log(&mut self, level: Level, message: String) {
        state::log(&self.plugin, level as u8, &message);
    }
}

pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<wasmtime::component::Linker<HostState>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::Provider::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// A loaded provider plugin. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct ProviderPlugin {
    runner: Runner,
    pre: bindings::ProviderPre<HostState>,
}

impl ProviderPlugin {
    pub(crate) fn new(
        runner: Runner,
        pre: wasmtime::component::InstancePre<HostState>,
    ) -> wasmtime::Result<Self> {
        Ok(Self {
            runner,
            pre: bindings::ProviderPre::new(pre)?,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.runner.manifest
    }

    pub fn digest(&self) -> &str {
        &self.runner.digest
    }

    pub fn stats(&self) -> &PluginStats {
        &self.runner.stats
    }

    /// What the outpost's service account needs for `provider`.
    pub async fn required_permissions(
        &self,
        provider: &ProviderInfo,
        outpost: &OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, CallError> {
        run_export!(self, garrison_plugin_expansion, |expansion, store| expansion
            .call_required_permissions(&mut store, provider, outpost))
    }
}
