//! What a plugin may reach: its manifest declares capabilities, the operator grants them, and
//! the component's imports must stay within both. Also the validate-only path used by the
//! review screen and `garrison plugin inspect`.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    Provider,
    DeploymentBackend,
    Policy,
}

impl PluginKind {
    /// The interface a component of this kind exports, unversioned.
    pub fn export(self) -> &'static str {
        match self {
            PluginKind::Provider => "garrison:plugin/expansion",
            PluginKind::DeploymentBackend => "garrison:plugin/backend",
            PluginKind::Policy => "garrison:plugin/hook",
        }
    }

    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Provider => "provider",
            PluginKind::DeploymentBackend => "deployment-backend",
            PluginKind::Policy => "policy",
        }
    }

    /// The WIT package versions this host serves for this kind, oldest first. A new version is
    /// added here, beside the old ones, when its world changes.
    pub fn wit_versions(self) -> &'static [&'static str] {
        match self {
            PluginKind::Provider => &["0.1.0", "0.2.0"],
            PluginKind::DeploymentBackend | PluginKind::Policy => &["0.1.0"],
        }
    }

    pub const ALL: [PluginKind; 3] = [
        PluginKind::Provider,
        PluginKind::DeploymentBackend,
        PluginKind::Policy,
    ];

    pub fn from_export(interface: &str) -> Option<PluginKind> {
        Self::ALL
            .into_iter()
            .find(|k| unversioned(interface) == k.export())
    }

    /// The kind whose world is named `world` ("provider", "deployment-backend", "policy").
    pub fn from_world(world: &str) -> Option<PluginKind> {
        Self::ALL.into_iter().find(|k| k.world() == world)
    }
}

/// A capability an operator can grant. Written as a string everywhere (manifests, the API,
/// the database): `secret:NAME`, `outbound-http:SCHEME://HOST[:PORT]`, `docker`, `kubernetes`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Capability {
    /// Read the named secret.
    Secret(String),
    /// Outbound HTTP to one `scheme://host:port`.
    OutboundHttp(String),
    Docker,
    Kubernetes,
}

impl Capability {
    /// What the review screen says the capability allows.
    pub fn describe(&self) -> String {
        match self {
            Capability::Secret(name) => format!("read the secret {name:?}"),
            Capability::OutboundHttp(target) => format!("send HTTP requests to {target}"),
            Capability::Docker => "manage containers on a Docker engine".into(),
            Capability::Kubernetes => "apply and delete objects in a Kubernetes cluster".into(),
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Capability::Secret(name) => write!(f, "secret:{name}"),
            Capability::OutboundHttp(target) => write!(f, "outbound-http:{target}"),
            Capability::Docker => f.write_str("docker"),
            Capability::Kubernetes => f.write_str("kubernetes"),
        }
    }
}

impl std::str::FromStr for Capability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text.split_once(':') {
            Some(("secret", name)) if !name.is_empty() => Ok(Capability::Secret(name.into())),
            Some(("outbound-http", target)) => crate::outbound::Target::parse(target)
                .map(|_| Capability::OutboundHttp(target.into())),
            _ if text == "docker" => Ok(Capability::Docker),
            _ if text == "kubernetes" => Ok(Capability::Kubernetes),
            _ => Err(format!(
                "unknown capability {text:?}: expected secret:NAME, outbound-http:SCHEME://HOST[:PORT], docker or kubernetes"
            )),
        }
    }
}

impl TryFrom<String> for Capability {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Capability> for String {
    fn from(capability: Capability) -> Self {
        capability.to_string()
    }
}

/// What a plugin says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    /// The WIT package version it was built against, e.g. "0.1.0".
    pub wit_version: String,
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
}

/// What the operator granted a plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub capabilities: BTreeSet<Capability>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("plugin {plugin}: not a valid WebAssembly component: {message}")]
    Invalid { plugin: String, message: String },
    #[error("plugin {plugin} imports {interface}, which its manifest does not declare ({needs})")]
    Undeclared {
        plugin: String,
        interface: String,
        needs: String,
    },
    #[error(
        "plugin {plugin} imports {interface}, which needs {needs}: not granted. Review and grant it to load the plugin"
    )]
    Ungranted {
        plugin: String,
        interface: String,
        needs: String,
    },
    #[error("plugin {plugin}: manifest field {field}: {message}")]
    InvalidManifest {
        plugin: String,
        field: String,
        message: String,
    },
    #[error("plugin {plugin} imports {interface}, which Garrison does not provide to plugins")]
    Unsupported { plugin: String, interface: String },
    #[error(
        "plugin {plugin} does not export {expected} (a {kind} plugin must); it exports: {found}"
    )]
    WrongWorld {
        plugin: String,
        kind: String,
        expected: String,
        found: String,
    },
    #[error(
        "plugin {plugin} was built against garrison:plugin@{found}; this host serves {supported}"
    )]
    UnsupportedVersion {
        plugin: String,
        found: String,
        supported: String,
    },
}

