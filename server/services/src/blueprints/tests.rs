//! The engine's pure parts: model names, states, lookups, data conversion, comparison, files,
//! context; and, for the outpost models (providers, outposts, keypairs, service connections),
//! runs against a SQLite store of their own. (Runs of the other models, on both stores, are in
//! the integration suite, `tests/suite/blueprints.rs`.)
use std::collections::HashSet;

use garrison_blueprint::{Limits, NodeValue, Value as BpValue, parse};
use garrison_model::{
    Application, Brand, CertificateKeyPair, Group, ListQuery, Outpost, OutpostConfig,
    PolicyEngineMode, Provider, ProviderKind, ProviderSettings, ProxySettings, RadiusSettings,
    Role, ServiceConnection, ServiceConnectionKind, Token, TokenIntent, User, UserType,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::lookup::{self, Cond, Op};
use super::registry::{Kind, Object};
use super::scope;
use super::write::{self, Prepared};
use super::*;
use crate::authz::Caller;
use crate::outposts::{CertificateFilter, OutpostFilter, ProviderFilter};
use crate::{SecretBox, ServiceSettings, Services};

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A provider of `kind` with the kind's default settings, serving one application through one
/// outpost.
fn sample_provider(pk: i64, kind: ProviderKind) -> Provider {
    Provider {
        pk,
        name: format!("{} provider", kind.as_str()),
        kind,
        authentication_flow: None,
        authorization_flow: Some(Uuid::new_v4()),
        invalidation_flow: None,
        property_mappings: vec![],
        certificate: None,
        settings: ProviderSettings::defaults(kind),
        application: Some(("wiki".into(), "Wiki".into())),
        backchannel_application: None,
        outposts: vec![Uuid::new_v4()],
    }
}

fn sample_connection(kind: ServiceConnectionKind) -> ServiceConnection {
    ServiceConnection {
        pk: Uuid::new_v4(),
        name: format!("{} connection", kind.as_str()),
        kind,
        local: false,
        url: "unix:///var/run/docker.sock".into(),
        tls_verification: None,
        tls_authentication: None,
        has_kubeconfig: kind == ServiceConnectionKind::Kubernetes,
        verify_ssl: true,
    }
}

/// One object of every kind, in the order of [`Kind::ALL`].
fn sample_objects() -> Vec<Object> {
    let now = chrono::Utc::now();
    vec![
        Object::Group(Group {
            pk: Uuid::new_v4(),
            num_pk: 3,
            name: "staff".into(),
            is_superuser: false,
            parents: vec![],
            attributes: Map::new(),
            roles: vec![],
            users: vec![1],
            children: vec![],
        }),
        Object::Role(Role {
            pk: Uuid::new_v4(),
            name: "viewers".into(),
            permissions: vec!["authentik_core.view_user".into()],
        }),
        Object::User(User {
            pk: 7,
            uuid: Uuid::new_v4(),
            username: "alice".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            is_active: true,
            is_superuser: false,
            user_type: UserType::ServiceAccount,
            path: "users".into(),
            attributes: Map::new(),
            last_login: None,
            date_joined: now,
            last_updated: now,
            password_change_date: now,
            groups: vec![],
            roles: vec![],
        }),
        Object::Application(Application {
            pk: Uuid::new_v4(),
            name: "Wiki".into(),
            slug: "wiki".into(),
            provider: None,
            backchannel_providers: vec![],
            open_in_new_tab: false,
            meta_launch_url: String::new(),
            meta_icon: String::new(),
            meta_description: String::new(),
            meta_publisher: String::new(),
            policy_engine_mode: PolicyEngineMode::Any,
            group: String::new(),
            meta_hide: false,
        }),
        Object::Brand(Brand {
            pk: Uuid::new_v4(),
            domain: "example.com".into(),
            default: false,
            settings: Map::new(),
            web_certificate: None,
            client_certificates: vec![],
            attributes: Map::new(),
        }),
        Object::Token(Token {
            pk: Uuid::new_v4(),
            identifier: "ci-token".into(),
            managed: None,
            intent: TokenIntent::AppPassword,
            user: 7,
            description: String::new(),
            expires: None,
            expiring: false,
        }),
        Object::Provider(sample_provider(11, ProviderKind::Proxy)),
        Object::Provider(sample_provider(12, ProviderKind::Ldap)),
        Object::Provider(sample_provider(13, ProviderKind::Radius)),
        Object::Provider(sample_provider(14, ProviderKind::Rac)),
        Object::Outpost(Outpost {
            pk: Uuid::new_v4(),
            name: "edge".into(),
            outpost_type: ProviderKind::Proxy,
            providers: vec![11],
            service_connection: None,
            config: map(json!({"refresh_interval": "minutes=2"})),
            managed: None,
            deploy_state: json!({}),
            expansion_error: None,
            config_hash: String::new(),
        }),
        Object::CertificateKeyPair(CertificateKeyPair {
            pk: Uuid::new_v4(),
            name: "edge-tls".into(),
            fingerprint_sha256: "ab".into(),
            fingerprint_sha1: "cd".into(),
            cert_expiry: now,
            cert_subject: "CN=edge.example.com".into(),
            private_key_available: true,
            key_type: Some("ec".into()),
            managed: None,
        }),
        Object::ServiceConnection(sample_connection(ServiceConnectionKind::Docker)),
        Object::ServiceConnection(sample_connection(ServiceConnectionKind::Kubernetes)),
    ]
}

#[test]
fn every_model_serializes_exactly_its_schema_fields() {
    let objects = sample_objects();
    assert_eq!(objects.len(), Kind::ALL.len(), "one sample per kind");
    for object in objects {
        let kind = object.kind();
        let view = object.view();
        let keys: Vec<&str> = view.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = kind.schema().fields.to_vec();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(keys_sorted, expected, "{}", kind.qualified());
        // Every writable field except the blueprint-only ones is part of the serialized form,
        // and no field is both writable and ignored.
        for field in kind.schema().writable {
            assert!(
                kind.schema().fields.contains(field) || kind.schema().special.contains(field),
                "{}: {field}",
                kind.qualified()
            );
            assert!(!kind.schema().ignored.contains(field), "{field}");
        }
    }
}

#[test]
fn user_view_spells_fields_as_authentik() {
    let user = sample_objects().remove(2);
    let view = user.view();
    assert_eq!(view["type"], json!("service_account"));
    assert_eq!(user.pk(), json!(7));
    assert_eq!(user.pk_text(), "7");
}

#[test]
fn models_resolve_as_authentik_resolves_them() {
    assert_eq!(resolve_model("authentik_core.group"), Ok(Kind::Group));
    assert_eq!(resolve_model("authentik_core.Group"), Ok(Kind::Group));
    assert_eq!(resolve_model("authentik_rbac.role"), Ok(Kind::Role));
    assert!(
        resolve_model("Authentik_core.group").is_err(),
        "app label as written"
    );
    assert_eq!(
        resolve_model("authentik_flows.flow"),
        Err("model `authentik_flows.flow` is not one Garrison implements".to_owned())
    );
    assert_eq!(
        resolve_model("authentik_blueprints.metaapplyblueprint"),
        Err("`authentik_blueprints.metaapplyblueprint` applies a blueprint: it has no objects to find or refer to".to_owned())
    );
    assert!(
        resolve_model("authentik_core")
            .unwrap_err()
            .contains("app_label.model")
    );
    assert!(
        resolve_model("a.b.c")
            .unwrap_err()
            .contains("app_label.model")
    );
}

#[test]
fn must_created_counts_only_as_written() {
    let state = BpValue::Str("must_created".into());
    assert_eq!(
        State::parse(&state, Some("must_created")),
        Ok(State::MustCreated)
    );
    // Given by a tag (no raw state): authentik's check is skipped, it behaves like present.
    assert_eq!(State::parse(&state, None), Ok(State::Present));
    assert_eq!(
        State::parse(&BpValue::Str("absent".into()), None),
        Ok(State::Absent)
    );
    assert!(State::parse(&BpValue::Str("gone".into()), None).is_err());
    assert!(State::parse(&BpValue::Int(1), None).is_err());
}

#[test]
fn lookups_parse_fields_and_refuse_the_rest() {
    let cond = lookup::parse_lookup(Kind::Group, "name__iexact", json!("Staff")).unwrap();
    assert_eq!(cond.field, "name");
    assert_eq!(cond.op, Op::IExact);
    assert_eq!(
        lookup::parse_lookup(Kind::Group, "pk", json!("x"))
            .unwrap()
            .op,
        Op::Exact
    );
    let error = lookup::parse_lookup(Kind::Group, "name__startswith", json!("s")).unwrap_err();
    assert!(error.contains("`name__startswith`"), "{error}");
    let error = lookup::parse_lookup(Kind::Group, "slug", json!("s")).unwrap_err();
    assert!(
        error.contains("`slug` is not a field of authentik_core.group"),
        "{error}"
    );
}

#[test]
fn matching_follows_django_lookups() {
    let uuid = Uuid::new_v4();
    let view = map(json!({
        "name": "Staff",
        "users": [1, 2],
        "roles": [uuid.to_string()],
        "attributes": {"team": "blue", "tags": ["a", "b"], "n": 1},
    }));
    let pk = json!(uuid.to_string());
    let cond = |field: &str, op, value| Cond {
        field: field.into(),
        op,
        value,
    };
    assert!(lookup::matches(
        &pk,
        &view,
        &cond("name", Op::Exact, json!("Staff"))
    ));
    assert!(!lookup::matches(
        &pk,
        &view,
        &cond("name", Op::Exact, json!("staff"))
    ));
    assert!(lookup::matches(
        &pk,
        &view,
        &cond("name", Op::IExact, json!("staff"))
    ));
    // A member of a many-to-many field; UUIDs in any case.
    assert!(lookup::matches(
        &pk,
        &view,
        &cond("users", Op::Exact, json!(2))
    ));
    assert!(!lookup::matches(
        &pk,
        &view,
        &cond("users", Op::Exact, json!(3))
    ));
    assert!(lookup::matches(
        &pk,
        &view,
        &cond("roles", Op::Exact, json!(uuid.to_string().to_uppercase()))
    ));
    // Mappings by containment.
    assert!(lookup::matches(
        &pk,
        &view,
        &cond(
            "attributes",
            Op::Exact,
            json!({"team": "blue", "tags": ["b"]})
        )
    ));
    assert!(!lookup::matches(
        &pk,
        &view,
        &cond("attributes", Op::Exact, json!({"team": "red"}))
    ));
    // The primary key, also given as text for an integer key.
    assert!(lookup::matches(
        &pk,
        &view,
        &cond("pk", Op::Exact, pk.clone())
    ));
    assert!(lookup::matches(
        &json!(5),
        &view,
        &cond("pk", Op::Exact, json!("5"))
    ));
    assert!(!lookup::matches(
        &pk,
        &view,
        &cond("missing", Op::Exact, json!(1))
    ));
}

#[test]
fn containment_is_postgres_containment() {
    assert!(lookup::contains(
        &json!({"a": {"b": 1, "c": 2}}),
        &json!({"a": {"b": 1}})
    ));
    assert!(!lookup::contains(
        &json!({"a": 1}),
        &json!({"a": 1, "b": 2})
    ));
    assert!(lookup::contains(&json!([1, 2, 3]), &json!([3, 1])));
    assert!(!lookup::contains(&json!([1, 2]), &json!([4])));
    assert!(lookup::contains(&json!({}), &json!({})));
}

#[test]
fn data_keys_and_types_are_checked_naming_the_field() {
    let error =
        write::prepare(Kind::Group, &map(json!({"name": "x", "is_superuer": true}))).unwrap_err();
    assert!(error.starts_with("is_superuer: "), "{error}");
    assert!(error.contains("writable: name, is_superuser"), "{error}");

    let error =
        write::prepare(Kind::Group, &map(json!({"is_superuser": "yes please"}))).unwrap_err();
    assert!(error.starts_with("is_superuser: invalid type"), "{error}");

    let error = write::prepare(Kind::Group, &map(json!({"name": null}))).unwrap_err();
    assert_eq!(error, "name: This field may not be null.");

    // Keys authentik's serializer has and Garrison ignores pass silently.
    let Prepared::Group(changes) = write::prepare(
        Kind::Group,
        &map(json!({"name": "x", "parent": null, "num_pk": 4})),
    )
    .unwrap() else {
        panic!("a group");
    };
    assert_eq!(changes.name.as_deref(), Some("x"));
    assert!(changes.parents.is_none());

    let Prepared::User { changes, password } = write::prepare(
        Kind::User,
        &map(json!({"username": "u", "type": "service_account", "password": "pw", "permissions": []})),
    )
    .unwrap() else {
        panic!("a user");
    };
    assert_eq!(changes.user_type, Some(UserType::ServiceAccount));
    assert_eq!(password.as_deref(), Some("pw"));
    assert!(changes.password.is_none(), "set by the adapter, not here");
    let error = write::prepare(
        Kind::User,
        &map(json!({"username": "u", "permissions": ["authentik_core.view_user"]})),
    )
    .unwrap_err();
    assert!(error.contains("not supported yet"), "{error}");

    let Prepared::Role { permissions, .. } = write::prepare(
        Kind::Role,
        &map(json!({"name": "r", "permissions": ["b.x", "a.y", "b.x"]})),
    )
    .unwrap() else {
        panic!("a role");
    };
    assert_eq!(permissions, Some(vec!["a.y".to_owned(), "b.x".to_owned()]));

    // A nullable field: `null` clears it.
    let Prepared::Application(changes) = write::prepare(
        Kind::Application,
        &map(json!({"slug": "s", "provider": null})),
    )
    .unwrap() else {
        panic!("an application");
    };
    assert_eq!(changes.provider, Some(None));
    let Prepared::Brand(changes) = write::prepare(
        Kind::Brand,
        &map(json!({"domain": "d", "branding_title": "T", "web_certificate": null})),
    )
    .unwrap() else {
        panic!("a brand");
    };
    assert_eq!(changes.settings.get("branding_title"), Some(&json!("T")));
    assert_eq!(changes.web_certificate, Some(None));
}

#[test]
fn only_differing_fields_count_as_changes() {
    let a = Uuid::new_v4();
    let b = Uuid::new_v4();
    let before = map(json!({
        "name": "staff",
        "roles": [a.to_string(), b.to_string()],
        "attributes": {"x": 1},
        "users": [],
    }));
    let data = map(json!({
        "name": "staff",
        "roles": [b.to_string().to_uppercase(), a.to_string()],
        "attributes": {"x": 1},
        "num_pk": 99,
    }));
    assert!(write::changed_fields(Kind::Group, Some(&before), &data).is_empty());

    let data = map(json!({"name": "ops", "users": [1], "attributes": {"x": 1}}));
    let changes = write::changed_fields(Kind::Group, Some(&before), &data);
    assert_eq!(
        changes,
        [
            FieldChange {
                field: "name".into(),
                old: json!("staff"),
                new: json!("ops"),
            },
            FieldChange {
                field: "users".into(),
                old: json!([]),
                new: json!([1]),
            },
        ]
    );

    // A new object: every field, old values null; special fields are the adapter's.
    let changes = write::changed_fields(
        Kind::User,
        None,
        &map(json!({"username": "u", "password": "secret"})),
    );
    assert_eq!(
        changes,
        [FieldChange {
            field: "username".into(),
            old: Value::Null,
            new: json!("u"),
        }]
    );
    // Lists of a non-set field keep their order.
    assert!(!write::same(false, &json!([1, 2]), &json!([2, 1])));
    assert!(write::same(true, &json!([1, 2]), &json!([2, 1, 1])));
}

#[test]
fn files_are_read_only_below_the_root() {
    let base = std::env::temp_dir().join(format!("garrison-bp-files-{}", Uuid::new_v4()));
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/secret.txt"), "  s3cret\n").unwrap();
    std::fs::write(base.join("outside.txt"), "nope").unwrap();

    assert_eq!(
        scope::read_confined(&root, "sub/secret.txt"),
        Ok(Some("  s3cret\n".to_owned()))
    );
    let absolute = root
        .canonicalize()
        .unwrap()
        .join("sub/secret.txt")
        .display()
        .to_string();
    assert!(scope::read_confined(&root, &absolute).unwrap().is_some());
    assert_eq!(scope::read_confined(&root, "sub/missing.txt"), Ok(None));
    // Outside, whether or not the file exists.
    assert!(scope::read_confined(&root, "../outside.txt").is_err());
    assert!(scope::read_confined(&root, "../missing.txt").is_err());
    let outside = base.join("outside.txt").display().to_string();
    assert!(scope::read_confined(&root, &outside).is_err());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("outside.txt"), root.join("link.txt")).unwrap();
        assert!(scope::read_confined(&root, "link.txt").is_err());
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn paths_are_normalised_as_text() {
    use std::path::Path;
    assert_eq!(
        scope::lexical(Path::new("/a/b/../c/./d")),
        Path::new("/a/c/d")
    );
    assert_eq!(scope::lexical(Path::new("/a/../../x")), Path::new("/x"));
}

#[test]
fn contexts_merge_over_the_built_ins() {
    let blueprint = parse(
        "version: 1\ncontext:\n  a: [1]\n  b: {x: 1}\n  goauthentik.io/enterprise/licensed: true\n",
        &Limits::default(),
    )
    .unwrap();
    let instance = map(json!({"a": [2], "b": {"y": 2}}));
    let context = scope::merged_context(&blueprint, &instance);
    let value = |key: &str| context.get(key).and_then(|node| node.to_value_untagged());
    assert_eq!(
        value("a").map(|v| v.to_json()),
        Some(json!([1, 2])),
        "lists concatenate"
    );
    assert_eq!(
        value("b").map(|v| v.to_json()),
        Some(json!({"x": 1, "y": 2}))
    );
    assert_eq!(
        value("goauthentik.io/enterprise/licensed"),
        Some(BpValue::Bool(true)),
        "the file overrides a built-in"
    );
    let models = value("goauthentik.io/rbac/models").unwrap().to_json();
    assert_eq!(models["group"], json!("authentik_core"));
    assert_eq!(
        models["outpost"],
        json!("authentik_outposts"),
        "every model with permissions, not only those a blueprint writes"
    );
    assert_eq!(models["role"], json!("authentik_rbac"));
    assert!(matches!(
        context.get("a").map(|node| &node.value),
        Some(NodeValue::Seq(_))
    ));
}

#[test]
fn failures_describe_the_entry() {
    assert_eq!(describe_identifiers(&Map::new()), "");
    assert_eq!(
        describe_identifiers(&map(json!({"name": "admins", "n": 3}))),
        // Identifiers are a JSON map, whose keys are kept sorted.
        " {n: 3, name: admins}"
    );
    assert_eq!(
        must_created_message(&map(json!({"name": "x"}))),
        "name: State is set to must_created and object exists already"
    );
}

#[test]
fn outcomes_serialize_flat() {
    let entry = EntryOutcome {
        index: 0,
        line: 4,
        model: "authentik_core.group".into(),
        identifiers: map(json!({"name": "x"})),
        action: Action::Created {
            fields: vec![FieldChange {
                field: "name".into(),
                old: Value::Null,
                new: json!("x"),
            }],
        },
    };
    assert_eq!(
        serde_json::to_value(&entry).unwrap(),
        json!({
            "index": 0,
            "line": 4,
            "model": "authentik_core.group",
            "identifiers": {"name": "x"},
            "action": "created",
            "fields": [{"field": "name", "old": null, "new": "x"}],
        })
    );
    let unchanged = EntryOutcome {
        action: Action::Unchanged,
        ..entry
    };
    assert_eq!(
        serde_json::to_value(&unchanged).unwrap()["action"],
        json!("unchanged")
    );
    assert!(!Action::Unchanged.is_change());
    assert!(Action::Deleted.is_change());
}

#[test]
fn token_view_spells_fields_as_authentik_and_has_no_key() {
    let token = sample_objects().remove(5);
    assert_eq!(token.kind(), Kind::Token);
    let view = token.view();
    assert_eq!(view["intent"], json!("app_password"));
    assert_eq!(view["user"], json!(7));
    assert_eq!(view["expires"], Value::Null);
    assert!(!view.contains_key("key"));
    assert!(token.pk().is_string(), "a token's pk is its UUID");
    assert_eq!(resolve_model("authentik_core.token"), Ok(Kind::Token));
}

#[test]
fn token_keys_are_taken_and_never_shown() {
    const KEY: &str = "a-key-nobody-may-see-0123456789abcdef";
    let data = map(json!({
        "identifier": "ci-token",
        "intent": "api",
        "user": 7,
        "expiring": false,
        "expires": null,
        "managed": "ignored",
        "key": KEY,
    }));
    let prepared = write::prepare(Kind::Token, &data).unwrap();
    assert!(!format!("{prepared:?}").contains(KEY), "{prepared:?}");
    let Prepared::Token { changes, key } = prepared else {
        panic!("a token");
    };
    assert_eq!(key.as_ref().map(|key| key.expose()), Some(KEY));
    assert_eq!(changes.identifier.as_deref(), Some("ci-token"));
    assert_eq!(changes.intent, Some(TokenIntent::Api));
    assert_eq!(changes.user, Some(7));
    assert_eq!(changes.expiring, Some(false));
    assert_eq!(changes.expires, Some(None));
    assert_eq!(changes.managed, None, "read-only in authentik: ignored");

    // A number is taken as its text, as authentik's CharField takes it.
    let Prepared::Token { key, .. } =
        write::prepare(Kind::Token, &map(json!({"key": 12345}))).unwrap()
    else {
        panic!("a token");
    };
    assert_eq!(key.as_ref().map(|key| key.expose()), Some("12345"));
    // A wrong type is refused without repeating the value.
    let error = write::prepare(Kind::Token, &map(json!({"key": [KEY]}))).unwrap_err();
    assert_eq!(error, "key: Not a valid string.");
    let error = write::prepare(Kind::Token, &map(json!({"key": null}))).unwrap_err();
    assert_eq!(error, "key: This field may not be null.");
    let error = write::prepare(Kind::User, &map(json!({"password": {"p": KEY}}))).unwrap_err();
    assert!(!error.contains(KEY), "{error}");

    // The key is the adapter's: never among the compared fields.
    let changes = write::changed_fields(Kind::Token, None, &data);
    assert!(
        changes.iter().all(|change| change.field != "key"),
        "{changes:?}"
    );
    assert!(!serde_json::to_string(&changes).unwrap().contains(KEY));

    // Nor among the identifiers an outcome repeats.
    let identifiers = BpValue::from_json(&json!({
        "identifier": "t",
        "key": KEY,
        "key__iexact": KEY,
    }));
    let shown = shown_identifiers(Kind::Token, &identifiers);
    assert_eq!(
        Value::Object(shown),
        json!({"identifier": "t", "key": "(hidden)", "key__iexact": "(hidden)"})
    );
}

#[test]
fn token_expiry_compares_as_an_instant() {
    let before = map(json!({"expires": "2030-01-01T00:00:00Z", "expiring": true}));
    let same = map(json!({"expires": "2030-01-01T01:00:00+01:00", "expiring": true}));
    assert!(write::changed_fields(Kind::Token, Some(&before), &same).is_empty());
    let later = map(json!({"expires": "2030-01-02T00:00:00Z"}));
    assert_eq!(
        write::changed_fields(Kind::Token, Some(&before), &later).len(),
        1
    );
    let cleared = map(json!({"expires": null}));
    assert_eq!(
        write::changed_fields(Kind::Token, Some(&before), &cleared).len(),
        1
    );
    assert!(write::same_instant(&Value::Null, &Value::Null));
}

#[test]
fn a_given_environment_replaces_the_process_environment() {
    use garrison_blueprint::Scope as _;
    let blueprint = parse("version: 1\nentries: []\n", &Limits::default()).unwrap();
    let mut env = std::collections::BTreeMap::new();
    env.insert("BP_TEST_GIVEN".to_owned(), "value-given".to_owned());
    env.insert("GARRISON_SECRET_KEY".to_owned(), "value-never".to_owned());
    let options = RunOptions {
        env: Some(env),
        ..Default::default()
    };
    let system = scope::EngineScope::new(&blueprint, &Caller::cli(), &options);
    assert_eq!(system.env("BP_TEST_GIVEN").as_deref(), Some("value-given"));
    assert_eq!(system.env("PATH"), None, "only the given environment");
    assert_eq!(
        system.env("GARRISON_SECRET_KEY"),
        None,
        "Garrison's own settings never"
    );
    // Names, never values, in debug output; nothing in the serialized options.
    let shown = format!("{options:?}");
    assert!(shown.contains("BP_TEST_GIVEN"), "{shown}");
    assert!(!shown.contains("value-"), "{shown}");
    assert!(serde_json::to_value(&options).unwrap().get("env").is_none());
}

// ---------------------------------------------------------------------------------------------
// Outpost models: providers, outposts, keypairs, service connections
// ---------------------------------------------------------------------------------------------

#[test]
fn every_kind_has_a_sample_and_a_name_of_its_own() {
    let kinds: Vec<Kind> = sample_objects().iter().map(Object::kind).collect();
    assert_eq!(kinds, Kind::ALL, "one sample per kind, in order");
    let names: HashSet<String> = Kind::ALL.iter().map(|kind| kind.qualified()).collect();
    assert_eq!(names.len(), Kind::ALL.len());
}

#[test]
fn outpost_models_resolve_by_their_authentik_names() {
    for (name, kind) in [
        (
            "authentik_providers_proxy.proxyprovider",
            Kind::Provider(ProviderKind::Proxy),
        ),
        (
            "authentik_providers_ldap.LDAPProvider",
            Kind::Provider(ProviderKind::Ldap),
        ),
        (
            "authentik_providers_radius.radiusprovider",
            Kind::Provider(ProviderKind::Radius),
        ),
        (
            "authentik_providers_rac.RACProvider",
            Kind::Provider(ProviderKind::Rac),
        ),
        ("authentik_outposts.outpost", Kind::Outpost),
        (
            "authentik_crypto.certificatekeypair",
            Kind::CertificateKeyPair,
        ),
        (
            "authentik_outposts.dockerserviceconnection",
            Kind::DockerConnection,
        ),
        (
            "authentik_outposts.KubernetesServiceConnection",
            Kind::KubernetesConnection,
        ),
    ] {
        assert_eq!(resolve_model(name), Ok(kind), "{name}");
    }
    // Each provider model under its own app label only.
    assert!(resolve_model("authentik_providers_proxy.ldapprovider").is_err());
}

#[test]
fn provider_schemas_are_the_shared_fields_and_the_kinds_settings() {
    const SHARED: [&str; 6] = [
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "certificate",
    ];
    for provider_kind in ProviderKind::ALL {
        let kind = Kind::Provider(provider_kind);
        let schema = kind.schema();
        assert_eq!(kind.model(), provider_kind.model());
        assert_eq!(schema.natural_key, "name");
        let settings = ProviderSettings::defaults(provider_kind).to_map();
        let secrets = ProviderSettings::secret_fields(provider_kind);
        // Every setting is shown, except the secrets.
        for key in settings.keys() {
            let key = key.as_str();
            assert_ne!(
                schema.fields.contains(&key),
                secrets.contains(&key),
                "{}: {key}",
                kind.qualified()
            );
        }
        // What may be written is a shared field or one of the kind's settings.
        for field in schema.writable {
            assert!(
                SHARED.contains(field) || settings.contains_key(*field),
                "{}: {field}",
                kind.qualified()
            );
        }
        // A writable secret is compared by the adapter, never shown.
        for secret in schema.secrets {
            assert!(secrets.contains(secret), "{secret}");
            assert!(schema.special.contains(secret), "{secret}");
            assert!(!schema.fields.contains(secret), "{secret}");
        }
    }
}

#[test]
fn provider_views_are_the_apis_and_carry_no_secret() {
    let mut radius = sample_provider(4, ProviderKind::Radius);
    radius.settings = ProviderSettings::Radius(RadiusSettings {
        shared_secret: "radius-secret-in-a-view".into(),
        ..RadiusSettings::default()
    });
    let mut proxy = sample_provider(5, ProviderKind::Proxy);
    proxy.settings = ProviderSettings::Proxy(ProxySettings {
        client_id: "the-client-id".into(),
        client_secret: "proxy-client-secret-in-a-view".into(),
        cookie_secret: "proxy-cookie-secret-in-a-view".into(),
        ..ProxySettings::default()
    });
    for provider in [radius, proxy] {
        let object = Object::Provider(provider.clone());
        let view = object.view();
        let shown = Value::Object(view.clone()).to_string();
        assert!(!shown.contains("-in-a-view"), "{shown}");
        assert_eq!(object.pk(), json!(provider.pk), "an integer, as a user's");
        assert_eq!(view["pk"], json!(provider.pk));
        assert_eq!(view["assigned_application_slug"], json!("wiki"));
        assert_eq!(view["assigned_backchannel_application_name"], Value::Null);
        // What a run keeps of a provider a core returned has no secret either.
        let kept = Object::provider(provider).unwrap();
        assert!(!format!("{kept:?}").contains("-in-a-view"), "{kept:?}");
    }
    let proxy = Object::Provider(sample_provider(6, ProviderKind::Proxy)).view();
    assert_eq!(proxy["mode"], json!("proxy"));
    assert_eq!(proxy["invalidation_flow"], Value::Null);
    assert!(proxy.contains_key("client_id"), "shown, read-only");
    let rac = Object::Provider(sample_provider(7, ProviderKind::Rac)).view();
    assert!(!rac.contains_key("invalidation_flow") && !rac.contains_key("certificate"));
    assert_eq!(rac["connection_expiry"], json!("hours=8"));

    let outpost = sample_objects().remove(10);
    assert_eq!(outpost.kind(), Kind::Outpost);
    let view = outpost.view();
    assert_eq!(view["type"], json!("proxy"));
    assert_eq!(view["refresh_interval_s"], json!(120));
    assert!(
        view["token_identifier"]
            .as_str()
            .is_some_and(|id| id.ends_with("-api"))
    );
    let kubernetes = sample_objects().remove(13).view();
    assert!(!kubernetes.contains_key("kubeconfig") && !kubernetes.contains_key("url"));
}

#[test]
fn provider_data_splits_into_shared_fields_and_the_kinds_settings() {
    let proxy = Kind::Provider(ProviderKind::Proxy);
    let Prepared::Provider {
        kind,
        changes,
        secrets,
    } = write::prepare(
        proxy,
        &map(json!({
            "name": "p",
            "certificate": null,
            "property_mappings": [],
            "external_host": "https://app.example.com",
            "mode": "forward_single",
            "outpost_set": [],
            "client_id": "read-only",
        })),
    )
    .unwrap()
    else {
        panic!("a provider");
    };
    assert_eq!(kind, ProviderKind::Proxy);
    assert_eq!(changes.name.as_deref(), Some("p"));
    assert_eq!(changes.certificate, Some(None));
    assert_eq!(changes.property_mappings, Some(vec![]));
    assert_eq!(
        changes.settings,
        map(json!({"external_host": "https://app.example.com", "mode": "forward_single"}))
    );
    assert!(secrets.is_empty());

    // Secrets the API neither shows nor takes, and another kind's fields, are refused by name.
    let error = write::prepare(proxy, &map(json!({"client_secret": "x"}))).unwrap_err();
    assert!(error.starts_with("client_secret: "), "{error}");
    assert!(error.contains("writable: name, "), "{error}");
    let rac = Kind::Provider(ProviderKind::Rac);
    let error = write::prepare(rac, &map(json!({"certificate": null}))).unwrap_err();
    assert!(error.starts_with("certificate: "), "{error}");
    // A setting of the wrong type, named; `null` only where nullable.
    let ldap = Kind::Provider(ProviderKind::Ldap);
    let error = write::prepare(ldap, &map(json!({"uid_start_number": "many"}))).unwrap_err();
    assert!(error.starts_with("uid_start_number: "), "{error}");
    let error = write::prepare(proxy, &map(json!({"mode": "sideways"}))).unwrap_err();
    assert!(error.starts_with("mode: "), "{error}");
    let error = write::prepare(proxy, &map(json!({"external_host": null}))).unwrap_err();
    assert_eq!(error, "external_host: This field may not be null.");
    // RAC's own `settings` mapping is one of its settings.
    let Prepared::Provider { changes, .. } =
        write::prepare(rac, &map(json!({"settings": {"resolution": "1024x768"}}))).unwrap()
    else {
        panic!("a provider");
    };
    assert_eq!(
        changes.settings["settings"],
        json!({"resolution": "1024x768"})
    );

    // A RADIUS shared secret is kept apart from the changes, out of any debug output.
    const SECRET: &str = "radius-shared-secret-nobody-sees";
    let radius = Kind::Provider(ProviderKind::Radius);
    let data = map(json!({"shared_secret": SECRET, "client_networks": "10.0.0.0/8"}));
    let prepared = write::prepare(radius, &data).unwrap();
    assert!(!format!("{prepared:?}").contains(SECRET), "{prepared:?}");
    let Prepared::Provider {
        changes, secrets, ..
    } = prepared
    else {
        panic!("a provider");
    };
    assert!(!changes.settings.contains_key("shared_secret"));
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].0, "shared_secret");
    assert_eq!(secrets[0].1.expose(), SECRET);
    let changes = write::changed_fields(radius, None, &data);
    assert!(!serde_json::to_string(&changes).unwrap().contains(SECRET));
    let error = write::prepare(radius, &map(json!({"shared_secret": [SECRET]}))).unwrap_err();
    assert_eq!(error, "shared_secret: Not a valid string.");
}

