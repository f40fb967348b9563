//! A blueprint artifact: authentik's `oci://` blueprint paths.
//!
//! `oci://[user:password@]host[:port]/repository/path[:tag | @sha256:digest]`. As in
//! authentik, the tag defaults to `latest`, the manifest is asked for as an OCI image
//! manifest, and the blueprint is the **last** layer of media type [`BLUEPRINT_LAYER`].
//! Unlike authentik, a digest pins the artifact (the manifest's bytes are checked against it),
//! every blob is checked against its descriptor, and the blueprint's size is bounded.
//!
//! The registry is reached over HTTPS (authentik always rewrites to `https://`), unless the
//! operator listed it with `http://` (see [`Allowed`]). Credentials in the path are used as
//! basic credentials for the registry and its token service, and shown nowhere: not by
//! `Display`, `Debug`, nor any error.

use crate::client::{Client, Credentials};
use crate::{Allowed, OciError, check_digest, valid_repository};

/// The media type of the layer holding a blueprint (authentik's).
pub const BLUEPRINT_LAYER: &str = "application/vnd.goauthentik.blueprint.v1+yaml";
const PREFIX: &str = "oci://";
const DEFAULT_TAG: &str = "latest";
/// How errors show credentials that were given.
const HIDDEN: &str = "***";

/// Which manifest of the repository a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Tag(String),
    /// `sha256:…`: the manifest must have exactly this digest.
    Digest(String),
}

/// An `oci://` blueprint path, parsed. `Display` shows it without credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct BlueprintPath {
    /// `host[:port]`, lowercase.
    pub registry: String,
    pub repository: String,
    pub target: Target,
    credentials: Option<Credentials>,
}

/// `path` as it may be shown: an `oci://` path with its credentials replaced by `***`, any
/// other text unchanged. Errors, events and pages show paths through this. Credentials are
/// taken generously: anything up to the last `@` that a `/` still follows (a digest's `@`
/// comes after the repository's last `/`), so a password that [`BlueprintPath::parse`] would
/// refuse (one holding a `/`) is hidden too.
pub fn without_credentials(path: &str) -> String {
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return path.to_owned();
    };
    let userinfo_end = rest
        .match_indices('@')
        .map(|(at, _)| at)
        .filter(|at| rest[at + 1..].contains('/'))
        .last();
    match userinfo_end {
        Some(at) => format!("{PREFIX}{HIDDEN}@{}", &rest[at + 1..]),
        None => path.to_owned(),
    }
}

