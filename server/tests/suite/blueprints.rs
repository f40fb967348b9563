//! Blueprints applied and planned through the services, on both stores: one transaction per
//! run, every entry through the API's own cores (validation, permissions, audit events).
use crate::common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use garrison_blueprint::{Blueprint, Limits, parse};
use garrison_model::{Group, GroupChanges, Role, RoleChanges, TokenIntent, User};
use garrison_services::blueprints::{Action, FieldChange, Outcome, RunOptions};
use garrison_services::{Caller, GroupFilter, UserFilter, Via};
use serde_json::json;

fn blueprint(text: &str) -> Blueprint {
    parse(text, &Limits::default()).unwrap_or_else(|error| panic!("{error}"))
}

/// The 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let index = text
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} is in the blueprint"));
    u32::try_from(index + 1).unwrap()
}

async fn group(env: &common::Env, name: &str) -> Option<Group> {
    env.services
        .list_groups(
            &Caller::cli(),
            &Default::default(),
            GroupFilter {
                name: Some(name.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
}

async fn role(env: &common::Env, name: &str) -> Option<Role> {
    let query = garrison_model::ListQuery {
        search: Some(name.into()),
        ..Default::default()
    };
    env.services
        .list_roles(&Caller::cli(), &query)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|role| role.name == name)
}

async fn user(env: &common::Env, username: &str) -> Option<User> {
    env.services
        .list_users(
            &Caller::cli(),
            &Default::default(),
            UserFilter {
                username: Some(username.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
}

async fn event_count(env: &common::Env) -> u64 {
    env.services
        .list_events(&Caller::cli(), &Default::default(), Default::default())
        .await
        .unwrap()
        .count
}

async fn apply(env: &common::Env, caller: &Caller, text: &str) -> Outcome {
    env.services
        .apply_blueprint(caller, &blueprint(text), &RunOptions::default())
        .await
        .expect("no infrastructure failure")
}

fn actions(outcome: &Outcome) -> Vec<&Action> {
    outcome.entries.iter().map(|entry| &entry.action).collect()
}

const LINKED: &str = r#"version: 1
metadata:
  name: linked objects
entries:
  - model: authentik_rbac.role
    id: viewers
    identifiers:
      name: bp-viewers
    attrs:
      permissions:
        - authentik_core.view_user
        - authentik_core.view_group
  - model: authentik_core.group
    id: parent
    identifiers:
      name: bp-parent
  - model: authentik_core.group
    identifiers:
      name: bp-staff
    attrs:
      parents: [!KeyOf parent]
      roles: [!KeyOf viewers]
      attributes:
        team: blue
  - model: authentik_core.user
    identifiers:
      username: bp-alice
    attrs:
      name: Alice
      email: alice@example.com
      groups:
        - !Find [authentik_core.group, [name, bp-staff]]
      password: alice-secret-123
"#;

both_stores!(
    apply_creates_linked_objects_and_a_reapply_changes_nothing,
    |env: common::Env| async move {
        let system = Caller::cli();
        let outcome = apply(&env, &system, LINKED).await;
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        assert!(outcome.changed);
        assert_eq!(outcome.entries.len(), 4);
        assert!(
            outcome
                .entries
                .iter()
                .all(|entry| matches!(entry.action, Action::Created { .. })),
            "{outcome:?}"
        );
        assert_eq!(outcome.entries[3].model, "authentik_core.user");

        let viewers = role(&env, "bp-viewers").await.expect("role created");
        assert_eq!(
            viewers.permissions,
            ["authentik_core.view_group", "authentik_core.view_user"]
        );
        let parent = group(&env, "bp-parent").await.expect("parent created");
        let staff = group(&env, "bp-staff").await.expect("group created");
        assert_eq!(staff.parents, [parent.pk], "!KeyOf gave the parent");
        assert_eq!(staff.roles, [viewers.pk], "!KeyOf gave the role");
        assert_eq!(staff.attributes["team"], json!("blue"));
        let alice = user(&env, "bp-alice").await.expect("user created");
        assert_eq!(alice.groups, [staff.pk], "!Find found the group");
        assert_eq!(alice.email, "alice@example.com");
        assert!(
            env.services
                .login("bp-alice", "alice-secret-123", None, "test")
                .await
                .is_ok(),
            "the blueprint's password works"
        );

        // The same blueprint again: everything is already so; nothing is written or audited.
        let events = event_count(&env).await;
        let again = apply(&env, &system, LINKED).await;
        assert!(again.succeeded(), "{:?}", again.failure);
        assert!(!again.changed);
        assert_eq!(
            actions(&again),
            [&Action::Unchanged; 4],
            "every entry unchanged: {again:?}"
        );
        assert_eq!(event_count(&env).await, events, "no audit event");
    }
);

const FAILS_LAST: &str = r#"version: 1
entries:
  - model: authentik_rbac.role
    identifiers:
      name: bp-doomed-role
  - model: authentik_core.group
    identifiers:
      name: bp-doomed-group
  - model: authentik_core.user
    identifiers:
      username: bp-doomed-user
    attrs:
      email: not an email
"#;

const UNKNOWN_LAST: &str = r#"version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: bp-doomed-group
  - model: authentik_flows.flow
    conditions:
      - false
    identifiers:
      slug: some-flow
"#;

both_stores!(
    a_failing_last_entry_leaves_the_store_unchanged,
    |env: common::Env| async move {
        let system = Caller::cli();
        let events = event_count(&env).await;

        let outcome = apply(&env, &system, FAILS_LAST).await;
        let failure = outcome.failure.clone().expect("the user entry fails");
        assert_eq!(failure.index, 2);
        assert_eq!(failure.line, line_of(FAILS_LAST, "authentik_core.user"));
        assert_eq!(failure.model, "authentik_core.user");
        assert_eq!(failure.identifiers["username"], json!("bp-doomed-user"));
        assert!(
            failure.message.starts_with(&format!(
                "entry 3 (line {}) authentik_core.user {{username: bp-doomed-user}}: email:",
                failure.line
            )),
            "{}",
            failure.message
        );
        assert_eq!(outcome.entries.len(), 2, "the entries before it ran");
        assert!(group(&env, "bp-doomed-group").await.is_none());
        assert!(role(&env, "bp-doomed-role").await.is_none());
        assert!(user(&env, "bp-doomed-user").await.is_none());

        // An unknown model fails the blueprint even when its entry's conditions are false.
        let outcome = apply(&env, &system, UNKNOWN_LAST).await;
        let failure = outcome.failure.expect("the unknown model fails");
        assert_eq!(failure.index, 1);
        assert_eq!(failure.line, line_of(UNKNOWN_LAST, "authentik_flows.flow"));
        assert_eq!(failure.model, "authentik_flows.flow");
        assert!(
            failure
                .message
                .contains("model `authentik_flows.flow` is not one Garrison implements"),
            "{}",
            failure.message
        );
        assert!(group(&env, "bp-doomed-group").await.is_none());
        assert_eq!(event_count(&env).await, events, "nothing audited either");
    }
);

const PLANNED: &str = r#"version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: bp-existing
    attrs:
      attributes:
        level: 2
  - model: authentik_core.group
    identifiers:
      name: bp-new
    attrs:
      is_superuser: false
"#;

both_stores!(
    a_plan_reports_changes_and_writes_nothing,
    |env: common::Env| async move {
        let system = Caller::cli();
        let existing = env
            .services
            .create_group(
                &system,
                GroupChanges {
                    name: Some("bp-existing".into()),
                    attributes: Some(json!({"level": 1}).as_object().unwrap().clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let events = event_count(&env).await;

        let outcome = env
            .services
            .plan_blueprint(&system, &blueprint(PLANNED), &RunOptions::default())
            .await
            .unwrap();
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        assert!(outcome.changed);
        assert_eq!(
            outcome.entries[0].action,
            Action::Updated {
                fields: vec![FieldChange {
                    field: "attributes".into(),
                    old: json!({"level": 1}),
                    new: json!({"level": 2}),
                }]
            }
        );
        let Action::Created { fields } = &outcome.entries[1].action else {
            panic!("bp-new would be created: {outcome:?}");
        };
        assert!(fields.contains(&FieldChange {
            field: "name".into(),
            old: json!(null),
            new: json!("bp-new"),
        }));
        assert!(fields.iter().any(|field| field.field == "is_superuser"));

        assert!(group(&env, "bp-new").await.is_none(), "nothing created");
        let after = group(&env, "bp-existing").await.unwrap();
        assert_eq!(after.attributes, existing.attributes, "nothing changed");
        assert_eq!(event_count(&env).await, events, "nothing audited");
    }
);

const CREATED_ONCE: &str = r#"version: 1
entries:
  - model: authentik_core.group
    state: created
    identifiers:
      name: bp-once
    attrs:
      attributes:
        v: 1
"#;

const MUST_CREATE: &str = r#"version: 1
entries:
  - model: authentik_core.group
    state: must_created
    identifiers:
      name: bp-once
"#;

const ABSENT: &str = r#"version: 1
entries:
  - model: authentik_core.group
    state: absent
    identifiers:
      name: bp-once
"#;

both_stores!(
    states_created_must_created_and_absent,
    |env: common::Env| async move {
        let system = Caller::cli();

        // created: made once ...
        let outcome = apply(&env, &system, CREATED_ONCE).await;
        assert!(
            matches!(outcome.entries[0].action, Action::Created { .. }),
            "{outcome:?}"
        );
        let once = group(&env, "bp-once").await.expect("created");
        assert_eq!(once.attributes["v"], json!(1));
        // ... and never overwritten: a manual change survives the next apply.
        env.services
            .update_group(
                &system,
                once.pk,
                GroupChanges {
                    attributes: Some(json!({"v": 2}).as_object().unwrap().clone()),
                    ..Default::default()
                },
                true,
            )
            .await
            .unwrap();
        let outcome = apply(&env, &system, CREATED_ONCE).await;
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        assert!(!outcome.changed);
        assert!(
            matches!(&outcome.entries[0].action, Action::Skipped { reason } if reason.contains("exists")),
            "{outcome:?}"
        );
        assert_eq!(
            group(&env, "bp-once").await.unwrap().attributes["v"],
            json!(2)
        );

        // must_created: fails when the object exists.
        let outcome = apply(&env, &system, MUST_CREATE).await;
        let failure = outcome.failure.expect("the object exists");
        assert!(
            failure.message.contains("must_created"),
            "{}",
            failure.message
        );
        assert!(group(&env, "bp-once").await.is_some());

        // absent: deleted, then nothing to delete.
        let outcome = apply(&env, &system, ABSENT).await;
        assert_eq!(actions(&outcome), [&Action::Deleted], "{outcome:?}");
        assert!(outcome.changed);
        assert!(group(&env, "bp-once").await.is_none());
        let outcome = apply(&env, &system, ABSENT).await;
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        assert!(!outcome.changed);
        assert!(
            matches!(&outcome.entries[0].action, Action::Skipped { .. }),
            "{outcome:?}"
        );
    }
);

const BACKDOOR: &str = r#"version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: bp-backdoor
    attrs:
      roles:
        - !Context powerful_role
"#;

const PLAIN_GROUP: &str = r#"version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: bp-plain
"#;

both_stores!(
    a_blueprint_cannot_pass_on_rights_its_author_lacks,
    |env: common::Env| async move {
        let system = Caller::cli();
        let powerful = env
            .services
            .create_role(
                &system,
                RoleChanges {
                    name: Some("bp-powerful".into()),
                },
            )
            .await
            .unwrap();
        env.services
            .change_role_permissions(
                &system,
                powerful.pk,
                &["authentik_core.delete_user".to_owned()],
                None,
                true,
            )
            .await
            .unwrap();
        let (mallory, _) =
            crate::security::user_holding(&env, "mallory", &[("authentik_core.add_group", "")])
                .await;
        let principal = env
            .services
            .principal_for(mallory)
            .await
            .unwrap()
            .expect("an active user");
        let caller = Caller::new(principal, None, Via::Cli, None);

        // She may create a plain group (so the refusal below is about the role) ...
        let outcome = env
            .services
            .plan_blueprint(&caller, &blueprint(PLAIN_GROUP), &RunOptions::default())
            .await
            .unwrap();
        assert!(outcome.succeeded(), "{:?}", outcome.failure);

        // ... but not one that confers a role whose permission she does not hold.
        let events = event_count(&env).await;
        let options = RunOptions {
            context: json!({"powerful_role": powerful.pk.to_string()})
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        };
        let outcome = env
            .services
            .apply_blueprint(&caller, &blueprint(BACKDOOR), &options)
            .await
            .unwrap();
        let failure = outcome.failure.expect("refused");
        assert_eq!(failure.index, 0);
        assert!(
            failure.message.contains("authentik_core.delete_user"),
            "{}",
            failure.message
        );
        assert!(group(&env, "bp-backdoor").await.is_none());
        assert!(
            group(&env, "bp-plain").await.is_none(),
            "a plan writes nothing"
        );
        assert_eq!(event_count(&env).await, events);
    }
);

/// authentik's shipped bootstrap blueprint, if the corpus is present.
fn shipped_bootstrap() -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/authentik-blueprints/system/bootstrap.yaml"
    );
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) => {
            eprintln!("SKIPPED: authentik's bootstrap.yaml is absent ({error})");
            None
        }
    }
}

const BOOTSTRAP_PASSWORD: &str = "bootstrap password 1234";
const BOOTSTRAP_KEY: &str = "bp-bootstrap-key-0123456789abcdefghijklmnopqrstuv";

/// The environment the run's `!Env` reads (the process's is left alone: tests run side by
/// side in one process).
fn bootstrap_options(variables: &[(&str, &str)]) -> RunOptions {
    let env: BTreeMap<String, String> = variables
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    RunOptions {
        env: Some(env),
        ..Default::default()
    }
}

both_stores!(
    authentiks_bootstrap_blueprint_sets_up_an_empty_garrison,
    empty,
    |env: common::Env| async move {
        let Some(text) = shipped_bootstrap() else {
            return;
        };
        let system = Caller::cli();
        let bootstrap = blueprint(&text);

        // Without a token variable, the token entry is skipped by its condition.
        let planned = env
            .services
            .plan_blueprint(
                &system,
                &bootstrap,
                &bootstrap_options(&[("AUTHENTIK_BOOTSTRAP_PASSWORD", BOOTSTRAP_PASSWORD)]),
            )
            .await
            .unwrap();
        assert!(planned.succeeded(), "{:?}", planned.failure);
        assert_eq!(planned.entries.len(), 3, "{planned:?}");
        assert!(matches!(planned.entries[0].action, Action::Created { .. }));
        assert!(matches!(planned.entries[1].action, Action::Created { .. }));
        assert_eq!(
            planned.entries[2].action,
            Action::Skipped {
                reason: "conditions are false".into()
            }
        );
        assert!(
            user(&env, "akadmin").await.is_none(),
            "a plan writes nothing"
        );

        // With both variables: group, user and token.
        let options = bootstrap_options(&[
            ("AUTHENTIK_BOOTSTRAP_PASSWORD", BOOTSTRAP_PASSWORD),
            ("AUTHENTIK_BOOTSTRAP_TOKEN", BOOTSTRAP_KEY),
        ]);
        let outcome = env
            .services
            .apply_blueprint(&system, &bootstrap, &options)
            .await
            .expect("no infrastructure failure");
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        assert!(outcome.changed);
        assert!(
            outcome
                .entries
                .iter()
                .all(|entry| matches!(entry.action, Action::Created { .. })),
            "{outcome:?}"
        );
        assert_eq!(outcome.entries[2].model, "authentik_core.token");
        let Action::Created { fields } = &outcome.entries[2].action else {
            unreachable!();
        };
        assert!(
            fields.contains(&FieldChange {
                field: "key".into(),
                old: json!(null),
                new: json!("(hidden)"),
            }),
            "{fields:?}"
        );
        let shown = serde_json::to_string(&outcome).unwrap();
        assert!(!shown.contains(BOOTSTRAP_KEY), "the key is never shown");
        assert!(!shown.contains(BOOTSTRAP_PASSWORD), "nor the password");

        let admins = group(&env, "authentik Admins")
            .await
            .expect("group created");
        assert!(admins.is_superuser);
        let admin = user(&env, "akadmin").await.expect("user created");
        assert_eq!(admin.name, "authentik Default Admin");
        assert_eq!(admin.email, "root@example.com", "!Env's default");
        assert_eq!(admin.groups, [admins.pk], "!KeyOf gave the group");
        assert!(
            env.services
                .login("akadmin", BOOTSTRAP_PASSWORD, None, "test")
                .await
                .is_ok(),
            "the password from the environment works"
        );
        let token = env
            .services
            .get_token(&system, "authentik-bootstrap-token")
            .await
            .expect("token created");
        assert_eq!(token.user, admin.pk, "!KeyOf gave the user's pk");
        assert_eq!(token.intent, TokenIntent::Api);
        assert!(!token.expiring);
        assert_eq!(token.expires, None);
        let (status, me) = env
            .api("GET", "/core/users/me/", Some(BOOTSTRAP_KEY), None)
            .await;
        assert_eq!(status, StatusCode::OK, "the key authenticates: {me}");
        assert_eq!(me["user"]["username"], "akadmin");
        assert_eq!(me["user"]["is_superuser"], true);

        // Again: every object exists (state created), nothing is written.
        let again = env
            .services
            .apply_blueprint(&system, &bootstrap, &options)
            .await
            .expect("no infrastructure failure");
        assert!(again.succeeded(), "{:?}", again.failure);
        assert!(!again.changed, "{again:?}");
        assert_eq!(again.entries.len(), 3);
        assert!(
            again
                .entries
                .iter()
                .all(|entry| matches!(entry.action, Action::Unchanged | Action::Skipped { .. })),
            "{again:?}"
        );
        let (status, _) = env
            .api("GET", "/core/users/me/", Some(BOOTSTRAP_KEY), None)
            .await;
        assert_eq!(status, StatusCode::OK, "the key still authenticates");
    }
);

const TOKEN_PRESENT: &str = r#"version: 1
entries:
  - model: authentik_core.user
    id: owner
    identifiers:
      username: bp-token-owner
  - model: authentik_core.token
    identifiers:
      identifier: bp-token
    attrs:
      user: !KeyOf owner
      intent: api
      expiring: false
      description: !Context description
      key: !Context key
"#;

const TOKEN_KEY_A: &str = "bp-token-key-a-0123456789abcdefghijklmnop";
const TOKEN_KEY_B: &str = "bp-token-key-b-0123456789abcdefghijklmnop";

async fn apply_with(env: &common::Env, bp: &Blueprint, options: RunOptions) -> Outcome {
    env.services
        .apply_blueprint(&Caller::cli(), bp, &options)
        .await
        .expect("no infrastructure failure")
}

fn token_options(description: &str, key: &str) -> RunOptions {
    RunOptions {
        context: json!({"description": description, "key": key})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    }
}

both_stores!(
    a_token_key_is_set_only_when_it_differs_and_never_shown,
    |env: common::Env| async move {
        let system = Caller::cli();
        let bp = blueprint(TOKEN_PRESENT);

        let created = apply_with(&env, &bp, token_options("first", TOKEN_KEY_A)).await;
        assert!(created.succeeded(), "{:?}", created.failure);
        let (status, _) = env
            .api("GET", "/core/users/me/", Some(TOKEN_KEY_A), None)
            .await;
        assert_eq!(status, StatusCode::OK, "the blueprint's key authenticates");

        // The same key: unchanged, nothing written.
        let same = apply_with(&env, &bp, token_options("first", TOKEN_KEY_A)).await;
        assert!(same.succeeded(), "{:?}", same.failure);
        assert!(!same.changed, "{same:?}");
        assert_eq!(actions(&same), [&Action::Unchanged, &Action::Unchanged]);

        // Another key and description: both updated, the key as "(hidden)".
        let changed = apply_with(&env, &bp, token_options("second", TOKEN_KEY_B)).await;
        assert!(changed.succeeded(), "{:?}", changed.failure);
        assert_eq!(
            changed.entries[1].action,
            Action::Updated {
                fields: vec![
                    FieldChange {
                        field: "description".into(),
                        old: json!("first"),
                        new: json!("second"),
                    },
                    FieldChange {
                        field: "key".into(),
                        old: json!("(hidden)"),
                        new: json!("(hidden)"),
                    },
                ]
            }
        );
        let shown = serde_json::to_string(&changed).unwrap();
        assert!(!shown.contains(TOKEN_KEY_A) && !shown.contains(TOKEN_KEY_B));
        let (status, _) = env
            .api("GET", "/core/users/me/", Some(TOKEN_KEY_B), None)
            .await;
        assert_eq!(status, StatusCode::OK, "the new key authenticates");
        let (status, _) = env
            .api("GET", "/core/users/me/", Some(TOKEN_KEY_A), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the old one no longer");

        // A key too short is the token service's refusal, without the key in the message.
        let short = "tiny-key-42";
        let refused = apply_with(&env, &bp, token_options("second", short)).await;
        let failure = refused.failure.expect("too short");
        assert!(failure.message.contains("key"), "{}", failure.message);
        assert!(!failure.message.contains(short), "{}", failure.message);
        let token = env
            .services
            .get_token(&system, "bp-token")
            .await
            .expect("the token is still there");
        assert_eq!(token.description, "second");
    }
);

/// The commands as a CI job runs them, against an embedded store of their own: validate,
/// plan (exit 2 with changes), apply (exit 0), plan again (exit 0, nothing to do); a broken
/// file and a `!File` outside the blueprint's directory exit 1 and write nothing.
#[test]
fn the_cli_validates_plans_and_applies_with_exit_codes_a_ci_job_can_use() {
    let dir = std::env::temp_dir().join(format!("garrison-blueprint-cli-{}", std::process::id()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(dir.join("note.txt"), "  from a file  \n").unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "version: 1\nentries:\n  - model: authentik_rbac.role\n    id: role\n    identifiers:\n      \
         name: cli-role\n  - model: authentik_core.group\n    identifiers:\n      name: cli-group\n    \
         attrs:\n      roles: [!KeyOf role]\n      attributes:\n        note: !File note.txt\n",
    )
    .unwrap();
    let escaping = dir.join("escaping.yaml");
    std::fs::write(
        &escaping,
        "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: \
         escaping\n    attrs:\n      attributes:\n        stolen: !File ../../etc/hostname\n",
    )
    .unwrap();
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "version: 1\nentries:\n  - model: [unclosed\n").unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_garrison"));
        // The server refuses settings it does not know, and the test runner's environment
        // carries some of its own (GARRISON_WEBDRIVER_URL, …): the command sees only these.
        for (name, _) in std::env::vars() {
            if name.starts_with("GARRISON_") {
                command.env_remove(name);
            }
        }
        let output = command
            .args(args)
            .env("GARRISON_DATA_DIR", &data)
            .env("GARRISON_LOG_LEVEL", "error")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        // Whatever the command said on stderr is part of the output a failure shows.
        (
            output.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    let blueprint = |command: &str, file: &std::path::Path| {
        run(&["blueprint".as_ref(), command.as_ref(), file.as_os_str()])
    };

    let (code, out) = blueprint("validate", &good);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = blueprint("validate", &broken);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("broken.yaml:4: error"), "file and line: {out}");

    let (code, out) = blueprint("plan", &good);
    assert_eq!(code, Some(2), "changes planned: {out}");
    assert!(
        out.contains("+ entry 1 (line 3) create authentik_rbac.role"),
        "{out}"
    );
    assert!(
        out.contains("\"note\":\"from a file\""),
        "!File read and stripped: {out}"
    );
    let (code, out) = blueprint("plan", &good);
    assert_eq!(
        code,
        Some(2),
        "a plan wrote nothing, so it plans the same: {out}"
    );

    let (code, out) = blueprint("plan", &escaping);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("outside the directory"), "{out}");
    assert!(out.contains("nothing was written"), "{out}");

    let (code, out) = blueprint("apply", &good);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("applied: 2 change(s)"), "{out}");
    let (code, out) = blueprint("plan", &good);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("nothing to do"), "{out}");
    assert!(
        out.contains("= entry 2 (line 7) unchanged authentik_core.group"),
        "{out}"
    );

    // Large enough for a progress bar, but standard error is a pipe here, as in CI: the
    // output is the summary alone, with no bar and no terminal escapes.
    let large = dir.join("large.yaml");
    let mut text = String::from("version: 1\nentries:\n");
    for n in 0..60 {
        text.push_str(&format!(
            "  - model: authentik_core.group\n    identifiers:\n      name: cli-large-{n}\n"
        ));
    }
    std::fs::write(&large, text).unwrap();
    let (code, out) = blueprint("apply", &large);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("applied: 60 change(s)"), "{out}");
    assert!(
        !out.contains('\r') && !out.contains('\x1b') && !out.contains("applying"),
        "no progress bar off a terminal: {out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The line `plan` and `apply` redraw on a terminal: the bar fills with the entries done,
/// fits the width it is given (without its last column), and gives way when there is no room.
#[test]
fn the_progress_bar_shows_phase_bar_counts_percent_and_elapsed_time() {
    use garrison::blueprints::render_progress_bar;
    use std::time::Duration;

    let half = render_progress_bar("applying", 2500, 5000, Duration::from_millis(4200), 80);
    assert_eq!(
        half,
        format!(
            "applying [{}{}] 2500/5000  50% 4.2s",
            "#".repeat(20),
            ".".repeat(20)
        )
    );
    assert!(half.chars().count() < 80);

    let started = render_progress_bar("planning", 0, 61, Duration::ZERO, 80);
    assert_eq!(
        started,
        format!("planning [{}] 0/61   0% 0.0s", ".".repeat(40))
    );
    let done = render_progress_bar("planning", 61, 61, Duration::from_secs(65), 80);
    assert_eq!(
        done,
        format!("planning [{}] 61/61 100% 1m05s", "#".repeat(40))
    );
    // More than the total is the total; nothing to do is complete.
    assert_eq!(
        render_progress_bar("applying", 70, 61, Duration::from_secs(65), 80),
        done.replace("planning", "applying")
    );
    assert!(render_progress_bar("applying", 0, 0, Duration::ZERO, 80).contains(" 0/0 100% "));

    // A narrow terminal: the bar shrinks to what is left of the width...
    let narrow = render_progress_bar("applying", 2500, 5000, Duration::from_millis(4200), 50);
    assert_eq!(
        narrow,
        format!(
            "applying [{}{}] 2500/5000  50% 4.2s",
            "#".repeat(9),
            ".".repeat(9)
        )
    );
    assert_eq!(narrow.chars().count(), 49, "the last column stays free");
    // ...and is left out when too little is left.
    assert_eq!(
        render_progress_bar("applying", 2500, 5000, Duration::from_millis(4200), 40),
        "applying 2500/5000  50% 4.2s"
    );
}

both_stores!(
    the_schema_for_editors_is_served_and_printed_alike,
    |env: common::Env| async move {
        let request = axum::http::Request::get(garrison_services::blueprints::SCHEMA_PATH)
            .body(axum::body::Body::empty())
            .unwrap();
        // No credentials: an editor fetches it as the website's is fetched.
        let (status, headers, body) = env.send(request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/schema+json");
        let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let outpost = &served["$defs"]["model_authentik_outposts.outpost"];
        assert!(
            outpost["properties"].get("providers").is_some(),
            "{outpost}"
        );
        assert_eq!(outpost["additionalProperties"], json!(false));

        let printed = std::process::Command::new(env!("CARGO_BIN_EXE_garrison"))
            .args(["blueprint", "schema"])
            .env_clear()
            .output()
            .unwrap();
        assert!(printed.status.success());
        let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
        assert_eq!(printed, served, "the CLI prints what the server serves");
    }
);

/// Creates a database-content instance through the API; its UUID.
async fn instance(env: &common::Env, name: &str, content: &str) -> String {
    let (status, body) = env
        .admin(
            "POST",
            "/managed/blueprints/",
            Some(json!({"name": name, "content": content})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["pk"].as_str().expect("pk").to_owned()
}

fn meta_entry(name: &str, required: bool) -> String {
    format!(
        "  - model: authentik_blueprints.metaapplyblueprint\n    attrs:\n      identifiers:\n        \
         name: {name}\n      required: {required}\n"
    )
}

both_stores!(
    meta_entries_apply_their_instance_in_the_same_run_and_refuse_cycles,
    |env: common::Env| async move {
        let system = Caller::cli();
        instance(
            &env,
            "meta-child",
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: from-child\n",
        )
        .await;
        // The parent meta-applies the child, then refers to what the child made.
        let parent = format!(
            "version: 1\nentries:\n{}  - model: authentik_core.group\n    identifiers:\n      \
             name: from-parent\n    attrs:\n      parents:\n        - !Find [authentik_core.group, [name, from-child]]\n",
            meta_entry("meta-child", true)
        );
        let outcome = apply(&env, &system, &parent).await;
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        let Action::Applied {
            blueprint,
            changed,
            entries,
        } = &outcome.entries[0].action
        else {
            panic!("the meta entry applied its child: {:?}", outcome.entries[0]);
        };
        assert_eq!(blueprint, "meta-child");
        assert!(changed);
        assert!(matches!(entries[0].action, Action::Created { .. }));
        let child = group(&env, "from-child").await.expect("the child's group");
        let made = group(&env, "from-parent")
            .await
            .expect("the parent's group");
        assert_eq!(made.parents, vec![child.pk]);

        // A missing instance: required fails the run, writing nothing; not required skips.
        let before = event_count(&env).await;
        let missing = format!(
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
             name: never-written\n{}",
            meta_entry("no-such-instance", true)
        );
        let failed = apply(&env, &system, &missing).await;
        let failure = failed
            .failure
            .expect("a required instance that does not exist");
        assert!(
            failure
                .message
                .contains("Required blueprint does not exist"),
            "{}",
            failure.message
        );
        assert!(
            group(&env, "never-written").await.is_none(),
            "all or nothing"
        );
        assert_eq!(event_count(&env).await, before);
        let optional = apply(
            &env,
            &system,
            &format!(
                "version: 1\nentries:\n{}",
                meta_entry("no-such-instance", false)
            ),
        )
        .await;
        assert!(matches!(optional.entries[0].action, Action::Skipped { .. }));

        // A failing child fails its parent (authentik only logs it).
        instance(
            &env,
            "meta-broken",
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: ok-at-first\n",
        )
        .await;
        let broken_child = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: broken\n    attrs:\n      is_superuer: true\n";
        let (status, body) = env
            .admin("GET", "/managed/blueprints/?name=meta-broken", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let broken_pk = body["results"][0]["pk"].as_str().expect("pk").to_owned();
        // Written to the database directly: the API would refuse this content.
        let mut tx = env.services.begin().await.unwrap();
        sqlx::query("UPDATE blueprint_instances SET content = $1 WHERE uuid = $2")
            .bind(broken_child)
            .bind(&broken_pk)
            .execute(tx.conn())
            .await
            .unwrap();
        env.services.commit(tx).await.unwrap();
        let failed = apply(
            &env,
            &system,
            &format!("version: 1\nentries:\n{}", meta_entry("meta-broken", true)),
        )
        .await;
        let failure = failed.failure.expect("the child's failure is the parent's");
        assert!(
            failure.message.contains("in blueprint `meta-broken`")
                && failure.message.contains("is_superuer"),
            "{}",
            failure.message
        );

        // a → b → a: b is created first, its meta entry not required while a does not exist.
        instance(
            &env,
            "cycle-b",
            &format!("version: 1\nentries:\n{}", meta_entry("cycle-a", false)),
        )
        .await;
        let a = instance(
            &env,
            "cycle-a",
            &format!("version: 1\nentries:\n{}", meta_entry("cycle-b", true)),
        )
        .await;
        let (status, applied) = env
            .admin("POST", &format!("/managed/blueprints/{a}/apply/"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        assert_eq!(applied["status"], "error", "{applied}");
        let message = applied["last_result"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains("cycle-a → cycle-b → cycle-a"),
            "the cycle is named: {message}"
        );
    }
);

const GRANTS: &str = r#"version: 1
entries:
  - model: authentik_rbac.role
    id: auditors
    identifiers:
      name: bp-auditors
  - model: authentik_core.group
    identifiers:
      name: bp-audited
    permissions:
      - permission: view_group
        role: !KeyOf auditors
      - permission: authentik_core.change_group
        role: !KeyOf auditors
"#;

both_stores!(
    entry_permissions_grant_on_the_entrys_object_through_the_role_service,
    |env: common::Env| async move {
        let system = Caller::cli();
        let outcome = apply(&env, &system, GRANTS).await;
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        let Action::Created { fields } = &outcome.entries[1].action else {
            panic!("the group is created: {outcome:?}");
        };
        assert!(
            fields
                .iter()
                .any(|change| change.field == "permissions (role bp-auditors)"
                    && change.new
                        == json!(["authentik_core.change_group", "authentik_core.view_group"])),
            "{fields:?}"
        );
        let audited = group(&env, "bp-audited").await.unwrap();
        // Whoever has the role now holds them on that group, and on no other.
        let member = apply(
            &env,
            &system,
            "version: 1\nentries:\n  - model: authentik_core.group\n    id: staff\n    identifiers:\n      \
             name: bp-auditor-staff\n    attrs:\n      roles: [!Find [authentik_rbac.role, [name, bp-auditors]]]\n  \
             - model: authentik_core.user\n    identifiers:\n      username: bp-bob\n    attrs:\n      \
             groups: [!KeyOf staff]\n",
        )
        .await;
        assert!(member.succeeded(), "{:?}", member.failure);
        let bob = user(&env, "bp-bob").await.unwrap();
        let principal = env.services.principal_for(bob.pk).await.unwrap().unwrap();
        assert!(principal.has_on("authentik_core.change_group", &audited.pk.to_string()));
        let staff = group(&env, "bp-auditor-staff").await.unwrap();
        assert!(!principal.has_on("authentik_core.change_group", &staff.pk.to_string()));

        // Additive and idempotent: a re-apply writes nothing.
        let events = event_count(&env).await;
        let again = apply(&env, &system, GRANTS).await;
        assert!(!again.changed, "{again:?}");
        assert_eq!(event_count(&env).await, events);

        // The author must be able to hand the permission on: one who may create groups and
        // assign role permissions, but holds no change_group, cannot.
        let (mallory, _) = crate::security::user_holding(
            &env,
            "mallory",
            &[
                ("authentik_core.add_group", ""),
                ("authentik_core.view_group", ""),
                ("authentik_rbac.view_role", ""),
                ("authentik_rbac.assign_role_permissions", ""),
            ],
        )
        .await;
        let principal = env
            .services
            .principal_for(mallory)
            .await
            .unwrap()
            .expect("an active user");
        let caller = Caller::new(principal, None, Via::Cli, None);
        let hers = GRANTS.replace("bp-audited", "bp-hers");
        let outcome = apply(&env, &caller, &hers).await;
        let failure = outcome.failure.expect("refused");
        assert!(
            failure.message.contains("authentik_core.change_group"),
            "{}",
            failure.message
        );
        assert!(group(&env, "bp-hers").await.is_none(), "all or nothing");

        // Grants to users are refused, naming the entry.
        let to_user = GRANTS.replace("role: !KeyOf auditors", "user: 1");
        let outcome = apply(&env, &system, &to_user).await;
        let failure = outcome.failure.expect("refused");
        assert!(
            failure
                .message
                .contains("granting to a user is not supported"),
            "{}",
            failure.message
        );
    }
);

both_stores!(
    import_applies_once_without_an_instance_as_json_or_as_authentiks_multipart,
    |env: common::Env| async move {
        let text = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: imported\n    attrs:\n      attributes:\n        team: !Context team\n";
        let (status, body) = env
            .admin(
                "POST",
                "/managed/blueprints/import/",
                Some(json!({"content": text, "context": {"team": "red"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], json!(true), "{body}");
        assert!(
            body["logs"][0]["event"]
                .as_str()
                .is_some_and(|e| e.contains("authentik_core.group"))
        );
        let imported = group(&env, "imported").await.expect("applied");
        assert_eq!(imported.attributes["team"], json!("red"));
        let (_, listed) = env.admin("GET", "/managed/blueprints/", None).await;
        assert_eq!(
            listed["pagination"]["count"],
            json!(0),
            "no instance: {listed}"
        );

        // The official client's form: multipart with `file`; a failing entry is success: false
        // (still 200), naming the entry, and nothing is written.
        let broken = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: never\n    attrs:\n      is_superuer: true\n";
        let boundary = "garrison-import-boundary";
        let request = axum::http::Request::post("/api/v3/managed/blueprints/import/")
            .header("Authorization", format!("Bearer {}", common::ADMIN_TOKEN))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(common::multipart(
                boundary,
                &[("file", Some("broken.yaml"), broken.as_bytes())],
            )))
            .unwrap();
        let (status, _, bytes) = env.send(request).await;
        assert_eq!(status, StatusCode::OK);
        let result: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(result["success"], json!(false), "{result}");
        let last = result["logs"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["log_level"], json!("error"));
        assert!(
            last["event"].as_str().unwrap().contains("is_superuer"),
            "{last}"
        );
        assert!(group(&env, "never").await.is_none());

        // A path outside the blueprints directory is refused, naming `path`.
        let (status, body) = env
            .admin(
                "POST",
                "/managed/blueprints/import/",
                Some(json!({"path": "../escape.yaml"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["path"].is_array(), "{body}");
        // Someone who may not add instances may not import.
        let (_, token) =
            crate::security::user_holding(&env, "importer", &[("authentik_core.add_group", "")])
                .await;
        let (status, _) = env
            .api(
                "POST",
                "/managed/blueprints/import/",
                Some(&token),
                Some(json!({"content": text.replace("imported", "theirs")})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(group(&env, "theirs").await.is_none());
    }
);

// Plain groups are written in batches (`blueprints::batch`); a run must still be what it is one
// entry at a time: a second entry for a waiting name updates it, a later entry names (`!KeyOf`)
// or finds (`!Find`) a waiting group, an existing name is found and changed, each created
// group has its event, and a refused entry is the one named, with nothing written.
both_stores!(
    batched_groups_apply_as_one_entry_at_a_time,
    |env: common::Env| async move {
        let system = Caller::cli();
        let existing = env
            .services
            .create_group(
                &system,
                GroupChanges {
                    name: Some("batch-existing".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let events = event_count(&env).await;
        let text = r#"version: 1
entries:
  - model: authentik_core.group
    id: first
    identifiers:
      name: batch-a
    attrs:
      attributes:
        n: 1
  - model: authentik_core.group
    identifiers:
      name: batch-b
  - model: authentik_core.group
    identifiers:
      name: batch-a
    attrs:
      attributes:
        n: 2
  - model: authentik_core.group
    identifiers:
      name: batch-existing
    attrs:
      attributes:
        changed: true
  - model: authentik_core.group
    identifiers:
      name: batch-child
    attrs:
      parents: [!KeyOf first]
  - model: authentik_core.group
    identifiers:
      name: batch-c
    attrs:
      attributes:
        found: !Find [authentik_core.group, [name, batch-b]]
  - model: authentik_core.group
    identifiers:
      name: batch-d
"#;
        let planned = env
            .services
            .plan_blueprint(&system, &blueprint(text), &RunOptions::default())
            .await
            .unwrap();
        let outcome = apply(&env, &system, text).await;
        assert!(outcome.succeeded(), "{:?}", outcome.failure);
        // What each entry did and to which fields (the new groups' UUIDs differ between the
        // plan and the apply).
        let shape = |outcome: &Outcome| -> Vec<(&'static str, Vec<String>)> {
            actions(outcome)
                .iter()
                .map(|action| match action {
                    Action::Created { fields } => ("created", field_names(fields)),
                    Action::Updated { fields } => ("updated", field_names(fields)),
                    Action::Unchanged => ("unchanged", Vec::new()),
                    _ => ("other", Vec::new()),
                })
                .collect()
        };
        assert_eq!(
            shape(&planned),
            shape(&outcome),
            "a plan is what the apply does"
        );
        let kinds: Vec<&str> = shape(&outcome).into_iter().map(|(kind, _)| kind).collect();
        assert_eq!(
            kinds,
            [
                "created", "created", "updated", "updated", "created", "created", "created"
            ]
        );
        let a = group(&env, "batch-a").await.expect("batch-a");
        assert_eq!(a.attributes, json!({"n": 2}).as_object().unwrap().clone());
        let b = group(&env, "batch-b").await.expect("batch-b");
        let child = group(&env, "batch-child").await.expect("batch-child");
        assert_eq!(child.parents, vec![a.pk], "!KeyOf named the waiting group");
        let c = group(&env, "batch-c").await.expect("batch-c");
        assert_eq!(
            c.attributes["found"],
            json!(b.pk.to_string()),
            "!Find found it"
        );
        let changed = group(&env, "batch-existing").await.unwrap();
        assert_eq!(changed.pk, existing.pk);
        assert_eq!(changed.attributes["changed"], json!(true));
        assert!(group(&env, "batch-d").await.is_some());
        // Five created, two updated: one event each.
        assert_eq!(event_count(&env).await, events + 7);

        // A refused entry in the middle of a batch is the one named, and nothing is written.
        let events = event_count(&env).await;
        let long = "x".repeat(81);
        let text = format!(
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
             name: batch-e\n  - model: authentik_core.group\n    identifiers:\n      name: {long}\n  \
             - model: authentik_core.group\n    identifiers:\n      name: batch-f\n"
        );
        let outcome = apply(&env, &system, &text).await;
        let failure = outcome.failure.clone().expect("refused");
        assert_eq!(failure.index, 1, "{failure:?}");
        assert!(failure.message.contains("name"), "{}", failure.message);
        assert!(group(&env, "batch-e").await.is_none());
        assert_eq!(event_count(&env).await, events);

        // A caller who may not add groups is refused at the first group entry.
        let caller =
            caller_holding(&env, "batch-viewer", &[("authentik_core.view_group", "")]).await;
        let text = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
                    name: batch-g\n  - model: authentik_core.group\n    identifiers:\n      name: batch-h\n";
        let outcome = apply(&env, &caller, text).await;
        let failure = outcome.failure.clone().expect("refused");
        assert_eq!(failure.index, 0, "{failure:?}");
        assert!(group(&env, "batch-g").await.is_none());

        // One who may add groups still makes a superuser group only as a superuser: the plain
        // superuser group is refused, named, and nothing is written.
        let caller = caller_holding(&env, "batch-adder", &[("authentik_core.add_group", "")]).await;
        let text = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
                    name: batch-i\n  - model: authentik_core.group\n    identifiers:\n      \
                    name: batch-su\n    attrs:\n      is_superuser: true\n";
        let outcome = apply(&env, &caller, text).await;
        let failure = outcome.failure.clone().expect("refused");
        assert_eq!(failure.index, 1, "{failure:?}");
        assert!(failure.message.contains("superuser"), "{}", failure.message);
        assert!(group(&env, "batch-i").await.is_none());
        assert!(group(&env, "batch-su").await.is_none());
    }
);

fn field_names(fields: &[FieldChange]) -> Vec<String> {
    fields.iter().map(|change| change.field.clone()).collect()
}

/// A CLI caller who is a user holding exactly `permissions` (name, object pk or "" for global).
async fn caller_holding(env: &common::Env, username: &str, permissions: &[(&str, &str)]) -> Caller {
    let (user, _) = crate::security::user_holding(env, username, permissions).await;
    let principal = env
        .services
        .principal_for(user)
        .await
        .unwrap()
        .expect("an active user");
    Caller::new(principal, None, Via::Cli, None)
}
