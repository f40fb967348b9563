//! The blueprint instance lifecycle on both stores: discovery of the blueprints directory
//! (instances for new files, runs of changed ones, as the system), cleanup of instances whose
//! file is gone, the polling watcher, and the lease that keeps this work on one replica.
use crate::common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use garrison_services::{BlueprintWatcher, DiscoveryReport};
use serde_json::{Value, json};

use crate::blueprint_instances::{create, group_blueprint, group_count, sha512_hex, write};

/// `group_blueprint(name)` with a second group, `<name>-more`: other bytes, a new object.
fn grown_blueprint(name: &str) -> String {
    format!(
        "{}  - model: authentik_core.group\n    identifiers:\n      name: {name}-more\n",
        group_blueprint(name)
    )
}

/// The instances naming `path`, as the API shows them.
async fn instances_at(env: &common::Env, path: &str) -> Vec<Value> {
    let (status, list) = env
        .admin("GET", &format!("/managed/blueprints/?path={path}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["results"].as_array().cloned().unwrap_or_default()
}

/// The one instance naming `path`.
async fn instance_at(env: &common::Env, path: &str) -> Value {
    let mut found = instances_at(env, path).await;
    assert_eq!(found.len(), 1, "one instance of {path}: {found:?}");
    found.remove(0)
}

/// How many events of `action` the system recorded about the object `pk`. Every run of an
/// instance records one update of it, so `model_updated` counts its runs.
async fn system_events(env: &common::Env, action: &str, pk: &str) -> usize {
    let (status, events) = env
        .admin(
            "GET",
            &format!("/events/events/?action={action}&username=system&page_size=1000"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    events["results"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|event| event["context"]["model"]["pk"] == pk)
                .count()
        })
        .unwrap_or(0)
}

/// A JSON API call with `key`, as its holder.
async fn sends(
    env: &common::Env,
    key: &str,
    method: &str,
    path: String,
    body: Value,
) -> (StatusCode, Value) {
    env.api(method, &path, Some(key), Some(body)).await
}

fn pk_of(instance: &Value) -> String {
    instance["pk"].as_str().expect("a UUID pk").to_owned()
}

async fn discover(env: &common::Env) -> DiscoveryReport {
    env.services
        .discover_blueprints()
        .await
        .expect("discovery never fails on file content")
}

/// Moves the file's modification time `seconds` ahead without changing its bytes (each call a
/// different offset, so file systems with coarse timestamps see a change too).
fn touch(path: &Path, seconds: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("the file to touch")
        .set_modified(SystemTime::now() + Duration::from_secs(seconds))
        .expect("a new modification time");
}

both_stores!(
    discovery_creates_and_applies_an_instance_per_new_file,
    |env: common::Env| async move {
        let root = env.blueprints_dir();
        let text = group_blueprint("lc-first");
        write(&root.join("first.yaml"), &text);

        let report = discover(&env).await;
        assert_eq!(report.created, ["lc-first blueprint"], "{report:?}");
        assert_eq!(report.applied, ["lc-first blueprint"], "{report:?}");
        assert!(
            report.failed.is_empty() && report.skipped.is_empty(),
            "{report:?}"
        );
        let instance = instance_at(&env, "first.yaml").await;
        assert_eq!(instance["name"], "lc-first blueprint");
        assert_eq!(instance["status"], "successful", "{instance}");
        assert_eq!(instance["enabled"], true);
        assert_eq!(instance["context"], json!({}));
        assert_eq!(instance["content"], "");
        assert_eq!(instance["last_applied_hash"], sha512_hex(text.as_bytes()));
        assert_eq!(group_count(&env, "lc-first").await, 1);
        let pk = pk_of(&instance);
        assert_eq!(system_events(&env, "model_created", &pk).await, 1);
        assert_eq!(system_events(&env, "model_updated", &pk).await, 1);

        // Nothing changed: nothing is applied again.
        let report = discover(&env).await;
        assert!(report.is_empty(), "{report:?}");
        let again = instance_at(&env, "first.yaml").await;
        assert_eq!(again["last_applied"], instance["last_applied"]);
        assert_eq!(system_events(&env, "model_updated", &pk).await, 1);

        // Other bytes: applied again, the name kept (authentik never renames).
        let grown = grown_blueprint("lc-first");
        write(&root.join("first.yaml"), &grown);
        let report = discover(&env).await;
        assert!(report.created.is_empty(), "{report:?}");
        assert_eq!(report.applied, ["lc-first blueprint"], "{report:?}");
        let instance = instance_at(&env, "first.yaml").await;
        assert_eq!(instance["last_applied_hash"], sha512_hex(grown.as_bytes()));
        assert_eq!(group_count(&env, "lc-first-more").await, 1);
        assert_eq!(system_events(&env, "model_updated", &pk).await, 2);

        // CRLF line ends: discovery and the run hash the same bytes, so the file is applied
        // once (authentik's run hashes newline-translated text and re-applies it every time).
        let crlf = group_blueprint("lc-crlf").replace('\n', "\r\n");
        write(&root.join("crlf.yaml"), &crlf);
        let report = discover(&env).await;
        assert_eq!(report.applied, ["lc-crlf blueprint"], "{report:?}");
        assert_eq!(
            instance_at(&env, "crlf.yaml").await["last_applied_hash"],
            sha512_hex(crlf.as_bytes())
        );
        let report = discover(&env).await;
        assert!(report.is_empty(), "{report:?}");

        // `instantiate: "false"` (in any case) gets no instance, and nothing is applied.
        write(
            &root.join("example.yaml"),
            "version: 1\nmetadata:\n  name: lc example\n  labels:\n    blueprints.goauthentik.io/instantiate: \"False\"\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: lc-example\n",
        );
        let report = discover(&env).await;
        assert!(report.is_empty(), "{report:?}");
        assert!(instances_at(&env, "example.yaml").await.is_empty());
        assert_eq!(group_count(&env, "lc-example").await, 0);

        // A disabled instance is left alone, changed file or not.
        let (status, _) = env
            .admin(
                "PATCH",
                &format!("/managed/blueprints/{pk}/"),
                Some(json!({"enabled": false})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        write(&root.join("first.yaml"), &group_blueprint("lc-first"));
        let report = discover(&env).await;
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(system_events(&env, "model_updated", &pk).await, 2);
    }
);

both_stores!(
    discovery_skips_broken_files_and_keeps_clashing_names_apart,
    |env: common::Env| async move {
        let root = env.blueprints_dir();
        // An instance made through the API already holds a name a file's metadata gives.
        let taken = create(
            &env,
            json!({"name": "lc-taken blueprint", "content": group_blueprint("lc-api")}),
        )
        .await;
        write(&root.join("a-broken.yaml"), "version: 1\nentries: [\n");
        write(&root.join("b-good.yaml"), &group_blueprint("lc-good"));
        write(&root.join("c-taken.yaml"), &group_blueprint("lc-taken"));
        write(&root.join("d-twin-1.yaml"), &group_blueprint("lc-twin"));
        write(&root.join("d-twin-2.yaml"), &group_blueprint("lc-twin"));
        write(
            &root.join("e-nameless.yaml"),
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: lc-nameless\n",
        );
        // Fails when it runs: b-good created the group before it.
        write(
            &root.join("f-fails.yaml"),
            "version: 1\nmetadata:\n  name: lc-fails\nentries:\n  - model: authentik_core.group\n    state: must_created\n    identifiers:\n      name: lc-good\n",
        );

        let report = discover(&env).await;
        assert_eq!(report.skipped.len(), 1, "{report:?}");
        assert_eq!(report.skipped[0].path, "a-broken.yaml");
        assert!(!report.skipped[0].reason.is_empty());
        let expected = [
            "lc-good blueprint",
            "lc-taken blueprint (c-taken.yaml)",
            "lc-twin blueprint",
            "lc-twin blueprint (d-twin-2.yaml)",
            "e-nameless.yaml",
        ];
        let mut created = expected.to_vec();
        created.push("lc-fails");
        assert_eq!(report.created, created, "{report:?}");
        assert_eq!(report.applied, expected, "{report:?}");
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert_eq!(report.failed[0].name, "lc-fails");
        assert!(
            report.failed[0].message.contains("must_created"),
            "{report:?}"
        );
        for group in ["lc-good", "lc-taken", "lc-twin", "lc-nameless"] {
            assert_eq!(group_count(&env, group).await, 1, "{group}");
        }
        assert!(instances_at(&env, "a-broken.yaml").await.is_empty());
        assert_eq!(
            instance_at(&env, "c-taken.yaml").await["name"],
            "lc-taken blueprint (c-taken.yaml)"
        );
        let failing = instance_at(&env, "f-fails.yaml").await;
        assert_eq!(failing["status"], "error", "{failing}");
        assert_eq!(failing["last_applied_hash"], "");

        // The instance made through the API is neither renamed nor applied.
        let (_, kept) = env
            .admin(
                "GET",
                &format!("/managed/blueprints/{}/", pk_of(&taken)),
                None,
            )
            .await;
        assert_eq!(kept["name"], "lc-taken blueprint");
        assert_eq!(kept["status"], "unknown");
        assert_eq!(group_count(&env, "lc-api").await, 0);

        // The next run retries what failed (its hash was kept), and only that.
        let report = discover(&env).await;
        assert!(
            report.created.is_empty() && report.applied.is_empty(),
            "{report:?}"
        );
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert_eq!(report.skipped.len(), 1, "{report:?}");
    }
);

both_stores!(
    cleanup_removes_instances_of_gone_files_and_keeps_their_objects,
    |env: common::Env| async move {
        let root = env.blueprints_dir();
        write(&root.join("gone.yaml"), &group_blueprint("lc-gone"));
        write(&root.join("kept.yaml"), &group_blueprint("lc-kept"));
        discover(&env).await;
        let gone = pk_of(&instance_at(&env, "gone.yaml").await);
        let kept = pk_of(&instance_at(&env, "kept.yaml").await);
        // Database content and OCI sources have no file to lose.
        let content = create(
            &env,
            json!({"name": "lc-content", "content": group_blueprint("lc-content")}),
        )
        .await;
        let oci = create(
            &env,
            json!({"name": "lc-oci", "path": "oci://ghcr.io/example/blueprint:latest"}),
        )
        .await;

        let removed = env
            .services
            .remove_orphaned_blueprint_instances()
            .await
            .expect("cleanup runs");
        assert!(removed.is_empty(), "{removed:?}");

        std::fs::remove_file(root.join("gone.yaml")).expect("remove the file");
        let removed = env
            .services
            .remove_orphaned_blueprint_instances()
            .await
            .expect("cleanup runs");
        assert_eq!(removed, ["lc-gone blueprint"]);
        assert!(instances_at(&env, "gone.yaml").await.is_empty());
        assert_eq!(
            group_count(&env, "lc-gone").await,
            1,
            "what the blueprint wrote stays"
        );
        assert_eq!(system_events(&env, "model_deleted", &gone).await, 1);
        for pk in [kept.clone(), pk_of(&content), pk_of(&oci)] {
            let (status, _) = env
                .admin("GET", &format!("/managed/blueprints/{pk}/"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{pk} stays");
        }

        // A file that now leads outside the directory is as good as gone.
        #[cfg(unix)]
        {
            let outside = root.parent().expect("the test directory").join("out.yaml");
            write(&outside, &group_blueprint("lc-out"));
            std::fs::remove_file(root.join("kept.yaml")).expect("remove the file");
            std::os::unix::fs::symlink(&outside, root.join("kept.yaml"))
                .expect("a link out of the directory");
            let removed = env
                .services
                .remove_orphaned_blueprint_instances()
                .await
                .expect("cleanup runs");
            assert_eq!(removed, ["lc-kept blueprint"]);
            assert_eq!(group_count(&env, "lc-out").await, 0);
        }

        // A missing directory (a volume not mounted yet) removes nothing.
        write(&root.join("mounted.yaml"), &group_blueprint("lc-mounted"));
        discover(&env).await;
        std::fs::remove_dir_all(&root).expect("remove the blueprints directory");
        let removed = env
            .services
            .remove_orphaned_blueprint_instances()
            .await
            .expect("cleanup runs");
        assert!(removed.is_empty(), "{removed:?}");
        assert_eq!(instances_at(&env, "mounted.yaml").await.len(), 1);
    }
);

both_stores!(
    the_watcher_applies_changed_files_and_discovers_new_ones,
    |env: common::Env| async move {
        let root = env.blueprints_dir();
        let watched = root.join("watched.yaml");
        write(&watched, &group_blueprint("lc-watched"));
        let mut watcher = BlueprintWatcher::new();

        // The first scan only records what is there.
        let first = watcher.scan(&env.services).await.expect("a scan");
        assert_eq!(first, Some(DiscoveryReport::default()));
        assert!(instances_at(&env, "watched.yaml").await.is_empty());
        discover(&env).await;
        let pk = pk_of(&instance_at(&env, "watched.yaml").await);
        assert_eq!(system_events(&env, "model_updated", &pk).await, 1);

        // Nothing changed: nothing done.
        let quiet = watcher.scan(&env.services).await.expect("a scan");
        assert_eq!(quiet, Some(DiscoveryReport::default()));

        // A changed file is applied; a new one is discovered (and applied).
        write(&watched, &grown_blueprint("lc-watched"));
        write(&root.join("new.yaml"), &group_blueprint("lc-new"));
        let report = watcher
            .scan(&env.services)
            .await
            .expect("a scan")
            .expect("this replica takes the lease");
        assert_eq!(report.created, ["lc-new blueprint"], "{report:?}");
        assert_eq!(
            report.applied,
            ["lc-new blueprint", "lc-watched blueprint"],
            "{report:?}"
        );
        assert_eq!(group_count(&env, "lc-watched-more").await, 1);
        assert_eq!(group_count(&env, "lc-new").await, 1);
        assert_eq!(system_events(&env, "model_updated", &pk).await, 2);

        // A modification applies without comparing hashes (authentik's watcher): the same
        // bytes with a new modification time run again.
        touch(&watched, 60);
        let report = watcher
            .scan(&env.services)
            .await
            .expect("a scan")
            .expect("this replica holds the lease");
        assert_eq!(report.applied, ["lc-watched blueprint"], "{report:?}");
        assert_eq!(system_events(&env, "model_updated", &pk).await, 3);

        // Another replica watching the same files sees the next change, but this replica
        // holds the lease: the other does nothing, this one applies it.
        let other = env.services.as_another_replica();
        let mut other_watcher = BlueprintWatcher::new();
        other_watcher.scan(&other).await.expect("a scan");
        touch(&watched, 120);
        let skipped = other_watcher.scan(&other).await.expect("a scan");
        assert_eq!(skipped, None, "the lease is held by the first replica");
        assert_eq!(system_events(&env, "model_updated", &pk).await, 3);
        let report = watcher
            .scan(&env.services)
            .await
            .expect("a scan")
            .expect("this replica holds the lease");
        assert_eq!(report.applied, ["lc-watched blueprint"], "{report:?}");
        assert_eq!(system_events(&env, "model_updated", &pk).await, 4);
    }
);

both_stores!(
    a_lease_has_one_holder_until_it_expires,
    |env: common::Env| async move {
        const LEASE: &str = "lc-test-lease";
        let other = env.services.as_another_replica();
        let first = env.services.replica_id().to_owned();
        let second = other.replica_id().to_owned();
        assert_ne!(first, second);
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::seconds(60);
        let at = |seconds: i64| now + chrono::Duration::seconds(seconds);

        assert!(
            env.services
                .try_acquire_lease(LEASE, &first, at(0), ttl)
                .await
                .unwrap()
        );
        assert!(
            !other
                .try_acquire_lease(LEASE, &second, at(1), ttl)
                .await
                .unwrap(),
            "held by the first replica"
        );
        // The holder renews it: now held until 90 s.
        assert!(
            env.services
                .try_acquire_lease(LEASE, &first, at(30), ttl)
                .await
                .unwrap()
        );
        assert!(
            !other
                .try_acquire_lease(LEASE, &second, at(61), ttl)
                .await
                .unwrap(),
            "renewed, so not expired at 61 s"
        );
        // Expired: the other takes it, and the first no longer holds it.
        assert!(
            other
                .try_acquire_lease(LEASE, &second, at(91), ttl)
                .await
                .unwrap()
        );
        assert!(
            !env.services
                .try_acquire_lease(LEASE, &first, at(92), ttl)
                .await
                .unwrap()
        );
        // Only the holder can give it up; then it is free at once.
        assert!(!env.services.release_lease(LEASE, &first).await.unwrap());
        assert!(other.release_lease(LEASE, &second).await.unwrap());
        assert!(
            env.services
                .try_acquire_lease(LEASE, &first, at(93), ttl)
                .await
                .unwrap()
        );

        // Two replicas asking at the same moment: exactly one gets it.
        let (mine, theirs) = tokio::join!(
            env.services.try_acquire_lease("lc-race", &first, now, ttl),
            other.try_acquire_lease("lc-race", &second, now, ttl),
        );
        assert!(
            mine.unwrap() ^ theirs.unwrap(),
            "one holder, not none or two"
        );
    }
);

both_stores!(
    two_replicas_run_the_schedule_once,
    |env: common::Env| async move {
        write(
            &env.blueprints_dir().join("shared.yaml"),
            &group_blueprint("lc-shared"),
        );
        let other = env.services.as_another_replica();
        let (mine, theirs) = tokio::join!(
            env.services.run_blueprint_schedule(),
            other.run_blueprint_schedule(),
        );
        let reports: Vec<DiscoveryReport> = [mine.unwrap(), theirs.unwrap()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(reports.len(), 1, "one replica did the work: {reports:?}");
        assert_eq!(reports[0].created, ["lc-shared blueprint"]);
        assert_eq!(reports[0].applied, ["lc-shared blueprint"]);
        let pk = pk_of(&instance_at(&env, "shared.yaml").await);
        assert_eq!(
            system_events(&env, "model_updated", &pk).await,
            1,
            "applied exactly once"
        );
        assert_eq!(group_count(&env, "lc-shared").await, 1);
    }
);

both_stores!(
    only_superusers_decide_what_the_system_applies,
    |env: common::Env| async move {
        const VIEW: &str = "authentik_blueprints.view_blueprintinstance";
        const ADD: &str = "authentik_blueprints.add_blueprintinstance";
        const CHANGE: &str = "authentik_blueprints.change_blueprintinstance";
        write(
            &env.blueprints_dir().join("operator.yaml"),
            &group_blueprint("lc-operator"),
        );
        discover(&env).await;
        let operator = pk_of(&instance_at(&env, "operator.yaml").await);
        let (_, key) =
            crate::security::user_holding(&env, "mallory", &[(VIEW, ""), (ADD, ""), (CHANGE, "")])
                .await;
        let as_mallory =
            |method: &'static str, path: String, body: Value| sends(&env, &key, method, path, body);

        // Discovery and the watcher would run her instance as the system, with her context
        // (hers would be the file's first instance by name).
        let (status, answer) = as_mallory(
            "POST",
            "/managed/blueprints/".into(),
            json!({"name": "aaa first", "path": "operator.yaml", "context": {"x": 1}}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        let item = format!("/managed/blueprints/{operator}/");
        let (status, answer) =
            as_mallory("PATCH", item.clone(), json!({"context": {"x": 1}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        // Disabling takes nothing from anyone; enabling again decides a run.
        let (status, answer) = as_mallory("PATCH", item.clone(), json!({"enabled": false})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, answer) = as_mallory("PATCH", item.clone(), json!({"enabled": true})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

        // Database content is hers to keep and run as herself, but not to point at the file.
        let (status, hers) = as_mallory(
            "POST",
            "/managed/blueprints/".into(),
            json!({"name": "hers", "content": "version: 1\nentries: []\n"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{hers}");
        let (status, answer) = as_mallory(
            "PATCH",
            format!("/managed/blueprints/{}/", pk_of(&hers)),
            json!({"path": "operator.yaml", "content": ""}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert_eq!(instances_at(&env, "operator.yaml").await.len(), 1);
    }
);

both_stores!(
    the_servers_own_runs_meta_apply_files_only,
    |env: common::Env| async move {
        // A database instance: anyone allowed to change it could rewrite its text. Were a file
        // the server applies as the system to meta-apply it, that text would run with every
        // right.
        let child = create(
            &env,
            json!({"name": "lc-db-child", "content": group_blueprint("lc-db-child")}),
        )
        .await;
        let root = env.blueprints_dir();
        write(
            &root.join("parent.yaml"),
            "version: 1\nmetadata:\n  name: lc-parent\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: lc-parent-group\n  - model: authentik_blueprints.metaapplyblueprint\n    attrs:\n      identifiers:\n        name: lc-db-child\n",
        );

        let report = discover(&env).await;
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert_eq!(report.failed[0].name, "lc-parent");
        assert!(
            report.failed[0].message.contains("lc-db-child")
                && report.failed[0].message.contains("in the database"),
            "{report:?}"
        );
        assert_eq!(group_count(&env, "lc-db-child").await, 0);
        assert_eq!(
            group_count(&env, "lc-parent-group").await,
            0,
            "the failed run wrote nothing"
        );

        // A person applying the same file runs the child as themselves: allowed.
        let parent = pk_of(&instance_at(&env, "parent.yaml").await);
        let (status, applied) = env
            .admin(
                "POST",
                &format!("/managed/blueprints/{parent}/apply/"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        assert_eq!(applied["status"], "successful", "{applied}");
        assert_eq!(group_count(&env, "lc-db-child").await, 1);
        assert_eq!(group_count(&env, "lc-parent-group").await, 1);
        assert_eq!(child["status"], "unknown");
    }
);