#[test]
fn outpost_configs_compare_as_the_outpost_reads_them() {
    let given = json!({"authentik_host": "https://id.example.com", "log_level": "debug"});
    // The API's form spells out every default; a blueprint gives what it sets.
    let mut spelled = OutpostConfig::defaults_map("https://id.example.com");
    spelled.insert("log_level".into(), json!("debug"));
    let spelled = Value::Object(spelled);
    assert!(write::same_outpost_config(&spelled, &given));
    assert!(write::same_outpost_config(
        &json!({"log_level": "info"}),
        &json!({})
    ));
    // Another value, or a key authentik does not define (kept for newer outposts), differs.
    assert!(!write::same_outpost_config(
        &json!({"log_level": "debug"}),
        &json!({})
    ));
    assert!(!write::same_outpost_config(
        &json!({"future_key": 1}),
        &json!({})
    ));
    assert!(!write::same_outpost_config(
        &json!({}),
        &json!("not a mapping")
    ));

    let before = map(json!({
        "name": "edge",
        "type": "proxy",
        "providers": [2, 1],
        "config": spelled,
    }));
    let data = map(json!({
        "name": "edge",
        "type": "proxy",
        "providers": [1, 2],
        "config": given,
        "token_identifier": "ignored",
    }));
    assert!(write::changed_fields(Kind::Outpost, Some(&before), &data).is_empty());
    let data = map(json!({"config": {"authentik_host": "https://id.example.com"}}));
    let changes = write::changed_fields(Kind::Outpost, Some(&before), &data);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].field, "config");

    let Prepared::Outpost(changes) = write::prepare(
        Kind::Outpost,
        &map(json!({"type": "ldap", "providers": [3], "service_connection": null, "config": {}})),
    )
    .unwrap() else {
        panic!("an outpost");
    };
    assert_eq!(changes.outpost_type, Some(ProviderKind::Ldap));
    assert_eq!(changes.providers, Some(vec![3]));
    assert_eq!(changes.service_connection, Some(None));
    assert_eq!(changes.config, Some(json!({})));
    let error = write::prepare(Kind::Outpost, &map(json!({"config": []}))).unwrap_err();
    assert!(error.starts_with("config: "), "{error}");
}

