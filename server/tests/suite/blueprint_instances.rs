//! Blueprint instances through the API, on both stores: authentik's shapes, files confined to
//! the blueprints directory, content checked by a dry run, and `apply`, which runs the
//! blueprint as the caller (never as the system) and records how it went.
use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

const VIEW: &str = "authentik_blueprints.view_blueprintinstance";
const ADD: &str = "authentik_blueprints.add_blueprintinstance";

pub(crate) fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(Sha512::digest(bytes))
}

/// A blueprint creating one plain group named `name`.
pub(crate) fn group_blueprint(name: &str) -> String {
    format!(
        "version: 1\nmetadata:\n  name: {name} blueprint\n  labels:\n    team: \"blue\"\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: {name}\n"
    )
}

pub(crate) async fn group_count(env: &common::Env, name: &str) -> u64 {
    let (status, list) = env
        .admin("GET", &format!("/core/groups/?name={name}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["pagination"]["count"].as_u64().unwrap_or(0)
}

pub(crate) async fn create(env: &common::Env, body: Value) -> Value {
    let (status, instance) = env.admin("POST", "/managed/blueprints/", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{instance}");
    instance
}

pub(crate) fn field_errors<'a>(answer: &'a Value, field: &str) -> Vec<&'a str> {
    answer[field]
        .as_array()
        .map(|messages| messages.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub(crate) fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a directory for a test file");
    }
    std::fs::write(path, text).expect("a test file");
}

both_stores!(
    instances_have_authentiks_shape_through_the_api,
    |env: common::Env| async move {
        let content = group_blueprint("bp-shape");
        let created = create(
            &env,
            json!({"name": "bp-one", "content": content, "context": {"k": "v"}}),
        )
        .await;
        let keys: BTreeSet<&str> = created
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "pk",
                "name",
                "path",
                "context",
                "last_applied",
                "last_applied_hash",
                "status",
                "enabled",
                "managed_models",
                "metadata",
                "content",
                "last_result",
            ]),
            "authentik's BlueprintInstance, plus Garrison's last_result"
        );
        assert_eq!(created["name"], "bp-one");
        assert_eq!(created["path"], "");
        assert_eq!(created["content"], content);
        assert_eq!(created["context"], json!({"k": "v"}));
        assert_eq!(created["status"], "unknown");
        assert_eq!(created["enabled"], true);
        assert_eq!(created["last_applied_hash"], "");
        assert_eq!(created["managed_models"], json!([]));
        assert_eq!(created["metadata"], json!({}));
        assert_eq!(created["last_result"], Value::Null);
        assert!(created["last_applied"].as_str().is_some());
        assert_eq!(
            group_count(&env, "bp-shape").await,
            0,
            "creating an instance does not apply it"
        );
        let pk = created["pk"].as_str().expect("a UUID pk").to_owned();
        let item = format!("/managed/blueprints/{pk}/");

        let (status, fetched) = env.admin("GET", &item, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fetched, created);
        let (status, listed) = env
            .admin("GET", "/managed/blueprints/?name=bp-one", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(listed["pagination"]["count"], 1);
        assert_eq!(listed["results"][0], created);
        assert!(listed["autocomplete"].is_object());
        let (_, searched) = env
            .admin("GET", "/managed/blueprints/?search=ONE", None)
            .await;
        assert_eq!(searched["pagination"]["count"], 1);
        let (_, none) = env
            .admin("GET", "/managed/blueprints/?path=nowhere.yaml", None)
            .await;
        assert_eq!(none["pagination"]["count"], 0);
        let (status, refused) = env
            .admin("GET", "/managed/blueprints/?ordering=password", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!field_errors(&refused, "ordering").is_empty(), "{refused}");

        // PATCH changes what it names; the rest stays.
        let (status, patched) = env
            .admin("PATCH", &item, Some(json!({"enabled": false})))
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["enabled"], false);
        assert_eq!(patched["content"], content);
        // PUT requires the name; fields it leaves out keep their values (as DRF's update).
        let (status, refused) = env
            .admin("PUT", &item, Some(json!({"enabled": true})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!field_errors(&refused, "name").is_empty(), "{refused}");
        let (status, replaced) = env
            .admin(
                "PUT",
                &item,
                Some(json!({"name": "bp-renamed", "enabled": true, "content": content})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{replaced}");
        assert_eq!(replaced["name"], "bp-renamed");
        assert_eq!(replaced["enabled"], true);
        assert_eq!(replaced["context"], json!({"k": "v"}));

        // A second instance may not take the name; unknown fields are refused by name.
        let (status, refused) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "bp-renamed", "content": content})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!field_errors(&refused, "name").is_empty(), "{refused}");
        let (status, refused) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "bp-two", "content": content, "status": "successful"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

        let (status, used_by) = env.admin("GET", &format!("{item}used_by/"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(used_by, json!([]));
        let (status, _) = env
            .admin("GET", "/managed/blueprints/not-a-uuid/", None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _) = env.admin("DELETE", &item, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = env.admin("GET", &item, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (_, doc) = env.api("GET", "/schema/", None, None).await;
        assert_eq!(
            doc["paths"]["/managed/blueprints/{instance_uuid}/apply/"]["post"]["operationId"],
            "managed_blueprints_apply_create"
        );
        assert_eq!(
            doc["paths"]["/managed/blueprints/available/"]["get"]["operationId"],
            "managed_blueprints_available_list"
        );
    }
);

both_stores!(
    paths_stay_inside_the_blueprints_directory,
    |env: common::Env| async move {
        let root = env.blueprints_dir();
        let outer = root.parent().expect("the test directory").to_path_buf();
        write(&root.join("good.yaml"), &group_blueprint("bp-file"));
        write(&outer.join("outside.yaml"), &group_blueprint("bp-outside"));
        // A sibling whose name starts with the directory's: a string-prefix check lets it in.
        let sibling = outer.join(format!(
            "{}-evil",
            root.file_name().unwrap().to_string_lossy()
        ));
        write(&sibling.join("x.yaml"), &group_blueprint("bp-evil"));

        let created = create(&env, json!({"name": "bp-good", "path": "good.yaml"})).await;
        assert_eq!(created["path"], "good.yaml");

        let mut refused_paths = vec![
            "../outside.yaml".to_owned(),
            outer.join("outside.yaml").display().to_string(),
            sibling.join("x.yaml").display().to_string(),
            "sub/../../outside.yaml".to_owned(),
        ];
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outer.join("outside.yaml"), root.join("link.yaml"))
                .expect("a link out of the directory");
            std::os::unix::fs::symlink(&outer, root.join("linked"))
                .expect("a linked directory out of the directory");
            std::os::unix::fs::symlink(sibling.join("x.yaml"), root.join("evil.yaml"))
                .expect("a link into the sibling");
            refused_paths.extend([
                "link.yaml".to_owned(),
                "linked/outside.yaml".to_owned(),
                "evil.yaml".to_owned(),
            ]);
        }
        for path in &refused_paths {
            let (status, answer) = env
                .admin(
                    "POST",
                    "/managed/blueprints/",
                    Some(json!({"name": format!("bp {path}"), "path": path})),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
            assert!(
                !field_errors(&answer, "path").is_empty(),
                "{path} is refused naming `path`: {answer}"
            );
        }
        for (path, why) in [
            ("missing.yaml", "does not exist"),
            ("good.yml", "only *.yaml files are blueprints"),
        ] {
            let (status, answer) = env
                .admin(
                    "POST",
                    "/managed/blueprints/",
                    Some(json!({"name": format!("bp {path}"), "path": path})),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} ({why}): {answer}");
            assert!(
                field_errors(&answer, "path")
                    .iter()
                    .any(|m| m.starts_with("Blueprint file does not exist")),
                "{path} ({why}): {answer}"
            );
        }
        // A stored path leading outside is refused again when it runs (a link may change after
        // the path was accepted): the link now points out of the directory.
        #[cfg(unix)]
        {
            write(&root.join("moving.yaml"), &group_blueprint("bp-moving"));
            let moving = create(&env, json!({"name": "bp-moving", "path": "moving.yaml"})).await;
            std::fs::remove_file(root.join("moving.yaml")).unwrap();
            std::os::unix::fs::symlink(outer.join("outside.yaml"), root.join("moving.yaml"))
                .unwrap();
            let (status, applied) = env
                .admin(
                    "POST",
                    &format!(
                        "/managed/blueprints/{}/apply/",
                        moving["pk"].as_str().unwrap()
                    ),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{applied}");
            assert_eq!(applied["status"], "error");
            assert_eq!(group_count(&env, "bp-outside").await, 0);
        }

        let (status, answer) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "bp-empty"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer["non_field_errors"],
            json!(["Either path or content must be set."]),
            "{answer}"
        );
        for side in ["bp-evil", "bp-outside"] {
            assert_eq!(group_count(&env, side).await, 0, "{side}");
        }

        // An `oci://` path is parsed when it is written (never fetched then: see
        // blueprint_oci.rs); what is wrong is named without the credentials it carries.
        let (status, answer) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "bp-oci", "path": "oci://robot:s3cret@registry.example/Team/bp"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            field_errors(&answer, "path")
                .iter()
                .any(|m| m.contains("repository must be lowercase")),
            "{answer}"
        );
        assert!(!answer.to_string().contains("s3cret"), "{answer}");
    }
);

