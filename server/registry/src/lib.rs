//! Garrison's plugin registry: which plugins exist, where their components come from, what the
//! operator granted them, and the loaded instances the rest of the server calls.
//!
//! - Sources: built-ins compiled into the binary ([`BUILTINS`]), `*.wasm` + `*.toml` pairs in
//!   the plugins directory, uploads, and OCI artifacts pinned by digest (pulled by
//!   `garrison-oci`, the OCI client the blueprint instances share).
//! - Nothing runs before review: installing records a plugin disabled with nothing granted;
//!   enabling loads it with exactly the granted capabilities, and a load that fails (an import
//!   not granted, a changed file) is refused with the host's message and nothing is written.
//! - Records go through `garrison-services` (permissions, audit events); components run in
//!   `garrison-plugin-host`. This crate knows neither SQL nor HTTP.
#![deny(unsafe_code)]

/// The plugin host, for callers of loaded plugins (their argument and result types).
pub use garrison_plugin_host as host;

mod extensions;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use garrison_bus::{Envelope, Message, RecvError, Topic};
use garrison_model::{
    Plugin, PluginCallStats, PluginCapability, PluginRecord, PluginSource, PluginState, PluginWorld,
};
use garrison_plugin_host::{
    BackendPlugin, CallLimits, Capability, Grants, HostConfig, Inspection, Manifest, PluginHost,
    PluginKind, PolicyPlugin, ProviderPlugin, capabilities,
};
use garrison_services::plugins::{DEFAULT_DEADLINE_MS, DEFAULT_MEMORY_MIB, planned_change};
use garrison_services::{Caller, PluginChanges, ServiceError, ServiceResult, Services};
use serde::Serialize;

/// A plugin compiled into the server binary.
pub struct Builtin {
    pub manifest: &'static str,
    pub component: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// Where the registry finds components and secrets, and caches compiled code.
#[derive(Clone, Debug, Default)]
pub struct RegistryConfig {
    /// `NAME.wasm` + `NAME.toml` pairs found here are offered for review at start.
    pub plugins_dir: Option<PathBuf>,
    /// One file per secret, named by the secret (works with Docker and Kubernetes secret
    /// mounts). A plugin reads only the secrets granted to it.
    pub secrets_dir: Option<PathBuf>,
    /// Compiled components, keyed by digest and engine.
    pub cache_dir: Option<PathBuf>,
    /// Registries (`host[:port]`, or `http://host[:port]`) OCI pulls may reach besides
    /// public addresses (see `garrison_oci::Allowed`).
    pub oci_registries: Vec<String>,
}

/// A loaded plugin, by world.
#[derive(Clone)]
pub enum Loaded {
    Provider(ProviderPlugin),
    Backend(BackendPlugin),
    Policy(PolicyPlugin),
}

#[derive(Clone)]
enum Slot {
    Running(Loaded),
    Failed(String),
}

/// One capability as the review screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CapabilityReview {
    pub capability: String,
    pub description: String,
}

/// What an operator reviews before installing: the component as the host sees it, the
/// manifest's claims, and anything that would stop it from loading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Review {
    pub digest: String,
    /// The world the component exports ("provider", "deployment-backend", "policy").
    pub world: Option<String>,
    pub wit_version: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub requested: Vec<CapabilityReview>,
    /// Empty when the component can be installed under this manifest.
    pub problems: Vec<String>,
}

