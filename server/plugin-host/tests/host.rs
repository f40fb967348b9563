//! The plugin host against real components built from plugins/ (scripts/build-plugins.sh).
use std::path::PathBuf;
use std::time::{Duration, Instant};

use garrison_plugin_host::{
    CallError, CallLimits, Certificate, Grants, HostConfig, LoadError, Manifest, OutpostInfo,
    PermissionGrant, PluginHost, PluginKind, ProviderInfo,
};

fn wasm(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var("GARRISON_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm32-wasip2/release")
        });
    match std::fs::read(dir.join(format!("{name}.wasm"))) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the plugin tests: run scripts/build-plugins.sh first"
            );
            eprintln!("SKIPPED: {name}.wasm not built (scripts/build-plugins.sh)");
            None
        }
    }
}

fn manifest(name: &str) -> Manifest {
    Manifest {
        name: name.into(),
        version: "0.1.0".into(),
        kind: PluginKind::Provider,
        wit_version: "0.1.0".into(),
        capabilities: Default::default(),
    }
}

fn provider(kind: &str, name: &str, certificate: bool) -> ProviderInfo {
    ProviderInfo {
        kind: kind.into(),
        pk: 42,
        name: name.into(),
        attributes: "{}".into(),
        certificate: certificate.then(|| Certificate {
            pk: "cert-uuid".into(),
            name: "tls".into(),
        }),
    }
}

fn outpost() -> OutpostInfo {
    OutpostInfo {
        pk: "outpost-uuid".into(),
        name: "edge".into(),
        outpost_type: "proxy".into(),
    }
}

fn render(grants: &[PermissionGrant]) -> Vec<String> {
    let mut out: Vec<String> = grants
        .iter()
        .map(|g| match &g.object {
            Some(o) => format!("{} on {}:{}", g.permission, o.model, o.pk),
            None => g.permission.clone(),
        })
        .collect();
    out.sort();
    out
}

fn host() -> PluginHost {
    PluginHost::new(HostConfig::default()).expect("engine starts")
}

#[tokio::test]
async fn provider_plugins_return_authentiks_permission_sets() {
    let host = host();
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "garrison_provider_proxy",
            "proxy",
            &[
                "authentik_providers_proxy.view_proxyprovider on authentik_providers_proxy.proxyprovider:42",
            ],
            &[
                "authentik_crypto.view_certificatekeypair on authentik_crypto.certificatekeypair:cert-uuid",
            ],
        ),
        (
            "garrison_provider_ldap",
            "ldap",
            &[
                "authentik_core.view_group",
                "authentik_core.view_user",
                "authentik_providers_ldap.view_ldapprovider on authentik_providers_ldap.ldapprovider:42",
            ],
            &[
                "authentik_crypto.view_certificatekeypair on authentik_crypto.certificatekeypair:cert-uuid",
            ],
        ),
        (
            "garrison_provider_radius",
            "radius",
            &[
                "authentik_providers_radius.view_radiusprovider on authentik_providers_radius.radiusprovider:42",
            ],
            &[],
        ),
        (
            "garrison_provider_rac",
            "rac",
            &["authentik_providers_rac.view_racprovider on authentik_providers_rac.racprovider:42"],
            &[],
        ),
    ];
    for (file, kind, without_cert, cert_extra) in cases {
        let Some(bytes) = wasm(file) else { return };
        let plugin = host
            .load_provider(
                manifest(kind),
                &Grants::default(),
                &bytes,
                CallLimits::default(),
            )
            .expect("loads");
        let plain = plugin
            .required_permissions(&provider(kind, "p", false), &outpost())
            .await
            .expect("answers");
        let mut expected: Vec<String> = without_cert.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(render(&plain), expected, "{kind} without a certificate");
        let with = plugin
            .required_permissions(&provider(kind, "p", true), &outpost())
            .await
            .expect("answers");
        expected.extend(cert_extra.iter().map(|s| s.to_string()));
        expected.sort();
        assert_eq!(render(&with), expected, "{kind} with a certificate");
    }
}

