//! Provider plugins: the `provider` world of garrison:plugin@0.1.0 and 0.2.0.
//!
//! Only the world's export is bound here; its imports (`types`, `log`) are the shared bindings
//! in `wit_types` and `capabilities::log`, linked by those modules.
use crate::call::{Runner, run_export};
use crate::state::HostState;
use crate::wit_types::PluginError;
use crate::{CallError, Manifest, PluginStats};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        world: "provider",
        exports: { default: async },
        with: {
            "garrison:plugin/types": crate::wit_types::v0_1_0::garrison::plugin::types,
            "garrison:plugin/log": crate::capabilities::log::v0_1_0::garrison::plugin::log,
        },
    });
}

/// garrison:plugin@0.2.0's provider world: the same types, plus `describe`. Bound separately
/// (its interfaces are distinct imports to wasmtime), and adapted to the 0.1.0 types at the
/// edge so callers see one `ProviderPlugin`.
mod bindings_v2 {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.2.0",
        world: "provider",
        exports: { default: async },
        with: {
            "garrison:plugin/types": crate::wit_types::v0_2_0::garrison::plugin::types,
            "garrison:plugin/log": crate::capabilities::log::v0_2_0::garrison::plugin::log,
        },
    });
}

pub use crate::wit_types::v0_1_0::garrison::plugin::types::{
    Certificate, ObjectRef, OutpostInfo, PermissionGrant, ProviderInfo,
};
use crate::wit_types::v0_2_0::garrison::plugin::types as types_v2;

fn provider_v2(p: &ProviderInfo) -> types_v2::ProviderInfo {
    types_v2::ProviderInfo {
        kind: p.kind.clone(),
        pk: p.pk,
        name: p.name.clone(),
        attributes: p.attributes.clone(),
        certificate: p.certificate.as_ref().map(|c| types_v2::Certificate {
            pk: c.pk.clone(),
            name: c.name.clone(),
        }),
    }
}

fn outpost_v2(o: &OutpostInfo) -> types_v2::OutpostInfo {
    types_v2::OutpostInfo {
        pk: o.pk.clone(),
        name: o.name.clone(),
        outpost_type: o.outpost_type.clone(),
    }
}

fn grants_v1(
    outcome: wasmtime::Result<Result<Vec<types_v2::PermissionGrant>, types_v2::PluginError>>,
) -> wasmtime::Result<Result<Vec<PermissionGrant>, PluginError>> {
    outcome.map(|result| {
        result
            .map(|grants| {
                grants
                    .into_iter()
                    .map(|g| PermissionGrant {
                        permission: g.permission,
                        object: g.object.map(|o| ObjectRef {
                            model: o.model,
                            pk: o.pk,
                        }),
                    })
                    .collect()
            })
            .map_err(|e| PluginError { message: e.message })
    })
}

/// A loaded provider plugin. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct ProviderPlugin {
    runner: Runner,
    pre: Pre,
}

/// The pre-linked component, by the WIT version it was built against.
#[derive(Clone)]
enum Pre {
    V1(bindings::ProviderPre<HostState>),
    V2(bindings_v2::ProviderPre<HostState>),
}

impl ProviderPlugin {
    pub(crate) fn new(
        runner: Runner,
        pre: wasmtime::component::InstancePre<HostState>,
    ) -> wasmtime::Result<Self> {
        let pre = match runner.manifest.wit_version.as_str() {
            "0.1.0" => Pre::V1(bindings::ProviderPre::new(pre)?),
            _ => Pre::V2(bindings_v2::ProviderPre::new(pre)?),
        };
        Ok(Self { runner, pre })
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
        match &self.pre {
            Pre::V1(pre) => {
                run_export!(self, pre, garrison_plugin_expansion, |expansion, store| {
                    expansion.call_required_permissions(&mut store, provider, outpost)
                })
            }
            Pre::V2(pre) => {
                let (provider, outpost) = (provider_v2(provider), outpost_v2(outpost));
                run_export!(
                    self,
                    pre,
                    garrison_plugin_expansion,
                    |expansion, store| async {
                        grants_v1(
                            expansion
                                .call_required_permissions(&mut store, &provider, &outpost)
                                .await,
                        )
                    }
                )
            }
        }
    }

    /// The provider kinds the plugin says it expands (0.2.0 and later); `None` for plugins
    /// built against 0.1.0, which cannot say.
    pub async fn provider_kinds(&self) -> Result<Option<Vec<String>>, CallError> {
        match &self.pre {
            Pre::V1(_) => Ok(None),
            Pre::V2(pre) => run_export!(
                self,
                pre,
                garrison_plugin_expansion,
                |expansion, store| async {
                    expansion
                        .call_describe(&mut store)
                        .await
                        .map(|info| Ok(Some(info.provider_kinds)))
                }
            ),
        }
    }
}
