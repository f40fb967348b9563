//! Template provider plugin. Replace the model name with your provider's and return what an
//! outpost serving it must be able to see. See plugins/README.md for the rules plugins run under.
use garrison_plugin_sdk::provider::{
    Guest, Level, OutpostInfo, PermissionGrant, PluginError, ProviderInfo, log,
};
use garrison_plugin_sdk::{certificate_view, view_object};

struct Template;

impl Guest for Template {
    fn required_permissions(
        provider: ProviderInfo,
        outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        log(
            Level::Debug,
            &format!("expanding {} for outpost {}", provider.name, outpost.name),
        );
        // View on the provider itself, and on its certificate when it has one.
        let mut grants = vec![view_object("myapp.myprovider", provider.pk)];
        grants.extend(certificate_view(&provider.certificate));
        Ok(grants)
    }
}

garrison_plugin_sdk::export_provider!(Template);
