//! The HTTP side of a pull: one repository of one registry, the Docker token flow, checked
//! redirects, and blobs verified against their descriptors.

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use crate::{Allowed, OciError, sha256};

/// What the client asks for a manifest in (authentik asks for the same, and only that).
pub(crate) const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The largest manifest or token response read.
pub(crate) const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Redirects followed for one request, each checked like the first URL.
const MAX_REDIRECTS: usize = 5;
/// The longest one request may take, body included.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Basic credentials for a registry. Never shown: `Debug` hides them, and no message
/// includes them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(hidden)")
    }
}

impl Credentials {
    fn basic(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// One layer (or the config) as an image manifest lists it.
#[derive(Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType")]
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
}

/// The part of an OCI image manifest a pull reads.
#[derive(Deserialize)]
pub(crate) struct ImageManifest {
    pub(crate) layers: Vec<Descriptor>,
}

/// `scheme://authority`, lowercase, of an absolute URL.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    )
}

/// The absolute URL a `Location` header names, relative to the URL that answered with it.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let (scheme, _) = base.split_once("://").unwrap_or(("https", base));
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    if location.starts_with('/') {
        return format!("{}{location}", origin(base));
    }
    // Relative to the directory of the base path (the query dropped).
    let path_end = base.find(['?', '#']).unwrap_or(base.len());
    let base = &base[..path_end];
    match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => {
            format!("{}{location}", &base[..=slash])
        }
        _ => format!("{base}/{location}"),
    }
}

/// What a GET came to, short of an error.
pub(crate) enum Fetched {
    Body(Vec<u8>),
    /// Any answer but 200 (after authentication and redirects).
    Status(u16),
}

/// A client for one repository of one registry.
pub(crate) struct Client {
    agent: ureq::Agent,
    scheme: &'static str,
    registry: String,
    repository: String,
    credentials: Option<Credentials>,
    /// The `Authorization` value the registry accepted (a bearer token, or basic credentials).
    authorization: Option<String>,
    allowed: Allowed,
}

