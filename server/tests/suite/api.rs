//! REST API behaviour, on both stores.
use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use garrison_model::{RoleChanges, TokenChanges, UserChanges, UserType};
use garrison_services::Caller;
use serde_json::{Value, json};

both_stores!(
    me_and_root_config_answer_first_calls,
    |env: common::Env| async move {
        let (status, me) = env.admin("GET", "/core/users/me/", None).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["user"]["username"], "akadmin");
        assert_eq!(me["user"]["is_superuser"], true);
        assert_eq!(me["user"]["groups"][0]["name"], "authentik Admins");
        let (status, config) = env.admin("GET", "/root/config/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(config["error_reporting"]["enabled"], false);
        assert!(config["capabilities"].is_array());
    }
);

both_stores!(
    pagination_envelope_matches_authentik,
    |env: common::Env| async move {
        for i in 0..24 {
            let (status, body) = env
                .admin(
                    "POST",
                    "/core/users/",
                    Some(json!({"username": format!("user{i:02}"), "name": "U"})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        // 25 people in all with akadmin (the embedded outpost's service account is not one).
        let (status, page) = env
            .admin(
                "GET",
                "/core/users/?page=2&page_size=10&ordering=username&type=internal",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(
            page["pagination"],
            json!({"next": 3, "previous": 1, "count": 25, "current": 2, "total_pages": 3, "start_index": 11, "end_index": 20})
        );
        assert_eq!(page["results"].as_array().map(Vec::len), Some(10));
        assert_eq!(page["results"][0]["username"], "user09");
        let (_, last) = env
            .admin(
                "GET",
                "/core/users/?page=3&page_size=10&ordering=-username&type=internal",
                None,
            )
            .await;
        assert_eq!(last["pagination"]["next"], 0);
        assert_eq!(last["results"].as_array().map(Vec::len), Some(5));
        let (_, searched) = env.admin("GET", "/core/users/?search=USER1", None).await;
        assert_eq!(
            searched["pagination"]["count"], 10,
            "search is case-insensitive: user10..user19"
        );
        let (status, bad) = env.admin("GET", "/core/users/?page=zero", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(bad["page"][0].as_str().is_some(), "{bad}");
        let (status, bad) = env
            .admin("GET", "/core/users/?ordering=password", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            bad["ordering"][0]
                .as_str()
                .unwrap_or("")
                .contains("password"),
            "{bad}"
        );
    }
);

both_stores!(
    bad_input_gets_field_errors_not_500s,
    |env: common::Env| async move {
        let (status, body) = env.admin("POST", "/core/users/", Some(json!({}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["username"][0], "This field is required.");

        let (status, body) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "x", "is_active": "yes"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["is_active"][0]
                .as_str()
                .unwrap_or("")
                .contains("invalid type"),
            "{body}"
        );

        let (status, body) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "x", "type": "robot"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["type"][0].as_str().unwrap_or("").contains("robot"),
            "{body}"
        );

        let (status, body) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "x", "colour": "red"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.to_string().contains("colour"), "{body}");

        let request = Request::post("/api/v3/core/groups/")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", common::ADMIN_TOKEN),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"name\": "))
            .unwrap();
        let (status, _, bytes) = env.send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or("")
                .starts_with("JSON parse error"),
            "{body}"
        );

        let (status, body) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "akadmin", "email": "nope"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["username"][0], "This field must be unique.");
        assert_eq!(body["email"][0], "Enter a valid email address.");

        let (status, body) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "p", "path": "/lead"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["path"][0].is_string());

        let (status, body) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "g", "parents": ["6c0c1f2e-0000-4000-8000-000000000000"]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["parents"][0]
                .as_str()
                .unwrap_or("")
                .contains("does not exist"),
            "{body}"
        );
    }
);

