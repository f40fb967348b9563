//! The engine's pure parts: model names, states, lookups, data conversion, comparison, files,
//! context. (Runs against the store are in the integration suite, `tests/suite/blueprints.rs`.)
use garrison_blueprint::{Limits, NodeValue, Value as BpValue, parse};
use garrison_model::{
    Application, Brand, Group, PolicyEngineMode, Role, Token, TokenIntent, User, UserType,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::lookup::{self, Cond, Op};
use super::registry::{Kind, Object};
use super::scope;
use super::write::{self, Prepared};
use super::*;
use crate::authz::Caller;

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

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
        Err("metaapplyblueprint is not supported yet".to_owned())
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