#[tokio::test]
async fn a_runaway_plugin_is_stopped_at_its_deadline() {
    let Some(bytes) = wasm("garrison_test_plugins") else {
        return;
    };
    let host = host();
    let deadline = Duration::from_millis(200);
    let plugin = host
        .load_provider(
            manifest("misbehaving"),
            &Grants::default(),
            &bytes,
            CallLimits {
                deadline,
                ..CallLimits::default()
            },
        )
        .expect("loads");
    let started = Instant::now();
    let error = plugin
        .required_permissions(&provider("test", "loop", false), &outpost())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, CallError::Timeout { .. }), "{error}");
    assert!(took >= deadline, "not before the deadline: {took:?}");
    // The precise overshoot (target: under 100 ms) is measured by `cargo bench -p
    // garrison-plugin-host --features bench`; here only that the loop was cut rather than
    // left to spin.
    assert!(
        took < deadline + Duration::from_secs(2),
        "stopped, not left running: {took:?}"
    );
    assert_eq!(plugin.stats().snapshot().timeouts, 1);
}

#[tokio::test]
async fn a_memory_bomb_is_capped() {
    let Some(bytes) = wasm("garrison_test_plugins") else {
        return;
    };
    let host = host();
    let cap = 32 * 1024 * 1024;
    let plugin = host
        .load_provider(
            manifest("misbehaving"),
            &Grants::default(),
            &bytes,
            CallLimits {
                memory_bytes: cap,
                deadline: Duration::from_secs(5),
            },
        )
        .expect("loads");
    let error = plugin
        .required_permissions(&provider("test", "memory-bomb", false), &outpost())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CallError::MemoryExhausted {
            plugin: "misbehaving".into(),
            cap_bytes: cap
        }
    );
}

#[tokio::test]
async fn ten_thousand_faults_leave_the_host_serving() {
    let Some(bytes) = wasm("garrison_test_plugins") else {
        return;
    };
    let host = host();
    let plugin = host
        .load_provider(
            manifest("misbehaving"),
            &Grants::default(),
            &bytes,
            CallLimits::default(),
        )
        .expect("loads");
    for _ in 0..10_000 {
        let error = plugin
            .required_permissions(&provider("test", "trap", false), &outpost())
            .await
            .unwrap_err();
        assert!(matches!(error, CallError::Trap { .. }), "{error}");
    }
    let healthy = plugin
        .required_permissions(&provider("test", "fine", false), &outpost())
        .await
        .expect("healthy call");
    assert_eq!(render(&healthy), ["test.view_thing on test.thing:42"]);
    let stats = plugin.stats().snapshot();
    assert_eq!((stats.calls, stats.traps), (10_001, 10_000));
}

#[tokio::test]
async fn inspection_names_world_version_and_imports() {
    let Some(bytes) = wasm("garrison_provider_proxy") else {
        return;
    };
    let inspection = host().inspect(&bytes).expect("inspects");
    assert_eq!(inspection.kind, Some(PluginKind::Provider));
    assert_eq!(inspection.wit_version.as_deref(), Some("0.1.0"));
    assert!(
        inspection
            .exports
            .contains(&"garrison:plugin/expansion@0.1.0".to_string()),
        "{:?}",
        inspection.exports
    );
    assert!(inspection.digest.starts_with("sha256:"));
    assert!(
        !inspection
            .imports
            .iter()
            .any(|i| i.starts_with("garrison:plugin/log")),
        "unused imports are dropped: {:?}",
        inspection.imports
    );
    // The test plugin logs, so it imports the log interface.
    let Some(logging) = wasm("garrison_test_plugins") else {
        return;
    };
    let inspection = host().inspect(&logging).expect("inspects");
    assert!(
        inspection
            .imports
            .iter()
            .any(|i| i == "garrison:plugin/log@0.1.0"),
        "{:?}",
        inspection.imports
    );
}

