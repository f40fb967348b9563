//! A provider plugin built against garrison:plugin@0.2.0 (bindings straight from wit/, as a
//! third party targeting the newer version would), so the host's tests can load it beside
//! 0.1.0 plugins. It expands "radius" providers and says so through 0.2.0's `describe`.
wit_bindgen::generate!({
    world: "provider",
    path: "../../wit/plugin-0.2.0",
});

use exports::garrison::plugin::expansion::{ExpansionInfo, Guest};
use garrison::plugin::types::{ObjectRef, OutpostInfo, PermissionGrant, PluginError, ProviderInfo};

struct RadiusV2;

impl Guest for RadiusV2 {
    fn describe() -> ExpansionInfo {
        ExpansionInfo {
            provider_kinds: vec!["radius".into()],
        }
    }

    fn required_permissions(
        provider: ProviderInfo,
        _outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        Ok(vec![PermissionGrant {
            permission: "authentik_providers_radius.view_radiusprovider".into(),
            object: Some(ObjectRef {
                model: "authentik_providers_radius.radiusprovider".into(),
                pk: provider.pk.to_string(),
            }),
        }])
    }
}

export!(RadiusV2);