fn unversioned(interface: &str) -> &str {
    interface.split('@').next().unwrap_or(interface)
}

/// Which kind of grant an import needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needed {
    Secret,
    OutboundHttp,
    Docker,
    Kubernetes,
}

impl Needed {
    fn satisfied_by(self, capability: &Capability) -> bool {
        matches!(
            (self, capability),
            (Needed::Secret, Capability::Secret(_))
                | (Needed::OutboundHttp, Capability::OutboundHttp(_))
                | (Needed::Docker, Capability::Docker)
                | (Needed::Kubernetes, Capability::Kubernetes)
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Needed::Secret => "a secret grant",
            Needed::OutboundHttp => "an outbound HTTP grant",
            Needed::Docker => "the Docker capability",
            Needed::Kubernetes => "the Kubernetes capability",
        }
    }
}

/// What an import needs before a plugin may load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Always available (logging, and WASI's sandboxed basics: no files, no environment, no
    /// network).
    Nothing,
    Grant(Needed),
    Unsupported,
}

pub fn requirement(interface: &str) -> Requirement {
    let name = unversioned(interface);
    match name {
        "garrison:plugin/log" | "garrison:plugin/types" => Requirement::Nothing,
        "garrison:plugin/secrets" => Requirement::Grant(Needed::Secret),
        "garrison:plugin/docker" => Requirement::Grant(Needed::Docker),
        "garrison:plugin/kubernetes" => Requirement::Grant(Needed::Kubernetes),
        "wasi:http/outgoing-handler" | "wasi:http/types" => {
            Requirement::Grant(Needed::OutboundHttp)
        }
        _ if name.starts_with("wasi:cli/")
            || name.starts_with("wasi:io/")
            || name.starts_with("wasi:clocks/")
            || name.starts_with("wasi:random/")
            || name.starts_with("wasi:filesystem/") =>
        {
            Requirement::Nothing
        }
        _ => Requirement::Unsupported,
    }
}

