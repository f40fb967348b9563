use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::call::Runner;
use crate::capabilities::{self, Granted, Grants, LoadError, Manifest, Offered, PluginKind};
use crate::state::{self, HostState};
use crate::stats::PluginMetrics;
use crate::{BackendPlugin, CallLimits, PluginStats, PolicyPlugin, ProviderPlugin, cache};

/// How often the engine's epoch advances; deadlines are counted in these ticks.
pub const TICK: Duration = Duration::from_millis(10);

pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / TICK.as_millis()).max(1) as u64 + 1
}

#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where compiled components are cached; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
    /// Instances alive at once (calls in flight across all plugins).
    pub max_instances: u32,
    /// The largest memory cap any plugin may be given.
    pub max_memory_bytes: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_instances: 64,
            max_memory_bytes: 256 * 1024 * 1024,
        }
    }
}

/// What `garrison plugin inspect` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub digest: String,
    pub kind: Option<PluginKind>,
    pub wit_version: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// One per process. Cheap to clone.
#[derive(Clone)]
pub struct PluginHost {
    engine: Engine,
    provider_linker: Arc<Linker<HostState>>,
    policy_linker: Arc<Linker<HostState>>,
    backend_linker: Arc<Linker<HostState>>,
    config: HostConfig,
    metrics: PluginMetrics,
    /// Per plugin name, so counters survive a reload (a new grant, a new version).
    stats: Arc<Mutex<HashMap<String, Arc<PluginStats>>>>,
}

fn engine(config: &HostConfig) -> wasmtime::Result<Engine> {
    let mut base = Config::new();
    base.wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true);
    let mut pooled = base.clone();
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(config.max_instances)
        .total_core_instances(config.max_instances * 4)
        .total_memories(config.max_instances * 2)
        .total_tables(config.max_instances * 4)
        .max_memory_size(config.max_memory_bytes);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(error) => {
            // Some sandboxes refuse the pool's large virtual reservation; instances are then
            // allocated on demand, which is slower but equally safe.
            tracing::warn!(%error, "pooling allocator unavailable; allocating plugin instances on demand");
            Engine::new(&base)
        }
    }
}

impl PluginHost {
    pub fn new(config: HostConfig) -> Result<Self, String> {
        let engine =
            engine(&config).map_err(|e| format!("cannot start the WebAssembly engine: {e:#}"))?;
        let link_error = |e: wasmtime::Error| format!("cannot link host interfaces: {e:#}");
        let provider_linker = state::linker(&engine, PluginKind::Provider).map_err(link_error)?;
        let policy_linker = state::linker(&engine, PluginKind::Policy).map_err(link_error)?;
        let backend_linker =
            state::linker(&engine, PluginKind::DeploymentBackend).map_err(link_error)?;
        // Advances the epoch that call deadlines are measured in; stops with the last host.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| format!("cannot start the plugin deadline timer: {e}"))?;
        Ok(Self {
            engine,
            provider_linker: Arc::new(provider_linker),
            policy_linker: Arc::new(policy_linker),
            backend_linker: Arc::new(backend_linker),
            config,
            metrics: PluginMetrics::default(),
            stats: Arc::default(),
        })
    }