#[tokio::test]
async fn a_plugin_of_the_wrong_world_or_garbage_is_refused_clearly() {
    let Some(bytes) = wasm("garrison_provider_proxy") else {
        return;
    };
    let mut as_policy = manifest("proxy");
    as_policy.kind = PluginKind::Policy;
    assert!(matches!(
        host().load_provider(as_policy, &Grants::default(), &bytes, CallLimits::default()),
        Err(LoadError::WrongWorld { .. })
    ));
    let garbage = host().load_provider(
        manifest("junk"),
        &Grants::default(),
        b"not wasm",
        CallLimits::default(),
    );
    assert!(matches!(garbage, Err(LoadError::Invalid { .. })));
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let Some(bytes) = wasm("garrison_provider_proxy") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("garrison-plugin-cache-{}", std::process::id()));
    let host = PluginHost::new(HostConfig {
        cache_dir: Some(dir.clone()),
        ..HostConfig::default()
    })
    .unwrap();
    host.compile("proxy", &bytes).unwrap();
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "one cache entry per digest and engine");
    let again = PluginHost::new(HostConfig {
        cache_dir: Some(dir.clone()),
        ..HostConfig::default()
    })
    .unwrap();
    let plugin = again
        .load_provider(
            manifest("proxy"),
            &Grants::default(),
            &bytes,
            CallLimits::default(),
        )
        .unwrap();
    assert!(
        !plugin
            .required_permissions(&provider("proxy", "p", false), &outpost())
            .await
            .unwrap()
            .is_empty()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn policy_manifest(capabilities: &[garrison_plugin_host::Capability]) -> Manifest {
    Manifest {
        name: "reserved-names".into(),
        version: "0.1.0".into(),
        kind: PluginKind::Policy,
        wit_version: "0.1.0".into(),
        capabilities: capabilities.iter().cloned().collect(),
    }
}

fn login(username: &str) -> garrison_plugin_host::Event {
    garrison_plugin_host::Event {
        kind: "login".into(),
        username: username.into(),
        groups: vec![],
        context: "{}".into(),
    }
}

#[tokio::test]
async fn an_ungranted_capability_is_refused_at_load_and_loads_after_the_grant() {
    use garrison_plugin_host::Capability;
    let Some(bytes) = wasm("garrison_test_policy") else {
        return;
    };
    let host = host();
    let secret = Capability::Secret("api-key".into());
    let secrets: std::collections::BTreeMap<String, String> =
        [("api-key".to_string(), "s3cret".to_string())].into();

    let undeclared = host
        .load_policy(
            policy_manifest(&[]),
            &Grants::default(),
            &bytes,
            CallLimits::default(),
            secrets.clone(),
        )
        .err()
        .unwrap();
    assert!(
        matches!(undeclared, LoadError::Undeclared { .. }),
        "{undeclared}"
    );
    assert!(
        undeclared
            .to_string()
            .contains("garrison:plugin/secrets@0.1.0"),
        "names the interface: {undeclared}"
    );

    let ungranted = host
        .load_policy(
            policy_manifest(&[secret.clone()]),
            &Grants::default(),
            &bytes,
            CallLimits::default(),
            secrets.clone(),
        )
        .err()
        .unwrap();
    assert!(
        matches!(ungranted, LoadError::Ungranted { .. }),
        "{ungranted}"
    );
    assert!(
        ungranted
            .to_string()
            .contains("garrison:plugin/secrets@0.1.0"),
        "{ungranted}"
    );

    let grants = Grants {
        capabilities: [secret.clone()].into(),
    };
    let plugin = host
        .load_policy(
            policy_manifest(&[secret]),
            &grants,
            &bytes,
            CallLimits::default(),
            secrets,
        )
        .expect("loads once granted");
    let pass = plugin.evaluate(&login("alice")).await.expect("decides");
    assert!(pass.pass, "{pass:?}");
    let refused = plugin.evaluate(&login("default")).await.expect("decides");
    assert!(!refused.pass);
    assert!(refused.messages[0].contains("reserved"), "{refused:?}");
}

#[tokio::test]
async fn a_plugin_sees_only_the_secrets_granted_to_it_and_fails_closed() {
    use garrison_plugin_host::Capability;
    let Some(bytes) = wasm("garrison_test_policy") else {
        return;
    };
    let other = Capability::Secret("other".into());
    let grants = Grants {
        capabilities: [other.clone()].into(),
    };
    let offered: std::collections::BTreeMap<String, String> = [
        ("api-key".to_string(), "s3cret".to_string()),
        ("other".to_string(), "x".to_string()),
    ]
    .into();
    let plugin = host()
        .load_policy(
            policy_manifest(&[other]),
            &grants,
            &bytes,
            CallLimits::default(),
            offered,
        )
        .expect("loads");
    let error = plugin.evaluate(&login("alice")).await.unwrap_err();
    match error {
        CallError::Plugin { message, .. } => {
            assert!(message.contains("\"api-key\" is not granted"), "{message}")
        }
        other => panic!("expected the plugin's own refusal, got {other}"),
    }
}

/// A real HTTP server on loopback that answers 200 and counts the connections it accepted.
async fn http_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (port, accepted)
}