#[test]
fn keypair_keys_and_kubeconfigs_are_taken_apart_and_never_shown() {
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nkey-nobody-sees\n-----END PRIVATE KEY-----\n";
    let data = map(json!({
        "name": "edge-tls",
        "certificate_data": "CERTIFICATE",
        "key_data": KEY,
        "fingerprint_sha256": "ignored",
    }));
    let prepared = write::prepare(Kind::CertificateKeyPair, &data).unwrap();
    assert!(
        !format!("{prepared:?}").contains("nobody-sees"),
        "{prepared:?}"
    );
    let Prepared::CertificateKeyPair { changes, key_data } = prepared else {
        panic!("a keypair");
    };
    assert_eq!(changes.name.as_deref(), Some("edge-tls"));
    assert_eq!(changes.certificate_data.as_deref(), Some("CERTIFICATE"));
    assert_eq!(
        changes.key_data, None,
        "set by the adapter when it is written"
    );
    assert_eq!(key_data.as_ref().map(|key| key.expose()), Some(KEY));
    // Both PEMs are the adapter's to compare.
    let changes = write::changed_fields(Kind::CertificateKeyPair, None, &data);
    assert!(
        changes.iter().all(|change| change.field == "name"),
        "{changes:?}"
    );
    let identifiers = BpValue::from_json(&json!({"name": "edge-tls", "key_data": KEY}));
    assert_eq!(
        Value::Object(shown_identifiers(Kind::CertificateKeyPair, &identifiers)),
        json!({"name": "edge-tls", "key_data": "(hidden)"})
    );

    let kubernetes = Kind::KubernetesConnection;
    let data = map(json!({
        "name": "cluster",
        "verify_ssl": false,
        "kubeconfig": {"users": [{"name": "u", "user": {"token": "kube-token-nobody-sees"}}]},
    }));
    let prepared = write::prepare(kubernetes, &data).unwrap();
    assert!(
        !format!("{prepared:?}").contains("nobody-sees"),
        "{prepared:?}"
    );
    let Prepared::ServiceConnection {
        kind,
        changes,
        kubeconfig,
    } = prepared
    else {
        panic!("a service connection");
    };
    assert_eq!(kind, ServiceConnectionKind::Kubernetes);
    assert_eq!(changes.verify_ssl, Some(false));
    assert_eq!(
        changes.kubeconfig, None,
        "set by the adapter when it is written"
    );
    assert!(kubeconfig.is_some());
    let changes = write::changed_fields(kubernetes, None, &data);
    assert!(
        !serde_json::to_string(&changes)
            .unwrap()
            .contains("nobody-sees")
    );
    let error = write::prepare(
        kubernetes,
        &map(json!({"kubeconfig": "token: kube-token-nobody-sees"})),
    )
    .unwrap_err();
    assert_eq!(error, "kubeconfig: Expected a dictionary of items.");
    // Each kind of connection takes its own fields only.
    let error = write::prepare(kubernetes, &map(json!({"url": "tcp://docker:2376"}))).unwrap_err();
    assert!(error.starts_with("url: "), "{error}");
    let error =
        write::prepare(Kind::DockerConnection, &map(json!({"kubeconfig": {}}))).unwrap_err();
    assert!(error.starts_with("kubeconfig: "), "{error}");
}