    /// Registers the plugin families (calls, failures, latency by plugin) for /metrics.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.metrics.register(registry);
    }

    /// The counters of the plugin named `name` (created empty for a name never loaded).
    pub fn stats_of(&self, name: &str) -> Arc<PluginStats> {
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    pub fn digest(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }

    /// Compiles (or loads from the cache) a component.
    pub fn compile(&self, name: &str, bytes: &[u8]) -> Result<(Component, String), LoadError> {
        // Only binaries: the engine would also parse the text format, and a stray text file
        // should be called what it is rather than fail as a syntax error.
        if !bytes.starts_with(b"\0asm") {
            return Err(LoadError::Invalid {
                plugin: name.into(),
                message: "not a WebAssembly binary (it does not start with \\0asm)".into(),
            });
        }
        let digest = Self::digest(bytes);
        let file_key = digest.trim_start_matches("sha256:");
        if let Some(dir) = &self.config.cache_dir {
            if let Some(component) = cache::load(&self.engine, dir, file_key) {
                return Ok((component, digest));
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| invalid(name, e))?;
        if let Some(dir) = &self.config.cache_dir {
            cache::store(&self.engine, dir, file_key, &component);
        }
        Ok((component, digest))
    }

    fn names(&self, component: &Component) -> (Vec<String>, Vec<String>) {
        let ty = component.component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let exports = ty
            .exports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        (imports, exports)
    }

    /// World, version, imports and exports of a component, without loading it.
    pub fn inspect(&self, bytes: &[u8]) -> Result<Inspection, LoadError> {
        let (component, digest) = self.compile("under inspection", bytes)?;
        let (imports, exports) = self.names(&component);
        let garrison_export = exports
            .iter()
            .find(|e| PluginKind::from_export(e).is_some());
        Ok(Inspection {
            digest,
            kind: garrison_export.and_then(|e| PluginKind::from_export(e)),
            wit_version: garrison_export
                .and_then(|e| e.split('@').nth(1))
                .map(str::to_owned),
            imports,
            exports,
        })
    }

    /// Checks a component against its manifest and grants, and links it for `kind`.
    fn prepare(
        &self,
        kind: PluginKind,
        manifest: &Manifest,
        grants: &Grants,
        bytes: &[u8],
        limits: CallLimits,
        secrets: BTreeMap<String, String>,
    ) -> Result<(Runner, wasmtime::component::InstancePre<HostState>), LoadError> {
        if manifest.kind != kind {
            return Err(LoadError::WrongWorld {
                plugin: manifest.name.clone(),
                kind: kind.world().into(),
                expected: kind.export().into(),
                found: format!("a manifest of kind {}", manifest.kind.world()),
            });
        }
        let limits = CallLimits {
            memory_bytes: limits.memory_bytes.min(self.config.max_memory_bytes),
            ..limits
        };
        let (component, digest) = self.compile(&manifest.name, bytes)?;
        let (imports, exports) = self.names(&component);
        capabilities::check(manifest, grants, &imports, &exports)?;
        let linker = match kind {
            PluginKind::Provider => &self.provider_linker,
            PluginKind::Policy => &self.policy_linker,
            PluginKind::DeploymentBackend => &self.backend_linker,
        };
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| invalid(&manifest.name, e))?;
        // A plugin's calls see only what is both declared and granted: the secrets' values, the
        // outbound origins, the service connections (each kept by its capability's module).
        let granted = Granted::new(manifest, grants, &Offered { secrets: &secrets });
        let runner = Runner {
            manifest: Arc::new(manifest.clone()),
            digest: digest.into(),
            engine: self.engine.clone(),
            limits,
            stats: self.stats_of(&manifest.name),
            metrics: self.metrics.clone(),
            granted,
        };
        Ok((runner, pre))
    }

    /// Prepares `manifest`'s component for `kind` and wraps it with `make` (the world's
    /// typed pre-instance).
    #[allow(clippy::too_many_arguments)]
    fn load_as<T>(
        &self,
        kind: PluginKind,
        manifest: Manifest,
        grants: &Grants,
        bytes: &[u8],
        limits: CallLimits,
        secrets: BTreeMap<String, String>,
        make: impl FnOnce(Runner, InstancePre<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, LoadError> {
        let (runner, pre) = self.prepare(kind, &manifest, grants, bytes, limits, secrets)?;
        make(runner, pre).map_err(|e| invalid(&manifest.name, e))
    }

    /// Loads a provider plugin after checking its imports against manifest and grants.
    pub fn load_provider(
        &self,
        manifest: Manifest,
        grants: &Grants,
        bytes: &[u8],
        limits: CallLimits,
    ) -> Result<ProviderPlugin, LoadError> {
        let kind = PluginKind::Provider;
        let no_secrets = BTreeMap::new();
        self.load_as(
            kind,
            manifest,
            grants,
            bytes,
            limits,
            no_secrets,
            ProviderPlugin::new,
        )
    }

    /// Loads a policy plugin; `secrets` are offered, and it sees those declared and granted.
    pub fn load_policy(
        &self,
        manifest: Manifest,
        grants: &Grants,
        bytes: &[u8],
        limits: CallLimits,
        secrets: BTreeMap<String, String>,
    ) -> Result<PolicyPlugin, LoadError> {
        let kind = PluginKind::Policy;
        self.load_as(
            kind,
            manifest,
            grants,
            bytes,
            limits,
            secrets,
            PolicyPlugin::new,
        )
    }

    /// Loads a deployment backend; `secrets` are offered, and it sees those declared and granted.
    pub fn load_backend(
        &self,
        manifest: Manifest,
        grants: &Grants,
        bytes: &[u8],
        limits: CallLimits,
        secrets: BTreeMap<String, String>,
    ) -> Result<BackendPlugin, LoadError> {
        let kind = PluginKind::DeploymentBackend;
        self.load_as(
            kind,
            manifest,
            grants,
            bytes,
            limits,
            secrets,
            BackendPlugin::new,
        )
    }
}

fn invalid(plugin: &str, error: wasmtime::Error) -> LoadError {
    LoadError::Invalid {
        plugin: plugin.into(),
        message: format!("{error:#}"),
    }
}
