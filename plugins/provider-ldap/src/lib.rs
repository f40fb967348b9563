//! LDAP providers: view on the provider, global view of users and groups (the outpost serves
//! the directory), and view on its certificate (authentik's `LDAPProvider.get_required_objects`).
use garrison_plugin_sdk::provider::{
    Guest, OutpostInfo, PermissionGrant, PluginError, ProviderInfo,
};
use garrison_plugin_sdk::{certificate_view, global, view_object};

struct Ldap;

impl Guest for Ldap {
    fn required_permissions(
        provider: ProviderInfo,
        _outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        let mut grants = vec![
            view_object("authentik_providers_ldap.ldapprovider", provider.pk),
            global("authentik_core.view_user"),
            global("authentik_core.view_group"),
        ];
        grants.extend(certificate_view(&provider.certificate));
        Ok(grants)
    }
}

garrison_plugin_sdk::export_provider!(Ldap);