impl Client {
    pub(crate) fn new(
        scheme: &'static str,
        registry: &str,
        repository: &str,
        credentials: Option<Credentials>,
        allowed: &Allowed,
    ) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by `fetch`, which checks every target first.
            .max_redirects(0)
            .timeout_global(Some(TIMEOUT))
            .build()
            .into();
        Self {
            agent,
            scheme,
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            credentials,
            authorization: None,
            allowed: allowed.clone(),
        }
    }

    pub(crate) fn registry_error(&self, reason: impl Into<String>) -> OciError {
        OciError::Registry {
            registry: self.registry.clone(),
            reason: reason.into(),
        }
    }

    /// `scheme://registry/v2/repository/{kind}/{reference}`.
    pub(crate) fn url(&self, kind: &str, reference: &str) -> String {
        format!(
            "{}://{}/v2/{}/{kind}/{reference}",
            self.scheme, self.registry, self.repository
        )
    }

    /// GETs `url`: every URL on the way checked by [`Allowed`] first, the registry's
    /// authentication challenge answered once, redirects followed (at most
    /// [`MAX_REDIRECTS`], never from HTTPS to HTTP), and the body read up to `limit` bytes.
    /// Credentials and tokens go only to the registry's own origin.
    pub(crate) fn fetch(
        &mut self,
        url: &str,
        accept: &str,
        limit: u64,
    ) -> Result<Fetched, OciError> {
        let registry_origin = origin(&format!("{}://{}", self.scheme, self.registry));
        let mut target = url.to_owned();
        let mut redirects = 0;
        let mut authenticated = false;
        loop {
            self.allowed
                .check(&target)
                .map_err(|e| self.registry_error(e))?;
            let own_origin = origin(&target) == registry_origin;
            let mut request = self.agent.get(target.as_str()).header("Accept", accept);
            if own_origin && let Some(authorization) = &self.authorization {
                request = request.header("Authorization", authorization.as_str());
            }
            let mut response = request
                .call()
                .map_err(|e| self.registry_error(format!("GET {target}: {e}")))?;
            let status = response.status().as_u16();
            match status {
                200 => {
                    return response
                        .body_mut()
                        .with_config()
                        .limit(limit)
                        .read_to_vec()
                        .map(Fetched::Body)
                        .map_err(|e| self.registry_error(format!("reading {target}: {e}")));
                }
                401 if own_origin && !authenticated => {
                    let challenge = response
                        .headers()
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            self.registry_error("authentication required (no challenge given)")
                        })?;
                    self.authorization = Some(self.authenticate(&challenge)?);
                    authenticated = true;
                }
                401 if own_origin => {
                    return Err(self.registry_error(if self.credentials.is_some() {
                        "the registry refused the credentials"
                    } else {
                        "authentication failed"
                    }));
                }
                301 | 302 | 303 | 307 | 308 => {
                    redirects += 1;
                    if redirects > MAX_REDIRECTS {
                        return Err(self.registry_error(format!(
                            "GET {url}: more than {MAX_REDIRECTS} redirects"
                        )));
                    }
                    let location = response
                        .headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            self.registry_error(format!(
                                "GET {target} answered {status} without a location"
                            ))
                        })?;
                    let next = resolve(&target, &location);
                    if target.to_ascii_lowercase().starts_with("https://")
                        && !next.to_ascii_lowercase().starts_with("https://")
                    {
                        return Err(self.registry_error(format!(
                            "GET {target} redirects from HTTPS to {}",
                            origin(&next)
                        )));
                    }
                    target = next;
                }
                other => return Ok(Fetched::Status(other)),
            }
        }
    }

    /// [`Client::fetch`], any answer but 200 an error naming it.
    pub(crate) fn get(&mut self, url: &str, accept: &str, limit: u64) -> Result<Vec<u8>, OciError> {
        match self.fetch(url, accept, limit)? {
            Fetched::Body(bytes) => Ok(bytes),
            Fetched::Status(status) => {
                Err(self.registry_error(format!("GET {url} answered {status}")))
            }
        }
    }

    /// The image manifest `reference` (a tag or a digest) names, as the registry sent it.
    pub(crate) fn manifest(&mut self, reference: &str) -> Result<Vec<u8>, OciError> {
        let url = self.url("manifests", reference);
        match self.fetch(&url, IMAGE_MANIFEST, MAX_MANIFEST_BYTES)? {
            Fetched::Body(bytes) => Ok(bytes),
            Fetched::Status(404) => Err(self.registry_error(format!(
                "{} has no manifest {reference} (GET {url} answered 404)",
                self.repository
            ))),
            Fetched::Status(status) => {
                Err(self.registry_error(format!("GET {url} answered {status}")))
            }
        }
    }

    /// The image manifest `reference` names, parsed; when `pinned` gives a digest, the bytes
    /// the registry sent must hash to it. `shown`: the artifact as errors name it.
    pub(crate) fn image_manifest(
        &mut self,
        reference: &str,
        pinned: Option<&str>,
        shown: &str,
    ) -> Result<ImageManifest, OciError> {
        let artifact = |reason: String| OciError::Artifact {
            reference: shown.to_owned(),
            reason,
        };
        let body = self.manifest(reference)?;
        if let Some(digest) = pinned {
            let found = sha256(&body);
            if found != digest {
                return Err(artifact(format!(
                    "the registry's manifest is {found}, not the pinned digest {digest}"
                )));
            }
        }
        serde_json::from_slice(&body)
            .map_err(|e| artifact(format!("not an OCI image manifest: {e}")))
    }

    /// Answers an authentication challenge: the `Authorization` value to retry with.
    /// `Basic` takes the credentials; `Bearer` is Docker's token flow, a pull token from the
    /// realm the registry names (checked like any URL), asked for with the credentials when
    /// there are some.
    fn authenticate(&self, challenge: &str) -> Result<String, OciError> {
        let challenge = challenge.trim();
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => self.credentials.as_ref().map(Credentials::basic).ok_or_else(|| {
                self.registry_error(
                    "the registry asks for credentials (basic authentication) and none were given",
                )
            }),
            "bearer" => self.bearer_token(params).map(|token| format!("Bearer {token}")),
            _ => Err(self.registry_error(format!(
                "unsupported authentication {scheme:?}; only basic credentials and bearer tokens are supported"
            ))),
        }
    }

    fn bearer_token(&self, params: &str) -> Result<String, OciError> {
        let field = |name: &str| {
            params.split(',').find_map(|part| {
                let (key, value) = part.trim().split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().trim_matches('"').to_owned())
            })
        };
        let realm = field("realm").ok_or_else(|| self.registry_error("challenge without realm"))?;
        let separator = if realm.contains('?') { '&' } else { '?' };
        let mut url = format!(
            "{realm}{separator}scope=repository:{}:pull",
            self.repository
        );
        if let Some(service) = field("service") {
            url += &format!("&service={service}");
        }
        self.allowed
            .check(&url)
            .map_err(|e| self.registry_error(format!("token realm: {e}")))?;
        let mut request = self.agent.get(url.as_str());
        if let Some(credentials) = &self.credentials {
            // Credentials that reach the registry over HTTPS are not sent in clear elsewhere.
            if self.scheme == "https" && !url.to_ascii_lowercase().starts_with("https://") {
                return Err(self.registry_error(format!(
                    "the token realm {} is not HTTPS; the credentials are not sent there",
                    origin(&url)
                )));
            }
            request = request.header("Authorization", credentials.basic().as_str());
        }
        let mut response = request
            .call()
            .map_err(|e| self.registry_error(format!("token request: {e}")))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(
                self.registry_error(if status == 401 && self.credentials.is_some() {
                    "the token service refused the credentials".to_owned()
                } else {
                    format!("token request answered {status}")
                }),
            );
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST_BYTES)
            .read_to_vec()
            .map_err(|e| self.registry_error(format!("token response: {e}")))?;
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&body)
            .map_err(|e| self.registry_error(format!("token response: {e}")))?;
        token
            .token
            .or(token.access_token)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| self.registry_error("token response has no token"))
    }

    /// The blob `descriptor` names, at most `limit` bytes and checked against its digest.
    /// `shown`: the artifact as errors name it.
    pub(crate) fn blob(
        &mut self,
        descriptor: &Descriptor,
        limit: u64,
        shown: &str,
    ) -> Result<Vec<u8>, OciError> {
        let artifact = |reason: String| OciError::Artifact {
            reference: shown.to_owned(),
            reason,
        };
        if crate::check_digest(&descriptor.digest).is_err() {
            return Err(artifact(format!(
                "layer digest {:?} is not sha256:…",
                descriptor.digest
            )));
        }
        if descriptor.size > limit {
            return Err(artifact(format!(
                "layer {} is {} bytes; the limit is {limit}",
                descriptor.digest, descriptor.size
            )));
        }
        let url = self.url("blobs", &descriptor.digest);
        let bytes = self.get(&url, "*/*", limit)?;
        if sha256(&bytes) != descriptor.digest {
            return Err(artifact(format!(
                "layer {} does not match its digest",
                descriptor.digest
            )));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_url_that_answered() {
        let base = "https://registry.example/v2/a/blobs/sha256:1?x=1";
        assert_eq!(
            resolve(base, "https://cdn.example/x"),
            "https://cdn.example/x"
        );
        assert_eq!(resolve(base, "//cdn.example/x"), "https://cdn.example/x");
        assert_eq!(resolve(base, "/v2/b"), "https://registry.example/v2/b");
        assert_eq!(
            resolve(base, "other"),
            "https://registry.example/v2/a/blobs/other"
        );
        assert_eq!(
            origin("HTTPS://Registry.Example:5000/v2/"),
            "https://registry.example:5000"
        );
    }

    #[test]
    fn credentials_are_never_shown() {
        let credentials = Credentials {
            user: "robot".into(),
            password: "s3cret".into(),
        };
        assert_eq!(format!("{credentials:?}"), "Credentials(hidden)");
        assert_eq!(credentials.basic(), "Basic cm9ib3Q6czNjcmV0");
    }
}
