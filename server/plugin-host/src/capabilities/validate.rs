//! The validate-only path: would a component with these imports and exports load under this
//! manifest and these grants? Used at load, by the review screen and by
//! `garrison plugin inspect`; it compiles and runs nothing.
use super::{Grants, Manifest, Requirement, requirement, unversioned};

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

/// A manifest's own rules, before any component is looked at: a name that can be a URL
/// segment and a metric label, and each capability's own rule (outbound targets that are
/// origins, secret names of sensible length, connection names without whitespace), reported
/// under `capabilities.KEYWORD`.
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
        capability.validate().map_err(|message| {
            invalid(&format!("capabilities.{}", capability.keyword()), message)
        })?;
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
                let name = unversioned(interface);
                let needs = needed.describe().to_owned();
                if !manifest
                    .capabilities
                    .iter()
                    .any(|c| needed.is_met_by(name, c))
                {
                    return Err(LoadError::Undeclared {
                        plugin,
                        interface: interface.clone(),
                        needs,
                    });
                }
                if !grants
                    .capabilities
                    .iter()
                    .any(|c| needed.is_met_by(name, c) && manifest.capabilities.contains(c))
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
    use crate::capabilities::{Capability, PluginKind};

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

    #[test]
    fn a_grant_of_one_capability_does_not_cover_anothers_import() {
        let backend = |capabilities: &[Capability]| Manifest {
            kind: PluginKind::DeploymentBackend,
            ..manifest(capabilities)
        };
        let docker = Capability::Docker(Some("prod".into()));
        let grants = Grants {
            capabilities: [docker.clone()].into(),
        };
        let exports = vec!["garrison:plugin/backend@0.1.0".to_string()];
        assert_eq!(
            check(
                &backend(&[docker.clone()]),
                &grants,
                &["garrison:plugin/docker@0.1.0".into()],
                &exports
            ),
            Ok(())
        );
        let error = check(
            &backend(&[docker]),
            &grants,
            &["garrison:plugin/kubernetes@0.1.0".into()],
            &exports,
        )
        .unwrap_err();
        assert!(
            matches!(&error, LoadError::Undeclared { needs, .. } if needs == "the Kubernetes capability"),
            "{error}"
        );
    }

    #[test]
    fn each_capability_rule_is_reported_under_its_field() {
        let cases = [
            (
                Capability::OutboundHttp("https://api.example.com/v1".into()),
                "capabilities.outbound-http",
            ),
            (Capability::Secret("s".repeat(129)), "capabilities.secret"),
            (Capability::Secret(String::new()), "capabilities.secret"),
            (
                Capability::Docker(Some(String::new())),
                "capabilities.docker",
            ),
            (
                Capability::Kubernetes(Some("prod east".into())),
                "capabilities.kubernetes",
            ),
        ];
        for (capability, expected) in cases {
            let error = validate_manifest(&manifest(&[capability.clone()])).unwrap_err();
            assert!(
                matches!(&error, LoadError::InvalidManifest { field, .. } if field == expected),
                "{capability:?}: {error}"
            );
        }
        for fine in [
            Capability::Secret("s".repeat(128)),
            Capability::Docker(None),
            Capability::Kubernetes(Some("prod".into())),
        ] {
            assert_eq!(validate_manifest(&manifest(&[fine])), Ok(()));
        }
    }
}