both_stores!(
    invalid_content_is_refused_naming_the_failing_entry,
    |env: common::Env| async move {
        let content = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: bp-first\n  - model: authentik_flows.flow\n    identifiers:\n      slug: default\n";
        let (status, answer) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "bp-invalid", "content": content})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let messages = field_errors(&answer, "content");
        assert_eq!(
            messages.first(),
            Some(&"Failed to validate blueprint"),
            "{answer}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("entry 2") && m.contains("authentik_flows.flow")),
            "{answer}"
        );
        assert_eq!(
            group_count(&env, "bp-first").await,
            0,
            "a dry run writes nothing"
        );

        let (status, answer) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "bp-broken", "content": "version: 1\nentries: [\n"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(!field_errors(&answer, "content").is_empty(), "{answer}");

        // A change of content is checked too.
        let valid = create(
            &env,
            json!({"name": "bp-valid", "content": group_blueprint("bp-valid-group")}),
        )
        .await;
        let (status, answer) = env
            .admin(
                "PATCH",
                &format!("/managed/blueprints/{}/", valid["pk"].as_str().unwrap()),
                Some(json!({"content": content})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(!field_errors(&answer, "content").is_empty(), "{answer}");
    }
);

both_stores!(
    applying_database_content_creates_its_objects_and_records_the_hash,
    |env: common::Env| async move {
        let content = group_blueprint("bp-applied");
        let created = create(&env, json!({"name": "bp-apply", "content": content})).await;
        let pk = created["pk"].as_str().unwrap().to_owned();
        let (status, applied) = env
            .admin("POST", &format!("/managed/blueprints/{pk}/apply/"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(applied["last_applied_hash"], sha512_hex(content.as_bytes()));
        assert_eq!(
            applied["metadata"],
            json!({"name": "bp-applied blueprint", "labels": {"team": "blue"}})
        );
        assert_eq!(applied["last_result"]["success"], true, "{applied}");
        let before =
            chrono::DateTime::parse_from_rfc3339(created["last_applied"].as_str().unwrap())
                .unwrap();
        let after = chrono::DateTime::parse_from_rfc3339(applied["last_applied"].as_str().unwrap())
            .unwrap();
        assert!(after >= before);
        assert_eq!(group_count(&env, "bp-applied").await, 1);
        let (_, fetched) = env
            .admin("GET", &format!("/managed/blueprints/{pk}/"), None)
            .await;
        assert_eq!(fetched, applied, "the answer is the instance as recorded");

        // A disabled instance is refused, naming why.
        env.admin(
            "PATCH",
            &format!("/managed/blueprints/{pk}/"),
            Some(json!({"enabled": false})),
        )
        .await;
        let (status, answer) = env
            .admin("POST", &format!("/managed/blueprints/{pk}/apply/"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!field_errors(&answer, "enabled").is_empty(), "{answer}");
    }
);

both_stores!(
    a_failing_blueprint_records_an_error_and_writes_nothing,
    |env: common::Env| async move {
        let content = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: bp-fail-a\n  - model: authentik_core.group\n    state: must_created\n    identifiers:\n      name: bp-fail-b\n";
        let created = create(&env, json!({"name": "bp-failing", "content": content})).await;
        let apply = format!(
            "/managed/blueprints/{}/apply/",
            created["pk"].as_str().unwrap()
        );
        let (_, first) = env.admin("POST", &apply, None).await;
        assert_eq!(first["status"], "successful", "{first}");
        let hash = first["last_applied_hash"].clone();
        assert_eq!(hash, json!(sha512_hex(content.as_bytes())));

        // bp-fail-b exists now, so the second entry fails; the first must not be re-created.
        let (_, list) = env.admin("GET", "/core/groups/?name=bp-fail-a", None).await;
        let group = list["results"][0]["pk"].as_str().unwrap().to_owned();
        let (status, _) = env
            .admin("DELETE", &format!("/core/groups/{group}/"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);

        let (status, second) = env.admin("POST", &apply, None).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["status"], "error", "{second}");
        assert_eq!(
            second["last_applied_hash"], hash,
            "a failed run keeps the hash"
        );
        let result = &second["last_result"];
        assert_eq!(result["success"], false, "{second}");
        assert_eq!(result["entry"]["index"], 1, "{second}");
        assert_eq!(result["entry"]["model"], "authentik_core.group");
        assert_eq!(result["entry"]["identifiers"], json!({"name": "bp-fail-b"}));
        assert!(
            result["message"]
                .as_str()
                .is_some_and(|m| m.contains("must_created")),
            "{second}"
        );
        assert_eq!(
            group_count(&env, "bp-fail-a").await,
            0,
            "nothing was written"
        );
        // The failure is also an event of its own, naming the failing entry.
        let (status, events) = env
            .admin("GET", "/events/events/?action=configuration_error", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        let message = events["results"][0]["context"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains("failed") && message.contains("must_created"),
            "{events}"
        );
    }
);

both_stores!(
    an_instance_applies_as_its_caller,
    |env: common::Env| async move {
        let content = group_blueprint("bp-not-hers");
        let created = create(&env, json!({"name": "bp-admins", "content": content})).await;
        let pk = created["pk"].as_str().unwrap().to_owned();
        let (_, key) =
            crate::security::user_holding(&env, "mallory", &[(VIEW, ""), (ADD, "")]).await;

        // She may see and apply the instance, but its entry is hers: she may not add groups.
        let (status, applied) = env
            .api(
                "POST",
                &format!("/managed/blueprints/{pk}/apply/"),
                Some(key.as_str()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        assert_eq!(applied["status"], "error", "{applied}");
        assert!(
            applied["last_result"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("authentik_core.add_group")),
            "{applied}"
        );
        assert_eq!(applied["last_applied_hash"], "");
        assert_eq!(group_count(&env, "bp-not-hers").await, 0);

        // Nor may she store the same content: the dry run is hers too.
        let (status, answer) = env
            .api(
                "POST",
                "/managed/blueprints/",
                Some(key.as_str()),
                Some(json!({"name": "bp-hers", "content": content})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(!field_errors(&answer, "content").is_empty(), "{answer}");

        // Someone who may not view it cannot apply it at all.
        let (_, blind) = crate::security::user_holding(&env, "blind", &[(ADD, "")]).await;
        assert_not_for(&env, &blind, &format!("/managed/blueprints/{pk}/apply/")).await;

        // The administrator's run of the same instance is the administrator's.
        let (_, applied) = env
            .admin("POST", &format!("/managed/blueprints/{pk}/apply/"), None)
            .await;
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(group_count(&env, "bp-not-hers").await, 1);
    }
);

both_stores!(
    available_lists_blueprint_files_with_hash_and_metadata,
    |env: common::Env| async move {
        let root = env.blueprints_dir();
        let one = "version: 1\nmetadata:\n  name: First file\n  labels:\n    blueprints.goauthentik.io/instantiate: \"false\"\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: bp-from-file\n";
        let two = "version: 1\nentries: []\n";
        write(&root.join("one.yaml"), one);
        write(&root.join("sub/two.yaml"), two);
        write(&root.join("skipped.yml"), two);
        write(&root.join(".hidden/three.yaml"), two);
        write(&root.join(".dot.yaml"), two);
        write(&root.join("broken.yaml"), "version: 1\nentries: [\n");

        let (status, files) = env
            .admin("GET", "/managed/blueprints/available/", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{files}");
        let files = files.as_array().expect("a plain list").clone();
        let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
        assert_eq!(paths, ["one.yaml", "sub/two.yaml"]);
        assert_eq!(files[0]["hash"], sha512_hex(one.as_bytes()));
        assert_eq!(
            files[0]["meta"],
            json!({"name": "First file", "labels": {"blueprints.goauthentik.io/instantiate": "false"}})
        );
        assert_eq!(files[0]["version"], 1);
        assert!(
            files[0]["last_m"].as_i64().is_some_and(|t| t > 0),
            "{}",
            files[0]
        );
        assert_eq!(files[1]["meta"], Value::Null);

        // A file instance applies the file, and its hash is the file's.
        let instance = create(&env, json!({"name": "bp-one-file", "path": "one.yaml"})).await;
        let (_, applied) = env
            .admin(
                "POST",
                &format!(
                    "/managed/blueprints/{}/apply/",
                    instance["pk"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(applied["last_applied_hash"], files[0]["hash"]);
        assert_eq!(group_count(&env, "bp-from-file").await, 1);

        // Listing the directory takes the global view permission.
        let (_, key) = crate::security::user_holding(&env, "adder", &[(ADD, "")]).await;
        let (status, _) = env
            .api(
                "GET",
                "/managed/blueprints/available/",
                Some(key.as_str()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);

/// A proxy provider and the outpost serving it, as a blueprint.
pub(crate) fn served_provider_blueprint(external_host: &str) -> String {
    format!(
        "version: 1\nentries:\n  - model: authentik_providers_proxy.proxyprovider\n    id: web\n    \
         identifiers:\n      name: bp-plan-web\n    attrs:\n      external_host: {external_host}\n      \
         internal_host: http://web.internal:8080\n  - model: authentik_outposts.outpost\n    \
         identifiers:\n      name: bp-plan-edge\n    attrs:\n      type: proxy\n      \
         providers: [!KeyOf web]\n      config: {{authentik_host: https://id.example.com}}\n"
    )
}

/// Imports [`served_provider_blueprint`] as the administrator, which must succeed.
pub(crate) async fn import_served_provider(env: &common::Env, external_host: &str) {
    let content = served_provider_blueprint(external_host);
    let (status, imported) = env
        .admin(
            "POST",
            "/managed/blueprints/import/",
            Some(json!({"content": content})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported["success"], true, "{imported}");
}

/// A POST to `path` with `key` is refused, or finds nothing: the key may not view it.
async fn assert_not_for(env: &common::Env, key: &str, path: &str) {
    let (status, _) = env.api("POST", path, Some(key), None).await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{path}: {status}"
    );
}

async fn plan_web_host(env: &common::Env) -> Value {
    let (_, listed) = env
        .admin("GET", "/providers/proxy/?name=bp-plan-web", None)
        .await;
    listed["results"][0]["external_host"].clone()
}

async fn event_count(env: &common::Env) -> Value {
    let (_, listed) = env.admin("GET", "/events/events/", None).await;
    listed["pagination"]["count"].clone()
}

both_stores!(
    plans_show_each_change_and_the_outposts_it_reaches_and_write_nothing,
    |env: common::Env| async move {
        import_served_provider(&env, "https://a.example.com").await;
        let moved = served_provider_blueprint("https://b.example.com");
        let events_before = event_count(&env).await;

        // Without an instance: the field old → new, the outpost the change reaches, nothing
        // written.
        let (status, plan) = env
            .admin(
                "POST",
                "/managed/blueprints/plan/",
                Some(json!({"content": moved})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!(plan["success"], true, "{plan}");
        assert_eq!(plan["changed"], true, "{plan}");
        assert_eq!(plan["stage"], Value::Null);
        assert_eq!(plan["entries"][0]["action"], "updated", "{plan}");
        assert_eq!(
            plan["entries"][0]["fields"],
            json!([{"field": "external_host", "old": "https://a.example.com", "new": "https://b.example.com"}])
        );
        assert_eq!(plan["entries"][1]["action"], "unchanged", "{plan}");
        assert_eq!(plan["outposts"][0]["name"], "bp-plan-edge", "{plan}");
        assert_eq!(plan["outposts_not_shown"], 0);
        assert_eq!(plan_web_host(&env).await, "https://a.example.com");
        assert_eq!(
            event_count(&env).await,
            events_before,
            "a plan records nothing"
        );

        // An instance's plan reads its text and context as an apply would, and records nothing.
        let created = create(&env, json!({"name": "bp-plan", "content": moved})).await;
        let pk = created["pk"].as_str().unwrap().to_owned();
        let (status, plan) = env
            .admin("POST", &format!("/managed/blueprints/{pk}/plan/"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!(
            plan["entries"][0]["fields"][0]["new"],
            "https://b.example.com"
        );
        assert_eq!(plan["outposts"][0]["name"], "bp-plan-edge", "{plan}");
        let (_, instance) = env
            .admin("GET", &format!("/managed/blueprints/{pk}/"), None)
            .await;
        assert_eq!(instance["status"], "unknown", "{instance}");
        assert_eq!(instance["last_result"], Value::Null);
        assert_eq!(plan_web_host(&env).await, "https://a.example.com");

        // Text that does not parse stops at its stage, with its line.
        let (status, plan) = env
            .admin(
                "POST",
                "/managed/blueprints/plan/",
                Some(json!({"content": "version: 1\nentries: [\n"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!(
            (&plan["success"], &plan["stage"]),
            (&json!(false), &json!("parse"))
        );
        assert!(plan["line"].as_u64().is_some(), "{plan}");

        // Someone who may change the provider but not view the outpost learns that an outpost
        // is reached, not which.
        let (_, key) = crate::security::user_holding(
            &env,
            "planner",
            &[
                (ADD, ""),
                ("authentik_providers_proxy.view_proxyprovider", ""),
                ("authentik_providers_proxy.change_proxyprovider", ""),
                ("authentik_outposts.change_outpost", ""),
            ],
        )
        .await;
        let provider_only = moved
            .split("  - model: authentik_outposts.outpost")
            .next()
            .unwrap()
            .to_owned();
        let (status, plan) = env
            .api(
                "POST",
                "/managed/blueprints/plan/",
                Some(key.as_str()),
                Some(json!({"content": provider_only})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!(plan["success"], true, "{plan}");
        assert_eq!(plan["outposts"], json!([]), "{plan}");
        assert_eq!(plan["outposts_not_shown"], 1, "{plan}");
        // Someone who may only view blueprint instances may plan an instance, not text of
        // their own (which could read the blueprints directory's files through `!File`).
        let (_, viewer) = crate::security::user_holding(&env, "plan-viewer", &[(VIEW, "")]).await;
        let (status, _) = env
            .api(
                "POST",
                "/managed/blueprints/plan/",
                Some(viewer.as_str()),
                Some(json!({"content": moved})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, plan) = env
            .api(
                "POST",
                &format!("/managed/blueprints/{pk}/plan/"),
                Some(viewer.as_str()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        // And someone who may not view blueprint instances may not plan at all.
        let (_, blind) = crate::security::user_holding(&env, "blind-planner", &[]).await;
        assert_not_for(&env, &blind, &format!("/managed/blueprints/{pk}/plan/")).await;
        let (status, _) = env
            .api(
                "POST",
                "/managed/blueprints/plan/",
                Some(blind.as_str()),
                Some(json!({"content": moved})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);
