//! What a plugin may reach beyond its own memory: the host capabilities, one module each.
//!
//! A component's imports are its capabilities. Its manifest declares the ones it wants, the
//! operator grants them, and at load every import must be covered by a capability both declared
//! and granted, or be one the host always provides ([`check`]).
//!
//! Each capability's module owns everything about that capability:
//! - how its grant is written and read back (`secret:NAME`, `docker[:CONNECTION]`, …) and what
//!   the review screen says it allows;
//! - its import rule: which imported interfaces need it, and which grants satisfy them;
//! - its host implementation (the `Host` traits of its WIT interfaces) and its linker
//!   registration for each world that imports it;
//! - what a load keeps of its grants for the plugin's calls.
//!
//! The modules: `log` (always provided, no capability string), `secrets`, `outbound_http`,
//! `docker` and `kubernetes`. WASI's sandboxed basics and the shared `types` interface need no
//! grant either; their rule is [`requirement`]'s.
//!
//! **Adding a capability** is a module here implementing `Grantable` (and the `Host` traits of
//! its interfaces), plus one line in the `host_capabilities!` list below. That line is the
//! [`Capability`] variant; parsing, rendering, review text, import rules, what a load keeps and
//! linking all follow from it.
//!
//! The validate-only path (the review screen, `garrison plugin inspect`) uses only parsing and
//! import rules ([`check`], [`validate_manifest`], [`requirement`]) and runs nothing.
use std::collections::BTreeMap;

use wasmtime::component::Linker;

use crate::state::HostState;

mod connection;
mod declare;
pub(crate) mod docker;
pub(crate) mod kubernetes;
pub(crate) mod log;
mod manifest;
pub(crate) mod outbound_http;
pub(crate) mod secrets;
mod validate;

pub use manifest::{Grants, Manifest, PluginKind};
pub use validate::{LoadError, check, validate_manifest};

use declare::host_capabilities;

host_capabilities! {
    always {
        log::Log,
    }
    granted {
        /// Read the named secret.
        Secret(String) => secrets::Secrets,
        /// Outbound HTTP to one `scheme://host:port`.
        OutboundHttp(String) => outbound_http::OutboundHttp,
        /// Manage containers on the named Docker service connection (name or UUID), or on any
        /// Docker connection when `None` (written `docker`).
        Docker(Option<String>) => docker::Docker,
        /// Apply and delete objects through the named Kubernetes service connection (name or
        /// UUID), or through any Kubernetes connection when `None` (written `kubernetes`).
        Kubernetes(Option<String>) => kubernetes::Kubernetes,
    }
}

/// The interfaces a host capability serves, and how it links them. Implemented by every
/// capability, granted or always provided.
pub(crate) trait HostInterfaces {
    /// The imported interfaces this capability serves, unversioned
    /// (`"garrison:plugin/secrets"`). No two capabilities serve the same interface.
    const INTERFACES: &'static [&'static str];

    /// Links this capability's host implementation into `kind`'s linker, at every WIT version
    /// the host serves for `kind` ([`PluginKind::wit_versions`]). A world that does not import
    /// the capability links nothing, so its linker stays exactly its world.
    fn add_to_linker(linker: &mut Linker<HostState>, kind: PluginKind) -> wasmtime::Result<()>;
}

/// A capability the operator grants, written `KEYWORD` or `KEYWORD:ARGUMENT`.
///
/// Everything but [`Grantable::granted`] is pure: the validate-only path uses it without
/// compiling or running anything.
pub(crate) trait Grantable: HostInterfaces {
    /// What one grant carries: the payload of its [`Capability`] variant.
    type Grant;
    /// What a load keeps of this capability's grants for every call (cheap to clone).
    type Granted: Clone + Default + Send + Sync + 'static;

    /// The word a grant starts with: the whole string (`docker`) or the part before the first
    /// `:` (`secret:NAME`). Also names the manifest field in errors (`capabilities.secret`).
    const KEYWORD: &'static str;
    /// How a grant is written, for the error naming an unknown capability.
    const SYNTAX: &'static str;
    /// What the load error says an import needs ("a secret grant").
    const NEEDS: &'static str;

    /// Reads a grant from what follows the keyword: `None` for the bare keyword, else the text
    /// after the first `:` (possibly empty).
    fn parse(argument: Option<&str>) -> Result<Self::Grant, String>;

    /// What is written after `KEYWORD:`, or `None` for the bare keyword. Parsing it back gives
    /// the same grant.
    fn argument(grant: &Self::Grant) -> Option<&str>;

    /// What the review screen says the grant allows.
    fn describe(grant: &Self::Grant) -> String;

    /// The manifest's own rule for a grant. Parsing already enforces it; this catches a grant
    /// built in code.
    fn validate(grant: &Self::Grant) -> Result<(), String>;

    /// Whether `grant` covers an import of `interface` (unversioned, one of `INTERFACES`).
    fn satisfies(grant: &Self::Grant, interface: &str) -> bool;

    /// What a load keeps for its calls from the grants both declared and granted.
    fn granted(grants: &[&Self::Grant], offered: &Offered<'_>) -> Self::Granted;
}

/// What the caller of a load offers for the granted capabilities to take from.
pub(crate) struct Offered<'a> {
    /// Secret values by name; a plugin sees only those declared and granted.
    pub secrets: &'a BTreeMap<String, String>,
}

/// What an import needs before a plugin may load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Always available (logging, the shared types, and WASI's sandboxed basics: no files, no
    /// environment, no network).
    Nothing,
    Grant(Needed),
    Unsupported,
}

