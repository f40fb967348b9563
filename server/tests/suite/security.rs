//! Each finding of the security review (issue 8) reproduced, on both stores: before the fix
//! each of these calls succeeded; now each is refused and nothing changed.
use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use garrison_model::{GroupChanges, RoleChanges, TokenChanges, UserChanges};
use garrison_services::{Caller, PasswordChange};
use serde_json::{Value, json};
use uuid::Uuid;

/// A user holding exactly `grants` (permission, object pk; "" for global) through a role on a
/// group of their own, with an API token. Returns (user pk, token key).
pub(crate) async fn user_holding(
    env: &common::Env,
    name: &str,
    grants: &[(&str, &str)],
) -> (i64, String) {
    let system = Caller::cli();
    let s = &env.services;
    let role = s
        .create_role(
            &system,
            RoleChanges {
                name: Some(format!("{name}-role")),
            },
        )
        .await
        .expect("role");
    for (permission, object) in grants {
        s.change_role_permissions(
            &system,
            role.pk,
            &[permission.to_string()],
            (!object.is_empty()).then_some(*object),
            true,
        )
        .await
        .expect("grant");
    }
    let group = s
        .create_group(
            &system,
            GroupChanges {
                name: Some(format!("{name}-group")),
                roles: Some(vec![role.pk]),
                ..Default::default()
            },
        )
        .await
        .expect("group");
    let user = s
        .create_user(
            &system,
            UserChanges {
                username: Some(name.into()),
                groups: Some(vec![group.pk]),
                password: Some(format!("{name}-password-123")),
                ..Default::default()
            },
        )
        .await
        .expect("user");
    let token = s
        .create_token(
            &system,
            TokenChanges {
                identifier: Some(format!("{name}-token")),
                user: Some(user.pk),
                ..Default::default()
            },
        )
        .await
        .expect("token");
    (user.pk, token.key)
}

async fn group_pk(env: &common::Env, name: &str) -> String {
    let (_, list) = env
        .admin(
            "GET",
            &format!("/core/groups/?name={}", name.replace(' ', "%20")),
            None,
        )
        .await;
    list["results"][0]["pk"]
        .as_str()
        .unwrap_or_else(|| panic!("group {name} exists: {list}"))
        .to_owned()
}

async fn is_superuser(env: &common::Env, pk: i64) -> bool {
    env.services
        .principal_for(pk)
        .await
        .unwrap()
        .expect("active user")
        .is_superuser()
}

async fn akadmin_pk(env: &common::Env) -> i64 {
    let (_, me) = env.admin("GET", "/core/users/me/", None).await;
    me["user"]["pk"].as_i64().unwrap()
}