/// Checks `host[:port]` (a bracketed IPv6 address as the host if need be); the reason
/// otherwise. `registry` is lowercase.
fn check_registry(registry: &str) -> Result<(), &'static str> {
    const SHAPE: &str = "the registry must be host[:port]";
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (address, after) = rest.split_once(']').ok_or(SHAPE)?;
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("the registry's IPv6 address is not valid");
        }
        match after {
            "" => ("", None),
            port => ("", Some(port.strip_prefix(':').ok_or(SHAPE)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if let Some(port) = port {
        if port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err()
        {
            return Err("the registry's port must be a number up to 65535");
        }
    }
    let host_ok = registry.starts_with('[')
        || (!host.is_empty()
            && !host.starts_with(['.', '-'])
            && !host.ends_with(['.', '-'])
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
    if !host_ok {
        return Err(SHAPE);
    }
    Ok(())
}

/// A tag as OCI allows it: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    first_ok && tag.len() <= 128 && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl BlueprintPath {
    /// Parses `oci://[user:password@]host[:port]/repository[:tag | @sha256:digest]`. Needs no
    /// network: instances' paths are checked with it when they are written.
    pub fn parse(text: &str) -> Result<Self, OciError> {
        let fail = |reason: &str| OciError::Path {
            path: without_credentials(text),
            reason: reason.to_owned(),
        };
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| fail("an OCI path starts with oci://"))?;
        let (authority, name) = rest.split_once('/').ok_or_else(|| {
            fail("expected oci://registry/repository, with :tag or @sha256:digest if need be")
        })?;
        let (credentials, registry) = match authority.rsplit_once('@') {
            Some((userinfo, registry)) => {
                let (user, password) = userinfo
                    .split_once(':')
                    .ok_or_else(|| fail("credentials are written user:password@"))?;
                if user.is_empty() {
                    return Err(fail("the credentials have no user name"));
                }
                let credentials = Credentials {
                    user: user.to_owned(),
                    password: password.to_owned(),
                };
                (Some(credentials), registry)
            }
            None => (None, authority),
        };
        let registry = registry.to_lowercase();
        check_registry(&registry).map_err(fail)?;
        let (repository, target) = match name.split_once('@') {
            Some((repository, digest)) => {
                if repository.contains(':') {
                    return Err(fail("give a tag or a digest, not both"));
                }
                check_digest(digest).map_err(fail)?;
                (repository, Target::Digest(digest.to_owned()))
            }
            None => match name.split_once(':') {
                Some((repository, tag)) => {
                    if !valid_tag(tag) {
                        return Err(fail(
                            "a tag is at most 128 letters, digits, `_`, `.` and `-`, and starts \
                             with a letter, a digit or `_`",
                        ));
                    }
                    (repository, Target::Tag(tag.to_owned()))
                }
                None => (name, Target::Tag(DEFAULT_TAG.to_owned())),
            },
        };
        if !valid_repository(repository) {
            return Err(fail(
                "the repository must be lowercase path segments (letters, digits, `.`, `_`, `-`)",
            ));
        }
        Ok(Self {
            registry,
            repository: repository.to_owned(),
            target,
            credentials,
        })
    }

    /// Whether the path carries credentials for the registry.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
}

impl std::fmt::Display for BlueprintPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}/{}", self.registry, self.repository)?;
        match &self.target {
            Target::Tag(tag) => write!(f, ":{tag}"),
            Target::Digest(digest) => write!(f, "@{digest}"),
        }
    }
}

impl std::fmt::Debug for BlueprintPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlueprintPath")
            .field("path", &self.to_string())
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