impl Review {
    fn of(inspection: Inspection, manifest: Option<&Manifest>) -> Self {
        Self {
            digest: inspection.digest,
            world: inspection.kind.map(|k| k.world().to_owned()),
            wit_version: inspection.wit_version,
            imports: inspection.imports,
            exports: inspection.exports,
            name: manifest.map(|m| m.name.clone()),
            version: manifest.map(|m| m.version.clone()),
            requested: manifest
                .map(|m| {
                    m.capabilities
                        .iter()
                        .map(|c| CapabilityReview {
                            capability: c.to_string(),
                            description: c.describe(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            problems: Vec::new(),
        }
    }
}

/// Reviews `bytes` under `manifest` (validate only; compiles, never runs the component). Used
/// by the registry and by `garrison plugin inspect`.
pub fn review(
    host: &PluginHost,
    manifest: Option<&Manifest>,
    bytes: &[u8],
) -> Result<Review, String> {
    let inspection = host.inspect(bytes).map_err(|e| e.to_string())?;
    let (imports, exports) = (inspection.imports.clone(), inspection.exports.clone());
    let mut review = Review::of(inspection, manifest);
    if let Some(manifest) = manifest {
        // Reviewed as if everything requested were granted: what remains are problems of the
        // component itself (undeclared imports, the wrong world or version).
        let all = Grants {
            capabilities: manifest.capabilities.clone(),
        };
        if let Err(error) = capabilities::check(manifest, &all, &imports, &exports) {
            review.problems.push(error.to_string());
        }
    }
    Ok(review)
}

/// Where an installed component came from.
#[derive(Clone, Debug)]
pub enum InstallSource {
    Upload { filename: String },
    Oci { reference: String },
}

/// The registry. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    host: PluginHost,
    services: Services,
    config: RegistryConfig,
    /// The built-in components by plugin name (manifests parsed once, at start).
    builtins: HashMap<String, &'static [u8]>,
    slots: RwLock<HashMap<String, Slot>>,
}

fn internal(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(error.to_string())
}

fn row_of(
    manifest: &Manifest,
    source: PluginSource,
    source_ref: String,
    digest: String,
) -> PluginRecord {
    let now = chrono::Utc::now();
    PluginRecord {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        kind: world_of(manifest.kind),
        wit_version: manifest.wit_version.clone(),
        source,
        source_ref,
        digest,
        requested: manifest
            .capabilities
            .iter()
            .map(|c| c.to_string())
            .collect(),
        granted: Vec::new(),
        enabled: false,
        deadline_ms: DEFAULT_DEADLINE_MS,
        memory_mib: DEFAULT_MEMORY_MIB,
        created: now,
        updated: now,
    }
}

/// The host's kind and the model's world are one list in two crates (the model knows no
/// wasmtime); these are the only places that translate.
fn world_of(kind: PluginKind) -> PluginWorld {
    match kind {
        PluginKind::Provider => PluginWorld::Provider,
        PluginKind::DeploymentBackend => PluginWorld::DeploymentBackend,
        PluginKind::Policy => PluginWorld::Policy,
    }
}

fn kind_of(world: PluginWorld) -> PluginKind {
    match world {
        PluginWorld::Provider => PluginKind::Provider,
        PluginWorld::DeploymentBackend => PluginKind::DeploymentBackend,
        PluginWorld::Policy => PluginKind::Policy,
    }
}

fn capabilities_of(list: &[String]) -> Result<BTreeSet<Capability>, String> {
    list.iter().map(|c| c.parse()).collect()
}

impl Registry {
    /// Starts the engine, records the built-in and directory plugins, and loads every enabled
    /// plugin. A plugin that fails to load is reported on its page; the server starts anyway.
    pub async fn start(services: Services, config: RegistryConfig) -> Result<Self, String> {
        let host = PluginHost::new(HostConfig {
            cache_dir: config.cache_dir.clone(),
            ..HostConfig::default()
        })?;
        if !MISSING_BUILTINS.is_empty() {
            tracing::warn!(missing = ?MISSING_BUILTINS, "this build has no built-in plugins for these; build them with scripts/build-plugins.sh");
        }
        let mut builtin_rows = Vec::new();
        let mut builtins = HashMap::new();
        for builtin in BUILTINS {
            let manifest = manifest::parse(builtin.manifest)
                .map_err(|e| format!("a built-in plugin's manifest is invalid: {e}"))?;
            builtin_rows.push(row_of(
                &manifest,
                PluginSource::Builtin,
                format!("builtin:{}", manifest.name),
                PluginHost::digest(builtin.component),
            ));
            builtins.insert(manifest.name, builtin.component);
        }
        let registry = Self {
            inner: Arc::new(Inner {
                host,
                services,
                config,
                builtins,
                slots: RwLock::default(),
            }),
        };
        for row in builtin_rows {
            registry
                .inner
                .services
                .sync_plugin(row)
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(dir) = registry.inner.config.plugins_dir.clone() {
            registry.scan_directory(&dir).await;
        }
        let rows = registry
            .inner
            .services
            .list_plugins(&Caller::system())
            .await
            .map_err(|e| e.to_string())?;
        registry.follow_other_replicas().await;
        // Compiling is the slow part of a first start; the plugins load side by side.
        let mut loading = tokio::task::JoinSet::new();
        for row in rows.into_iter().filter(|r| r.enabled) {
            let registry = registry.clone();
            loading.spawn(async move {
                let slot = registry.slot_for(&row).await;
                registry.set_slot(&row.name, slot);
            });
        }
        while loading.join_next().await.is_some() {}
        Ok(registry)
    }

    /// Listens for other replicas' changes (install, grant, enable, disable, remove), which
    /// the services announce on the bus once committed, and reloads the plugin they name, so
    /// every replica runs the same plugins. This replica's own changes are already applied.
    /// With the in-process bus this only matters for several registries in one process
    /// (tests).
    async fn follow_other_replicas(&self) {
        let bus = self.inner.services.bus().clone();
        let mut notices = match bus.subscribe(Topic::Plugins).await {
            Ok(notices) => notices,
            Err(error) => {
                tracing::warn!(%error, "cannot follow plugin changes of other replicas");
                return;
            }
        };
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let notice = notices.recv().await;
                let Some(inner) = weak.upgrade() else { return };
                let registry = Registry { inner };
                match notice {
                    Ok(Envelope {
                        origin,
                        message: Message::PluginChanged { name },
                    }) => {
                        if origin != bus.origin() {
                            registry.refresh(&name).await;
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        // Some notices were missed: bring every plugin up to date.
                        if let Ok(rows) = registry
                            .inner
                            .services
                            .list_plugins(&Caller::system())
                            .await
                        {
                            for row in rows {
                                registry.refresh(&row.name).await;
                            }
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    /// Reloads `name` as recorded now.
    async fn refresh(&self, name: &str) {
        let row = match self
            .inner
            .services
            .get_plugin(&Caller::system(), name)
            .await
        {
            Ok(row) => row,
            Err(ServiceError::NotFound { .. }) => {
                self.set_slot(name, None);
                return;
            }
            Err(error) => {
                tracing::warn!(plugin = %name, %error, "cannot read a changed plugin");
                return;
            }
        };
        tracing::info!(plugin = %name, enabled = row.enabled, "plugin changed on another replica");
        let slot = self.slot_for(&row).await;
        self.set_slot(name, slot);
    }

    /// What `row` runs as on this server: nothing when disabled, else the loaded plugin or why
    /// it failed to load.
    async fn slot_for(&self, row: &PluginRecord) -> Option<Slot> {
        if !row.enabled {
            return None;
        }
        Some(match self.load(row).await {
            Ok(loaded) => Slot::Running(loaded),
            Err(message) => {
                tracing::error!(plugin = %row.name, %message, "enabled plugin failed to load");
                Slot::Failed(message)
            }
        })
    }

    /// Offers every `NAME.wasm` with a `NAME.toml` beside it for review. Problems are logged
    /// with the file's path; a bad file never stops the server.
    async fn scan_directory(&self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "cannot read the plugins directory");
                return;
            }
        };
        let mut wasm_files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        wasm_files.sort();
        for wasm in wasm_files {
            let toml = wasm.with_extension("toml");
            let found = async {
                let text = std::fs::read_to_string(&toml)
                    .map_err(|e| format!("{}: {e}", toml.display()))?;
                let manifest =
                    manifest::parse(&text).map_err(|e| format!("{}: {e}", toml.display()))?;
                let bytes = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
                let review = self.review_parsed(Some(&manifest), &bytes).await?;
                if !review.problems.is_empty() {
                    return Err(format!(
                        "{}: {}",
                        wasm.display(),
                        review.problems.join("; ")
                    ));
                }
                Ok(row_of(
                    &manifest,
                    PluginSource::Directory,
                    wasm.display().to_string(),
                    review.digest,
                ))
            };
            match found.await {
                Ok(row) => {
                    if let Err(error) = self.inner.services.sync_plugin(row).await {
                        tracing::error!(file = %wasm.display(), %error, "cannot record plugin");
                    }
                }
                Err(message) => {
                    tracing::error!(%message, "plugin in the plugins directory skipped")
                }
            }
        }
    }

    fn set_slot(&self, name: &str, slot: Option<Slot>) {
        let mut slots = self.inner.slots.write().unwrap_or_else(|p| p.into_inner());
        match slot {
            Some(slot) => slots.insert(name.to_owned(), slot),
            None => slots.remove(name),
        };
    }

    fn slot(&self, name: &str) -> Option<Slot> {
        self.inner
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The component of an installed plugin, checked against its recorded digest.
    async fn component(&self, row: &PluginRecord) -> Result<Vec<u8>, String> {
        let bytes = match row.source {
            PluginSource::Builtin => self
                .inner
                .builtins
                .get(&row.name)
                .map(|component| component.to_vec())
                .ok_or_else(|| "this build does not include it".to_owned())?,
            PluginSource::Directory => std::fs::read(&row.source_ref)
                .map_err(|e| format!("cannot read {}: {e}", row.source_ref))?,
            PluginSource::Upload | PluginSource::Oci => self
                .inner
                .services
                .plugin_component(&row.digest)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("component {} is missing from the database", row.digest))?,
        };
        let digest = PluginHost::digest(&bytes);
        if digest != row.digest {
            return Err(format!(
                "its component changed since it was reviewed (recorded {}, found {digest}); restart to review the new one",
                row.digest
            ));
        }
        Ok(bytes)
    }

    /// Secrets granted to a plugin, read from the secrets directory.
    fn secrets(&self, granted: &BTreeSet<Capability>) -> Result<BTreeMap<String, String>, String> {
        let mut secrets = BTreeMap::new();
        for capability in granted {
            let Capability::Secret(name) = capability else {
                continue;
            };
            let dir = self.inner.config.secrets_dir.as_ref().ok_or_else(|| {
                format!("secret {name:?} is granted but no secrets directory is configured (GARRISON_PLUGIN_SECRETS_DIR)")
            })?;
            let safe = !name.contains(['/', '\\']) && !name.starts_with('.');
            let path = dir.join(name);
            let value = safe
                .then(|| std::fs::read_to_string(&path).ok())
                .flatten()
                .ok_or_else(|| {
                    format!(
                        "secret {name:?} is granted but {} cannot be read",
                        path.display()
                    )
                })?;
            secrets.insert(
                name.clone(),
                value.trim_end_matches(['\r', '\n']).to_owned(),
            );
        }
        Ok(secrets)
    }

    /// Loads `row` as recorded (its grants, its limits). Compiling is CPU work, so it runs on
    /// the blocking pool.
    async fn load(&self, row: &PluginRecord) -> Result<Loaded, String> {
        let bytes = self.component(row).await?;
        let manifest = Manifest {
            name: row.name.clone(),
            version: row.version.clone(),
            kind: kind_of(row.kind),
            wit_version: row.wit_version.clone(),
            capabilities: capabilities_of(&row.requested)?,
        };
        let grants = Grants {
            capabilities: capabilities_of(&row.granted)?,
        };
        let secrets = self.secrets(&grants.capabilities)?;
        let limits = CallLimits {
            deadline: std::time::Duration::from_millis(row.deadline_ms),
            memory_bytes: (row.memory_mib as usize).saturating_mul(1024 * 1024),
        };
        let host = self.inner.host.clone();
        tokio::task::spawn_blocking(move || {
            let loaded = match manifest.kind {
                PluginKind::Provider => host
                    .load_provider(manifest, &grants, &bytes, limits)
                    .map(Loaded::Provider),
                PluginKind::DeploymentBackend => host
                    .load_backend(manifest, &grants, &bytes, limits, secrets)
                    .map(Loaded::Backend),
                PluginKind::Policy => host
                    .load_policy(manifest, &grants, &bytes, limits, secrets)
                    .map(Loaded::Policy),
            };
            loaded.map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("loading was interrupted: {e}"))?
    }

    async fn review_parsed(
        &self,
        manifest: Option<&Manifest>,
        bytes: &[u8],
    ) -> Result<Review, String> {
        let host = self.inner.host.clone();
        let manifest = manifest.cloned();
        let owned = bytes.to_vec();
        tokio::task::spawn_blocking(move || review(&host, manifest.as_ref(), &owned))
            .await
            .map_err(|e| format!("inspection was interrupted: {e}"))?
    }

    /// The validate-only path: what installing `bytes` under `manifest` (TOML or JSON) would
    /// mean. Without a manifest, only the component is described. Reviewing compiles the
    /// component, so only those who may install may ask.
    pub async fn review(
        &self,
        caller: &Caller,
        manifest: Option<&str>,
        bytes: &[u8],
    ) -> ServiceResult<Review> {
        self.inner.services.may_install_plugin(caller)?;
        let manifest = manifest
            .map(manifest::parse)
            .transpose()
            .map_err(|e| ServiceError::invalid("manifest", e))?;
        self.review_parsed(manifest.as_ref(), bytes)
            .await
            .map_err(|e| ServiceError::invalid("component", e))
    }

    /// Installs a component after review: recorded disabled, nothing granted.
    pub async fn install(
        &self,
        caller: &Caller,
        manifest: &str,
        bytes: &[u8],
        source: InstallSource,
    ) -> ServiceResult<Plugin> {
        self.inner.services.may_install_plugin(caller)?;
        let parsed = manifest::parse(manifest).map_err(|e| ServiceError::invalid("manifest", e))?;
        let review = self
            .review_parsed(Some(&parsed), bytes)
            .await
            .map_err(|e| ServiceError::invalid("component", e))?;
        if !review.problems.is_empty() {
            return Err(ServiceError::invalid(
                "component",
                review.problems.join("; "),
            ));
        }
        let (source, source_ref) = match source {
            InstallSource::Upload { filename } => (PluginSource::Upload, filename),
            InstallSource::Oci { reference } => (PluginSource::Oci, reference),
        };
        let row = row_of(&parsed, source, source_ref, review.digest);
        let row = self
            .inner
            .services
            .install_plugin(caller, row, Some(bytes))
            .await?;
        Ok(self.to_model(row))
    }

    /// Grants, enables, disables or changes limits. When the result is enabled it is loaded
    /// first; if it does not load, nothing changes and the error says why.
    pub async fn change(
        &self,
        caller: &Caller,
        name: &str,
        changes: PluginChanges,
    ) -> ServiceResult<Plugin> {
        let before = self.inner.services.get_plugin(caller, name).await?;
        self.inner
            .services
            .may_change_plugin(caller, &before, &changes)?;
        let planned = planned_change(&before, &changes)?;
        let slot = if planned.enabled {
            let loaded = self
                .load(&planned)
                .await
                .map_err(|message| ServiceError::invalid("enabled", message))?;
            Some(Slot::Running(loaded))
        } else {
            None
        };
        let after = self
            .inner
            .services
            .change_plugin(caller, name, changes)
            .await?;
        self.set_slot(name, slot);
        Ok(self.to_model(after))
    }

    /// Pulls `reference` (pinned by digest) and installs it like an upload. The artifact's
    /// manifest layer is used unless `manifest` is given.
    pub async fn install_oci(
        &self,
        caller: &Caller,
        reference: &str,
        manifest: Option<&str>,
    ) -> ServiceResult<Plugin> {
        self.inner.services.may_install_plugin(caller)?;
        let parsed = garrison_oci::PluginReference::parse(reference)
            .map_err(|e| ServiceError::invalid("oci_reference", e.to_string()))?;
        let target = parsed.clone();
        let allowed = garrison_oci::Allowed::new(&self.inner.config.oci_registries);
        let pulled =
            tokio::task::spawn_blocking(move || garrison_oci::pull_plugin(&target, &allowed))
                .await
                .map_err(internal)?
                .map_err(|e| ServiceError::invalid("oci_reference", e.to_string()))?;
        let manifest_text = match (manifest, pulled.manifest.as_deref()) {
            (Some(given), _) => given.to_owned(),
            (None, Some(layer)) => layer.to_owned(),
            (None, None) => {
                return Err(ServiceError::invalid(
                    "manifest",
                    format!(
                        "the artifact has no {} layer; give the manifest with the request",
                        garrison_oci::PLUGIN_MANIFEST_LAYER
                    ),
                ));
            }
        };
        self.install(
            caller,
            &manifest_text,
            &pulled.component,
            InstallSource::Oci {
                reference: parsed.to_string(),
            },
        )
        .await
    }

    pub async fn remove(&self, caller: &Caller, name: &str) -> ServiceResult<()> {
        self.inner.services.delete_plugin(caller, name).await?;
        self.set_slot(name, None);
        Ok(())
    }

    pub async fn list(&self, caller: &Caller) -> ServiceResult<Vec<Plugin>> {
        let rows = self.inner.services.list_plugins(caller).await?;
        Ok(rows.into_iter().map(|row| self.to_model(row)).collect())
    }

    pub async fn get(&self, caller: &Caller, name: &str) -> ServiceResult<Plugin> {
        let row = self.inner.services.get_plugin(caller, name).await?;
        Ok(self.to_model(row))
    }

    fn to_model(&self, row: PluginRecord) -> Plugin {
        let state = match (row.enabled, self.slot(&row.name)) {
            (false, _) => PluginState::Disabled,
            (true, Some(Slot::Running(_))) => PluginState::Running,
            (true, Some(Slot::Failed(message))) => PluginState::Failed(message),
            (true, None) => PluginState::Failed("not loaded on this server".into()),
        };
        let stats = self.inner.host.stats_of(&row.name).snapshot();
        let capabilities = row
            .requested
            .iter()
            .map(|text| PluginCapability {
                capability: text.clone(),
                description: text
                    .parse::<Capability>()
                    .map(|c| c.describe())
                    .unwrap_or_else(|e| e),
                granted: row.granted.contains(text),
            })
            .collect();
        Plugin {
            capabilities,
            source: row.source,
            name: row.name,
            version: row.version,
            kind: row.kind.as_str().to_owned(),
            wit_version: row.wit_version,
            source_ref: row.source_ref,
            digest: row.digest,
            requested: row.requested,
            granted: row.granted,
            enabled: row.enabled,
            deadline_ms: row.deadline_ms,
            memory_mib: row.memory_mib,
            state,
            stats: PluginCallStats {
                calls: stats.calls,
                errors: stats.errors,
                timeouts: stats.timeouts,
                memory_exhausted: stats.memory_exhausted,
                traps: stats.traps,
                p50_us: stats.p50_us,
                p99_us: stats.p99_us,
                latency_buckets: stats.buckets,
            },
            created: row.created,
            updated: row.updated,
        }
    }

    /// The loaded plugin named `name`, if it is running.
    pub fn loaded(&self, name: &str) -> Option<Loaded> {
        match self.slot(name)? {
            Slot::Running(loaded) => Some(loaded),
            Slot::Failed(_) => None,
        }
    }

    /// Every running provider plugin, by name.
    pub fn providers(&self) -> Vec<ProviderPlugin> {
        self.running(|loaded| match loaded {
            Loaded::Provider(p) => Some(p.clone()),
            _ => None,
        })
    }

    /// The running plugins `pick` selects, in name order.
    fn running<T>(&self, pick: impl Fn(&Loaded) -> Option<T>) -> Vec<T> {
        let slots = self.inner.slots.read().unwrap_or_else(|p| p.into_inner());
        let mut named: Vec<(&String, T)> = slots
            .iter()
            .filter_map(|(name, slot)| match slot {
                Slot::Running(loaded) => pick(loaded).map(|t| (name, t)),
                Slot::Failed(_) => None,
            })
            .collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        named.into_iter().map(|(_, t)| t).collect()
    }

    /// The extensions the services call: this registry's provider and policy plugins.
    pub fn extensions(&self) -> garrison_services::extensions::Extensions {
        let weak = || extensions::PluginExtensions(Arc::downgrade(&self.inner));
        garrison_services::extensions::Extensions {
            expansion: Some(Arc::new(weak())),
            policies: Some(Arc::new(weak())),
        }
    }

    /// Registers the per-plugin families on the metrics registry.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.inner.host.register_metrics(registry);
    }

    /// The host, for inspection outside the registry (the CLI).
    pub fn host(&self) -> &PluginHost {
        &self.inner.host
    }
}