/// A manifest's own rules, before any component is looked at: a name that can be a URL
/// segment and a metric label, and outbound targets that are origins.
pub fn validate_manifest(manifest: &Manifest) -> Result<(), LoadError> {
    let invalid = |field: &str, message: String| LoadError::InvalidManifest {
        plugin: manifest.name.clone(),
        field: field.into(),
        message,
    };
    let name_ok = !manifest.name.is_empty()
        && manifest.name.len() <= 64
        && manifest
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(invalid(
            "name",
            "1 to 64 characters of a-z, 0-9, '-' and '_'".into(),
        ));
    }
    if manifest.version.trim().is_empty() || manifest.version.len() > 64 {
        return Err(invalid("version", "must be 1 to 64 characters".into()));
    }
    for capability in &manifest.capabilities {
        match capability {
            Capability::OutboundHttp(target) => {
                crate::outbound::Target::parse(target)
                    .map_err(|message| invalid("capabilities.outbound-http", message))?;
            }
            Capability::Secret(name) if name.is_empty() || name.len() > 128 => {
                return Err(invalid(
                    "capabilities.secret",
                    "a secret name must be 1 to 128 characters".into(),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The validate-only path: would a component with these imports and exports load under this
/// manifest and these grants? Used at load and by the review screen.
pub fn check(
    manifest: &Manifest,
    grants: &Grants,
    imports: &[String],
    exports: &[String],
) -> Result<(), LoadError> {
    let plugin = manifest.name.clone();
    let supported = manifest.kind.wit_versions();
    if !supported.contains(&manifest.wit_version.as_str()) {
        return Err(LoadError::UnsupportedVersion {
            plugin,
            found: manifest.wit_version.clone(),
            supported: format!(
                "{} plugins at {}",
                manifest.kind.world(),
                supported.join(", ")
            ),
        });
    }
    validate_manifest(manifest)?;
    let expected = format!("{}@{}", manifest.kind.export(), manifest.wit_version);
    if !exports.iter().any(|e| *e == expected) {
        return Err(LoadError::WrongWorld {
            plugin,
            kind: manifest.kind.world().into(),
            expected,
            found: if exports.is_empty() {
                "nothing".into()
            } else {
                exports.join(", ")
            },
        });
    }
    for interface in imports {
        match requirement(interface) {
            Requirement::Nothing => {}
            Requirement::Unsupported => {
                return Err(LoadError::Unsupported {
                    plugin,
                    interface: interface.clone(),
                });
            }
            Requirement::Grant(needed) => {
                let needs = needed.describe().to_owned();
                if !manifest.capabilities.iter().any(|c| needed.satisfied_by(c)) {
                    return Err(LoadError::Undeclared {
                        plugin,
                        interface: interface.clone(),
                        needs,
                    });
                }
                if !grants
                    .capabilities
                    .iter()
                    .any(|c| needed.satisfied_by(c) && manifest.capabilities.contains(c))
                {
                    return Err(LoadError::Ungranted {
                        plugin,
                        interface: interface.clone(),
                        needs,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(capabilities: &[Capability]) -> Manifest {
        Manifest {
            name: "hook".into(),
            version: "1.0.0".into(),
            kind: PluginKind::Policy,
            wit_version: "0.1.0".into(),
            capabilities: capabilities.iter().cloned().collect(),
        }
    }

    const EXPORTS: &[&str] = &["garrison:plugin/hook@0.1.0"];

    fn exports() -> Vec<String> {
        EXPORTS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn capabilities_round_trip_as_strings() {
        for text in [
            "secret:incus-cert",
            "outbound-http:https://openfga.internal:8080",
            "docker",
            "kubernetes",
        ] {
            let capability: Capability = text.parse().unwrap();
            assert_eq!(capability.to_string(), text);
            let json = serde_json::to_string(&capability).unwrap();
            assert_eq!(
                serde_json::from_str::<Capability>(&json).unwrap(),
                capability
            );
        }
        for bad in ["secret:", "outbound-http:https://x/path", "sockets", ""] {
            assert!(bad.parse::<Capability>().is_err(), "{bad}");
        }
    }

    #[test]
    fn basics_need_no_grant() {
        let imports = vec![
            "garrison:plugin/log@0.1.0".into(),
            "wasi:cli/environment@0.2.6".into(),
            "wasi:io/streams@0.2.6".into(),
        ];
        assert_eq!(
            check(&manifest(&[]), &Grants::default(), &imports, &exports()),
            Ok(())
        );
    }

    #[test]
    fn an_import_must_be_declared_and_granted() {
        let imports = vec!["garrison:plugin/secrets@0.1.0".to_string()];
        let secret = Capability::Secret("incus-cert".into());
        let undeclared =
            check(&manifest(&[]), &Grants::default(), &imports, &exports()).unwrap_err();
        assert!(
            undeclared
                .to_string()
                .contains("garrison:plugin/secrets@0.1.0"),
            "{undeclared}"
        );
        assert!(matches!(undeclared, LoadError::Undeclared { .. }));
        let ungranted = check(
            &manifest(&[secret.clone()]),
            &Grants::default(),
            &imports,
            &exports(),
        )
        .unwrap_err();
        assert!(
            matches!(ungranted, LoadError::Ungranted { .. }),
            "{ungranted}"
        );
        let grants = Grants {
            capabilities: [secret.clone()].into(),
        };
        assert_eq!(
            check(&manifest(&[secret]), &grants, &imports, &exports()),
            Ok(())
        );
    }

    #[test]
    fn sockets_and_unknown_interfaces_are_refused() {
        for interface in ["wasi:sockets/tcp@0.2.6", "acme:evil/backdoor@1.0.0"] {
            let error = check(
                &manifest(&[]),
                &Grants::default(),
                &[interface.into()],
                &exports(),
            )
            .unwrap_err();
            assert!(matches!(error, LoadError::Unsupported { .. }), "{error}");
        }
    }

    #[test]
    fn the_world_and_version_must_match() {
        let wrong = check(
            &manifest(&[]),
            &Grants::default(),
            &[],
            &["garrison:plugin/expansion@0.1.0".into()],
        )
        .unwrap_err();
        assert!(
            wrong.to_string().contains("garrison:plugin/hook@0.1.0"),
            "{wrong}"
        );
        let mut future = manifest(&[]);
        future.wit_version = "9.0.0".into();
        assert!(matches!(
            check(&future, &Grants::default(), &[], &exports()),
            Err(LoadError::UnsupportedVersion { .. })
        ));
    }
}
