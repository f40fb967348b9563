//! The names of Garrison's models, once: authentik's `app_label.model` for what Garrison
//! shares with authentik (so blueprints, permissions and events name them as authentik does),
//! `garrison_*` for Garrison's own. Audit events, permission codenames and the blueprint
//! registry all read them from here.

/// A model's name as authentik spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelName {
    pub app_label: &'static str,
    pub model: &'static str,
    /// What people call one of them.
    pub verbose_name: &'static str,
}

impl ModelName {
    /// `app_label.model`, as blueprints write it (`model: authentik_core.user`).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.app_label, self.model)
    }

    /// A permission on this model: `app_label.ACTION_model` (`authentik_core.view_user`).
    pub fn permission(&self, action: &str) -> String {
        format!("{}.{action}_{}", self.app_label, self.model)
    }

    /// The model named `app_label.model`, if Garrison has it.
    pub fn find(qualified: &str) -> Option<ModelName> {
        let (app_label, model) = qualified.split_once('.')?;
        ALL.iter()
            .copied()
            .find(|m| m.app_label == app_label && m.model == model)
    }
}

pub const USER: ModelName = ModelName {
    app_label: "authentik_core",
    model: "user",
    verbose_name: "User",
};
pub const GROUP: ModelName = ModelName {
    app_label: "authentik_core",
    model: "group",
    verbose_name: "Group",
};
pub const TOKEN: ModelName = ModelName {
    app_label: "authentik_core",
    model: "token",
    verbose_name: "Token",
};
pub const ROLE: ModelName = ModelName {
    app_label: "authentik_rbac",
    model: "role",
    verbose_name: "Role",
};
pub const EVENT: ModelName = ModelName {
    app_label: "authentik_events",
    model: "event",
    verbose_name: "Event",
};
pub const PLUGIN: ModelName = ModelName {
    app_label: "garrison_plugins",
    model: "plugin",
    verbose_name: "Plugin",
};

pub const OUTPOST: ModelName = ModelName {
    app_label: "authentik_outposts",
    model: "outpost",
    verbose_name: "Outpost",
};
pub const DOCKER_SERVICE_CONNECTION: ModelName = ModelName {
    app_label: "authentik_outposts",
    model: "dockerserviceconnection",
    verbose_name: "Docker Service-Connection",
};
pub const KUBERNETES_SERVICE_CONNECTION: ModelName = ModelName {
    app_label: "authentik_outposts",
    model: "kubernetesserviceconnection",
    verbose_name: "Kubernetes Service-Connection",
};
pub const PROXY_PROVIDER: ModelName = ModelName {
    app_label: "authentik_providers_proxy",
    model: "proxyprovider",
    verbose_name: "Proxy Provider",
};
pub const LDAP_PROVIDER: ModelName = ModelName {
    app_label: "authentik_providers_ldap",
    model: "ldapprovider",
    verbose_name: "LDAP Provider",
};
pub const RADIUS_PROVIDER: ModelName = ModelName {
    app_label: "authentik_providers_radius",
    model: "radiusprovider",
    verbose_name: "Radius Provider",
};
pub const RAC_PROVIDER: ModelName = ModelName {
    app_label: "authentik_providers_rac",
    model: "racprovider",
    verbose_name: "RAC Provider",
};
pub const APPLICATION: ModelName = ModelName {
    app_label: "authentik_core",
    model: "application",
    verbose_name: "Application",
};
pub const CERTIFICATE_KEYPAIR: ModelName = ModelName {
    app_label: "authentik_crypto",
    model: "certificatekeypair",
    verbose_name: "Certificate-Key Pair",
};
pub const BRAND: ModelName = ModelName {
    app_label: "authentik_brands",
    model: "brand",
    verbose_name: "Brand",
};
pub const BLUEPRINT_INSTANCE: ModelName = ModelName {
    app_label: "authentik_blueprints",
    model: "blueprintinstance",
    verbose_name: "Blueprint Instance",
};

/// Every model Garrison implements.
pub const ALL: &[ModelName] = &[
    USER,
    GROUP,
    TOKEN,
    ROLE,
    EVENT,
    PLUGIN,
    OUTPOST,
    DOCKER_SERVICE_CONNECTION,
    KUBERNETES_SERVICE_CONNECTION,
    PROXY_PROVIDER,
    LDAP_PROVIDER,
    RADIUS_PROVIDER,
    RAC_PROVIDER,
    APPLICATION,
    CERTIFICATE_KEYPAIR,
    BRAND,
    BLUEPRINT_INSTANCE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_authentiks_and_found_by_their_qualified_name() {
        assert_eq!(USER.qualified(), "authentik_core.user");
        assert_eq!(
            GROUP.permission("add_user_to"),
            "authentik_core.add_user_to_group"
        );
        assert_eq!(ROLE.permission("view"), "authentik_rbac.view_role");
        assert_eq!(ModelName::find("authentik_core.token"), Some(TOKEN));
        assert_eq!(ModelName::find("authentik_flows.flow"), None);
        let mut seen = std::collections::HashSet::new();
        assert!(
            ALL.iter().all(|m| seen.insert(m.qualified())),
            "no duplicates"
        );
    }
}
