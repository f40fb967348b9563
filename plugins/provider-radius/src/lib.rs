//! RADIUS providers: view on the provider only (authentik has no override of
//! `get_required_objects` for RADIUS).
use garrison_plugin_sdk::provider::{
    Guest, OutpostInfo, PermissionGrant, PluginError, ProviderInfo,
};
use garrison_plugin_sdk::view_object;

struct Radius;

impl Guest for Radius {
    fn required_permissions(
        provider: ProviderInfo,
        _outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        Ok(vec![view_object(
            "authentik_providers_radius.radiusprovider",
            provider.pk,
        )])
    }
}

garrison_plugin_sdk::export_provider!(Radius);
