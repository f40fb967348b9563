//! Pulling a plugin from an OCI registry, pinned by digest.
//!
//! A plugin artifact is an OCI image manifest whose layers hold the component
//! (`application/wasm`, or the CNCF wasm layer type) and, optionally, its Garrison manifest
//! (`application/vnd.garrison.plugin.manifest.v1+toml`). Every byte is checked against the
//! digest that names it: the image manifest against the reference's digest, each blob against
//! its descriptor. Tags are refused, because a tag can move after an operator reviewed it.
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const MANIFEST_LAYER: &str = "application/vnd.garrison.plugin.manifest.v1+toml";
const COMPONENT_LAYERS: &[&str] = &[
    "application/wasm",
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
];
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json";
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OciError {
    #[error("reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    #[error("artifact {reference}: {reason}")]
    Artifact { reference: String, reason: String },
}

/// `[http://|https://]registry[:port]/repository@sha256:HEX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub scheme: &'static str,
    pub registry: String,
    pub repository: String,
    pub digest: String,
}

impl Reference {
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
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| fail("the digest must be sha256:…"))?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(fail(
                "the digest must be sha256 followed by 64 lowercase hex digits",
            ));
        }
        let (registry, repository) = name
            .split_once('/')
            .ok_or_else(|| fail("expected registry/repository@digest"))?;
        let repository = repository.split(':').next().unwrap_or(repository);
        let valid_repository = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if registry.is_empty() || !valid_repository {
            return Err(fail("the repository must be lowercase path segments"));
        }
        Ok(Self {
            scheme,
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            digest: digest.to_owned(),
        })
    }

    fn url(&self, kind: &str, digest: &str) -> String {
        format!(
            "{}://{}/v2/{}/{kind}/{digest}",
            self.scheme, self.registry, self.repository
        )
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scheme == "http" {
            f.write_str("http://")?;
        }
        write!(f, "{}/{}@{}", self.registry, self.repository, self.digest)
    }
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
}

#[derive(Deserialize)]
struct ImageManifest {
    layers: Vec<Descriptor>,
}

/// Which registries a pull may reach. Public addresses are allowed; loopback, link-local
/// (cloud metadata services live there), unspecified and multicast addresses are refused
/// unless their `host[:port]` is listed (`GARRISON_OCI_REGISTRIES`), so that an
/// administrator's pull cannot be pointed at the server's own internal services. The token
/// realm a registry names is checked the same way, and redirects are not followed.
#[derive(Clone, Debug, Default)]
pub struct Allowed {
    listed: Vec<String>,
}

fn internal_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_address(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    // fe80::/10, link-local
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

impl Allowed {
    pub fn new(listed: &[String]) -> Self {
        Self {
            listed: listed.iter().map(|h| h.to_lowercase()).collect(),
        }
    }

    /// Checks the authority (`host[:port]`) of a URL about to be fetched.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("scheme {other:?} is not allowed")),
        };
        let authority = rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if authority.contains('@') {
            return Err(format!(
                "{authority:?}: credentials in URLs are not allowed"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                match port.parse::<u16>() {
                    Ok(port) if !host.contains(':') || host.starts_with('[') => (host, port),
                    _ => (authority.as_str(), default_port),
                }
            }
            _ => (authority.as_str(), default_port),
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self
            .listed
            .iter()
            .any(|l| *l == authority || *l == host || *l == bare)
        {
            return Ok(());
        }
        let addresses = std::net::ToSocketAddrs::to_socket_addrs(&(bare, port))
            .map_err(|e| format!("cannot resolve {bare}: {e}"))?;
        for address in addresses {
            if internal_address(address.ip()) {
                return Err(format!(
                    "{authority} resolves to {}, an internal address; list it in GARRISON_OCI_REGISTRIES to allow pulls from it",
                    address.ip()
                ));
            }
        }
        Ok(())
    }
}

/// What an artifact holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    pub component: Vec<u8>,
    /// The Garrison manifest layer, when the artifact carries one.
    pub manifest: Option<String>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex_string(&Sha256::digest(bytes)))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Client {
    agent: ureq::Agent,
    reference: Reference,
    token: Option<String>,
    allowed: Allowed,
}

impl Client {
    fn registry_error(&self, reason: impl Into<String>) -> OciError {
        OciError::Registry {
            registry: self.reference.registry.clone(),
            reason: reason.into(),
        }
    }

