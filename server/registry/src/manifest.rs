//! Plugin manifests as operators write them: TOML (plugin.toml) or JSON, validated with the
//! field named on error.
use garrison_plugin_host::{Manifest, capabilities};

/// Parses a manifest from TOML, or JSON when it starts with `{`, and checks its own rules.
pub fn parse(text: &str) -> Result<Manifest, String> {
    // serde_path_to_error names the field that failed ("kind: unknown variant …").
    let located = |path: String, message: String| {
        if path.is_empty() || path == "." {
            message
        } else {
            format!("field {path}: {message}")
        }
    };
    let manifest: Manifest = if text.trim_start().starts_with('{') {
        let mut json = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut json).map_err(|e| {
            format!(
                "manifest (JSON): {}",
                located(e.path().to_string(), e.inner().to_string())
            )
        })?
    } else {
        let toml = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(toml).map_err(|e| {
            format!(
                "manifest (TOML): {}",
                located(e.path().to_string(), e.inner().message().to_owned())
            )
        })?
    };
    capabilities::validate_manifest(&manifest).map_err(|e| e.to_string())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_plugin_host::{Capability, PluginKind};

    #[test]
    fn toml_and_json_manifests_parse_alike() {
        let toml = r#"
            name = "openfga-login"
            version = "1.2.0"
            kind = "policy"
            wit_version = "0.1.0"
            capabilities = ["secret:fga-token", "outbound-http:https://fga.internal:8080"]
        "#;
        let json = r#"{"name":"openfga-login","version":"1.2.0","kind":"policy","wit_version":"0.1.0",
            "capabilities":["secret:fga-token","outbound-http:https://fga.internal:8080"]}"#;
        let manifest = parse(toml).unwrap();
        assert_eq!(manifest, parse(json).unwrap());
        assert_eq!(manifest.kind, PluginKind::Policy);
        assert!(
            manifest
                .capabilities
                .contains(&Capability::Secret("fga-token".into()))
        );
    }

    #[test]
    fn errors_name_the_field() {
        let unknown_kind =
            parse("name='a'\nversion='1'\nkind='daemon'\nwit_version='0.1.0'").unwrap_err();
        assert!(
            unknown_kind.contains("field kind: unknown variant `daemon`"),
            "{unknown_kind}"
        );
        let bad_capability = parse(
            "name='a'\nversion='1'\nkind='policy'\nwit_version='0.1.0'\ncapabilities=['sockets']",
        )
        .unwrap_err();
        assert!(
            bad_capability.contains("capabilities") && bad_capability.contains("sockets"),
            "{bad_capability}"
        );
        let bad_name =
            parse("name='Not OK'\nversion='1'\nkind='policy'\nwit_version='0.1.0'").unwrap_err();
        assert!(bad_name.contains("manifest field name"), "{bad_name}");
        let missing = parse("name='a'\nkind='policy'\nwit_version='0.1.0'").unwrap_err();
        assert!(missing.contains("version"), "{missing}");
    }
}
