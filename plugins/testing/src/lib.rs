//! A provider plugin that misbehaves on request, for the host's tests. The provider's name
//! picks the behaviour: "loop" spins forever, "memory-bomb" allocates until refused, "trap"
//! panics, "log" logs and succeeds, anything else answers normally.
use garrison_plugin_sdk::provider::{
    Guest, Level, OutpostInfo, PermissionGrant, PluginError, ProviderInfo, log,
};
use garrison_plugin_sdk::view_object;

struct Misbehaving;

impl Guest for Misbehaving {
    fn required_permissions(
        provider: ProviderInfo,
        _outpost: OutpostInfo,
    ) -> Result<Vec<PermissionGrant>, PluginError> {
        match provider.name.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("this plugin traps on purpose"),
            "log" => {
                log(Level::Info, "hello from a plugin");
                Ok(vec![view_object("test.thing", provider.pk)])
            }
            _ => Ok(vec![view_object("test.thing", provider.pk)]),
        }
    }
}

garrison_plugin_sdk::export_provider!(Misbehaving);
