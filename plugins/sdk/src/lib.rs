//! The Garrison plugin SDK: everything a plugin author needs, and nothing of the host.
//!
//! Each module holds the bindings of one world of `garrison:plugin@0.1.0` (see `wit/`). Implement
//! the world's `Guest` trait and export it with the matching macro:
//!
//! ```ignore
//! use garrison_plugin_sdk::provider::{Guest, ProviderInfo, OutpostInfo, PermissionGrant, PluginError};
//! struct MyProvider;
//! impl Guest for MyProvider {
//!     fn required_permissions(p: ProviderInfo, _o: OutpostInfo) -> Result<Vec<PermissionGrant>, PluginError> {
//!         Ok(vec![garrison_plugin_sdk::view_object("myapp.myprovider", p.pk)])
//!     }
//! }
//! garrison_plugin_sdk::export_provider!(MyProvider);
//! ```
//!
//! Deployment backends implement `backend::Guest` and use `export_backend!`; policies implement
//! `policy::Guest` and use `export_policy!`.

/// Bindings of the `provider` world.
pub mod provider {
    wit_bindgen::generate!({
        world: "provider",
        path: "../../wit/plugin-0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_provider",
        default_bindings_module: "garrison_plugin_sdk::provider",
    });
    pub use exports::garrison::plugin::expansion::Guest;
    pub use garrison::plugin::log::{Level, log};
    pub use garrison::plugin::types::{
        Certificate, ObjectRef, OutpostInfo, PermissionGrant, PluginError, ProviderInfo,
    };
}

/// Bindings of the `policy` world.
pub mod policy {
    wit_bindgen::generate!({
        world: "policy",
        path: "../../wit/plugin-0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_policy",
        default_bindings_module: "garrison_plugin_sdk::policy",
    });
    pub use exports::garrison::plugin::hook::{Decision, Event, Guest};
    pub use garrison::plugin::log::{Level, log};
    pub use garrison::plugin::secrets;
    pub use garrison::plugin::types::PluginError;
}

/// Bindings of the `deployment-backend` world.
pub mod backend {
    wit_bindgen::generate!({
        world: "deployment-backend",
        path: "../../wit/plugin-0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_backend",
        default_bindings_module: "garrison_plugin_sdk::backend",
    });
    pub use exports::garrison::plugin::backend::{
        ConnectionStatus, Deployment, Description, Guest,
    };
    pub use garrison::plugin::log::{Level, log};
    pub use garrison::plugin::types::{OutpostInfo, PluginError};
    pub use garrison::plugin::{docker, kubernetes, secrets};
}

pub use backend::export_backend;
pub use policy::export_policy;
pub use provider::export_provider;
use provider::{ObjectRef, PermissionGrant};

/// `app_label.view_<model>` on one object: `model` is "app_label.model_name".
pub fn view_object(model: &str, pk: impl ToString) -> PermissionGrant {
    let (app, name) = model.split_once('.').unwrap_or(("", model));
    PermissionGrant {
        permission: format!("{app}.view_{name}"),
        object: Some(ObjectRef {
            model: model.to_owned(),
            pk: pk.to_string(),
        }),
    }
}

/// A global (model-level) permission, "app_label.codename".
pub fn global(permission: &str) -> PermissionGrant {
    PermissionGrant {
        permission: permission.to_owned(),
        object: None,
    }
}

/// View on the provider's certificate-keypair, when it has one.
pub fn certificate_view(certificate: &Option<provider::Certificate>) -> Option<PermissionGrant> {
    certificate
        .as_ref()
        .map(|c| view_object("authentik_crypto.certificatekeypair", &c.pk))
}