    /// GET with the registry's anonymous token dance: on 401 with a Bearer challenge, fetch a
    /// pull token from the realm and retry once.
    fn get(&mut self, url: &str, accept: &str, limit: u64) -> Result<Vec<u8>, OciError> {
        self.allowed
            .check(url)
            .map_err(|e| self.registry_error(e))?;
        for attempt in 0..2 {
            let mut request = self.agent.get(url).header("Accept", accept);
            if let Some(token) = &self.token {
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            let mut response = request
                .call()
                .map_err(|e| self.registry_error(format!("GET {url}: {e}")))?;
            let status = response.status().as_u16();
            if status == 401 && attempt == 0 {
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        self.registry_error("authentication required (no challenge given)")
                    })?;
                self.token = Some(self.anonymous_token(&challenge)?);
                continue;
            }
            if status != 200 {
                return Err(self.registry_error(format!("GET {url} answered {status}")));
            }
            return response
                .body_mut()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(|e| self.registry_error(format!("reading {url}: {e}")));
        }
        Err(self.registry_error("authentication failed"))
    }

    fn anonymous_token(&self, challenge: &str) -> Result<String, OciError> {
        let params = challenge.strip_prefix("Bearer ").ok_or_else(|| {
            self.registry_error(format!(
                "unsupported authentication {challenge:?}; only anonymous pulls are supported"
            ))
        })?;
        let field = |name: &str| {
            params.split(',').find_map(|part| {
                let (key, value) = part.trim().split_once('=')?;
                (key == name).then(|| value.trim_matches('"').to_owned())
            })
        };
        let realm = field("realm").ok_or_else(|| self.registry_error("challenge without realm"))?;
        let mut url = format!(
            "{realm}?scope=repository:{}:pull",
            self.reference.repository
        );
        if let Some(service) = field("service") {
            url += &format!("&service={service}");
        }
        self.allowed
            .check(&url)
            .map_err(|e| self.registry_error(format!("token realm: {e}")))?;
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| self.registry_error(format!("token request: {e}")))?;
        if response.status().as_u16() != 200 {
            return Err(self.registry_error(format!(
                "token request answered {}",
                response.status().as_u16()
            )));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST_BYTES)
            .read_to_vec()
            .map_err(|e| self.registry_error(format!("token response: {e}")))?;
        let token: Token = serde_json::from_slice(&body)
            .map_err(|e| self.registry_error(format!("token response: {e}")))?;
        token
            .token
            .or(token.access_token)
            .ok_or_else(|| self.registry_error("token response has no token"))
    }

    fn blob(&mut self, descriptor: &Descriptor, limit: u64) -> Result<Vec<u8>, OciError> {
        let reference = self.reference.to_string();
        if descriptor.size > limit {
            return Err(OciError::Artifact {
                reference,
                reason: format!(
                    "layer {} is {} bytes; the limit is {limit}",
                    descriptor.digest, descriptor.size
                ),
            });
        }
        let url = self.reference.url("blobs", &descriptor.digest);
        let bytes = self.get(&url, "*/*", limit)?;
        if sha256(&bytes) != descriptor.digest {
            return Err(OciError::Artifact {
                reference,
                reason: format!("layer {} does not match its digest", descriptor.digest),
            });
        }
        Ok(bytes)
    }
}

/// Pulls the component (and the Garrison manifest layer, if any) of `reference`. Blocking:
/// call it from a blocking task.
pub fn pull(reference: &Reference, allowed: &Allowed) -> Result<Pulled, OciError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A redirect could lead anywhere, past the allow-list.
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut client = Client {
        agent,
        reference: reference.clone(),
        token: None,
        allowed: allowed.clone(),
    };
    let shown = reference.to_string();
    let artifact = |reason: String| OciError::Artifact {
        reference: shown.clone(),
        reason,
    };
    let body = client.get(
        &reference.url("manifests", &reference.digest),
        ACCEPT,
        MAX_MANIFEST_BYTES,
    )?;
    if sha256(&body) != reference.digest {
        return Err(artifact(
            "the registry's manifest does not match the pinned digest".into(),
        ));
    }
    let manifest: ImageManifest = serde_json::from_slice(&body)
        .map_err(|e| artifact(format!("not an OCI image manifest: {e}")))?;
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
    let component = client.blob(component_layer, MAX_COMPONENT_BYTES)?;
    let manifest_text = match manifest
        .layers
        .iter()
        .find(|l| l.media_type == MANIFEST_LAYER)
    {
        Some(layer) => {
            let bytes = client.blob(layer, MAX_MANIFEST_BYTES)?;
            Some(
                String::from_utf8(bytes)
                    .map_err(|_| artifact("the manifest layer is not UTF-8".into()))?,
            )
        }
        None => None,
    };
    Ok(Pulled {
        component,
        manifest: manifest_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_registries_are_refused_unless_listed() {
        let none = Allowed::default();
        for url in [
            "http://127.0.0.1:5000/v2/x/manifests/y",
            "http://localhost:5000/v2/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:5000/v2/",
            "http://0.0.0.0/v2/",
        ] {
            let error = none.check(url).unwrap_err();
            assert!(error.contains("GARRISON_OCI_REGISTRIES"), "{url}: {error}");
        }
        let listed = Allowed::new(&["127.0.0.1:5000".to_owned()]);
        assert!(listed.check("http://127.0.0.1:5000/v2/x").is_ok());
        assert!(
            listed.check("http://127.0.0.1:6000/v2/x").is_err(),
            "another port of a listed host is not listed"
        );
        assert!(none.check("http://user:pw@example.com/").is_err());
        assert!(none.check("ftp://example.com/").is_err());
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_must_be_pinned_by_digest() {
        let parsed = Reference::parse(&format!(
            "http://127.0.0.1:5000/garrison/openfga-login@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(parsed.scheme, "http");
        assert_eq!(parsed.registry, "127.0.0.1:5000");
        assert_eq!(parsed.repository, "garrison/openfga-login");
        assert_eq!(
            parsed.url("manifests", &parsed.digest),
            format!("http://127.0.0.1:5000/v2/garrison/openfga-login/manifests/{DIGEST}")
        );
        assert_eq!(
            Reference::parse(&format!("registry.example/acme/hook:1.0@{DIGEST}"))
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
            let error = Reference::parse(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
