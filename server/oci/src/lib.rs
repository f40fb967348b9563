//! Garrison's one OCI client. It pulls two kinds of artifact from OCI registries:
//!
//! - a plugin's component (and its manifest layer), for the plugin registry
//!   ([`PluginReference`], [`pull_plugin`]): always pinned by digest;
//! - a blueprint, for blueprint instances whose path is `oci://…` ([`BlueprintPath`],
//!   [`pull_blueprint`]): by tag (`latest` by default, as authentik) or pinned by digest.
//!
//! **One policy at every connection.** Every URL the client is about to fetch goes through
//! [`Allowed`] first: the registry's, the token realm the registry names, and each redirect
//! target (blob downloads are often redirected to a storage host). Loopback, link-local,
//! unspecified, multicast and broadcast addresses are refused unless the operator listed the
//! registry, so a pull cannot be pointed at the server's own internal services. Redirects are
//! followed here, one checked hop at a time, never by the HTTP library.
//!
//! **Every byte is checked against the digest that names it**: a manifest asked for by digest
//! against that digest, each blob against its descriptor; sizes are bounded before and while
//! reading.
//!
//! **Credentials never leave the request.** Registry credentials (the userinfo of an `oci://`
//! path) are sent as basic credentials to the registry and to the token service it names, and
//! appear in no error message, `Display` or `Debug` output.
//!
//! This crate knows the OCI distribution protocol and the two artifact shapes, and nothing of
//! Garrison: not the services, the store, plugins' manifests or the blueprint format (the
//! caller says how large a blueprint may be). It is blocking: call it from a blocking task.
#![deny(unsafe_code)]

mod allowed;
mod blueprint;
mod client;
mod plugin;
#[cfg(test)]
mod pull_tests;

use sha2::{Digest, Sha256};

pub use allowed::Allowed;
pub use blueprint::{BLUEPRINT_LAYER, BlueprintPath, Target, pull_blueprint, without_credentials};
pub use plugin::{PLUGIN_MANIFEST_LAYER, PluginReference, PulledPlugin, pull_plugin};

/// Why a reference could not be parsed or an artifact not be pulled. No variant ever carries
/// credentials: paths are shown without them, registries as `host[:port]`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OciError {
    /// A plugin reference that is not `[http://|https://]registry/repository@sha256:…`.
    #[error("reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    /// An `oci://` path that cannot be read; `path` is shown without its credentials.
    #[error("OCI path {path}: {reason}")]
    Path { path: String, reason: String },
    /// The registry (or its token service) could not be reached, refused, or answered
    /// something else than what was asked for.
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    /// The artifact is not what it must be: a digest does not match, a layer is missing or
    /// too large, text is not UTF-8.
    #[error("artifact {reference}: {reason}")]
    Artifact { reference: String, reason: String },
}

/// `sha256:` and the lowercase hex digest of `bytes`, as OCI names content.
fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// Checks `sha256:` followed by 64 lowercase hex digits; the reason otherwise.
fn check_digest(digest: &str) -> Result<(), &'static str> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or("the digest must be sha256:…")?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err("the digest must be sha256 followed by 64 lowercase hex digits");
    }
    Ok(())
}

/// A repository name: lowercase path segments of letters, digits, `.`, `_` and `-`.
fn valid_repository(repository: &str) -> bool {
    !repository.is_empty()
        && repository.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_in_lowercase_hex() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(check_digest(&sha256(b"x")).is_ok());
        assert!(check_digest("sha256:abc").is_err());
        assert!(check_digest(&sha256(b"x").to_uppercase().replace("SHA256", "sha256")).is_err());
        assert!(check_digest(&sha256(b"x").replace("sha256", "md5")).is_err());
    }
}