both_stores!(
    auth_and_routing_errors_are_clear,
    |env: common::Env| async move {
        let (status, body) = env.api("GET", "/core/users/", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body["detail"],
            "Authentication credentials were not provided."
        );
        let (status, _) = env
            .api("GET", "/core/users/", Some("not-a-token"), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = env.admin("GET", "/core/nothing-here/", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["detail"], "Not found.");
        let (status, _) = env.admin("DELETE", "/core/users/me/", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = env.admin("GET", "/core/users/999999/", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = env.admin("GET", "/core/groups/not-a-uuid/", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both_stores!(
    crud_for_groups_roles_tokens_and_users,
    |env: common::Env| async move {
        let (status, role) = env
            .admin("POST", "/rbac/roles/", Some(json!({"name": "viewers"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{role}");
        let role_pk = role["pk"].as_str().unwrap().to_owned();
        let (status, group) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "ops", "roles": [role_pk], "attributes": {"team": 1}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        assert_eq!(group["roles_obj"][0]["name"], "viewers");
        let group_pk = group["pk"].as_str().unwrap().to_owned();
        let (status, child) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "ops-eu", "parents": [group_pk]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, group) = env
            .admin("GET", &format!("/core/groups/{group_pk}/"), None)
            .await;
        assert_eq!(group["children"][0], child["pk"]);
        let (status, body) = env
            .admin(
                "PATCH",
                &format!("/core/groups/{group_pk}/"),
                Some(json!({"parents": [child["pk"]]})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a cycle is refused: {body}"
        );

        let (status, user) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "ann", "name": "Ann", "groups": [group_pk]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        let pk = user["pk"].as_i64().unwrap();
        let (status, user) = env
            .admin(
                "PATCH",
                &format!("/core/users/{pk}/"),
                Some(json!({"name": "Ann B"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(user["name"], "Ann B");
        assert_eq!(user["groups"][0], group_pk.as_str());
        let (status, body) = env
            .admin(
                "PUT",
                &format!("/core/users/{pk}/"),
                Some(json!({"name": "no username"})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "PUT needs the required fields: {body}"
        );

        let (status, token) = env
            .admin(
                "POST",
                "/core/tokens/",
                Some(json!({"identifier": "ci-token", "user": pk, "expiring": false})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        assert_eq!(token["user_obj"]["username"], "ann");
        let (status, key) = env
            .admin("GET", "/core/tokens/ci-token/view_key/", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let key = key["key"].as_str().unwrap().to_owned();
        assert_eq!(key.len(), 60);
        let (status, me) = env.api("GET", "/core/users/me/", Some(&key), None).await;
        assert_eq!(status, StatusCode::OK, "the new token authenticates: {me}");
        assert_eq!(me["user"]["username"], "ann");

        let (status, _) = env.admin("DELETE", "/core/tokens/ci-token/", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = env.api("GET", "/core/users/me/", Some(&key), None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a deleted token no longer works"
        );
        let (status, _) = env
            .admin("DELETE", &format!("/core/users/{pk}/"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = env.admin("GET", &format!("/core/users/{pk}/"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both_stores!(
    object_permissions_filter_lists,
    |env: common::Env| async move {
        let system = Caller::cli();
        let s = &env.services;
        let (_, g1) = env
            .admin("POST", "/core/groups/", Some(json!({"name": "visible"})))
            .await;
        env.admin("POST", "/core/groups/", Some(json!({"name": "hidden"})))
            .await;
        let role = s
            .create_role(
                &system,
                RoleChanges {
                    name: Some("see-one".into()),
                },
            )
            .await
            .unwrap();
        let g1_pk = g1["pk"].as_str().unwrap();
        s.change_role_permissions(
            &system,
            role.pk,
            &["authentik_core.view_group".into()],
            Some(g1_pk),
            true,
        )
        .await
        .unwrap();
        let (_, holder) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "holders", "roles": [role.pk]})),
            )
            .await;
        let alice = s
            .create_user(
                &system,
                UserChanges {
                    username: Some("alice".into()),
                    groups: Some(vec![holder["pk"].as_str().unwrap().parse().unwrap()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let alice_token = s
            .create_token(
                &system,
                TokenChanges {
                    identifier: Some("alice".into()),
                    user: Some(alice.pk),
                    ..Default::default()
                },
            )
            .await
            .unwrap();

        let (status, groups) = env
            .api("GET", "/core/groups/", Some(&alice_token.key), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{groups}");
        let names: Vec<&str> = groups["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(names, ["visible"]);
        let (status, _) = env
            .api("GET", "/core/users/", Some(&alice_token.key), None)
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a person with nothing to see is refused"
        );
        let (status, _) = env
            .api(
                "POST",
                "/core/groups/",
                Some(&alice_token.key),
                Some(json!({"name": "mine"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, me) = env
            .api("GET", "/core/users/me/", Some(&alice_token.key), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            me["user"]["groups"][0]["name"], "holders",
            "own memberships are always visible: {me}"
        );
        assert_eq!(me["user"]["is_superuser"], false);
        let (status, own) = env
            .api(
                "GET",
                &format!("/core/users/{}/", alice.pk),
                Some(&alice_token.key),
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "everyone may read themselves: {own}"
        );
        let (status, _) = env
            .api("GET", "/events/events/", Some(&alice_token.key), None)
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the audit log needs view_event"
        );

        let outpost = s
            .create_user(
                &system,
                UserChanges {
                    username: Some("outpost-sa".into()),
                    user_type: Some(UserType::InternalServiceAccount),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let outpost_token = s
            .create_token(
                &system,
                TokenChanges {
                    identifier: Some("outpost".into()),
                    user: Some(outpost.pk),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (status, users) = env
            .api("GET", "/core/users/", Some(&outpost_token.key), None)
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "an internal service account gets an empty list, not 403"
        );
        assert_eq!(users["pagination"]["count"], 0);
        assert_eq!(users["results"], json!([]));
    }
);

both_stores!(
    changes_write_events_without_secrets,
    |env: common::Env| async move {
        let (_, group) = env
            .admin("POST", "/core/groups/", Some(json!({"name": "audited"})))
            .await;
        let pk = group["pk"].as_str().unwrap().to_owned();
        env.admin(
            "PATCH",
            &format!("/core/groups/{pk}/"),
            Some(json!({"name": "audited-2"})),
        )
        .await;
        let (_, events) = env
            .admin(
                "GET",
                "/events/events/?action=model_updated&ordering=-created",
                None,
            )
            .await;
        let event = &events["results"][0];
        assert_eq!(event["context"]["model"]["pk"], pk.as_str());
        assert_eq!(
            event["context"]["diff"]["name"],
            json!({"previous_value": "audited", "new_value": "audited-2"})
        );
        assert_eq!(event["user"]["username"], "akadmin");
        assert_eq!(event["context"]["http_request"]["method"], "PATCH");

        let before = env
            .admin("GET", "/events/events/?page_size=1", None)
            .await
            .1["pagination"]["count"]
            .clone();
        let (status, _) = env
            .admin("POST", "/core/groups/", Some(json!({"name": ""})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let after = env
            .admin("GET", "/events/events/?page_size=1", None)
            .await
            .1["pagination"]["count"]
            .clone();
        assert_eq!(before, after, "a refused change writes no event");

        let (_, user) = env
            .admin(
                "POST",
                "/core/users/",
                Some(json!({"username": "pw", "name": "P"})),
            )
            .await;
        let (status, _) = env
            .admin(
                "POST",
                &format!("/core/users/{}/set_password/", user["pk"]),
                Some(json!({"password": "s3cret-Value!"})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, all) = env
            .admin("GET", "/events/events/?page_size=1000", None)
            .await;
        let text = all.to_string();
        assert!(
            !text.contains("s3cret-Value!"),
            "passwords never reach events"
        );
        assert!(
            !text.contains(common::ADMIN_TOKEN),
            "token keys never reach events"
        );
        assert!(text.contains("password_set"));
    }
);

both_stores!(
    openapi_document_lists_the_operations,
    |env: common::Env| async move {
        let (status, doc) = env.api("GET", "/schema/", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/core/users/",
            "/core/users/me/",
            "/core/groups/{group_uuid}/",
            "/core/tokens/{identifier}/view_key/",
            "/root/config/",
            "/events/events/",
        ] {
            assert!(paths.contains_key(path), "missing {path}");
        }
        assert_eq!(
            doc["paths"]["/core/users/"]["get"]["operationId"],
            "core_users_list"
        );
    }
);

both_stores!(
    readiness_reports_store_and_cache,
    |env: common::Env| async move {
        let (status, _, body) = env
            .send(
                Request::get("/-/health/ready/")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["store"]["ok"], true);
        assert_eq!(body["cache"]["ok"], true);
        let (status, _, _) = env
            .send(Request::get("/-/health/live/").body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
);

both_stores!(
    metrics_count_requests_by_route_template,
    |env: common::Env| async move {
        env.admin("GET", "/core/users/1/", None).await;
        // Another id of the same route, answered 404: still one label set per status.
        env.admin("GET", "/core/users/999999/", None).await;
        let response = tower::ServiceExt::oneshot(
            garrison::metrics_router(env.metrics.clone()),
            Request::get("/metrics").body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = String::from_utf8(
            axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(text.contains("garrison_http_requests_total{method=\"GET\",route=\"/api/v3/core/users/{id}/\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("garrison_http_request_duration_seconds_bucket"));
        assert!(text.contains("process_resident_memory_bytes"));
        assert!(
            !text.contains("/core/users/999999/"),
            "raw paths never become labels"
        );
    }
);

both_stores!(
    a_pooled_connection_that_died_while_idle_is_replaced_not_a_failed_request,
    |env: common::Env| async move {
        // Requests that leave the pool holding live connections.
        for _ in 0..4 {
            let (status, body) = env.admin("GET", "/core/groups/", None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let url = env.config.effective_database_url();
        if url.starts_with("postgres") {
            // What a database restart does to the server's connections (SQLite's cannot die
            // this way: there the requests below only show that idle connections still work).
            use sqlx::Connection;
            let mut other = sqlx::PgConnection::connect(&url)
                .await
                .expect("a connection of the test's own");
            let killed: i64 = sqlx::query_scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_one(&mut other)
            .await
            .expect("terminating the server's connections");
            assert!(killed > 0, "the server held no connection to terminate");
        }
        tokio::time::sleep(
            garrison_store::PING_WHEN_IDLE_FOR + std::time::Duration::from_millis(200),
        )
        .await;
        // More requests than the pool holds connections: every dead one is drawn once.
        for attempt in 0..20 {
            let (status, body) = env.admin("GET", "/core/groups/", None).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "request {attempt} after the connections died: {body}"
            );
        }
    }
);

both_stores!(
    a_store_failure_while_authenticating_is_a_server_error_not_a_401,
    |env: common::Env| async move {
        // A key nobody has presented yet, so no cache knows it: authenticating it reads the
        // store.
        let (status, token) = env
            .admin(
                "POST",
                "/core/tokens/",
                Some(json!({"identifier": "unseen-token", "expiring": false})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        let (_, key) = env
            .admin("GET", "/core/tokens/unseen-token/view_key/", None)
            .await;
        let key = key["key"].as_str().expect("a key").to_owned();

        env.services.close().await;
        let (status, body) = env.api("GET", "/core/users/me/", Some(&key), None).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "a valid key must not be called invalid because the store failed: {body}"
        );
        assert_eq!(
            body["detail"], "Internal server error.",
            "no internals: {body}"
        );
        let (status, _) = env.api("GET", "/core/users/me/", None, None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "without credentials it is still a 401"
        );
    }
);
