//! `docker` and `docker:CONNECTION`: Docker engine operations the host performs for a
//! deployment backend (`garrison:plugin/docker`), on the named service connection or on any.
//!
//! Declared in WIT 0.1.0 and linked so that backends built against it load (after the grant);
//! each operation answers an error until the host implements it with bollard, routing every
//! call to one of the granted connections (kept in the call's store).
use wasmtime::component::{HasSelf, Linker};

use super::connection::{self, GrantedConnections};
use super::{Grantable, HostInterfaces, Offered, PluginKind, not_provided_yet, unbound};
use crate::state::HostState;

/// garrison:plugin@0.1.0's `docker`; the deployment-backend world reuses it (`with:`).
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        interfaces: "import garrison:plugin/docker@0.1.0;",
    });
}

use bindings::garrison::plugin::docker as wit;

const INTERFACE: &str = "garrison:plugin/docker";

pub(crate) struct Docker;

impl HostInterfaces for Docker {
    const INTERFACES: &'static [&'static str] = &[INTERFACE];

    fn add_to_linker(linker: &mut Linker<HostState>, kind: PluginKind) -> wasmtime::Result<()> {
        // Only the deployment-backend world imports Docker.
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

impl Grantable for Docker {
    /// The service connection's name or UUID; `None` for any Docker connection.
    type Grant = Option<String>;
    type Granted = GrantedConnections;

    const KEYWORD: &'static str = "docker";
    const SYNTAX: &'static str = "docker[:CONNECTION]";
    const NEEDS: &'static str = "the Docker capability";

    fn parse(argument: Option<&str>) -> Result<Option<String>, String> {
        connection::parse(Self::KEYWORD, argument)
    }

    fn argument(grant: &Option<String>) -> Option<&str> {
        grant.as_deref()
    }

    fn describe(grant: &Option<String>) -> String {
        match grant {
            Some(connection) => {
                format!("manage containers on the Docker connection {connection:?}")
            }
            None => "manage containers on any Docker connection".into(),
        }
    }

    fn validate(grant: &Option<String>) -> Result<(), String> {
        connection::validate(Self::KEYWORD, grant)
    }

    /// Any Docker grant lets the interface link, whichever connection it names: the
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
    fn not_provided_yet_on_docker(&self, operation: &str) -> String {
        format!(
            "{} (granted: {})",
            not_provided_yet(operation),
            self.granted.docker.describe()
        )
    }
}

impl wit::Host for HostState {
    fn list_containers(
        &mut self,
        _selector: Vec<(String, String)>,
    ) -> Result<Vec<wit::ContainerState>, String> {
        Err(self.not_provided_yet_on_docker("docker.list-containers"))
    }

    fn ensure_container(
        &mut self,
        _spec: wit::ContainerSpec,
    ) -> Result<wit::ContainerState, String> {
        Err(self.not_provided_yet_on_docker("docker.ensure-container"))
    }

    fn remove_container(&mut self, _name: String) -> Result<(), String> {
        Err(self.not_provided_yet_on_docker("docker.remove-container"))
    }

    fn engine_version(&mut self) -> Result<String, String> {
        Err(self.not_provided_yet_on_docker("docker.engine-version"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{
        Capability, Granted, Grants, Manifest, Needed, Requirement, requirement,
    };

    #[test]
    fn a_docker_grant_names_one_connection_or_none() {
        let cases = [
            ("docker", Capability::Docker(None)),
            (
                "docker:prod-east",
                Capability::Docker(Some("prod-east".into())),
            ),
            (
                "docker:6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
                Capability::Docker(Some("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b".into())),
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
            Capability::Docker(Some("prod-east".into())).describe(),
            "manage containers on the Docker connection \"prod-east\""
        );
        assert_eq!(
            Capability::Docker(None).describe(),
            "manage containers on any Docker connection"
        );
    }

    #[test]
    fn a_bad_connection_is_refused() {
        let too_long = format!("docker:{}", "c".repeat(256));
        for bad in [
            "docker:",
            "docker: prod",
            "docker:prod east",
            "docker:prod\u{0}",
            too_long.as_str(),
            "Docker",
        ] {
            assert!(bad.parse::<Capability>().is_err(), "{bad:?}");
        }
        let error = "docker:".parse::<Capability>().unwrap_err();
        assert!(error.contains("docker"), "{error}");
    }

    #[test]
    fn the_docker_interface_is_met_by_any_docker_grant() {
        assert_eq!(
            requirement("garrison:plugin/docker@0.1.0"),
            Requirement::Grant(Needed::Docker)
        );
        assert_eq!(Needed::Docker.describe(), "the Docker capability");
        for grant in [None, Some("prod".to_string())] {
            assert!(Needed::Docker.is_met_by(INTERFACE, &Capability::Docker(grant)));
        }
        assert!(!Needed::Docker.is_met_by(INTERFACE, &Capability::Kubernetes(None)));
    }

    #[test]
    fn the_granted_connections_are_kept_for_the_calls() {
        let manifest = Manifest {
            name: "compose".into(),
            version: "1.0.0".into(),
            kind: PluginKind::DeploymentBackend,
            wit_version: "0.1.0".into(),
            capabilities: [
                Capability::Docker(Some("prod".into())),
                Capability::Docker(Some("dev".into())),
                Capability::Kubernetes(None),
            ]
            .into(),
        };
        let grants = Grants {
            capabilities: [
                Capability::Docker(Some("prod".into())),
                Capability::Kubernetes(None),
            ]
            .into(),
        };
        let offered = Default::default();
        let granted = Granted::new(&manifest, &grants, &Offered { secrets: &offered });
        assert!(granted.docker.allows("prod"));
        assert!(!granted.docker.allows("dev"), "declared but not granted");
        assert!(granted.kubernetes.allows("any-cluster"));
    }
}
