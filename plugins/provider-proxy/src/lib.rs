//! Proxy providers: view on the provider and on its TLS certificate (authentik's
//! `ProxyProvider.get_required_objects`).
use garrison_plugin_sdk::provider::{
    Guest, OutpostInfo, PermissionGrant, PluginError, ProviderInfo,
};
use garrison_plugin_sdk::{certificate_view, view_object};

struct Proxy;

impl Guest for Proxy {
    fn required_permissions(
        provider: ProviderInfo,
        _outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        let mut grants = vec![view_object(
            "authentik_providers_proxy.proxyprovider",
            provider.pk,
        )];
        grants.extend(certificate_view(&provider.certificate));
        Ok(grants)
    }
}

garrison_plugin_sdk::export_provider!(Proxy);
