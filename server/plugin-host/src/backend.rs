//! Deployment backends: the `deployment-backend` world of garrison:plugin@0.1.0.
//!
//! The Docker and Kubernetes host interfaces are declared in 0.1.0 and linked here so that
//! backends built against them load (after their grant); their operations answer an error until
//! the host implements them with bollard and kube.
use wasmtime::Engine;
use wasmtime::component::HasSelf;

use crate::call::{Runner, run_export};
use crate::state::{self, HostState};
use crate::{CallError, Manifest, PluginStats};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "deployment-backend",
        exports: { default: async },
        with: {
            "garrison:plugin/types": crate::provider::bindings::garrison::plugin::types,
            "garrison:plugin/log": crate::provider::bindings::garrison::plugin::log,
            "garrison:plugin/secrets": crate::policy::bindings::garrison::plugin::secrets,
        },
    });
}

pub use bindings::exports::garrison::plugin::backend::{ConnectionStatus, Deployment, Description};
use bindings::garrison::plugin::{docker, kubernetes};

const NOT_YET: &str = "not provided by this Garrison release";

impl docker::Host for HostState {
    fn list_containers(
        &mut self,
        _selector: Vec<(String, String)>,
    ) -> Result<Vec<docker::ContainerState>, String> {
        Err(format!("docker.list-containers is {NOT_YET}"))
    }
    fn ensure_container(
        &mut self,
        _spec: docker::ContainerSpec,
    ) -> Result<docker::ContainerState, String> {
        Err(format!("docker.ensure-container is {NOT_YET}"))
    }
    fn remove_container(&mut self, _name: String) -> Result<(), String> {
        Err(format!("docker.remove-container is {NOT_YET}"))
    }
    fn engine_version(&mut self) -> Result<String, String> {
        Err(format!("docker.engine-version is {NOT_YET}"))
    }
}

impl kubernetes::Host for HostState {
    fn apply(&mut self, _manifest: String) -> Result<String, String> {
        Err(format!("kubernetes.apply is {NOT_YET}"))
    }
    fn delete(
        &mut self,
        _api_version: String,
        _kind: String,
        _namespace: String,
        _name: String,
    ) -> Result<(), String> {
        Err(format!("kubernetes.delete is {NOT_YET}"))
    }
    fn server_version(&mut self) -> Result<String, String> {
        Err(format!("kubernetes.server-version is {NOT_YET}"))
    }
}

pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<wasmtime::component::Linker<HostState>> {
    let mut linker = state::base_linker(engine)?;
    bindings::DeploymentBackend::add_to_linker::<HostState, HasSelf<HostState>>(
        &mut linker,
        |state| state,
    )?;
    Ok(linker)
}

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
