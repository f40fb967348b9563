//! Exports that apply elsewhere: a Garrison's objects exported with references instead of
//! primary keys and placeholders instead of secrets, applied to a fresh Garrison, and planned
//! again on both (nothing to do); and an export holds only what its caller may view. On both
//! stores.
use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use garrison_blueprint::{Blueprint, Entry, Limits, Node, Tag, parse};
use garrison_model::{GroupChanges, RoleChanges};
use garrison_services::blueprints::{
    Action, Export, ExportSelection, ModelSelection, Outcome, PlaceholderSource, RunOptions,
};
use garrison_services::{Caller, ServiceError, Via};
use serde_json::{Value, json};

/// Flows are not Garrison objects: providers name them by UUID, and so does the export.
const FLOW: &str = "00000000-0000-4000-8000-000000000001";
const ALICE_PASSWORD: &str = "alice-exported-nowhere-9f3c2e71";
/// The harness's bootstrap token (`common::ADMIN_TOKEN`), in both Garrisons.
const BOOTSTRAP_TOKEN: &str = "authentik-bootstrap-token";

async fn ok(env: &common::Env, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = env.admin(method, path, body).await;
    assert!(
        status.is_success(),
        "{method} {path} answered {status}: {answer}"
    );
    answer
}

fn pk_of(answer: &Value) -> String {
    match &answer["pk"] {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => panic!("no pk in {answer}"),
    }
}

/// What `build` made in the exporting Garrison.
struct Made {
    /// The UUIDs of what it made: none may appear in the export.
    uuids: Vec<String>,
    keypair_name: String,
    private_key: String,
}

/// Objects that refer to each other, made through the API as an administrator would.
async fn build(env: &common::Env) -> Made {
    let role = pk_of(
        &ok(
            env,
            "POST",
            "/rbac/roles/",
            Some(json!({"name": "export-editors"})),
        )
        .await,
    );
    ok(
        env,
        "POST",
        &format!("/rbac/permissions/assigned_by_roles/{role}/assign/"),
        Some(json!({"permissions": ["authentik_core.view_user", "authentik_core.view_group"]})),
    )
    .await;
    let parent = pk_of(
        &ok(
            env,
            "POST",
            "/core/groups/",
            Some(json!({"name": "export-parent", "roles": [role]})),
        )
        .await,
    );
    let child = pk_of(
        &ok(
            env,
            "POST",
            "/core/groups/",
            Some(json!({
                "name": "export-child",
                "parents": [parent],
                // What a careless YAML writer would change on the way.
                "attributes": {
                    "enabled": "yes",
                    "mode": "on",
                    "version": "1.10",
                    "hex": "0x10",
                    "empty": "",
                    "note": "a: b # c",
                    "lines": "one\ntwo\n",
                    "unicode": "Zürich ☃",
                    "nested": {"list": [1, 2.5, true, null]},
                },
            })),
        )
        .await,
    );
    let alice = pk_of(
        &ok(
            env,
            "POST",
            "/core/users/",
            Some(json!({
                "username": "export-alice",
                "name": "Alice Export",
                "email": "alice@export.example",
                "groups": [child],
            })),
        )
        .await,
    );
    ok(
        env,
        "POST",
        &format!("/core/users/{alice}/set_password/"),
        Some(json!({"password": ALICE_PASSWORD})),
    )
    .await;
    let generated = ok(
        env,
        "POST",
        "/crypto/certificatekeypairs/generate/",
        Some(json!({"common_name": "export.example", "validity_days": 30, "alg": "ecdsa"})),
    )
    .await;
    let keypair = pk_of(&generated);
    let keypair_name = generated["name"]
        .as_str()
        .expect("the keypair's name")
        .to_owned();
    let private_key = ok(
        env,
        "GET",
        &format!("/crypto/certificatekeypairs/{keypair}/view_private_key/"),
        None,
    )
    .await["data"]
        .as_str()
        .filter(|pem| pem.contains("PRIVATE KEY"))
        .expect("the keypair's private key")
        .to_owned();
    let proxy: i64 = pk_of(
        &ok(
            env,
            "POST",
            "/providers/proxy/",
            Some(json!({
                "name": "export-proxy",
                "authorization_flow": FLOW,
                "invalidation_flow": FLOW,
                "external_host": "https://app.export.example",
                "internal_host": "http://127.0.0.1:8000",
                "certificate": keypair,
                "skip_path_regex": "^/health$\n^/static/.*$",
            })),
        )
        .await,
    )
    .parse()
    .expect("a provider's pk is an integer");
    let application = pk_of(
        &ok(
            env,
            "POST",
            "/core/applications/",
            Some(json!({"name": "Export app", "slug": "export-app", "provider": proxy})),
        )
        .await,
    );
    let outpost = pk_of(
        &ok(
            env,
            "POST",
            "/outposts/instances/",
            Some(json!({"name": "export-outpost", "type": "proxy", "providers": [proxy], "config": {}})),
        )
        .await,
    );
    let brand = ok(
        env,
        "POST",
        "/core/brands/",
        Some(json!({
            "domain": "export.example",
            "branding_title": "Export",
            "web_certificate": keypair,
            "default_application": application,
        })),
    )
    .await["brand_uuid"]
        .as_str()
        .expect("the brand's UUID")
        .to_owned();
    Made {
        uuids: vec![role, parent, child, keypair, application, outpost, brand],
        keypair_name,
        private_key,
    }
}

