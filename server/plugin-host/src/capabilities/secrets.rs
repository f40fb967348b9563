//! `secret:NAME`: read one named secret (`garrison:plugin/secrets`), imported by policies and
//! deployment backends.
//!
//! The values come from the caller of a load (files in the secrets directory). A plugin sees
//! only the secrets both declared in its manifest and granted, and a value never reaches a log.
use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{Grantable, HostInterfaces, Offered, PluginKind, unbound};
use crate::state::HostState;

/// garrison:plugin@0.1.0's `secrets`; the 0.1.0 worlds reuse it (`with:`).
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        interfaces: "import garrison:plugin/secrets@0.1.0;",
    });
}

use bindings::garrison::plugin::secrets as wit;

const INTERFACE: &str = "garrison:plugin/secrets";

/// The longest secret name a manifest may declare.
const MAX_NAME_LEN: usize = 128;

pub(crate) struct Secrets;

impl HostInterfaces for Secrets {
    const INTERFACES: &'static [&'static str] = &[INTERFACE];

    fn add_to_linker(linker: &mut Linker<HostState>, kind: PluginKind) -> wasmtime::Result<()> {
        // The provider world does not import secrets, so its linker must not offer them.
        if kind == PluginKind::Provider {
            return Ok(());
        }
        for version in kind.wit_versions() {
            match *version {
                "0.1.0" => {
                    wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?
                }
                other => return Err(unbound(INTERFACE, kind, other)),
            }
        }
        Ok(())
    }
}

impl Grantable for Secrets {
    /// The secret's name.
    type Grant = String;
    /// The granted secrets' values, by name.
    type Granted = Arc<BTreeMap<String, String>>;

    const KEYWORD: &'static str = "secret";
    const SYNTAX: &'static str = "secret:NAME";
    const NEEDS: &'static str = "a secret grant";

    fn parse(argument: Option<&str>) -> Result<String, String> {
        match argument {
            Some(name) if !name.is_empty() => Ok(name.to_owned()),
            _ => Err("a secret grant names its secret: secret:NAME".into()),
        }
    }

    fn argument(name: &String) -> Option<&str> {
        Some(name.as_str())
    }

    fn describe(name: &String) -> String {
        format!("read the secret {name:?}")
    }

    fn validate(name: &String) -> Result<(), String> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(format!(
                "a secret name must be 1 to {MAX_NAME_LEN} characters"
            ));
        }
        Ok(())
    }

    /// Any secret grant lets the interface link: which secret a call may read is decided per
    /// call, by name, among the granted ones.
    fn satisfies(_name: &String, _interface: &str) -> bool {
        true
    }

    fn granted(names: &[&String], offered: &Offered<'_>) -> Self::Granted {
        // A granted name the caller did not offer is left out: the plugin is told it is not
        // granted rather than handed an empty value.
        Arc::new(
            names
                .iter()
                .filter_map(|&name| Some((name.clone(), offered.secrets.get(name)?.clone())))
                .collect(),
        )
    }
}

impl wit::Host for HostState {
    /// Only secrets granted to this plugin exist for it; the value never reaches a log.
    fn get(&mut self, name: String) -> Result<String, String> {
        self.granted
            .secrets
            .get(&name)
            .cloned()
            .ok_or_else(|| format!("secret {name:?} is not granted to this plugin"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{
        Capability, Granted, Grants, Manifest, Needed, Requirement, requirement,
    };

    #[test]
    fn a_secret_grant_is_written_with_its_name() {
        let capability: Capability = "secret:incus-cert".parse().unwrap();
        assert_eq!(capability, Capability::Secret("incus-cert".into()));
        assert_eq!(capability.to_string(), "secret:incus-cert");
        assert_eq!(capability.describe(), "read the secret \"incus-cert\"");
        for bad in ["secret", "secret:", "  secret:  "] {
            assert!(bad.parse::<Capability>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_secrets_interface_needs_a_secret_grant() {
        assert_eq!(
            requirement("garrison:plugin/secrets@0.1.0"),
            Requirement::Grant(Needed::Secret)
        );
        assert_eq!(Needed::Secret.describe(), "a secret grant");
        assert!(Needed::Secret.is_met_by(INTERFACE, &Capability::Secret("any-name".into())));
        assert!(!Needed::Secret.is_met_by(INTERFACE, &Capability::Docker(None)));
    }

    #[test]
    fn a_plugin_keeps_only_secrets_declared_granted_and_offered() {
        let secret = |name: &str| Capability::Secret(name.into());
        let manifest = Manifest {
            name: "hook".into(),
            version: "1.0.0".into(),
            kind: PluginKind::Policy,
            wit_version: "0.1.0".into(),
            capabilities: [secret("declared"), secret("granted"), secret("missing")].into(),
        };
        let grants = Grants {
            capabilities: [secret("granted"), secret("missing"), secret("undeclared")].into(),
        };
        let offered: BTreeMap<String, String> =
            [("declared", "d"), ("granted", "g"), ("undeclared", "u")]
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
        let granted = Granted::new(&manifest, &grants, &Offered { secrets: &offered });
        assert_eq!(
            granted.secrets.iter().collect::<Vec<_>>(),
            [(&"granted".to_string(), &"g".to_string())]
        );
    }
}
