//! Blueprint instances whose source is an OCI artifact (`oci://…`), against the test registry
//! (scripts/test-services.sh starts one, on loopback over plain HTTP), on both stores: pulled
//! at every run through the OCI client the plugin registry uses, by tag or pinned by digest,
//! refused where the policy says so, and their credentials shown nowhere but in `path`.
use crate::common;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::blueprint_instances::{create, field_errors, group_blueprint, group_count, sha512_hex};

const BLUEPRINT_LAYER: &str = "application/vnd.goauthentik.blueprint.v1+yaml";

/// Applies the instance through the API; the instance as recorded.
async fn apply(env: &common::Env, instance: &Value) -> Value {
    let pk = instance["pk"].as_str().expect("a pk");
    let (status, applied) = env
        .admin("POST", &format!("/managed/blueprints/{pk}/apply/"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    applied
}

/// The message of a failed run, as recorded on the instance.
fn failure(applied: &Value) -> String {
    assert_eq!(applied["status"], "error", "{applied}");
    assert_eq!(applied["last_result"]["success"], false, "{applied}");
    assert_eq!(applied["last_result"]["stage"], "retrieve", "{applied}");
    applied["last_result"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

both_stores!(
    oci_blueprints_apply_from_the_registry,
    with_plain_http_registry,
    |env: common::Env| async move {
        let Some(registry) = common::oci_registry() else {
            return;
        };
        // A repository of its own: the two stores' runs push at the same time, and the
        // registry answered a digest fetched while the other run pushed it with a 500.
        let repository = &common::fresh_repository("garrison/blueprints/groups");
        let text = group_blueprint("oci-group");
        let digest = tokio::task::spawn_blocking({
            let (registry, text, repository) = (registry.clone(), text.clone(), repository.clone());
            move || {
                let earlier = group_blueprint("oci-not-this-one");
                common::push_artifact(
                    &registry,
                    &repository,
                    "v1",
                    &[
                        (BLUEPRINT_LAYER, earlier.as_bytes()),
                        ("text/plain", b"a readme".as_slice()),
                        (BLUEPRINT_LAYER, text.as_bytes()),
                    ],
                )
            }
        })
        .await
        .expect("pushed");

        // By tag: created without a fetch, applied through the API from the registry's last
        // blueprint layer.
        let tagged = create(
            &env,
            json!({"name": "oci-tagged", "path": format!("oci://{registry}/{repository}:v1")}),
        )
        .await;
        assert_eq!(tagged["status"], "unknown");
        assert_eq!(
            group_count(&env, "oci-group").await,
            0,
            "creating does not apply"
        );
        let applied = apply(&env, &tagged).await;
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(applied["last_applied_hash"], sha512_hex(text.as_bytes()));
        assert_eq!(applied["metadata"]["name"], "oci-group blueprint");
        assert_eq!(group_count(&env, "oci-group").await, 1);
        assert_eq!(
            group_count(&env, "oci-not-this-one").await,
            0,
            "the last blueprint layer is the blueprint"
        );

        // Pinned by digest: the same artifact.
        let pinned = create(
            &env,
            json!({"name": "oci-pinned", "path": format!("oci://{registry}/{repository}@{digest}")}),
        )
        .await;
        let applied = apply(&env, &pinned).await;
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(applied["last_applied_hash"], sha512_hex(text.as_bytes()));

        // A digest the registry does not hold: the run fails naming it, and the failure is
        // stored as the instance's last result.
        let wrong = format!("sha256:{}", "0".repeat(64));
        let unknown = create(
            &env,
            json!({"name": "oci-wrong-digest", "path": format!("oci://{registry}/{repository}@{wrong}")}),
        )
        .await;
        let applied = apply(&env, &unknown).await;
        let message = failure(&applied);
        assert!(message.contains(&wrong), "{message}");
        let (status, stored) = env
            .admin(
                "GET",
                &format!("/managed/blueprints/{}/", unknown["pk"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(stored["last_result"], applied["last_result"]);
        assert_eq!(stored["status"], "error");

        // A tag that does not exist: named.
        let missing = create(
            &env,
            json!({"name": "oci-missing-tag", "path": format!("oci://{registry}/{repository}:no-such-tag")}),
        )
        .await;
        let message = failure(&apply(&env, &missing).await);
        assert!(message.contains("no manifest no-such-tag"), "{message}");

        // The same registry under a name nobody listed (an internal address): refused before
        // any request, although it would answer.
        let port = registry.rsplit_once(':').map_or("5000", |(_, port)| port);
        let unlisted = create(
            &env,
            json!({"name": "oci-unlisted", "path": format!("oci://localhost:{port}/{repository}:v1")}),
        )
        .await;
        let message = failure(&apply(&env, &unlisted).await);
        assert!(message.contains("an internal address"), "{message}");
        assert!(message.contains("GARRISON_OCI_REGISTRIES"), "{message}");
    }
);

both_stores!(
    oci_credentials_stay_in_the_path,
    with_plain_http_registry,
    |env: common::Env| async move {
        let Some(registry) = common::oci_registry() else {
            return;
        };
        // A repository of its own: the two stores' runs push at the same time, and the
        // registry answered a digest fetched while the other run pushed it with a 500.
        let repository = &common::fresh_repository("garrison/blueprints/credentials");
        let text = group_blueprint("oci-credentials");
        tokio::task::spawn_blocking({
            let (registry, text, repository) = (registry.clone(), text.clone(), repository.clone());
            move || {
                common::push_artifact(
                    &registry,
                    &repository,
                    "v1",
                    &[(BLUEPRINT_LAYER, text.as_bytes())],
                )
            }
        })
        .await
        .expect("pushed");

        // The test registry asks for no credentials, so none are sent; they are kept in
        // `path`, authentik's field, and nowhere else.
        let path = format!("oci://robot:s3cret-pw@{registry}/{repository}:v1");
        let instance = create(&env, json!({"name": "oci-credentials", "path": path})).await;
        assert_eq!(instance["path"], path);
        let applied = apply(&env, &instance).await;
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(group_count(&env, "oci-credentials").await, 1);
        // A failing run's message and event name the registry, not the credentials.
        let missing = create(
            &env,
            json!({"name": "oci-credentials-missing", "path": format!("oci://robot:s3cret-pw@{registry}/{repository}:v2")}),
        )
        .await;
        let message = failure(&apply(&env, &missing).await);
        assert!(message.contains(&registry), "{message}");
        assert!(!message.contains("s3cret"), "{message}");

        let (status, events) = env
            .admin("GET", "/events/events/?page_size=1000", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        let events = events.to_string();
        assert!(
            events.contains("oci://***@"),
            "events show the path without credentials"
        );
        assert!(!events.contains("s3cret"), "{events}");

        // A path that cannot be read is refused when written, naming `path`, not the password.
        let (status, answer) = env
            .admin(
                "PATCH",
                &format!("/managed/blueprints/{}/", instance["pk"].as_str().unwrap()),
                Some(json!({"path": format!("oci://robot:s3cret-pw@{registry}/{repository}:bad tag")})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            field_errors(&answer, "path")
                .iter()
                .any(|m| m.contains("a tag is")),
            "{answer}"
        );
        assert!(!answer.to_string().contains("s3cret"), "{answer}");
    }
);