/// The entry of `model` identified by `name`.
fn entry<'b>(blueprint: &'b Blueprint, model: &str, name: &str) -> &'b Entry {
    blueprint
        .entries
        .iter()
        .find(|entry| {
            entry.model.as_str() == Some(model)
                && entry.identifiers.as_map().is_some_and(|pairs| {
                    pairs.iter().any(|(_, value)| value.as_str() == Some(name))
                })
        })
        .unwrap_or_else(|| panic!("no {model} `{name}` in the export"))
}

/// The id a `!KeyOf` names.
fn key_of(node: &Node) -> Option<&str> {
    match &node.as_tag()?.tag {
        Tag::KeyOf(id) => Some(id),
        _ => None,
    }
}

fn attr<'e>(entry: &'e Entry, field: &str) -> &'e Node {
    entry
        .attrs
        .get(field)
        .unwrap_or_else(|| panic!("no `{field}` in entry {}", entry.index + 1))
}

fn position(blueprint: &Blueprint, model: &str, name: &str) -> usize {
    entry(blueprint, model, name).index
}

/// The values of the export's placeholders, and the key file written below `root`.
fn provide(export: &Export, made: &Made, root: &Path) -> RunOptions {
    let mut env = BTreeMap::new();
    for placeholder in &export.placeholders {
        match (placeholder.source, placeholder.model.as_str()) {
            (PlaceholderSource::File, "authentik_crypto.certificatekeypair")
                if placeholder.object == made.keypair_name =>
            {
                let path = root.join(&placeholder.name);
                std::fs::create_dir_all(path.parent().expect("keys/")).expect("keys directory");
                std::fs::write(&path, &made.private_key).expect("the key file");
            }
            (PlaceholderSource::Env, "authentik_core.token")
                if placeholder.object == BOOTSTRAP_TOKEN =>
            {
                env.insert(placeholder.name.clone(), common::ADMIN_TOKEN.to_owned());
            }
            _ => panic!("an unexpected placeholder: {placeholder:?}"),
        }
    }
    RunOptions {
        files_root: Some(root.to_path_buf()),
        env: Some(env),
        ..Default::default()
    }
}

fn assert_nothing_to_do(outcome: &Outcome, what: &str) {
    assert!(outcome.succeeded(), "{what}: {:?}", outcome.failure);
    let changes: Vec<_> = outcome
        .entries
        .iter()
        .filter(|entry| !matches!(entry.action, Action::Unchanged | Action::Skipped { .. }))
        .collect();
    assert!(changes.is_empty(), "{what}: {changes:#?}");
    assert!(!outcome.changed, "{what}");
}

