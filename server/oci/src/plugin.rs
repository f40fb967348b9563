//! A plugin artifact, pinned by digest.
//!
//! A plugin artifact is an OCI image manifest whose layers hold the component
//! (`application/wasm`, or the CNCF wasm layer type) and, optionally, its Garrison manifest
//! ([`PLUGIN_MANIFEST_LAYER`]). Every byte is checked against the digest that names it: the
//! image manifest against the reference's digest, each blob against its descriptor. Tags are
//! refused, because a tag can move after an operator reviewed it.

use crate::client::{Client, MAX_MANIFEST_BYTES};
use crate::{Allowed, OciError, check_digest, valid_repository};

/// The media type of a plugin artifact's Garrison manifest layer.
pub const PLUGIN_MANIFEST_LAYER: &str = "application/vnd.garrison.plugin.manifest.v1+toml";
const COMPONENT_LAYERS: &[&str] = &[
    "application/wasm",
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
];
const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;

/// `[http://|https://]registry[:port]/repository@sha256:HEX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginReference {
    pub scheme: &'static str,
    pub registry: String,
    pub repository: String,
    pub digest: String,
}

impl PluginReference {
    pub fn parse(text: &str) -> Result<Self, OciError> {
        let fail = |reason: &str| OciError::Reference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = match text.split_once("://") {
            Some(("http", rest)) => ("http", rest),
            Some(("https", rest)) => ("https", rest),
            Some(_) => return Err(fail("the scheme must be http or https")),
            None => ("https", text),
        };
        let (name, digest) = rest
            .split_once('@')
            .ok_or_else(|| fail("pin it by digest (…@sha256:…); tags can change after review"))?;
        check_digest(digest).map_err(fail)?;
        let (registry, repository) = name
            .split_once('/')
            .ok_or_else(|| fail("expected registry/repository@digest"))?;
        // A tag before the digest (`repo:1.0@sha256:…`) is ignored: the digest decides.
        let repository = repository.split(':').next().unwrap_or(repository);
        if registry.is_empty() || !valid_repository(repository) {
            return Err(fail("the repository must be lowercase path segments"));
        }
        Ok(Self {
            scheme,
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            digest: digest.to_owned(),
        })
    }
}

impl std::fmt::Display for PluginReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scheme == "http" {
            f.write_str("http://")?;
        }
        write!(f, "{}/{}@{}", self.registry, self.repository, self.digest)
    }
}

/// What a plugin artifact holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledPlugin {
    pub component: Vec<u8>,
    /// The Garrison manifest layer, when the artifact carries one.
    pub manifest: Option<String>,
}

/// Pulls the component (and the Garrison manifest layer, if any) of `reference`. Blocking:
/// call it from a blocking task.
pub fn pull_plugin(
    reference: &PluginReference,
    allowed: &Allowed,
) -> Result<PulledPlugin, OciError> {
    let mut client = Client::new(
        reference.scheme,
        &reference.registry,
        &reference.repository,
        None,
        allowed,
    );
    let shown = reference.to_string();
    let artifact = |reason: String| OciError::Artifact {
        reference: shown.clone(),
        reason,
    };
    let manifest = client.image_manifest(&reference.digest, Some(&reference.digest), &shown)?;
    let component_layer = manifest
        .layers
        .iter()
        .find(|l| COMPONENT_LAYERS.contains(&l.media_type.as_str()))
        .ok_or_else(|| {
            artifact(format!(
                "no component layer (one of {})",
                COMPONENT_LAYERS.join(", ")
            ))
        })?;
    let component = client.blob(component_layer, MAX_COMPONENT_BYTES, &shown)?;
    let manifest_text = match manifest
        .layers
        .iter()
        .find(|l| l.media_type == PLUGIN_MANIFEST_LAYER)
    {
        Some(layer) => {
            let bytes = client.blob(layer, MAX_MANIFEST_BYTES, &shown)?;
            Some(
                String::from_utf8(bytes)
                    .map_err(|_| artifact("the manifest layer is not UTF-8".into()))?,
            )
        }
        None => None,
    };
    Ok(PulledPlugin {
        component,
        manifest: manifest_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_must_be_pinned_by_digest() {
        let parsed = PluginReference::parse(&format!(
            "http://127.0.0.1:5000/garrison/openfga-login@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(parsed.scheme, "http");
        assert_eq!(parsed.registry, "127.0.0.1:5000");
        assert_eq!(parsed.repository, "garrison/openfga-login");
        assert_eq!(parsed.digest, DIGEST);
        assert_eq!(
            parsed.to_string(),
            format!("http://127.0.0.1:5000/garrison/openfga-login@{DIGEST}")
        );
        let client = Client::new(
            parsed.scheme,
            &parsed.registry,
            &parsed.repository,
            None,
            &Allowed::default(),
        );
        assert_eq!(
            client.url("manifests", &parsed.digest),
            format!("http://127.0.0.1:5000/v2/garrison/openfga-login/manifests/{DIGEST}")
        );
        assert_eq!(
            PluginReference::parse(&format!("registry.example/acme/hook:1.0@{DIGEST}"))
                .unwrap()
                .scheme,
            "https"
        );
        for (bad, why) in [
            ("registry.example/acme/hook:1.0", "pin it by digest"),
            ("registry.example/acme/hook@sha256:abc", "64 lowercase hex"),
            ("registry.example/acme/hook@md5:0123", "sha256"),
            (&format!("registry.example/Acme/hook@{DIGEST}"), "lowercase"),
            (
                &format!("ftp://registry.example/acme/hook@{DIGEST}"),
                "http or https",
            ),
            (&format!("hook@{DIGEST}"), "registry/repository"),
        ] {
            let error = PluginReference::parse(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
