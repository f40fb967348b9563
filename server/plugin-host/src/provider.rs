//! Provider plugins: the `provider` world of garrison:plugin@0.1.0.
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::HasSelf;
use wasmtime::{Engine, Store, Trap};

use crate::state::HostState;
use crate::{CallError, CallLimits, Manifest, PluginStats};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "provider",
        exports: { default: async },
    });
}

use bindings::garrison::plugin::log::{Host as LogHost, Level};
pub use bindings::garrison::plugin::types::{
    Certificate, ObjectRef, OutpostInfo, PermissionGrant, ProviderInfo,
};

impl bindings::garrison::plugin::types::Host for HostState {}

impl LogHost for HostState {
    fn log(&mut self, level: Level, message: String) {
        // Plugin output is data: bounded, and tagged with the plugin's name.
        let message: String = message.chars().take(2000).collect();
        let plugin = self.plugin.as_str();
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<wasmtime::component::Linker<HostState>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    bindings::Provider::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// A loaded provider plugin. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct ProviderPlugin {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) digest: Arc<str>,
    pub(crate) engine: Engine,
    pub(crate) pre: bindings::ProviderPre<HostState>,
    pub(crate) limits: CallLimits,
    pub(crate) stats: Arc<PluginStats>,
}

impl ProviderPlugin {
    pub(crate) fn new(
        manifest: Manifest,
        digest: String,
        engine: Engine,
        pre: wasmtime::component::InstancePre<HostState>,
        limits: CallLimits,
    ) -> wasmtime::Result<Self> {
        Ok(Self {
            manifest: Arc::new(manifest),
            digest: digest.into(),
            engine,
            pre: bindings::ProviderPre::new(pre)?,
            limits,
            stats: Arc::default(),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn stats(&self) -> &PluginStats {
        &self.stats
    }

    /// What the outpost's service account needs for `provider`.
    pub async fn required_permissions(
        &self,
        provider: &ProviderInfo,
        outpost: &OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, CallError> {
        let started = Instant::now();
        let result = self.call(provider, outpost).await;
        self.stats
            .record(started.elapsed(), result.as_ref().map(|_| ()));
        if let Err(error) = &result {
            tracing::warn!(plugin = %self.manifest.name, %error, "plugin call failed");
        }
        result
    }

    async fn call(
        &self,
        provider: &ProviderInfo,
        outpost: &OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, CallError> {
        let name = self.manifest.name.clone();
        let mut store = Store::new(
            &self.engine,
            HostState::new(&name, self.limits.memory_bytes),
        );
        store.limiter(|state| &mut state.cap);
        store.set_epoch_deadline(crate::engine::deadline_ticks(self.limits.deadline));
        store.epoch_deadline_trap();
        let outcome = async {
            let instance = self
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| ("instantiate", e))?;
            instance
                .garrison_plugin_expansion()
                .call_required_permissions(&mut store, provider, outpost)
                .await
                .map_err(|e| ("call", e))
        }
        .await;
        match outcome {
            Ok(Ok(grants)) => Ok(grants),
            Ok(Err(plugin_error)) => Err(CallError::Plugin {
                plugin: name,
                message: plugin_error.message,
            }),
            Err((stage, error)) => Err(self.classify(&store, stage, error)),
        }
    }

    fn classify(&self, store: &Store<HostState>, stage: &str, error: wasmtime::Error) -> CallError {
        let plugin = self.manifest.name.clone();
        if store.data().cap.hit {
            return CallError::MemoryExhausted {
                plugin,
                cap_bytes: self.limits.memory_bytes,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => CallError::Timeout {
                plugin,
                deadline: self.limits.deadline,
            },
            Some(trap) => CallError::Trap {
                plugin,
                message: trap.to_string(),
            },
            None if stage == "instantiate" => CallError::Instantiate {
                plugin,
                message: format!("{error:#}"),
            },
            None => CallError::Trap {
                plugin,
                message: format!("{error:#}"),
            },
        }
    }
}
