//! RAC providers: view on the provider only.
use garrison_plugin_sdk::provider::{
    Guest, OutpostInfo, PermissionGrant, PluginError, ProviderInfo,
};
use garrison_plugin_sdk::view_object;

struct Rac;

impl Guest for Rac {
    fn required_permissions(
        provider: ProviderInfo,
        _outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        Ok(vec![view_object(
            "authentik_providers_rac.racprovider",
            provider.pk,
        )])
    }
}

garrison_plugin_sdk::export_provider!(Rac);
