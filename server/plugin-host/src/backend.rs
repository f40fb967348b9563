//! Deployment backends: the `deployment-backend` world of garrison:plugin@0.1.0.
//!
//! Only the world's export is bound here; its imports (`types`, `log`, `secrets`, `docker`,
//! `kubernetes`) are the shared bindings in `wit_types` and `capabilities`, linked by those
//! modules. Docker and Kubernetes are capabilities like the others (`capabilities::docker`,
//! `capabilities::kubernetes`).
use crate::call::{Runner, run_export};
use crate::state::HostState;
use crate::{CallError, Manifest, PluginStats};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "deployment-backend",
        exports: { default: async },
        with: {
            "garrison:plugin/types": crate::wit_types::v0_1_0::garrison::plugin::types,
            "garrison:plugin/log": crate::capabilities::log::v0_1_0::garrison::plugin::log,
            "garrison:plugin/secrets": crate::capabilities::secrets::bindings::garrison::plugin::secrets,
            "garrison:plugin/docker": crate::capabilities::docker::bindings::garrison::plugin::docker,
            "garrison:plugin/kubernetes": crate::capabilities::kubernetes::bindings::garrison::plugin::kubernetes,
        },
    });
}

pub use bindings::exports::garrison::plugin::backend::{ConnectionStatus, Deployment, Description};

/// A loaded deployment backend. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct BackendPlugin {
    runner: Runner,
    pre: bindings::DeploymentBackendPre<HostState>,
}

impl BackendPlugin {
    pub(crate) fn new(
        runner: Runner,
        pre: wasmtime::component::InstancePre<HostState>,
    ) -> wasmtime::Result<Self> {
        Ok(Self {
            runner,
            pre: bindings::DeploymentBackendPre::new(pre)?,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.runner.manifest
    }

    pub fn stats(&self) -> &PluginStats {
        &self.runner.stats
    }

    /// Name, version, outpost types, connection kinds and settings schema.
    pub async fn describe(&self) -> Result<Description, CallError> {
        run_export!(
            self,
            self.pre,
            garrison_plugin_backend,
            |backend, store| async { backend.call_describe(&mut store).await.map(Ok) }
        )
    }

    /// Brings the deployment to the wanted state.
    pub async fn up(&self, deployment: &Deployment) -> Result<(), CallError> {
        run_export!(self, self.pre, garrison_plugin_backend, |backend, store| {
            backend.call_up(&mut store, deployment)
        })
    }

    /// Removes the deployment.
    pub async fn down(&self, deployment: &Deployment) -> Result<(), CallError> {
        run_export!(self, self.pre, garrison_plugin_backend, |backend, store| {
            backend.call_down(&mut store, deployment)
        })
    }

    /// A deployment for manual use (compose YAML, manifests).
    pub async fn static_deployment(&self, deployment: &Deployment) -> Result<String, CallError> {
        run_export!(self, self.pre, garrison_plugin_backend, |backend, store| {
            backend.call_static_deployment(&mut store, deployment)
        })
    }

    /// The service connection's state, from the backend's settings (JSON).
    pub async fn connection_state(&self, settings: &str) -> Result<ConnectionStatus, CallError> {
        run_export!(self, self.pre, garrison_plugin_backend, |backend, store| {
            backend.call_connection_state(&mut store, settings)
        })
    }
}