both_stores!(
    an_export_applies_to_an_empty_garrison_and_plans_to_nothing,
    |env: common::Env| async move {
        let made = build(&env).await;
        let export = env
            .services
            .export_blueprint(&Caller::cli(), &ExportSelection::Everything)
            .await
            .expect("an export");
        let yaml = &export.yaml;

        // No primary key, no secret, nothing Garrison manages.
        for uuid in &made.uuids {
            assert!(
                !yaml.contains(uuid.as_str()),
                "{uuid} is in the export:\n{yaml}"
            );
        }
        for line in made
            .private_key
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with("-----"))
        {
            assert!(
                !yaml.contains(line),
                "the private key is in the export:\n{yaml}"
            );
        }
        assert!(!yaml.contains(ALICE_PASSWORD), "{yaml}");
        assert!(!yaml.contains(common::ADMIN_TOKEN), "{yaml}");
        assert!(
            !yaml.contains("ak-outpost-"),
            "outposts' accounts and tokens: {yaml}"
        );
        assert!(!yaml.contains("authentik Embedded Outpost"), "{yaml}");
        assert!(export.warnings.is_empty(), "{:?}", export.warnings);

        // References by `!KeyOf`, identifiers by natural key, in dependency order.
        let blueprint = parse(yaml, &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        for entry in &blueprint.entries {
            assert!(entry.identifiers.get("pk").is_none(), "{yaml}");
        }
        let keypair = entry(
            &blueprint,
            "authentik_crypto.certificatekeypair",
            &made.keypair_name,
        );
        let keypair_id = keypair.id.clone().expect("an id");
        assert!(
            matches!(
                &attr(keypair, "key_data").as_tag().expect("a tag").tag,
                Tag::File { .. }
            ),
            "{yaml}"
        );
        let proxy = entry(
            &blueprint,
            "authentik_providers_proxy.proxyprovider",
            "export-proxy",
        );
        assert_eq!(
            key_of(attr(proxy, "certificate")),
            Some(keypair_id.as_str())
        );
        let proxy_id = proxy.id.clone().expect("an id");
        let app = entry(&blueprint, "authentik_core.application", "export-app");
        assert_eq!(key_of(attr(app, "provider")), Some(proxy_id.as_str()));
        let outpost = entry(&blueprint, "authentik_outposts.outpost", "export-outpost");
        let providers = attr(outpost, "providers").as_seq().expect("a list");
        assert_eq!(providers.len(), 1);
        assert_eq!(key_of(&providers[0]), Some(proxy_id.as_str()));
        let brand = entry(&blueprint, "authentik_brands.brand", "export.example");
        assert_eq!(
            key_of(attr(brand, "web_certificate")),
            Some(keypair_id.as_str())
        );
        assert_eq!(
            key_of(attr(brand, "default_application")),
            app.id.as_deref()
        );
        let parent = entry(&blueprint, "authentik_core.group", "export-parent");
        let child = entry(&blueprint, "authentik_core.group", "export-child");
        let parents = attr(child, "parents").as_seq().expect("a list");
        assert_eq!(key_of(&parents[0]), parent.id.as_deref());
        let alice = entry(&blueprint, "authentik_core.user", "export-alice");
        assert_eq!(
            key_of(&attr(alice, "groups").as_seq().expect("a list")[0]),
            child.id.as_deref()
        );
        assert!(alice.attrs.get("password").is_none(), "{yaml}");
        let order = [
            (
                "authentik_crypto.certificatekeypair",
                made.keypair_name.as_str(),
            ),
            ("authentik_rbac.role", "export-editors"),
            ("authentik_core.group", "export-parent"),
            ("authentik_core.group", "export-child"),
            ("authentik_core.user", "export-alice"),
            ("authentik_providers_proxy.proxyprovider", "export-proxy"),
            ("authentik_core.application", "export-app"),
            ("authentik_outposts.outpost", "export-outpost"),
            ("authentik_brands.brand", "export.example"),
        ];
        for pair in order.windows(2) {
            assert!(
                position(&blueprint, pair[0].0, pair[0].1)
                    < position(&blueprint, pair[1].0, pair[1].1),
                "{pair:?} out of order:\n{yaml}"
            );
        }

        // Where it was made, the export has nothing to do.
        let here = provide(&export, &made, &env.blueprints_dir());
        let outcome = env
            .services
            .plan_blueprint(&Caller::cli(), &blueprint, &here)
            .await
            .expect("a plan");
        assert_nothing_to_do(&outcome, "planned where it was exported");

        // A fresh Garrison on the same kind of store takes it whole ...
        let kind = match env.services.store_backend() {
            "postgres" => common::Kind::Postgres,
            _ => common::Kind::Sqlite,
        };
        let fresh = common::Env::new(kind).await.expect("a second Garrison");
        let _fresh_dir = fresh.keep_dir();
        let there = provide(&export, &made, &fresh.blueprints_dir());
        let outcome = fresh
            .services
            .apply_blueprint(&Caller::cli(), &blueprint, &there)
            .await
            .expect("no infrastructure failure");
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        assert!(outcome.changed);
        let child_there =
            ok(&fresh, "GET", "/core/groups/?name=export-child", None).await["results"][0]["pk"]
                .clone();
        let alice_there = ok(&fresh, "GET", "/core/users/?username=export-alice", None).await;
        assert_eq!(alice_there["results"][0]["groups"], json!([child_there]));
        let pair_there = ok(
            &fresh,
            "GET",
            &format!("/crypto/certificatekeypairs/?name={}", made.keypair_name),
            None,
        )
        .await;
        assert_eq!(
            pair_there["results"][0]["private_key_available"],
            json!(true)
        );

        // ... and planning it there again has nothing to do.
        let outcome = fresh
            .services
            .plan_blueprint(&Caller::cli(), &blueprint, &there)
            .await
            .expect("a plan");
        assert_nothing_to_do(&outcome, "planned after applying it elsewhere");

        // The API serves the same, one or more models at a time, as YAML.
        let request = Request::builder()
            .method("GET")
            .uri("/api/v3/managed/blueprints/export/?model=authentik_rbac.role&model=authentik_core.group")
            .header(header::AUTHORIZATION, format!("Bearer {}", common::ADMIN_TOKEN))
            .body(Body::empty())
            .expect("request");
        let (status, headers, body) = env.send(request).await;
        let text = String::from_utf8(body).expect("UTF-8");
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("text/yaml")),
            "{headers:?}"
        );
        assert!(
            text.contains("name: export-editors") && text.contains("name: export-child"),
            "{text}"
        );
        assert!(
            !text.contains("export-alice") && !text.contains("export-proxy"),
            "{text}"
        );
        let (status, _) = env
            .admin(
                "GET",
                "/managed/blueprints/export/?model=authentik_flows.flow",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
);