/// Pulls the blueprint `path` names: its text, at most `max_bytes` long and UTF-8. Blocking:
/// call it from a blocking task.
pub fn pull_blueprint(
    path: &BlueprintPath,
    allowed: &Allowed,
    max_bytes: u64,
) -> Result<String, OciError> {
    let scheme = if allowed.plain_http(&path.registry) {
        "http"
    } else {
        "https"
    };
    let mut client = Client::new(
        scheme,
        &path.registry,
        &path.repository,
        path.credentials.clone(),
        allowed,
    );
    let shown = path.to_string();
    let artifact = |reason: String| OciError::Artifact {
        reference: shown.clone(),
        reason,
    };
    let manifest = match &path.target {
        Target::Tag(tag) => client.image_manifest(tag, None, &shown)?,
        Target::Digest(digest) => client.image_manifest(digest, Some(digest), &shown)?,
    };
    // authentik takes the last one.
    let layer = manifest
        .layers
        .iter()
        .rev()
        .find(|layer| layer.media_type == BLUEPRINT_LAYER)
        .ok_or_else(|| artifact(format!("no layer of media type {BLUEPRINT_LAYER}")))?;
    let bytes = client.blob(layer, max_bytes, &shown)?;
    String::from_utf8(bytes).map_err(|_| artifact("the blueprint layer is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_tag_defaults_to_latest() {
        let path =
            BlueprintPath::parse("oci://registry.example/goauthentik/blueprints/example").unwrap();
        assert_eq!(path.registry, "registry.example");
        assert_eq!(path.repository, "goauthentik/blueprints/example");
        assert_eq!(path.target, Target::Tag("latest".into()));
        assert!(!path.has_credentials());
        assert_eq!(
            path.to_string(),
            "oci://registry.example/goauthentik/blueprints/example:latest"
        );
    }

    #[test]
    fn tags_digests_and_ports() {
        let tagged = BlueprintPath::parse("oci://Registry.Example:5000/team/bp:v1.2_3").unwrap();
        assert_eq!(tagged.registry, "registry.example:5000");
        assert_eq!(tagged.repository, "team/bp");
        assert_eq!(tagged.target, Target::Tag("v1.2_3".into()));

        let pinned =
            BlueprintPath::parse(&format!("oci://127.0.0.1:5000/team/bp@{DIGEST}")).unwrap();
        assert_eq!(pinned.registry, "127.0.0.1:5000");
        assert_eq!(pinned.target, Target::Digest(DIGEST.into()));
        assert_eq!(
            pinned.to_string(),
            format!("oci://127.0.0.1:5000/team/bp@{DIGEST}")
        );

        let v6 = BlueprintPath::parse("oci://[::1]:5000/bp").unwrap();
        assert_eq!(v6.registry, "[::1]:5000");
    }

    #[test]
    fn credentials_are_kept_out_of_display_debug_and_errors() {
        let path = BlueprintPath::parse("oci://robot:s3cr:et@registry.example/team/bp:v1").unwrap();
        assert!(path.has_credentials());
        assert_eq!(
            path.credentials,
            Some(Credentials {
                user: "robot".into(),
                password: "s3cr:et".into()
            })
        );
        assert_eq!(path.registry, "registry.example");
        for shown in [path.to_string(), format!("{path:?}")] {
            assert!(!shown.contains("robot"), "{shown}");
            assert!(!shown.contains("s3cr"), "{shown}");
        }
        // An `@` in the password: the last `@` before the first `/` ends the credentials.
        let at = BlueprintPath::parse("oci://robot:p@ss@registry.example/bp").unwrap();
        assert_eq!(at.registry, "registry.example");

        for bad in [
            "oci://robot:s3cret@registry.example:port/bp",
            "oci://robot:s3cret@/bp",
            "oci://robot:s3cret@registry.example/BP",
            "oci://robot:s3cret@registry.example/bp:-tag",
            "oci://robot:s3/cret@registry.example/bp",
            &format!("oci://robot:s3cret@registry.example/bp:v1@{DIGEST}"),
        ] {
            let error = BlueprintPath::parse(bad).unwrap_err().to_string();
            assert!(!error.contains("s3"), "{bad}: {error}");
            assert!(!error.contains("cret"), "{bad}: {error}");
        }
        assert_eq!(
            without_credentials(&format!("oci://robot:s3cret@registry.example/bp@{DIGEST}")),
            format!("oci://***@registry.example/bp@{DIGEST}")
        );
        assert_eq!(
            without_credentials("oci://registry.example/bp:v1"),
            "oci://registry.example/bp:v1"
        );
        assert_eq!(
            without_credentials("oci://registry.example/bp@md5:abc"),
            "oci://registry.example/bp@md5:abc",
            "an @ after the repository is no credentials"
        );
        assert_eq!(without_credentials("files/bp.yaml"), "files/bp.yaml");
    }

    #[test]
    fn bad_paths_are_refused_with_reasons() {
        for (bad, why) in [
            ("registry.example/team/bp", "starts with oci://"),
            (
                "oci://registry.example",
                "expected oci://registry/repository",
            ),
            ("oci://registry.example/", "repository must be lowercase"),
            (
                "oci://registry.example/Team/bp",
                "repository must be lowercase",
            ),
            (
                "oci://registry.example/team//bp",
                "repository must be lowercase",
            ),
            ("oci://registry.example:99999/bp", "port must be a number"),
            ("oci://registry.example:/bp", "port must be a number"),
            ("oci://gh cr.io/bp", "host[:port]"),
            ("oci://[::zz]/bp", "IPv6"),
            ("oci://registry.example/bp:", "a tag is"),
            ("oci://registry.example/bp:a/b", "a tag is"),
            ("oci://registry.example/bp@sha256:abc", "64 lowercase hex"),
            ("oci://registry.example/bp@md5:abc", "sha256"),
            (
                &format!("oci://registry.example/bp:v1@{DIGEST}"),
                "not both",
            ),
            ("oci://robot@registry.example/bp", "user:password"),
            ("oci://:pw@registry.example/bp", "no user name"),
        ] {
            let error = BlueprintPath::parse(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