both_stores!(
    superuser_status_cannot_be_inherited_by_the_back_door,
    |env: common::Env| async move {
        let admins = group_pk(&env, "authentik Admins").await;
        let (mallory, key) = user_holding(
            &env,
            "mallory",
            &[
                ("authentik_core.add_group", ""),
                ("authentik_core.change_group", ""),
                ("authentik_core.change_user", ""),
                ("authentik_core.add_user_to_group", ""),
            ],
        )
        .await;
        // Finding 1: a child of the admins' group with oneself as a member, in one request.
        let (status, body) = env
            .api(
                "POST",
                "/core/groups/",
                Some(&key),
                Some(json!({"name": "backdoor", "parents": [admins], "users": [mallory]})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(!is_superuser(&env, mallory).await);
        // ... or by re-parenting a group one already belongs to.
        let own = group_pk(&env, "mallory-group").await;
        let (status, body) = env
            .api(
                "PATCH",
                &format!("/core/groups/{own}/"),
                Some(&key),
                Some(json!({"parents": [admins]})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        // ... or by joining a child of the admins' group that an administrator made.
        let (_, child) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "ops", "parents": [admins]})),
            )
            .await;
        let child = child["pk"].as_str().unwrap().to_owned();
        let (status, body) = env
            .api(
                "PATCH",
                &format!("/core/users/{mallory}/"),
                Some(&key),
                Some(json!({"groups": [own, child]})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = env
            .api(
                "POST",
                &format!("/core/groups/{child}/add_user/"),
                Some(&key),
                Some(json!({"pk": mallory})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(!is_superuser(&env, mallory).await);
        let (_, group) = env
            .admin("GET", &format!("/core/groups/{child}/"), None)
            .await;
        assert_eq!(group["users"], json!([]), "nothing was half-written");
    }
);

both_stores!(
    links_need_rights_on_their_targets,
    |env: common::Env| async move {
        // Finding 2: a role the caller does not hold, attached to a new group they join.
        let (_, role) = env
            .admin("POST", "/rbac/roles/", Some(json!({"name": "deleters"})))
            .await;
        let role = role["pk"].as_str().unwrap().to_owned();
        let (status, _) = env
            .admin(
                "POST",
                &format!("/rbac/permissions/assigned_by_roles/{role}/assign/"),
                Some(json!({"permissions": ["authentik_core.delete_user"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (mallory, key) = user_holding(
            &env,
            "mallory",
            &[
                ("authentik_core.add_group", ""),
                ("authentik_core.add_user_to_group", ""),
            ],
        )
        .await;
        let (status, body) = env
            .api(
                "POST",
                "/core/groups/",
                Some(&key),
                Some(json!({"name": "mine", "roles": [role], "users": [mallory]})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("authentik_core.delete_user"),
            "the error names what cannot be passed on: {body}"
        );
        // Holding what the role grants makes the same call fine.
        let (_, key_holder) = user_holding(
            &env,
            "trent",
            &[
                ("authentik_core.add_group", ""),
                ("authentik_core.add_user_to_group", ""),
                ("authentik_core.delete_user", ""),
            ],
        )
        .await;
        let (status, body) = env
            .api(
                "POST",
                "/core/groups/",
                Some(&key_holder),
                Some(json!({"name": "trent-deleters", "roles": [role]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // change_user on oneself does not let one join any group.
        let (_, powerful) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "powerful", "roles": [role]})),
            )
            .await;
        let (_, eve_key) = user_holding(&env, "eve", &[("authentik_core.change_user", "")]).await;
        let (_, eve) = env
            .api("GET", "/core/users/me/", Some(&eve_key), None)
            .await;
        let eve_pk = eve["user"]["pk"].as_i64().unwrap();
        let eve_group = group_pk(&env, "eve-group").await;
        let (status, body) = env
            .api(
                "PATCH",
                &format!("/core/users/{eve_pk}/"),
                Some(&eve_key),
                Some(json!({"groups": [eve_group, powerful["pk"]]})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let grants = env.services.principal_for(eve_pk).await.unwrap().unwrap();
        assert!(!grants.has("authentik_core.delete_user"));
    }
);

both_stores!(
    administrators_are_changed_by_administrators_only,
    |env: common::Env| async move {
        // Finding 3.
        let admin = akadmin_pk(&env).await;
        let (_, key) = user_holding(
            &env,
            "mallory",
            &[
                ("authentik_core.reset_user_password", ""),
                ("authentik_core.change_user", ""),
                ("authentik_core.delete_user", ""),
                ("authentik_core.view_user", ""),
            ],
        )
        .await;
        let (status, body) = env
            .api(
                "POST",
                &format!("/core/users/{admin}/set_password/"),
                Some(&key),
                Some(json!({"password": "owned-by-mallory"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        for change in [json!({"is_active": false}), json!({"groups": []})] {
            let (status, body) = env
                .api(
                    "PATCH",
                    &format!("/core/users/{admin}/"),
                    Some(&key),
                    Some(change),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        }
        let (status, _) = env
            .api("DELETE", &format!("/core/users/{admin}/"), Some(&key), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(is_superuser(&env, admin).await);
        env.services
            .login("akadmin", common::ADMIN_PASSWORD, None, "test")
            .await
            .expect("the administrator's password is unchanged");
    }
);

both_stores!(
    role_permissions_are_only_what_the_assigner_holds,
    |env: common::Env| async move {
        // Finding 5.
        let (mallory, key) = user_holding(
            &env,
            "mallory",
            &[
                ("authentik_rbac.assign_role_permissions", ""),
                ("authentik_rbac.view_role", ""),
            ],
        )
        .await;
        let (_, roles) = env.admin("GET", "/rbac/roles/?search=mallory", None).await;
        let role = roles["results"][0]["pk"].as_str().unwrap().to_owned();
        let assign = |body: Value| {
            let key = key.clone();
            let role = role.clone();
            let env = &env;
            async move {
                env.api(
                    "POST",
                    &format!("/rbac/permissions/assigned_by_roles/{role}/assign/"),
                    Some(&key),
                    Some(body),
                )
                .await
            }
        };
        let (status, body) = assign(json!({"permissions": ["authentik_core.delete_user"]})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = assign(json!({
            "permissions": ["authentik_core.delete_user"],
            "object_pk": ""
        }))
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "an empty object is not global: {body}"
        );
        assert!(body["object_pk"].is_array(), "{body}");
        let (status, body) = assign(json!({
            "permissions": ["authentik_rbac.assign_role_permissions"],
            "object_pk": role
        }))
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "held globally, so passable on one object: {body}"
        );
        let principal = env.services.principal_for(mallory).await.unwrap().unwrap();
        assert!(!principal.has("authentik_core.delete_user"));
    }
);

both_stores!(
    tokens_are_for_oneself_short_lived_and_keyed_by_uuid,
    |env: common::Env| async move {
        // Finding 6.
        let admin = akadmin_pk(&env).await;
        let (mallory, key) = user_holding(
            &env,
            "mallory",
            &[
                ("authentik_core.add_token", ""),
                ("authentik_core.set_token_key", ""),
            ],
        )
        .await;
        let (status, body) = env
            .api(
                "POST",
                "/core/tokens/",
                Some(&key),
                Some(json!({"identifier": "for-admin", "user": admin})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = env
            .api(
                "POST",
                "/core/tokens/",
                Some(&key),
                Some(json!({"identifier": "forever", "expiring": false})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["expiring"].is_array(), "{body}");
        let far = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
        let (status, body) = env
            .api(
                "POST",
                "/core/tokens/",
                Some(&key),
                Some(json!({"identifier": "far", "expires": far})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["expires"].is_array(), "{body}");
        let (status, body) = env
            .api(
                "POST",
                "/core/tokens/",
                Some(&key),
                Some(json!({"identifier": "mine"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["user"], mallory);
        let (status, body) = env
            .api(
                "POST",
                "/core/tokens/mine/set_key/",
                Some(&key),
                Some(json!({"key": "short"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // Object grants follow the token's UUID, not the identifier it can be renamed from.
        let system = Caller::cli();
        let victim = env
            .services
            .create_user(
                &system,
                UserChanges {
                    username: Some("victim".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let watched = env
            .services
            .create_token(
                &system,
                TokenChanges {
                    identifier: Some("watched".into()),
                    user: Some(victim.pk),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (_, viewer_key) = user_holding(
            &env,
            "viewer",
            &[("authentik_core.view_token", &watched.token.pk.to_string())],
        )
        .await;
        let (status, _) = env
            .api("GET", "/core/tokens/watched/", Some(&viewer_key), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = env
            .admin(
                "PATCH",
                "/core/tokens/watched/",
                Some(json!({"identifier": "renamed"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = env
            .api("GET", "/core/tokens/renamed/", Some(&viewer_key), None)
            .await;
        assert_eq!(status, StatusCode::OK, "the grant moved with the token");
        env.services
            .create_token(
                &system,
                TokenChanges {
                    identifier: Some("watched".into()),
                    user: Some(victim.pk),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (status, _) = env
            .api("GET", "/core/tokens/watched/", Some(&viewer_key), None)
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a new token under the old name is not covered"
        );
    }
);

fn login_form(next: &str) -> Request<Body> {
    let body = format!(
        "csrf_token=abc&username=akadmin&password={}&next={next}",
        common::ADMIN_PASSWORD.replace(' ', "+")
    );
    Request::post("/ui-fn/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, "garrison_csrf=abc")
        .body(Body::from(body))
        .unwrap()
}

both_stores!(
    after_login_only_local_paths_are_followed,
    |env: common::Env| async move {
        // Finding 7: `%09` decodes to a tab, which browsers drop, leaving `//evil.example`;
        // `%0A` would have made the redirect header panic.
        for (next, expected) in [
            ("%2Fgroups", "/groups"),
            ("%2F%09%2Fevil.example", "/"),
            ("%2F%0Aevil", "/"),
            ("%2F%5Cevil.example", "/"),
            ("https%3A%2F%2Fevil.example", "/"),
        ] {
            let (status, headers, _) = env.send(login_form(next)).await;
            assert_eq!(status, StatusCode::FOUND, "{next}");
            assert_eq!(
                headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
                Some(expected),
                "{next}"
            );
        }
    }
);

both_stores!(
    concurrent_guesses_cannot_outrun_the_login_limit,
    |env: common::Env| async move {
        // Finding 8: the limit used to be read before and counted after the password check.
        let services = env.services.clone();
        let guesses = (0..20).map(|i| {
            let services = services.clone();
            tokio::spawn(async move {
                services
                    .login("akadmin", &format!("guess-{i}"), Some("198.51.100.1"), "t")
                    .await
            })
        });
        let outcomes = futures::future::join_all(guesses).await;
        let throttled = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o.as_ref().unwrap(),
                    Err(garrison_services::ServiceError::RateLimited { .. })
                )
            })
            .count();
        assert_eq!(throttled, 15, "exactly 5 guesses were checked");
        let (_, events) = env
            .admin("GET", "/events/events/?action=login_failed", None)
            .await;
        assert_eq!(events["pagination"]["count"], 5, "{events}");
        // The owner, from another address, is not locked out by a stranger's guesses.
        env.services
            .login("akadmin", common::ADMIN_PASSWORD, Some("192.0.2.7"), "t")
            .await
            .expect("the owner logs in from elsewhere");
        // Overlong usernames are refused before any lookup or hashing.
        let long = "a".repeat(10_000);
        let error = env
            .services
            .login(&long, "x", Some("192.0.2.8"), "t")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("150"), "{error}");
    }
);

both_stores!(
    a_password_change_ends_the_other_sessions_and_needs_the_current_one,
    |env: common::Env| async move {
        // Finding 9.
        let (pk, key) = user_holding(&env, "carol", &[]).await;
        let one = env
            .services
            .login("carol", "carol-password-123", None, "browser one")
            .await
            .unwrap();
        let two = env
            .services
            .login("carol", "carol-password-123", None, "browser two")
            .await
            .unwrap();
        let (status, body) = env
            .api(
                "POST",
                &format!("/core/users/{pk}/set_password/"),
                Some(&key),
                Some(json!({"password": "new-password-456"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["current_password"].is_array(), "{body}");
        let (status, body) = env
            .api(
                "POST",
                &format!("/core/users/{pk}/set_password/"),
                Some(&key),
                Some(json!({"password": "new-password-456", "current_password": "wrong"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // Through the first browser's session: that one stays, the other ends.
        let principal = env
            .services
            .authenticate_session(&one.session)
            .await
            .unwrap()
            .unwrap();
        let caller = Caller::new(
            principal,
            None,
            garrison_services::Via::Ui {
                path: "/users".into(),
            },
            Some(one.session.clone()),
        );
        env.services
            .set_user_password(
                &caller,
                pk,
                PasswordChange {
                    new_password: "new-password-456",
                    current_password: Some("carol-password-123"),
                },
            )
            .await
            .unwrap();
        assert!(
            env.services
                .authenticate_session(&one.session)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            env.services
                .authenticate_session(&two.session)
                .await
                .unwrap()
                .is_none(),
            "the other browser is logged out"
        );
        // An administrator resetting it ends every session.
        env.services
            .set_user_password(
                &Caller::cli(),
                pk,
                PasswordChange {
                    new_password: "reset-by-admin-789",
                    current_password: None,
                },
            )
            .await
            .unwrap();
        assert!(
            env.services
                .authenticate_session(&one.session)
                .await
                .unwrap()
                .is_none()
        );
    }
);

both_stores!(
    the_sealing_key_is_kept_apart_from_the_database,
    |env: common::Env| async move {
        // Finding 10.
        let file = env.config.secret_key_file();
        let key = std::fs::read_to_string(&file).expect("the key file exists");
        assert!(key.trim().len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by the owner only: {mode:o}");
        }
        // An older version's key in the database moves into the file and out of the database.
        let url = env.config.effective_database_url();
        let store = garrison_store::Store::connect(&url).await.unwrap();
        {
            let mut tx = store.begin().await.unwrap();
            garrison_store::settings::set(&mut tx, "secret_key", "legacy-key-from-the-db")
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let moved = env.config.data_dir.join("moved.key");
        let (_, source) = garrison_services::Services::load_secret_box(&store, None, &moved)
            .await
            .unwrap();
        assert_eq!(
            source,
            garrison_services::KeySource::MovedFromDatabase(moved.clone())
        );
        assert_eq!(
            std::fs::read_to_string(&moved).unwrap(),
            "legacy-key-from-the-db"
        );
        let mut reader = store.read().await.unwrap();
        assert_eq!(
            garrison_store::settings::get(reader.conn(), "secret_key")
                .await
                .unwrap(),
            None
        );
    }
);

both_stores!(
    invented_methods_and_forwarded_addresses_are_not_trusted,
    |env: common::Env| async move {
        // Finding 11: one label for every invented method.
        for method in ["XYZZY", "PLUGH"] {
            let request = Request::builder()
                .method(method)
                .uri("/api/v3/core/users/")
                .body(Body::empty())
                .unwrap();
            env.send(request).await;
        }
        let rendered = env.metrics.render();
        assert!(!rendered.contains("XYZZY") && !rendered.contains("PLUGH"));
        assert!(rendered.contains("method=\"OTHER\""), "{rendered}");
    }
);

both_stores!(
    forwarded_for_is_read_from_the_right,
    with_trusted_proxy,
    |env: common::Env| async move {
        // Finding 12: the client wrote the leftmost entry; the proxy appended the real one.
        let body = "csrf_token=abc&username=nobody&password=wrong";
        let request = Request::post("/ui-fn/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "garrison_csrf=abc")
            .header("x-forwarded-for", "203.0.113.66, 198.51.100.23")
            .body(Body::from(body))
            .unwrap();
        env.send(request).await;
        let (_, events) = env
            .admin(
                "GET",
                "/events/events/?action=login_failed&username=nobody",
                None,
            )
            .await;
        let addresses: Vec<&str> = events["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["client_ip"].as_str())
            .collect();
        assert_eq!(addresses, ["198.51.100.23"], "{events}");
    }
);

both_stores!(low_findings_hold, |env: common::Env| async move {
    // Finding 13: huge page numbers are past the end, not a 500.
    let (status, body) = env
        .admin("GET", "/core/users/?page=9223372036854775807", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"], json!([]));
    // A CSRF token from before login is not this session's.
    let login = env
        .services
        .login("akadmin", common::ADMIN_PASSWORD, None, "t")
        .await
        .unwrap();
    let request = Request::post("/api/v3/core/groups/")
        .header(
            header::COOKIE,
            format!("garrison_csrf=abc; garrison_session={}", login.session.0),
        )
        .header("X-CSRFToken", "abc")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"name\": \"x\"}"))
        .unwrap();
    let (status, _, _) = env.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});

both_stores!(
    setup_completion_is_all_or_nothing_and_happens_once,
    empty,
    |env: common::Env| async move {
        let outcome = env
            .services
            .ensure_bootstrap(Default::default())
            .await
            .unwrap();
        let garrison_services::BootstrapOutcome::SetupRequired { setup_token } = outcome else {
            panic!("a fresh Garrison asks for setup: {outcome:?}");
        };
        // A bad username fails after the token check: the token must still be valid.
        let error = env
            .services
            .complete_setup(&setup_token, "bad\u{7}name", "long-enough-pw")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("invalid input"), "{error}");
        assert!(env.services.setup_token_valid(&setup_token).await.unwrap());
        // Two completions race with one token: exactly one administrator.
        let attempts = ["root-a", "root-b", "root-c"].map(|name| {
            let services = env.services.clone();
            let token = setup_token.clone();
            tokio::spawn(async move {
                services
                    .complete_setup(&token, name, "long-enough-pw")
                    .await
            })
        });
        let outcomes = futures::future::join_all(attempts).await;
        let created = outcomes
            .iter()
            .filter(|o| o.as_ref().unwrap().is_ok())
            .count();
        assert_eq!(created, 1);
        let users = env
            .services
            .list_users(&Caller::cli(), &Default::default(), Default::default())
            .await
            .unwrap();
        let roots = users
            .items
            .iter()
            .filter(|u| u.username.starts_with("root-"))
            .count();
        assert_eq!(roots, 1);
    }
);

both_stores!(
    concurrent_updates_of_one_object_lose_nothing,
    |env: common::Env| async move {
        let (_, group) = env
            .admin("POST", "/core/groups/", Some(json!({"name": "racy"})))
            .await;
        let pk: Uuid = group["pk"].as_str().unwrap().parse().unwrap();
        let system = Caller::cli();
        let renames = (0..10).map(|i| {
            let services = env.services.clone();
            let system = system.clone();
            tokio::spawn(async move {
                let changes = if i % 2 == 0 {
                    GroupChanges {
                        name: Some(format!("racy-{i}")),
                        ..Default::default()
                    }
                } else {
                    let mut attributes = serde_json::Map::new();
                    attributes.insert("round".into(), json!(i));
                    GroupChanges {
                        attributes: Some(attributes),
                        ..Default::default()
                    }
                };
                services.update_group(&system, pk, changes, true).await
            })
        });
        for outcome in futures::future::join_all(renames).await {
            outcome.unwrap().expect("every update applies");
        }
        let after = env.services.get_group(&system, pk).await.unwrap();
        assert!(
            after.name.starts_with("racy-"),
            "a rename survived: {}",
            after.name
        );
        assert!(
            after.attributes.contains_key("round"),
            "an attribute change survived: {:?}",
            after.attributes
        );
    }
);

both_stores!(
    a_handed_over_secret_is_sealed_and_taken_once_by_its_own_session,
    |env: common::Env| async move {
        user_holding(&env, "dora", &[]).await;
        let mut callers = Vec::new();
        for browser in ["browser one", "browser two"] {
            let login = env
                .services
                .login("dora", "dora-password-123", None, browser)
                .await
                .unwrap();
            let principal = env
                .services
                .authenticate_session(&login.session)
                .await
                .unwrap()
                .unwrap();
            callers.push(Caller::new(
                principal,
                None,
                garrison_services::Via::Ui {
                    path: "/outposts".into(),
                },
                Some(login.session),
            ));
        }
        let secret = "a-token-shown-once-0123456789";
        env.services
            .hand_over(&callers[0], "outpost-token/x", secret)
            .await
            .unwrap();
        // The cache (Redis on the PostgreSQL store) holds it sealed, never in clear.
        let cached = env
            .services
            .bus()
            .values_with_prefix("handover/")
            .await
            .unwrap();
        assert_eq!(cached.len(), 1, "{cached:?}");
        assert!(!cached[0].1.contains(secret));
        assert!(
            !cached[0]
                .0
                .contains(&callers[0].session.as_ref().unwrap().0)
        );
        // Another session of the same user cannot take it, nor can a caller without one.
        for other in [&callers[1], &Caller::cli()] {
            assert_eq!(
                env.services
                    .take_handed_over(other, "outpost-token/x")
                    .await
                    .unwrap(),
                None
            );
        }
        assert_eq!(
            env.services
                .take_handed_over(&callers[0], "outpost-token/x")
                .await
                .unwrap()
                .as_deref(),
            Some(secret)
        );
        assert_eq!(
            env.services
                .take_handed_over(&callers[0], "outpost-token/x")
                .await
                .unwrap(),
            None,
            "taken once"
        );
    }
);

both_stores!(
    a_revoked_right_stops_at_once_here_and_on_another_replica,
    |env: common::Env| async move {
        let (pk, key) = user_holding(&env, "erin", &[("authentik_core.view_user", "")]).await;
        let other = env.services.as_another_replica();
        other.follow_other_replicas();
        // Both replicas load and cache erin's principal.
        for replica in [&env.services, &other] {
            let principal = replica.authenticate_token(&key).await.unwrap().unwrap();
            assert!(principal.has("authentik_core.view_user"));
        }
        // Give the other replica's subscription time to be in place before the change.
        tokio::time::sleep(Duration::from_millis(300)).await;
        env.services
            .update_user(
                &Caller::cli(),
                pk,
                UserChanges {
                    groups: Some(vec![]),
                    ..Default::default()
                },
                true,
            )
            .await
            .unwrap();
        // This replica: at once, though the cached entry had seconds to live.
        let here = env
            .services
            .authenticate_token(&key)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !here.has("authentik_core.view_user"),
            "stale on the replica that changed it"
        );
        // The other: as soon as the bus message arrives, well inside the cache's 5 s.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let there = other.authenticate_token(&key).await.unwrap().unwrap();
            if !there.has("authentik_core.view_user") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the other replica kept the revoked right"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
);

both_stores!(
    a_deleted_token_stops_at_once_here_and_on_another_replica,
    |env: common::Env| async move {
        let (_, key) = user_holding(&env, "fern", &[]).await;
        let other = env.services.as_another_replica();
        other.follow_other_replicas();
        // Both replicas look the token up once and keep it.
        for replica in [&env.services, &other] {
            assert!(replica.authenticate_token(&key).await.unwrap().is_some());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        env.services
            .delete_token(&Caller::cli(), "fern-token")
            .await
            .unwrap();
        assert!(
            env.services
                .authenticate_token(&key)
                .await
                .unwrap()
                .is_none(),
            "the replica that deleted it still let it in"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while other.authenticate_token(&key).await.unwrap().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the other replica kept the deleted token"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
);
