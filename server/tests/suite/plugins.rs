//! The plugin registry through the REST API, on both stores: built-ins, upload with review,
//! grants, enable/disable, the plugins directory, OCI artifacts pinned by digest, metrics.
use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use garrison_model::{TokenChanges, UserChanges};
use garrison_registry::Loaded;
use garrison_services::Caller;
use serde_json::{Value, json};

use common::plugin_component as component;

const POLICY_MANIFEST: &str = r#"
name = "reserved-names"
version = "1.0.0"
kind = "policy"
wit_version = "0.1.0"
capabilities = ["secret:api-key"]
"#;

const BOUNDARY: &str = "garrison-test-boundary";

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    common::multipart(BOUNDARY, parts)
}

async fn upload(env: &common::Env, path: &str, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(format!("/api/v3{path}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, _, bytes) = env.send(request).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["results"]
        .as_array()
        .and_then(|r| r.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

both_stores!(
    builtins_ship_enabled_and_running,
    |env: common::Env| async move {
        assert!(
            garrison_registry::MISSING_BUILTINS.is_empty(),
            "this build lacks built-in plugins {:?}: run scripts/build-plugins.sh before building",
            garrison_registry::MISSING_BUILTINS
        );
        let (status, list) = env.admin("GET", "/plugins/", None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        for name in [
            "provider-proxy",
            "provider-ldap",
            "provider-radius",
            "provider-rac",
        ] {
            let plugin = find(&list, name);
            assert_eq!(plugin["kind"], "provider");
            assert_eq!(plugin["source"], "builtin");
            assert_eq!(plugin["enabled"], true);
            assert_eq!(plugin["state"], json!({"state": "running"}), "{plugin}");
            assert!(plugin["digest"].as_str().unwrap().starts_with("sha256:"));
        }
        assert_eq!(find(&list, "backend-compose")["kind"], "deployment-backend");
        let providers: Vec<String> = env
            .registry
            .providers()
            .iter()
            .map(|p| p.manifest().name.clone())
            .collect();
        assert_eq!(
            providers,
            [
                "provider-ldap",
                "provider-proxy",
                "provider-rac",
                "provider-radius"
            ]
        );
        let (status, filtered) = env
            .admin("GET", "/plugins/?kind=deployment-backend", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(filtered["pagination"]["count"], 1, "{filtered}");

        // Built-ins can be disabled (and come back enabled state-wise only when asked) but never removed.
        let (status, body) = env.admin("DELETE", "/plugins/provider-rac/", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = env
            .admin("POST", "/plugins/provider-rac/disable/", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], json!({"state": "disabled"}));
        assert_eq!(env.registry.providers().len(), 3);
        // A restart keeps the operator's choice.
        let restarted = garrison::start_registry(&env.config, &env.services)
            .await
            .unwrap();
        assert_eq!(restarted.providers().len(), 3);
    }
);

both_stores!(
    an_upload_is_reviewed_refused_until_granted_then_runs,
    |env: common::Env| async move {
        let bytes = component("garrison_test_policy");
        let (status, review) = upload(
            &env,
            "/plugins/inspect/",
            common::ADMIN_TOKEN,
            multipart(&[
                ("manifest", None, POLICY_MANIFEST.as_bytes()),
                ("component", Some("policy.wasm"), &bytes),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{review}");
        assert_eq!(review["world"], "policy");
        assert_eq!(review["wit_version"], "0.1.0");
        assert_eq!(review["problems"], json!([]));
        assert_eq!(review["requested"][0]["capability"], "secret:api-key");
        assert!(
            review["imports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i.as_str().unwrap().starts_with("garrison:plugin/secrets@"))
        );

        // A manifest that hides the secrets import is a problem the review names.
        let hiding =
            POLICY_MANIFEST.replace("capabilities = [\"secret:api-key\"]", "capabilities = []");
        let (status, review) = upload(
            &env,
            "/plugins/inspect/",
            common::ADMIN_TOKEN,
            multipart(&[
                ("manifest", None, hiding.as_bytes()),
                ("component", Some("policy.wasm"), &bytes),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            review["problems"][0]
                .as_str()
                .unwrap()
                .contains("garrison:plugin/secrets"),
            "{review}"
        );
        let (status, body) = upload(
            &env,
            "/plugins/",
            common::ADMIN_TOKEN,
            multipart(&[
                ("manifest", None, hiding.as_bytes()),
                ("component", Some("policy.wasm"), &bytes),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["component"][0]
                .as_str()
                .unwrap()
                .contains("does not declare"),
            "{body}"
        );

        let (status, installed) = upload(
            &env,
            "/plugins/",
            common::ADMIN_TOKEN,
            multipart(&[
                ("manifest", None, POLICY_MANIFEST.as_bytes()),
                ("component", Some("policy.wasm"), &bytes),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{installed}");
        assert_eq!(installed["source"], "upload");
        assert_eq!(installed["enabled"], false);
        assert_eq!(installed["granted"], json!([]));

        let (status, refused) = env
            .admin("POST", "/plugins/reserved-names/enable/", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        let message = refused["enabled"][0].as_str().unwrap();
        assert!(
            message.contains("garrison:plugin/secrets") && message.contains("not granted"),
            "{message}"
        );

        let (status, body) = env
            .admin(
                "POST",
                "/plugins/reserved-names/grant/",
                Some(json!({"granted": ["docker"]})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "only requested capabilities can be granted: {body}"
        );
        let (status, granted) = env
            .admin(
                "POST",
                "/plugins/reserved-names/grant/",
                Some(json!({"granted": ["secret:api-key"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{granted}");

        // Granted, but the secret's file is missing: enabling says where it looked.
        let (status, refused) = env
            .admin("POST", "/plugins/reserved-names/enable/", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            refused["enabled"][0].as_str().unwrap().contains("api-key"),
            "{refused}"
        );
        let secrets_dir = env.config.plugin_secrets_dir.clone().unwrap();
        std::fs::write(secrets_dir.join("api-key"), "s3cret-value\n").unwrap();

        let (status, enabled) = env
            .admin("POST", "/plugins/reserved-names/enable/", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{enabled}");
        assert_eq!(enabled["state"], json!({"state": "running"}));
        let Some(Loaded::Policy(policy)) = env.registry.loaded("reserved-names") else {
            panic!("the policy is loaded");
        };
        let event = |username: &str| garrison_registry::host::Event {
            kind: "login".into(),
            username: username.into(),
            groups: vec![],
            context: "{}".into(),
        };
        assert!(policy.evaluate(&event("alice")).await.unwrap().pass);
        assert!(!policy.evaluate(&event("default")).await.unwrap().pass);

        let (_, detail) = env.admin("GET", "/plugins/reserved-names/", None).await;
        assert_eq!(detail["stats"]["calls"], 2, "{detail}");
        let bucketed: u64 = detail["stats"]["latency_buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b[1].as_u64().unwrap())
            .sum();
        assert_eq!(bucketed, 2);
        let metrics = env.metrics.render();
        assert!(
            metrics.contains("garrison_plugin_calls_total{plugin=\"reserved-names\"} 2"),
            "{metrics}"
        );

        // Every step is audited, and the secret's value appears nowhere.
        let (_, events) = env
            .admin("GET", "/events/events/?page_size=100", None)
            .await;
        let text = events.to_string();
        assert!(text.contains("reserved-names"));
        assert!(!text.contains("s3cret-value"));

        let (status, _) = env
            .admin("POST", "/plugins/reserved-names/disable/", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(env.registry.loaded("reserved-names").is_none());
        let (status, _) = env.admin("DELETE", "/plugins/reserved-names/", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = env.admin("GET", "/plugins/reserved-names/", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both_stores!(
    only_plugin_administrators_reach_plugins,
    |env: common::Env| async move {
        let system = Caller::system();
        let bob = env
            .services
            .create_user(
                &system,
                UserChanges {
                    username: Some("bob".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let token = env
            .services
            .create_token(
                &system,
                TokenChanges {
                    identifier: Some("bob".into()),
                    user: Some(bob.pk),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (status, _) = env.api("GET", "/plugins/", Some(&token.key), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = env
            .api(
                "POST",
                "/plugins/provider-proxy/disable/",
                Some(&token.key),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = upload(
            &env,
            "/plugins/inspect/",
            &token.key,
            multipart(&[("component", Some("x.wasm"), b"\0asm")]),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = env.api("GET", "/plugins/", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous");
        assert!(
            env.registry.loaded("provider-proxy").is_some(),
            "nothing changed"
        );
    }
);

both_stores!(
    garbage_and_bad_manifests_are_refused_by_field,
    |env: common::Env| async move {
        let (status, body) = upload(
            &env,
            "/plugins/",
            common::ADMIN_TOKEN,
            multipart(&[
                ("manifest", None, POLICY_MANIFEST.as_bytes()),
                ("component", Some("x.wasm"), b"not wasm at all"),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["component"][0]
                .as_str()
                .unwrap()
                .contains("not a valid WebAssembly component"),
            "{body}"
        );
        let bytes = component("garrison_test_policy");
        let (status, body) = upload(
            &env,
            "/plugins/",
            common::ADMIN_TOKEN,
            multipart(&[
                ("manifest", None, b"name = 'x'\nkind = 'policy'"),
                ("component", Some("p.wasm"), &bytes),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["manifest"][0].as_str().unwrap().contains("version"),
            "{body}"
        );
        let (status, body) = upload(
            &env,
            "/plugins/",
            common::ADMIN_TOKEN,
            multipart(&[("component", Some("p.wasm"), &bytes)]),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["manifest"].is_array(), "{body}");
        let (status, list) = env.admin("GET", "/plugins/?search=reserved", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            list["pagination"]["count"], 0,
            "nothing half-installed: {list}"
        );
    }
);

both_stores!(
    directory_plugins_wait_for_review,
    |env: common::Env| async move {
        let dir = env.config.plugins_dir.clone().unwrap();
        std::fs::write(
            dir.join("reserved-names.wasm"),
            component("garrison_test_policy"),
        )
        .unwrap();
        std::fs::write(dir.join("reserved-names.toml"), POLICY_MANIFEST).unwrap();
        std::fs::write(dir.join("broken.wasm"), b"junk").unwrap();
        std::fs::write(
            dir.join("broken.toml"),
            POLICY_MANIFEST.replace("reserved-names", "broken"),
        )
        .unwrap();
        // As on the next start.
        let registry = garrison::start_registry(&env.config, &env.services)
            .await
            .unwrap();
        let listed = registry
            .get(&Caller::system(), "reserved-names")
            .await
            .unwrap();
        assert_eq!(listed.source, garrison_model::PluginSource::Directory);
        assert!(!listed.enabled, "found plugins wait for an administrator");
        assert_eq!(listed.pending(), vec!["secret:api-key".to_string()]);
        assert!(
            registry.get(&Caller::system(), "broken").await.is_err(),
            "a bad file is skipped"
        );

        // The file changes after review: it will not load until reviewed again.
        std::fs::write(
            env.config
                .plugin_secrets_dir
                .clone()
                .unwrap()
                .join("api-key"),
            "k",
        )
        .unwrap();
        std::fs::write(
            dir.join("reserved-names.wasm"),
            component("garrison_test_plugins"),
        )
        .unwrap();
        let changes = garrison_services::PluginChanges {
            granted: Some(vec!["secret:api-key".into()]),
            enabled: Some(true),
            ..Default::default()
        };
        let error = registry
            .change(&Caller::system(), "reserved-names", changes)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("changed since it was reviewed"),
            "{error}"
        );
    }
);

both_stores!(
    oci_artifacts_install_by_digest_only,
    |env: common::Env| async move {
        let Some(registry) = common::oci_registry() else {
            return;
        };
        let bytes = component("garrison_test_policy");
        // Its own repository: both stores' runs push at the same time (see blueprint_oci.rs).
        let repository = common::fresh_repository("garrison/reserved-names");
        let digest = tokio::task::spawn_blocking({
            let (registry, repository) = (registry.clone(), repository.clone());
            move || {
                common::push_artifact(
                    &registry,
                    &repository,
                    "latest",
                    &[
                        ("application/wasm", &bytes),
                        (
                            "application/vnd.garrison.plugin.manifest.v1+toml",
                            POLICY_MANIFEST.as_bytes(),
                        ),
                    ],
                )
            }
        })
        .await
        .unwrap();
        let reference = format!("http://{registry}/{repository}@{digest}");

        let (status, body) = env
            .admin(
                "POST",
                "/plugins/",
                Some(json!({"oci_reference": format!("http://{registry}/{repository}:latest")})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["oci_reference"][0]
                .as_str()
                .unwrap()
                .contains("pin it by digest"),
            "{body}"
        );

        let missing = format!("http://{registry}/{repository}@sha256:{}", "0".repeat(64));
        let (status, body) = env
            .admin("POST", "/plugins/", Some(json!({"oci_reference": missing})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["oci_reference"][0].as_str().unwrap().contains("404"),
            "{body}"
        );

        let (status, installed) = env
            .admin(
                "POST",
                "/plugins/",
                Some(json!({"oci_reference": reference})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{installed}");
        assert_eq!(installed["source"], "oci");
        assert_eq!(installed["source_ref"], reference);
        assert_eq!(installed["name"], "reserved-names");
        assert_eq!(installed["requested"], json!(["secret:api-key"]));
        assert_eq!(installed["enabled"], false);

        // The stored component loads after the grant, like an upload.
        std::fs::write(
            env.config
                .plugin_secrets_dir
                .clone()
                .unwrap()
                .join("api-key"),
            "k",
        )
        .unwrap();
        let (status, _) = env
            .admin(
                "POST",
                "/plugins/reserved-names/grant/",
                Some(json!({"granted": ["secret:api-key"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, enabled) = env
            .admin("POST", "/plugins/reserved-names/enable/", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{enabled}");
        assert_eq!(enabled["state"], json!({"state": "running"}));
    }
);

#[test]
fn the_cli_inspects_a_component_and_its_manifest() {
    let dir = std::env::temp_dir().join(format!("garrison-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("reserved-names.wasm");
    std::fs::write(&wasm, component("garrison_test_policy")).unwrap();
    std::fs::write(dir.join("reserved-names.toml"), POLICY_MANIFEST).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_garrison"))
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap()
    };
    let ok = run(&["plugin".as_ref(), "inspect".as_ref(), wasm.as_os_str()]);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}");
    assert!(out.contains("world:        policy"), "{out}");
    assert!(out.contains("garrison:plugin/hook@0.1.0"), "{out}");
    assert!(
        out.contains("secret:api-key"),
        "the manifest beside it is read: {out}"
    );

    let hiding = dir.join("hiding.toml");
    std::fs::write(
        &hiding,
        POLICY_MANIFEST.replace("[\"secret:api-key\"]", "[]"),
    )
    .unwrap();
    let refused = run(&[
        "plugin".as_ref(),
        "inspect".as_ref(),
        wasm.as_os_str(),
        "--manifest".as_ref(),
        hiding.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let review: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert!(
        review["problems"][0]
            .as_str()
            .unwrap()
            .contains("does not declare"),
        "{review}"
    );

    let text = run(&[
        "plugin".as_ref(),
        "inspect".as_ref(),
        hiding.as_os_str(),
        "--manifest".as_ref(),
        hiding.as_os_str(),
    ]);
    assert!(!text.status.success());
    assert!(String::from_utf8_lossy(&text.stderr).contains("not a WebAssembly binary"));
    let _ = std::fs::remove_dir_all(&dir);
}

both_stores!(
    changes_reach_the_other_replicas,
    |env: common::Env| async move {
        // A second registry on the same database and bus, as another replica would run.
        let replica = garrison::start_registry(&env.config, &env.services.as_another_replica())
            .await
            .unwrap();
        assert!(replica.loaded("provider-rac").is_some());
        let eventually = |want_loaded: bool| {
            let replica = replica.clone();
            async move {
                for _ in 0..100 {
                    if replica.loaded("provider-rac").is_some() == want_loaded {
                        return true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                false
            }
        };
        let (status, _) = env
            .admin("POST", "/plugins/provider-rac/disable/", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(eventually(false).await, "the other replica unloads it");
        let (status, _) = env
            .admin("POST", "/plugins/provider-rac/enable/", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(eventually(true).await, "and loads it again");
    }
);

both_stores!(
    a_swapped_directory_plugin_loses_its_review_across_a_restart,
    |env: common::Env| async move {
        // Security finding 4: a reviewed plugin whose file is replaced kept `enabled` and its
        // grants at the next start, and ran the new code.
        let dir = env.config.plugins_dir.clone().unwrap();
        let secrets = env.config.plugin_secrets_dir.clone().unwrap();
        std::fs::write(secrets.join("api-key"), "k").unwrap();
        std::fs::write(
            dir.join("reserved-names.wasm"),
            component("garrison_test_policy"),
        )
        .unwrap();
        std::fs::write(dir.join("reserved-names.toml"), POLICY_MANIFEST).unwrap();
        let registry = garrison::start_registry(&env.config, &env.services)
            .await
            .unwrap();
        let reviewed = registry
            .change(
                &Caller::cli(),
                "reserved-names",
                garrison_services::PluginChanges {
                    granted: Some(vec!["secret:api-key".into()]),
                    enabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .expect("reviewed and enabled");
        assert!(reviewed.enabled);

        // Another component under the same name, then a restart.
        let mut swapped = component("garrison_test_policy");
        // A custom section changes the digest and nothing else (name 0x01 'x', no payload).
        swapped.extend_from_slice(&[0x00, 0x02, 0x01, b'x']);
        std::fs::write(dir.join("reserved-names.wasm"), &swapped).unwrap();
        let restarted = garrison::start_registry(&env.config, &env.services.as_another_replica())
            .await
            .unwrap();
        let after = restarted
            .get(&Caller::cli(), "reserved-names")
            .await
            .unwrap();
        assert!(!after.enabled, "disabled until reviewed again");
        assert!(
            after.granted.is_empty(),
            "grants cleared: {:?}",
            after.granted
        );
        assert_ne!(after.digest, reviewed.digest);
        assert!(restarted.loaded("reserved-names").is_none());
        let (_, events) = env
            .admin(
                "GET",
                "/events/events/?action=model_updated&search=reserved-names",
                None,
            )
            .await;
        let recorded = events["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["context"]["diff"]["enabled"]["new_value"] == false);
        assert!(recorded, "the change is an event: {events}");

        // The same for a second file that claims the same name: review the original again
        // (after the restart that records it), then let another file claim its name.
        std::fs::write(
            dir.join("reserved-names.wasm"),
            component("garrison_test_policy"),
        )
        .unwrap();
        let registry = garrison::start_registry(&env.config, &env.services.as_another_replica())
            .await
            .unwrap();
        registry
            .change(
                &Caller::cli(),
                "reserved-names",
                garrison_services::PluginChanges {
                    granted: Some(vec!["secret:api-key".into()]),
                    enabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("reviewed again: {e}"));
        std::fs::rename(dir.join("reserved-names.wasm"), dir.join("impostor.wasm")).unwrap();
        std::fs::rename(dir.join("reserved-names.toml"), dir.join("impostor.toml")).unwrap();
        let restarted = garrison::start_registry(&env.config, &env.services.as_another_replica())
            .await
            .unwrap();
        let after = restarted
            .get(&Caller::cli(), "reserved-names")
            .await
            .unwrap();
        assert!(!after.enabled && after.granted.is_empty(), "{after:?}");
    }
);