fn fetch(url: &str) -> garrison_plugin_host::Event {
    garrison_plugin_host::Event {
        context: url.into(),
        ..login("alice")
    }
}

#[tokio::test]
async fn outbound_http_reaches_only_granted_origins() {
    use garrison_plugin_host::Capability;
    let Some(bytes) = wasm("garrison_test_http") else {
        return;
    };
    let (allowed_port, allowed_hits) = http_server().await;
    let (other_port, other_hits) = http_server().await;
    let origin = Capability::OutboundHttp(format!("http://127.0.0.1:{allowed_port}"));
    let manifest = Manifest {
        name: "fetcher".into(),
        capabilities: [origin.clone()].into(),
        ..policy_manifest(&[])
    };
    let host = host();

    let ungranted = host
        .load_policy(
            manifest.clone(),
            &Grants::default(),
            &bytes,
            CallLimits::default(),
            Default::default(),
        )
        .err()
        .unwrap();
    assert!(
        matches!(&ungranted, LoadError::Ungranted { interface, .. } if interface.starts_with("wasi:http/")),
        "{ungranted}"
    );

    let grants = Grants {
        capabilities: [origin].into(),
    };
    let plugin = host
        .load_policy(
            manifest,
            &grants,
            &bytes,
            CallLimits::default(),
            Default::default(),
        )
        .expect("loads once granted");
    let fetched = plugin
        .evaluate(&fetch(&format!("http://127.0.0.1:{allowed_port}/check")))
        .await
        .expect("the granted origin answers");
    assert_eq!(fetched.messages, vec!["status 200".to_string()]);
    assert!(fetched.pass);
    assert_eq!(allowed_hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    for refused_url in [
        format!("http://127.0.0.1:{other_port}/"),
        format!("http://localhost:{allowed_port}/"),
        format!("https://127.0.0.1:{allowed_port}/"),
    ] {
        let error = plugin.evaluate(&fetch(&refused_url)).await.unwrap_err();
        match error {
            CallError::Plugin { message, .. } => assert!(
                message.contains("HttpRequestDenied"),
                "{refused_url}: {message}"
            ),
            other => panic!("{refused_url}: expected a denial, got {other}"),
        }
    }
    assert_eq!(
        other_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a refused request never opens a connection"
    );
    assert_eq!(allowed_hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_outbound_target_that_is_not_an_origin_is_refused_naming_the_field() {
    use garrison_plugin_host::Capability;
    let Some(bytes) = wasm("garrison_test_http") else {
        return;
    };
    let bad = Capability::OutboundHttp("https://api.example.com/v1".into());
    let error = host()
        .load_policy(
            policy_manifest(&[bad.clone()]),
            &Grants {
                capabilities: [bad].into(),
            },
            &bytes,
            CallLimits::default(),
            Default::default(),
        )
        .err()
        .unwrap();
    assert!(
        matches!(&error, LoadError::InvalidManifest { field, .. } if field == "capabilities.outbound-http"),
        "{error}"
    );
}

fn deployment(outpost_type: &str, settings: &str) -> garrison_plugin_host::Deployment {
    garrison_plugin_host::Deployment {
        outpost: OutpostInfo {
            outpost_type: outpost_type.into(),
            ..outpost()
        },
        environment: r#"{"AUTHENTIK_HOST":"https://Auth.example.com","AUTHENTIK_INSECURE":false,"AUTHENTIK_TOKEN":"tok: en"}"#.into(),
        image: "registry.example/goauthentik/proxy:2025.10".into(),
        settings: settings.into(),
    }
}

#[tokio::test]
async fn the_example_backend_describes_itself_and_renders_authentiks_compose_file() {
    let Some(bytes) = wasm("garrison_backend_compose") else {
        return;
    };
    let backend = host()
        .load_backend(
            Manifest {
                kind: PluginKind::DeploymentBackend,
                ..manifest("compose")
            },
            &Grants::default(),
            &bytes,
            CallLimits::default(),
            Default::default(),
        )
        .expect("a backend without capabilities loads without grants");
    let description = backend.describe().await.expect("describes itself");
    assert_eq!(description.name, "compose");
    assert_eq!(
        description.outpost_types,
        vec!["proxy", "ldap", "radius", "rac"]
    );
    assert_eq!(description.connection_kinds, vec!["manual"]);
    assert!(description.settings_schema.contains("\"labels\""));

    let proxy = backend
        .static_deployment(&deployment("proxy", r#"{"labels":{"team":"idp"}}"#))
        .await
        .expect("renders");
    assert_eq!(
        proxy,
        "version: \"3.5\"\nservices:\n  authentik_proxy:\n    image: \"registry.example/goauthentik/proxy:2025.10\"\n    ports:\n      - \"9000:9000/tcp\"\n      - \"9443:9443/tcp\"\n    environment:\n      AUTHENTIK_HOST: \"https://Auth.example.com\"\n      AUTHENTIK_INSECURE: \"False\"\n      AUTHENTIK_TOKEN: \"tok: en\"\n    labels:\n      team: \"idp\"\n"
    );
    let ldap = backend
        .static_deployment(&deployment("ldap", "{}"))
        .await
        .unwrap();
    assert!(ldap.contains("  authentik_ldap:\n"), "{ldap}");
    assert!(
        ldap.contains("- \"389:3389/tcp\"\n      - \"636:6636/tcp\""),
        "{ldap}"
    );
    let rac = backend
        .static_deployment(&deployment("rac", ""))
        .await
        .unwrap();
    assert!(!rac.contains("ports:"), "rac maps no ports: {rac}");

    let error = backend
        .static_deployment(&deployment("proxy", r#"{"replicas":2}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CallError::Plugin { message, .. } if message.contains("settings.replicas")),
        "{error}"
    );
    backend.up(&deployment("proxy", "{}")).await.expect("up");
    backend
        .down(&deployment("proxy", "{}"))
        .await
        .expect("down");
    let state = backend.connection_state("{}").await.expect("state");
    assert!(state.healthy);
    assert_eq!(state.version, "manual");
    assert_eq!(backend.stats().snapshot().calls, 8);
    assert_eq!(backend.stats().snapshot().errors, 1);
}

#[tokio::test]
async fn plugins_built_against_0_1_and_0_2_are_served_side_by_side() {
    let (Some(v1), Some(v2)) = (
        wasm("garrison_provider_radius"),
        wasm("garrison_test_provider_v2"),
    ) else {
        return;
    };
    let host = host();
    let old = host
        .load_provider(
            manifest("radius-0-1"),
            &Grants::default(),
            &v1,
            CallLimits::default(),
        )
        .expect("0.1.0 still loads");
    let new = host
        .load_provider(
            Manifest {
                wit_version: "0.2.0".into(),
                ..manifest("radius-0-2")
            },
            &Grants::default(),
            &v2,
            CallLimits::default(),
        )
        .expect("0.2.0 loads");
    let inspection = host.inspect(&v2).unwrap();
    assert_eq!(inspection.wit_version.as_deref(), Some("0.2.0"));
    assert!(
        inspection
            .imports
            .iter()
            .any(|i| i == "garrison:plugin/types@0.2.0")
    );

    let radius = provider("radius", "radius", false);
    let from_old = old.required_permissions(&radius, &outpost()).await.unwrap();
    let from_new = new.required_permissions(&radius, &outpost()).await.unwrap();
    assert_eq!(
        render(&from_old),
        render(&from_new),
        "same answer through either version"
    );
    assert_eq!(old.provider_kinds().await.unwrap(), None);
    assert_eq!(
        new.provider_kinds().await.unwrap(),
        Some(vec!["radius".to_string()])
    );

    // A manifest must name the version the component was built against.
    let mislabelled = host
        .load_provider(
            manifest("radius-claims-0-1"),
            &Grants::default(),
            &v2,
            CallLimits::default(),
        )
        .err()
        .unwrap();
    assert!(
        matches!(&mislabelled, LoadError::WrongWorld { expected, .. } if expected == "garrison:plugin/expansion@0.1.0"),
        "{mislabelled}"
    );
    // Versions a kind does not have yet are refused by name.
    let backend_v2 = garrison_plugin_host::capabilities::check(
        &Manifest {
            kind: PluginKind::Policy,
            wit_version: "0.2.0".into(),
            ..manifest("hook")
        },
        &Grants::default(),
        &[],
        &["garrison:plugin/hook@0.2.0".into()],
    )
    .unwrap_err();
    assert!(
        matches!(&backend_v2, LoadError::UnsupportedVersion { supported, .. } if supported.contains("policy plugins at 0.1.0")),
        "{backend_v2}"
    );
}

#[test]
fn docker_and_kubernetes_grants_can_name_a_service_connection() {
    use garrison_plugin_host::Capability;
    use garrison_plugin_host::capabilities::{self, Needed, Requirement};
    let backend = |requested: &[Capability]| Manifest {
        kind: PluginKind::DeploymentBackend,
        capabilities: requested.iter().cloned().collect(),
        ..manifest("deployer")
    };
    let exports = ["garrison:plugin/backend@0.1.0".to_string()];
    let imports = [
        "garrison:plugin/docker@0.1.0".to_string(),
        "garrison:plugin/kubernetes@0.1.0".to_string(),
    ];
    assert_eq!(
        capabilities::requirement(&imports[0]),
        Requirement::Grant(Needed::Docker)
    );
    // Bare keywords (any connection) keep working beside named connections.
    let requested: Vec<Capability> = ["docker:prod", "kubernetes"]
        .into_iter()
        .map(|text| text.parse().expect("a valid capability"))
        .collect();
    assert_eq!(
        requested,
        [
            Capability::Docker(Some("prod".into())),
            Capability::Kubernetes(None)
        ]
    );
    let manifest = backend(&requested);
    let ungranted =
        capabilities::check(&manifest, &Grants::default(), &imports, &exports).unwrap_err();
    assert!(
        matches!(&ungranted, LoadError::Ungranted { interface, .. } if interface == "garrison:plugin/docker@0.1.0"),
        "{ungranted}"
    );
    let grants = Grants {
        capabilities: requested.iter().cloned().collect(),
    };
    assert_eq!(
        capabilities::check(&manifest, &grants, &imports, &exports),
        Ok(())
    );
    assert_eq!(
        Capability::Docker(Some("prod".into())).describe(),
        "manage containers on the Docker connection \"prod\""
    );
}