/// WASI's basics, by interface prefix: the WASI context links them with nothing inherited (no
/// files, environment or network), so they need no grant. Sockets are not among them and are
/// never linked.
const WASI_BASICS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];

/// What an import of `interface` (versioned or not) needs before a plugin may load.
pub fn requirement(interface: &str) -> Requirement {
    let name = unversioned(interface);
    if name == crate::wit_types::INTERFACE
        || served_without_grant(name)
        || WASI_BASICS.iter().any(|prefix| name.starts_with(prefix))
    {
        return Requirement::Nothing;
    }
    Needed::of_interface(name).map_or(Requirement::Unsupported, Requirement::Grant)
}

pub(crate) fn unversioned(interface: &str) -> &str {
    interface.split('@').next().unwrap_or(interface)
}

/// The error for a WIT version an interface has no bindings for: a version was added to
/// [`PluginKind::wit_versions`] without binding `interface` (unversioned) at it. Reported when
/// the host starts, so it cannot go unnoticed.
pub(crate) fn unbound(interface: &str, kind: PluginKind, version: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!(
        "{interface} has no host bindings at garrison:plugin@{version}, which the {} world is served at",
        kind.world()
    ))
}

/// The answer of a host operation declared in WIT that this release does not perform yet.
pub(crate) fn not_provided_yet(operation: &str) -> String {
    format!("{operation} is not provided by this Garrison release")
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.argument() {
            Some(argument) => write!(f, "{}:{argument}", self.keyword()),
            None => f.write_str(self.keyword()),
        }
    }
}

impl std::str::FromStr for Capability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        // The first colon ends the keyword: arguments may hold colons of their own
        // (`outbound-http:https://host:8443`).
        let (keyword, argument) = match text.split_once(':') {
            Some((keyword, argument)) => (keyword, Some(argument)),
            None => (text, None),
        };
        Capability::from_parts(keyword, argument).unwrap_or_else(|| {
            Err(format!(
                "unknown capability {text:?}: expected one of {}",
                Capability::SYNTAXES.join(", ")
            ))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_round_trip_as_strings() {
        for text in [
            "secret:incus-cert",
            "outbound-http:https://openfga.internal:8080",
            "docker",
            "docker:prod-east",
            "kubernetes",
            "kubernetes:6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
        ] {
            let capability: Capability = text.parse().unwrap();
            assert_eq!(capability.to_string(), text);
            let json = serde_json::to_string(&capability).unwrap();
            assert_eq!(json, format!("{text:?}"), "serialized as its string");
            assert_eq!(
                serde_json::from_str::<Capability>(&json).unwrap(),
                capability
            );
        }
        for bad in [
            "secret:",
            "outbound-http:https://x/path",
            "sockets",
            "",
            "docker:",
            "kubernetes:prod east",
        ] {
            assert!(bad.parse::<Capability>().is_err(), "{bad}");
        }
        assert!(
            serde_json::from_str::<Capability>("\"docker:\"").is_err(),
            "serde refuses what parsing refuses"
        );
    }

    #[test]
    fn an_unknown_capability_is_named_with_every_known_form() {
        let error = "sockets".parse::<Capability>().unwrap_err();
        assert!(error.contains("\"sockets\""), "{error}");
        for syntax in [
            "secret:NAME",
            "outbound-http:SCHEME://HOST[:PORT]",
            "docker[:CONNECTION]",
            "kubernetes[:CONNECTION]",
        ] {
            assert!(error.contains(syntax), "{error} lacks {syntax}");
        }
        // Log is always provided: it has no capability string.
        assert!("log".parse::<Capability>().is_err());
    }

    #[test]
    fn each_interface_is_served_by_exactly_one_capability() {
        let mut served_by = BTreeMap::new();
        for (capability, interfaces) in SERVED {
            assert!(!interfaces.is_empty(), "{capability} serves no interface");
            for interface in *interfaces {
                assert_eq!(
                    unversioned(interface),
                    *interface,
                    "{capability} names {interface} without a version"
                );
                if let Some(other) = served_by.insert(*interface, *capability) {
                    panic!("{interface} is served by both {other} and {capability}");
                }
                assert_ne!(
                    requirement(interface),
                    Requirement::Unsupported,
                    "{interface}"
                );
            }
        }
    }

    #[test]
    fn basics_and_shared_types_need_nothing_and_sockets_are_unsupported() {
        for interface in [
            "garrison:plugin/types@0.1.0",
            "garrison:plugin/types@0.2.0",
            "wasi:cli/environment@0.2.6",
            "wasi:io/streams@0.2.6",
            "wasi:clocks/monotonic-clock@0.2.6",
            "wasi:random/random@0.2.6",
            "wasi:filesystem/types@0.2.6",
        ] {
            assert_eq!(requirement(interface), Requirement::Nothing, "{interface}");
        }
        for interface in [
            "wasi:sockets/tcp@0.2.6",
            "acme:evil/backdoor@1.0.0",
            "garrison:plugin/unknown@0.1.0",
        ] {
            assert_eq!(
                requirement(interface),
                Requirement::Unsupported,
                "{interface}"
            );
        }
    }

    #[test]
    fn a_need_is_met_only_by_its_own_capability() {
        let secret = Capability::Secret("k".into());
        let docker = Capability::Docker(None);
        assert!(Needed::Secret.is_met_by("garrison:plugin/secrets", &secret));
        assert!(!Needed::Secret.is_met_by("garrison:plugin/secrets", &docker));
        assert!(!Needed::Kubernetes.is_met_by("garrison:plugin/kubernetes", &docker));
    }
}
