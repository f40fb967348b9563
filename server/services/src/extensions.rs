//! What the services need from plugins, as traits the services own.
//!
//! The registry (which runs WebAssembly) depends on the services, so the services cannot call
//! it directly. Instead they define what they need here; the registry implements it, and the
//! binary installs the implementation at start ([`Services::install_extensions`]). The
//! services know nothing of wasmtime, components or manifests: only these types.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::Services;

/// A boxed future, so the traits stay usable as trait objects.
pub type ExtensionFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ExtensionError>> + Send + 'a>>;

/// Why an extension could not answer. Callers treat every variant the same way: the
/// extension grants nothing new and the message is shown where the operator looks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("no extension is installed for {what}")]
    NotInstalled { what: String },
    #[error("no enabled plugin expands {kind} providers")]
    NoPlugin { kind: String },
    #[error("plugin {plugin} failed: {message}")]
    Failed { plugin: String, message: String },
}

/// One permission to grant: global when `object` is `None`, else on that object
/// (model name such as `authentik_providers_proxy.proxyprovider`, primary key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub permission: String,
    pub object: Option<(String, String)>,
}

/// A provider as an expansion sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderFacts {
    /// "proxy", "ldap", "radius", "rac", or a third-party kind.
    pub kind: String,
    pub pk: i64,
    pub name: String,
    /// The provider's settings.
    pub attributes: Value,
    /// The certificate keypair it uses: (pk, name).
    pub certificate: Option<(String, String)>,
}

/// The outpost a provider is served by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutpostFacts {
    pub pk: String,
    pub name: String,
    pub outpost_type: String,
}

/// A provider type's permission expansion: what an outpost's service account needs to see
/// to serve the provider (authentik's `get_required_objects`).
pub trait PermissionExpansion: Send + Sync + 'static {
    fn required_permissions<'a>(
        &'a self,
        provider: &'a ProviderFacts,
        outpost: &'a OutpostFacts,
    ) -> ExtensionFuture<'a, Vec<Grant>>;
}

/// When a policy hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Login,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Login => "login",
        }
    }
}

/// What a hook is told about the event.
#[derive(Clone, Debug, PartialEq)]
pub struct HookEvent {
    pub trigger: Trigger,
    pub username: String,
    pub groups: Vec<String>,
    pub context: Value,
}

/// One hook's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookDecision {
    pub plugin: String,
    pub pass: bool,
    pub messages: Vec<String>,
}

/// Policy hooks: every enabled hook for a trigger, evaluated on an event.
pub trait PolicyHooks: Send + Sync + 'static {
    fn evaluate<'a>(&'a self, event: &'a HookEvent) -> ExtensionFuture<'a, Vec<HookDecision>>;
}

/// The extensions the binary installs.
#[derive(Clone, Default)]
pub struct Extensions {
    pub expansion: Option<Arc<dyn PermissionExpansion>>,
    pub policies: Option<Arc<dyn PolicyHooks>>,
}

impl Services {
    /// Installs the plugin-backed extensions (at start, once the registry runs).
    pub fn install_extensions(&self, extensions: Extensions) {
        let mut slot = self
            .inner
            .extensions
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *slot = extensions;
    }

    fn extensions(&self) -> Extensions {
        self.extensions_snapshot()
    }

    /// The permissions an outpost's service account needs for one provider, as the installed
    /// expansion computes them (sorted, without repeats).
    pub async fn required_permissions(
        &self,
        provider: &ProviderFacts,
        outpost: &OutpostFacts,
    ) -> Result<Vec<Grant>, ExtensionError> {
        let expansion =
            self.extensions()
                .expansion
                .ok_or_else(|| ExtensionError::NotInstalled {
                    what: "permission expansion".into(),
                })?;
        let mut grants = expansion.required_permissions(provider, outpost).await?;
        grants.sort();
        grants.dedup();
        Ok(grants)
    }

    /// Every enabled hook's decision on `event`; none installed means no decisions.
    pub async fn evaluate_hooks(
        &self,
        event: &HookEvent,
    ) -> Result<Vec<HookDecision>, ExtensionError> {
        match self.extensions().policies {
            Some(hooks) => hooks.evaluate(event).await,
            None => Ok(Vec::new()),
        }
    }
}
