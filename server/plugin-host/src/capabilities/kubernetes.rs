//! `kubernetes` and `kubernetes:CONNECTION`: Kubernetes operations the host performs for a
//! deployment backend (`garrison:plugin/kubernetes`), through the named service connection or
//! any.
//!
//! Declared in WIT 0.1.0 and linked so that backends built against it load (after the grant);
//! each operation answers an error until the host implements it with kube, routing every call
//! to one of the granted connections (kept in the call's store).
use wasmtime::component::{HasSelf, Linker};

use super::connection::{self, GrantedConnections};
use super::{Grantable, HostInterfaces, Offered, PluginKind, not_provided_yet, unbound};
use crate::state::HostState;

/// garrison:plugin@0.1.0's `kubernetes`; the deployment-backend world reuses it (`with:`).
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        interfaces: "import garrison:plugin/kubernetes@0.1.0;",
    });
}

use bindings::garrison::plugin::kubernetes as wit;

const INTERFACE: &str = "garrison:plugin/kubernetes";

pub(crate) struct Kubernetes;

impl HostInterfaces for Kubernetes {
    const INTERFACES: &'static [&'static str] = &[INTERFACE];

    fn add_to_linker(linker: &mut Linker<HostState>, kind: PluginKind) -> wasmtime::Result<()> {
        // Only the deployment-backend world imports Kubernetes.
        if kind != PluginKind::DeploymentBackend {
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

impl Grantable for Kubernetes {
    /// The service connection's name or UUID; `None` for any Kubernetes connection.
    type Grant = Option<String>;
    type Granted = GrantedConnections;

    const KEYWORD: &'static str = "kubernetes";
    const SYNTAX: &'static str = "kubernetes[:CONNECTION]";
    const NEEDS: &'static str = "the Kubernetes capability";

    fn parse(argument: Option<&str>) -> Result<Option<String>, String> {
        connection::parse(Self::KEYWORD, argument)
    }

    fn argument(grant: &Option<String>) -> Option<&str> {
        grant.as_deref()
    }

    fn describe(grant: &Option<String>) -> String {
        match grant {
            Some(connection) => {
                format!("apply and delete objects on the Kubernetes connection {connection:?}")
            }
            None => "apply and delete objects on any Kubernetes connection".into(),
        }
    }

    fn validate(grant: &Option<String>) -> Result<(), String> {
        connection::validate(Self::KEYWORD, grant)
    }

    /// Any Kubernetes grant lets the interface link, whichever connection it names: the
    /// connection a call reaches is chosen per call among the granted ones.
    fn satisfies(_grant: &Option<String>, _interface: &str) -> bool {
        true
    }

    fn granted(grants: &[&Option<String>], _offered: &Offered<'_>) -> GrantedConnections {
        GrantedConnections::from_grants(grants)
    }
}

impl HostState {
    /// Operations answer an error until the backends issue implements them; the message says
    /// which connections the plugin was granted, so an operator can check the wiring.
    fn not_provided_yet_on_kubernetes(&self, operation: &str) -> String {
        format!(
            "{} (granted: {})",
            not_provided_yet(operation),
            self.granted.kubernetes.describe()
        )
    }
}

impl wit::Host for HostState {
    fn apply(&mut self, _manifest: String) -> Result<String, String> {
        Err(self.not_provided_yet_on_kubernetes("kubernetes.apply"))
    }

    fn delete(
        &mut self,
        _api_version: String,
        _kind: String,
        _namespace: String,
        _name: String,
    ) -> Result<(), String> {
        Err(self.not_provided_yet_on_kubernetes("kubernetes.delete"))
    }

    fn server_version(&mut self) -> Result<String, String> {
        Err(self.not_provided_yet_on_kubernetes("kubernetes.server-version"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{Capability, Needed, Requirement, requirement};

    #[test]
    fn a_kubernetes_grant_names_one_connection_or_none() {
        let cases = [
            ("kubernetes", Capability::Kubernetes(None)),
            (
                "kubernetes:cluster-a",
                Capability::Kubernetes(Some("cluster-a".into())),
            ),
            (
                "kubernetes:6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
                Capability::Kubernetes(Some("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b".into())),
            ),
        ];
        for (text, expected) in cases {
            let parsed: Capability = text.parse().unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(parsed.to_string(), text);
            let json = serde_json::to_string(&parsed).unwrap();
            assert_eq!(serde_json::from_str::<Capability>(&json).unwrap(), parsed);
        }
        assert_eq!(
            Capability::Kubernetes(Some("cluster-a".into())).describe(),
            "apply and delete objects on the Kubernetes connection \"cluster-a\""
        );
        assert_eq!(
            Capability::Kubernetes(None).describe(),
            "apply and delete objects on any Kubernetes connection"
        );
    }

    #[test]
    fn a_bad_connection_is_refused() {
        let too_long = format!("kubernetes:{}", "c".repeat(256));
        for bad in [
            "kubernetes:",
            "kubernetes: cluster-a",
            "kubernetes:cluster a",
            "kubernetes:cluster\u{1b}[31m",
            too_long.as_str(),
            "k8s",
        ] {
            assert!(bad.parse::<Capability>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_kubernetes_interface_is_met_by_any_kubernetes_grant() {
        assert_eq!(
            requirement("garrison:plugin/kubernetes@0.1.0"),
            Requirement::Grant(Needed::Kubernetes)
        );
        assert_eq!(Needed::Kubernetes.describe(), "the Kubernetes capability");
        for grant in [None, Some("cluster-a".to_string())] {
            assert!(Needed::Kubernetes.is_met_by(INTERFACE, &Capability::Kubernetes(grant)));
        }
        assert!(!Needed::Kubernetes.is_met_by(INTERFACE, &Capability::Docker(None)));
    }
}