both_stores!(
    an_export_holds_only_what_its_caller_may_view,
    |env: common::Env| async move {
        let system = Caller::cli();
        let role = env
            .services
            .create_role(
                &system,
                RoleChanges {
                    name: Some("export-hidden-role".into()),
                },
            )
            .await
            .expect("role");
        let visible = env
            .services
            .create_group(
                &system,
                GroupChanges {
                    name: Some("export-visible".into()),
                    roles: Some(vec![role.pk]),
                    ..Default::default()
                },
            )
            .await
            .expect("group");
        let hidden = env
            .services
            .create_group(
                &system,
                GroupChanges {
                    name: Some("export-hidden".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("group");
        let (viewer, _) = crate::security::user_holding(
            &env,
            "export-viewer",
            &[("authentik_core.view_group", &visible.pk.to_string())],
        )
        .await;
        let principal = env
            .services
            .principal_for(viewer)
            .await
            .expect("the store answers")
            .expect("an active user");
        let caller = Caller::new(principal, None, Via::Cli, None);

        let export = env
            .services
            .export_blueprint(&caller, &ExportSelection::Everything)
            .await
            .expect("an export");
        assert!(
            export.yaml.contains("name: export-visible"),
            "{}",
            export.yaml
        );
        // Neither the hidden group nor the hidden role, not even by name in a `!Find`.
        assert!(!export.yaml.contains("export-hidden"), "{}", export.yaml);
        assert!(
            export
                .warnings
                .iter()
                .any(|warning| warning.contains("export-visible") && warning.contains("`roles`")),
            "{:?}",
            export.warnings
        );

        // Asked for by primary key, a hidden object is not found, as anywhere else.
        let asked = ExportSelection::Models(vec![ModelSelection {
            model: "authentik_core.group".into(),
            pks: Some(vec![hidden.pk.to_string()]),
        }]);
        assert!(matches!(
            env.services.export_blueprint(&caller, &asked).await,
            Err(ServiceError::NotFound { .. })
        ));
    }
);