// Runs against a store ------------------------------------------------------------------------

/// Services on a SQLite database of their own, deleted when dropped: the entries go through
/// the real cores (validation, permissions, audit events, outpost rebuilds).
struct TestStore {
    services: Services,
    path: std::path::PathBuf,
}

impl TestStore {
    async fn new() -> TestStore {
        let path = std::env::temp_dir().join(format!("garrison-bp-unit-{}.db", Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let store = garrison_store::Store::connect(&url)
            .await
            .expect("a SQLite store");
        store.migrate().await.expect("migrations");
        let services = Services::new(
            store,
            garrison_bus::Bus::in_process(),
            SecretBox::from_passphrase("blueprint unit tests"),
            ServiceSettings::default(),
        );
        TestStore { services, path }
    }

    async fn run(&self, mode: Mode, text: &str) -> Outcome {
        let blueprint = parse(text, &Limits::default()).unwrap_or_else(|error| panic!("{error}"));
        self.services
            .run_blueprint(mode, &Caller::cli(), &blueprint, &RunOptions::default())
            .await
            .expect("no infrastructure failure")
    }

    async fn apply(&self, text: &str) -> Outcome {
        self.run(Mode::Apply, text).await
    }

    async fn plan(&self, text: &str) -> Outcome {
        self.run(Mode::Plan, text).await
    }

    async fn event_count(&self) -> u64 {
        self.services
            .list_events(&Caller::cli(), &Default::default(), Default::default())
            .await
            .expect("events")
            .count
    }

    /// Applies `text` again: every entry is unchanged, and nothing is written or audited.
    async fn assert_reapply_changes_nothing(&self, text: &str) {
        let events = self.event_count().await;
        let again = self.apply(text).await;
        succeeded(&again);
        assert!(!again.changed, "{again:?}");
        assert!(
            again
                .entries
                .iter()
                .all(|entry| entry.action == Action::Unchanged),
            "{again:?}"
        );
        assert_eq!(self.event_count().await, events, "no audit event");
    }

    /// How many groups a search for `text` finds.
    async fn groups_matching(&self, text: &str) -> u64 {
        let query = ListQuery {
            search: Some(text.into()),
            ..Default::default()
        };
        self.services
            .list_groups(&Caller::cli(), &query, Default::default())
            .await
            .expect("groups")
            .count
    }

    async fn provider(&self, name: &str) -> Provider {
        let filter = ProviderFilter {
            name: Some(name.into()),
            ..Default::default()
        };
        self.services
            .list_providers(&Caller::cli(), &ListQuery::default(), filter)
            .await
            .expect("providers")
            .items
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("provider {name}"))
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

fn succeeded(outcome: &Outcome) {
    assert!(outcome.succeeded(), "{:?}", outcome.failure);
}

fn entry_actions(outcome: &Outcome) -> Vec<&Action> {
    outcome.entries.iter().map(|entry| &entry.action).collect()
}

fn created_fields(outcome: &Outcome, index: usize) -> &[FieldChange] {
    match &outcome.entries[index].action {
        Action::Created { fields } => fields.as_slice(),
        other => panic!("entry {index} was not created: {other:?}"),
    }
}

fn updated_fields(outcome: &Outcome, index: usize) -> &[FieldChange] {
    match &outcome.entries[index].action {
        Action::Updated { fields } => fields.as_slice(),
        other => panic!("entry {index} was not updated: {other:?}"),
    }
}

fn failure_message(outcome: &Outcome) -> &str {
    &outcome.failure.as_ref().expect("the run failed").message
}

fn hidden(field: &str, old: Value) -> FieldChange {
    FieldChange {
        field: field.into(),
        old,
        new: json!("(hidden)"),
    }
}

/// A YAML string holding `text` exactly (JSON's double-quoted strings are YAML's).
fn quoted(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A blueprint of one entry: the object of `model` named `name`, in `state`, with `attrs`.
fn one_entry(model: &str, name: &str, state: &str, attrs: &[(&str, &str)]) -> String {
    let mut text = format!(
        "version: 1\nentries:\n  - model: {model}\n    state: {state}\n    identifiers:\n      \
         name: {name}\n"
    );
    if attrs.is_empty() {
        text.push_str("    attrs: {}\n");
    } else {
        text.push_str("    attrs:\n");
        for (key, value) in attrs {
            text.push_str(&format!("      {key}: {}\n", quoted(value)));
        }
    }
    text
}

/// A fresh self-signed pair (ECDSA: quick to make).
fn keypair(common_name: &str) -> garrison_pki::GeneratedPair {
    garrison_pki::generate(&garrison_pki::GenerateRequest {
        common_name: common_name.into(),
        subject_alt_names: vec![],
        validity_days: 30,
        algorithm: garrison_pki::KeyAlgorithm::Ecdsa,
    })
    .expect("a generated pair")
}

/// The first line of a PEM's body: what must never appear in an outcome for a key.
fn pem_body(pem: &str) -> &str {
    pem.lines().nth(1).expect("a PEM body")
}

#[tokio::test]
async fn providers_of_each_kind_are_created_kept_changed_refused_and_deleted() {
    let store = TestStore::new().await;
    // Per model: the attrs it is created with, and the one field a second blueprint changes
    // (field, old, new).
    let cases: [(&str, &[(&str, &str)], (&str, &str, &str)); 4] = [
        (
            "authentik_providers_proxy.proxyprovider",
            &[
                ("external_host", "https://app.example.com"),
                ("internal_host", "http://app.internal:8080"),
            ],
            (
                "external_host",
                "https://app.example.com",
                "https://new.example.com",
            ),
        ),
        (
            "authentik_providers_ldap.ldapprovider",
            &[("base_dn", "DC=example,DC=com")],
            ("base_dn", "DC=example,DC=com", "DC=example,DC=org"),
        ),
        (
            "authentik_providers_radius.radiusprovider",
            &[("client_networks", "10.0.0.0/8")],
            ("client_networks", "10.0.0.0/8", "192.168.0.0/16"),
        ),
        (
            "authentik_providers_rac.racprovider",
            &[("connection_expiry", "hours=4")],
            ("connection_expiry", "hours=4", "hours=2"),
        ),
    ];
    for (model, attrs, (field, old, new)) in cases {
        let name = format!("bp-{}", model.replace('.', "-"));
        let text = one_entry(model, &name, "present", attrs);
        let created = store.apply(&text).await;
        succeeded(&created);
        let fields = created_fields(&created, 0);
        assert!(
            fields.contains(&FieldChange {
                field: field.into(),
                old: Value::Null,
                new: json!(old),
            }),
            "{model}: {fields:?}"
        );
        assert_eq!(store.provider(&name).await.kind.model().qualified(), model);

        store.assert_reapply_changes_nothing(&text).await;

        let changed_attrs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|&(key, value)| {
                if key == field {
                    (key, new)
                } else {
                    (key, value)
                }
            })
            .collect();
        let changed = store
            .apply(&one_entry(model, &name, "present", &changed_attrs))
            .await;
        succeeded(&changed);
        assert_eq!(
            updated_fields(&changed, 0),
            [FieldChange {
                field: field.into(),
                old: json!(old),
                new: json!(new),
            }],
            "{model}"
        );

        let mut misspelt = changed_attrs.clone();
        misspelt.push(("externl_host", "https://typo.example.com"));
        let refused = store
            .apply(&one_entry(model, &name, "present", &misspelt))
            .await;
        let message = failure_message(&refused);
        assert!(message.contains("externl_host: "), "{model}: {message}");
        assert!(message.contains("writable: name, "), "{model}: {message}");

        let deleted = store.apply(&one_entry(model, &name, "absent", &[])).await;
        succeeded(&deleted);
        assert_eq!(entry_actions(&deleted), [&Action::Deleted], "{model}");
        let gone = store.plan(&one_entry(model, &name, "absent", &[])).await;
        assert!(
            matches!(gone.entries[0].action, Action::Skipped { .. }),
            "{gone:?}"
        );
    }
}

#[tokio::test]
async fn radius_shared_secrets_are_compared_and_never_shown() {
    const FIRST: &str = "radius-secret-first-0123456789";
    const SECOND: &str = "radius-secret-second-0123456789";
    let store = TestStore::new().await;
    let model = "authentik_providers_radius.radiusprovider";
    let with_secret = |secret: &str| {
        one_entry(
            model,
            "bp-radius",
            "present",
            &[("client_networks", "10.0.0.0/8"), ("shared_secret", secret)],
        )
    };

    let planned = store.plan(&with_secret(FIRST)).await;
    succeeded(&planned);
    assert!(
        created_fields(&planned, 0).contains(&hidden("shared_secret", Value::Null)),
        "{planned:?}"
    );
    let shown = serde_json::to_string(&planned).unwrap();
    assert!(!shown.contains(FIRST), "{shown}");

    succeeded(&store.apply(&with_secret(FIRST)).await);
    store
        .assert_reapply_changes_nothing(&with_secret(FIRST))
        .await;

    let changed = store.apply(&with_secret(SECOND)).await;
    succeeded(&changed);
    assert_eq!(
        updated_fields(&changed, 0),
        [hidden("shared_secret", json!("(hidden)"))]
    );
    let shown = serde_json::to_string(&changed).unwrap();
    assert!(!shown.contains(FIRST) && !shown.contains(SECOND), "{shown}");
    let provider = store.provider("bp-radius").await;
    assert_eq!(provider.settings.to_map()["shared_secret"], json!(SECOND));
}

const OUTPOST_BLUEPRINT: &str = r#"version: 1
entries:
  - model: authentik_providers_proxy.proxyprovider
    id: provider
    identifiers:
      name: bp-outpost-provider
    attrs:
      external_host: https://app.example.com
      internal_host: http://app.internal:8080
  - model: authentik_outposts.outpost
    identifiers:
      name: bp-outpost
    attrs:
      type: proxy
      providers: [!KeyOf provider]
      config:
        authentik_host: https://id.example.com
        LOG_LEVEL
"#;

#[tokio::test]
async fn outposts_are_created_kept_changed_refused_and_deleted() {
    let store = TestStore::new().await;
    let text = OUTPOST_BLUEPRINT.replace("LOG_LEVEL", "log_level: info");
    let created = store.apply(&text).await;
    succeeded(&created);
    let provider = store.provider("bp-outpost-provider").await;
    let fields = created_fields(&created, 1);
    assert!(
        fields.contains(&FieldChange {
            field: "providers".into(),
            old: Value::Null,
            new: json!([provider.pk]),
        }),
        "{fields:?}"
    );
    assert!(
        fields.contains(&FieldChange {
            field: "type".into(),
            old: Value::Null,
            new: json!("proxy"),
        }),
        "{fields:?}"
    );

    store.assert_reapply_changes_nothing(&text).await;
    // A default spelled out configures the same outpost: still nothing to write.
    let spelled = OUTPOST_BLUEPRINT.replace(
        "LOG_LEVEL",
        "log_level: info\n        kubernetes_replicas: 1",
    );
    store.assert_reapply_changes_nothing(&spelled).await;

    let changed = store
        .apply(&OUTPOST_BLUEPRINT.replace("LOG_LEVEL", "log_level: debug"))
        .await;
    succeeded(&changed);
    assert_eq!(entry_actions(&changed)[0], &Action::Unchanged);
    let fields = updated_fields(&changed, 1);
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].field, "config");
    assert_eq!(fields[0].old["log_level"], json!("info"));
    assert_eq!(fields[0].new["log_level"], json!("debug"));

    let misspelt = OUTPOST_BLUEPRINT.replace(
        "LOG_LEVEL",
        "log_level: debug\n      servce_connection: null",
    );
    let refused = store.apply(&misspelt).await;
    let message = failure_message(&refused);
    assert!(message.contains("servce_connection: "), "{message}");

    let absent = one_entry("authentik_outposts.outpost", "bp-outpost", "absent", &[]);
    let deleted = store.apply(&absent).await;
    succeeded(&deleted);
    assert_eq!(entry_actions(&deleted), [&Action::Deleted]);
    let gone = store.plan(&absent).await;
    assert!(
        matches!(gone.entries[0].action, Action::Skipped { .. }),
        "{gone:?}"
    );
}

/// The keypair `bp-keypair` with `certificate` and, when given, `key`.
fn keypair_blueprint(state: &str, certificate: &str, key: Option<&str>) -> String {
    let mut text = format!(
        "version: 1\nentries:\n  - model: authentik_crypto.certificatekeypair\n    state: \
         {state}\n    identifiers:\n      name: bp-keypair\n    attrs:\n      certificate_data: \
         {}\n",
        quoted(certificate)
    );
    if let Some(key) = key {
        text.push_str(&format!("      key_data: {}\n", quoted(key)));
    }
    text
}

#[tokio::test]
async fn keypairs_are_created_kept_changed_refused_and_deleted_and_keys_never_shown() {
    let store = TestStore::new().await;
    let first = keypair("first.example.com");
    let second = keypair("second.example.com");
    let text = keypair_blueprint(
        "present",
        &first.certificate_pem,
        Some(first.private_key_pem.as_str()),
    );

    let planned = store.plan(&text).await;
    succeeded(&planned);
    let fields = created_fields(&planned, 0);
    assert!(
        fields.contains(&FieldChange {
            field: "certificate_data".into(),
            old: Value::Null,
            new: json!(first.certificate_pem),
        }),
        "the certificate is public: {fields:?}"
    );
    assert!(
        fields.contains(&hidden("key_data", Value::Null)),
        "{fields:?}"
    );
    let shown = serde_json::to_string(&planned).unwrap();
    assert!(!shown.contains(pem_body(&first.private_key_pem)), "{shown}");

    succeeded(&store.apply(&text).await);
    // The same key again: compared without opening the sealed one, nothing written.
    store.assert_reapply_changes_nothing(&text).await;
    // An empty key leaves the key as it is, as in the API's form.
    store
        .assert_reapply_changes_nothing(&keypair_blueprint(
            "present",
            &first.certificate_pem,
            Some(""),
        ))
        .await;

    let renewed = keypair_blueprint(
        "present",
        &second.certificate_pem,
        Some(second.private_key_pem.as_str()),
    );
    let changed = store.apply(&renewed).await;
    succeeded(&changed);
    assert_eq!(
        updated_fields(&changed, 0),
        [
            FieldChange {
                field: "certificate_data".into(),
                old: json!(first.certificate_pem),
                new: json!(second.certificate_pem),
            },
            hidden("key_data", json!("(hidden)")),
        ]
    );
    let shown = serde_json::to_string(&changed).unwrap();
    assert!(!shown.contains(pem_body(&first.private_key_pem)), "{shown}");
    assert!(
        !shown.contains(pem_body(&second.private_key_pem)),
        "{shown}"
    );
    store.assert_reapply_changes_nothing(&renewed).await;
    let pair = store
        .services
        .list_certificates(
            &Caller::cli(),
            &ListQuery::default(),
            CertificateFilter {
                name: Some("bp-keypair".into()),
                ..Default::default()
            },
        )
        .await
        .expect("keypairs")
        .items
        .into_iter()
        .next()
        .expect("the keypair");
    assert!(
        pair.private_key_available,
        "the new key went with the new certificate"
    );
    assert!(
        pair.cert_subject.contains("second.example.com"),
        "{}",
        pair.cert_subject
    );

    let misspelt = format!("{renewed}      key_dat: x\n");
    let message = failure_message(&store.apply(&misspelt).await).to_owned();
    assert!(message.contains("key_dat: "), "{message}");
    assert!(
        !message.contains(pem_body(&second.private_key_pem)),
        "{message}"
    );

    let absent = one_entry(
        "authentik_crypto.certificatekeypair",
        "bp-keypair",
        "absent",
        &[],
    );
    let deleted = store.apply(&absent).await;
    succeeded(&deleted);
    assert_eq!(entry_actions(&deleted), [&Action::Deleted]);
}

/// The Kubernetes connection `bp-kubernetes`, its kubeconfig's user holding `token`.
fn kubernetes_blueprint(state: &str, token: &str, verify_ssl: bool) -> String {
    format!(
        r#"version: 1
entries:
  - model: authentik_outposts.kubernetesserviceconnection
    state: {state}
    identifiers:
      name: bp-kubernetes
    attrs:
      verify_ssl: {verify_ssl}
      kubeconfig:
        apiVersion: v1
        clusters:
          - name: c
            cluster:
              server: https://127.0.0.1:6443
        contexts:
          - name: ctx
            context:
              cluster: c
              user: u
        users:
          - name: u
            user:
              token: {token}
        current-context: ctx
"#
    )
}

#[tokio::test]
async fn service_connections_are_created_kept_changed_refused_and_deleted() {
    let store = TestStore::new().await;
    let docker = "authentik_outposts.dockerserviceconnection";
    let at = |state: &str, url: &str| one_entry(docker, "bp-docker", state, &[("url", url)]);
    succeeded(
        &store
            .apply(&at("present", "unix:///var/run/docker.sock"))
            .await,
    );
    store
        .assert_reapply_changes_nothing(&at("present", "unix:///var/run/docker.sock"))
        .await;
    let changed = store
        .apply(&at("present", "tcp://docker.example.com:2376"))
        .await;
    succeeded(&changed);
    assert_eq!(
        updated_fields(&changed, 0),
        [FieldChange {
            field: "url".into(),
            old: json!("unix:///var/run/docker.sock"),
            new: json!("tcp://docker.example.com:2376"),
        }]
    );
    // A Kubernetes connection's field is not a Docker connection's.
    let refused = store
        .apply(&one_entry(
            docker,
            "bp-docker",
            "present",
            &[("verify_ssl", "false")],
        ))
        .await;
    let message = failure_message(&refused);
    assert!(message.contains("verify_ssl: "), "{message}");
    let deleted = store.apply(&at("absent", "")).await;
    succeeded(&deleted);
    assert_eq!(entry_actions(&deleted), [&Action::Deleted]);

    const FIRST: &str = "kube-token-first-0123456789";
    const SECOND: &str = "kube-token-second-0123456789";
    let planned = store
        .plan(&kubernetes_blueprint("present", FIRST, true))
        .await;
    succeeded(&planned);
    assert!(
        created_fields(&planned, 0).contains(&hidden("kubeconfig", Value::Null)),
        "{planned:?}"
    );
    let shown = serde_json::to_string(&planned).unwrap();
    assert!(!shown.contains(FIRST), "{shown}");
    succeeded(
        &store
            .apply(&kubernetes_blueprint("present", FIRST, true))
            .await,
    );
    store
        .assert_reapply_changes_nothing(&kubernetes_blueprint("present", FIRST, true))
        .await;

    let changed = store
        .apply(&kubernetes_blueprint("present", SECOND, true))
        .await;
    succeeded(&changed);
    assert_eq!(
        updated_fields(&changed, 0),
        [hidden("kubeconfig", json!("(hidden)"))]
    );
    let shown = serde_json::to_string(&changed).unwrap();
    assert!(!shown.contains(FIRST) && !shown.contains(SECOND), "{shown}");

    let changed = store
        .apply(&kubernetes_blueprint("present", SECOND, false))
        .await;
    succeeded(&changed);
    assert_eq!(
        updated_fields(&changed, 0),
        [FieldChange {
            field: "verify_ssl".into(),
            old: json!(true),
            new: json!(false),
        }]
    );

    let deleted = store
        .apply(&kubernetes_blueprint("absent", SECOND, false))
        .await;
    succeeded(&deleted);
    assert_eq!(entry_actions(&deleted), [&Action::Deleted]);
}

#[tokio::test]
async fn a_keypair_provider_application_and_outpost_chain_applies_and_then_plans_nothing() {
    let store = TestStore::new().await;
    let pair = keypair("chain.example.com");
    let text = format!(
        r#"version: 1
entries:
  - model: authentik_crypto.certificatekeypair
    id: keypair
    identifiers:
      name: bp-chain-keypair
    attrs:
      certificate_data: {certificate}
      key_data: {key}
  - model: authentik_providers_proxy.proxyprovider
    id: provider
    identifiers:
      name: bp-chain-provider
    attrs:
      external_host: https://chain.example.com
      internal_host: http://chain.internal:8080
      certificate: !KeyOf keypair
  - model: authentik_core.application
    identifiers:
      slug: bp-chain
    attrs:
      name: Chain
      provider: !KeyOf provider
  - model: authentik_outposts.outpost
    identifiers:
      name: bp-chain-outpost
    attrs:
      type: proxy
      providers: [!KeyOf provider]
      config:
        authentik_host: https://id.example.com
"#,
        certificate = quoted(&pair.certificate_pem),
        key = quoted(&pair.private_key_pem),
    );

    let applied = store.apply(&text).await;
    succeeded(&applied);
    assert_eq!(applied.entries.len(), 4);
    assert!(
        applied
            .entries
            .iter()
            .all(|entry| matches!(entry.action, Action::Created { .. })),
        "{applied:?}"
    );

    // Every link is the object the entry before made.
    let certificate = store
        .services
        .list_certificates(
            &Caller::cli(),
            &ListQuery::default(),
            CertificateFilter {
                name: Some("bp-chain-keypair".into()),
                ..Default::default()
            },
        )
        .await
        .expect("keypairs")
        .items
        .into_iter()
        .next()
        .expect("the keypair");
    let provider = store.provider("bp-chain-provider").await;
    assert_eq!(provider.certificate, Some(certificate.pk));
    let application = store
        .services
        .get_application(&Caller::cli(), "bp-chain")
        .await
        .expect("the application");
    assert_eq!(application.provider, Some(provider.pk));
    let outpost = store
        .services
        .list_outposts(
            &Caller::cli(),
            &ListQuery::default(),
            OutpostFilter {
                name_iexact: Some("bp-chain-outpost".into()),
                ..Default::default()
            },
        )
        .await
        .expect("outposts")
        .items
        .into_iter()
        .next()
        .expect("the outpost");
    assert_eq!(outpost.providers, [provider.pk]);

    // Planned again: nothing to do.
    let planned = store.plan(&text).await;
    succeeded(&planned);
    assert!(!planned.changed, "{planned:?}");
    assert_eq!(entry_actions(&planned), [&Action::Unchanged; 4]);
    let shown = serde_json::to_string(&planned).unwrap();
    assert!(!shown.contains(pem_body(&pair.private_key_pem)), "{shown}");
    assert_eq!(
        planned.outposts,
        [],
        "an unchanged provider updates no outpost"
    );
    let chain_outpost = [OutpostUpdate {
        pk: outpost.pk,
        name: "bp-chain-outpost".into(),
    }];
    assert_eq!(
        applied.outposts, chain_outpost,
        "the new outpost gets its configuration"
    );

    // A change to the provider the outpost serves is planned with the outpost it reaches, and
    // only planned: the provider keeps its host.
    let moved = one_entry(
        "authentik_providers_proxy.proxyprovider",
        "bp-chain-provider",
        "present",
        &[("external_host", "https://moved.example.com")],
    );
    let planned = store.plan(&moved).await;
    succeeded(&planned);
    assert_eq!(planned.outposts, chain_outpost, "{planned:?}");
    assert_eq!(planned.outposts_not_shown, 0);
    assert_eq!(planned.outposts_text().as_deref(), Some("bp-chain-outpost"));
    assert_eq!(
        store.provider("bp-chain-provider").await.settings.to_map()["external_host"],
        json!("https://chain.example.com")
    );
    // A run that fails sends nothing, so it names no outpost.
    let failing = format!(
        "{moved}  - model: authentik_core.group\n    state: must_created\n    identifiers:\n      \
         name: bp-chain-clash\n  - model: authentik_core.group\n    state: must_created\n    \
         identifiers:\n      name: bp-chain-clash\n"
    );
    let failed = store.plan(&failing).await;
    assert!(failed.failure.is_some(), "{failed:?}");
    assert_eq!(failed.outposts, []);
}

/// The progress hook hears of every entry once, in order, ending at the blueprint's total, in
/// a plan and in an apply alike; and it changes nothing: a plan with it is a plan without it.
#[tokio::test]
async fn the_progress_hook_counts_every_entry_up_to_the_total() {
    use std::sync::{Arc, Mutex};

    let store = TestStore::new().await;
    let mut text = String::from("version: 1\nentries:\n");
    // More than two batches of plain groups (see `batch`): the hook still hears of each entry.
    for n in 0..1_060 {
        text.push_str(&format!(
            "  - model: authentik_core.group\n    identifiers:\n      name: bp-progress-{n}\n    \
             attrs:\n      attributes:\n        n: {n}\n"
        ));
    }
    // A skipped entry is processed too, and counts.
    text.push_str(
        "  - model: authentik_core.group\n    conditions:\n      - false\n    identifiers:\n      \
         name: bp-progress-never\n",
    );
    let blueprint = parse(&text, &Limits::default()).unwrap_or_else(|error| panic!("{error}"));
    let total = blueprint.entries.len();
    assert_eq!(total, 1_061);
    let expected: Vec<RunProgress> = (1..=total)
        .map(|done| RunProgress { done, total })
        .collect();

    let heard: Arc<Mutex<Vec<RunProgress>>> = Arc::default();
    let options = RunOptions {
        progress: Some(Arc::new({
            let heard = heard.clone();
            move |progress: RunProgress| heard.lock().expect("not poisoned").push(progress)
        })),
        ..RunOptions::default()
    };

    let planned = store
        .services
        .plan_blueprint(&Caller::cli(), &blueprint, &options)
        .await
        .expect("no infrastructure failure");
    succeeded(&planned);
    assert_eq!(*heard.lock().expect("not poisoned"), expected);
    assert_eq!(planned, store.plan(&text).await, "the hook changes nothing");

    heard.lock().expect("not poisoned").clear();
    let applied = store
        .services
        .apply_blueprint(&Caller::cli(), &blueprint, &options)
        .await
        .expect("no infrastructure failure");
    succeeded(&applied);
    assert_eq!(applied.entries.len(), total);
    assert!(matches!(
        applied.entries[total - 1].action,
        Action::Skipped { .. }
    ));
    assert_eq!(*heard.lock().expect("not poisoned"), expected);
    assert_eq!(
        store.groups_matching("bp-progress-").await,
        1_060,
        "every group was created"
    );
}

/// JSON, in which Garrison stores data, has no infinity or NaN: a blueprint that writes one is
/// refused where the float is, in a plan and in an apply, and nothing of it is written (rather
/// than the float silently stored as `null`).
#[tokio::test]
async fn a_float_json_cannot_hold_is_refused_where_it_is() {
    let store = TestStore::new().await;
    let text = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
                name: bp-finite-first\n  - model: authentik_core.group\n    identifiers:\n      \
                name: bp-finite-second\n    attrs:\n      attributes:\n        \
                limits: {soft: 1.5, hard: [10, -.inf]}\n";
    for outcome in [store.plan(text).await, store.apply(text).await] {
        let failure = outcome.failure.as_ref().expect("refused");
        assert_eq!(failure.index, 1, "{failure:?}");
        assert!(
            failure
                .message
                .contains("`attrs.attributes.limits.hard[1]`: -.inf cannot be stored"),
            "{failure:?}"
        );
    }
    assert_eq!(
        store.groups_matching("bp-finite-").await,
        0,
        "nothing of the blueprint was written"
    );
    let nan_identifier = one_entry("authentik_core.group", ".nan", "present", &[]);
    let refused = store.plan(&nan_identifier).await;
    assert!(
        failure_message(&refused).contains("`identifiers.name`: .nan cannot be stored"),
        "{refused:?}"
    );
}
