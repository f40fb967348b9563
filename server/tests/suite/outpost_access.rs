//! Who sees what of outposts, on both stores: an authorisation matrix over the outpost
//! endpoints and the callers {anonymous, administrator, outpost A's token, outpost B's token,
//! a plain user}. An outpost's token sees exactly spec §3.1: its own outpost, its providers,
//! their certificates, users and groups when it serves LDAP, and may post events; it changes
//! and deletes nothing.
use crate::common;

use axum::http::StatusCode;
use serde_json::{Value, json};

struct World {
    outpost_a: String,
    outpost_b: String,
    proxy: i64,
    ldap: i64,
    certificate: String,
    token_a: String,
    token_b: String,
    plain: String,
}

async fn ok(env: &common::Env, method: &str, path: &str, body: Value) -> Value {
    let (status, value) = env.admin(method, path, Some(body)).await;
    assert!(status.is_success(), "{method} {path}: {status} {value}");
    value
}

async fn world(env: &common::Env) -> World {
    let flow = "00000000-0000-4000-8000-000000000001";
    let certificate = ok(
        env,
        "POST",
        "/crypto/certificatekeypairs/generate/",
        json!({"common_name": "a.example", "validity_days": 30, "alg": "ecdsa"}),
    )
    .await["pk"]
        .as_str()
        .unwrap()
        .to_owned();
    let proxy = ok(
        env,
        "POST",
        "/providers/proxy/",
        json!({"name": "web", "authorization_flow": flow, "invalidation_flow": flow,
               "external_host": "https://web.example", "internal_host": "http://127.0.0.1:8000",
               "certificate": certificate}),
    )
    .await["pk"]
        .as_i64()
        .unwrap();
    let ldap = ok(
        env,
        "POST",
        "/providers/ldap/",
        json!({"name": "directory", "authorization_flow": flow, "invalidation_flow": flow}),
    )
    .await["pk"]
        .as_i64()
        .unwrap();
    ok(
        env,
        "POST",
        "/core/applications/",
        json!({"name": "Web", "slug": "web", "provider": proxy}),
    )
    .await;
    ok(
        env,
        "POST",
        "/core/applications/",
        json!({"name": "Dir", "slug": "dir", "provider": ldap}),
    )
    .await;
    let outpost = |name: &str, kind: &str, provider: i64| json!({"name": name, "type": kind, "providers": [provider], "config": {}});
    let outpost_a = ok(
        env,
        "POST",
        "/outposts/instances/",
        outpost("a", "proxy", proxy),
    )
    .await["pk"]
        .as_str()
        .unwrap()
        .to_owned();
    let outpost_b = ok(
        env,
        "POST",
        "/outposts/instances/",
        outpost("b", "ldap", ldap),
    )
    .await["pk"]
        .as_str()
        .unwrap()
        .to_owned();
    let token_of = |uuid: String| async move {
        let (status, body) = env
            .admin("GET", &format!("/outposts/instances/{uuid}/token/"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["key"].as_str().unwrap().to_owned()
    };
    let token_a = token_of(outpost_a.clone()).await;
    let token_b = token_of(outpost_b.clone()).await;
    let plain_pk = ok(
        env,
        "POST",
        "/core/users/",
        json!({"username": "plain", "name": "Plain"}),
    )
    .await["pk"]
        .as_i64()
        .unwrap();
    let plain = env
        .services
        .create_token(
            &garrison_services::Caller::cli(),
            garrison_model::TokenChanges {
                identifier: Some("plain".into()),
                user: Some(plain_pk),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .key;
    World {
        outpost_a,
        outpost_b,
        proxy,
        ldap,
        certificate,
        token_a,
        token_b,
        plain,
    }
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list["results"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    i[field]
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| i[field].as_i64().map(|n| n.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

both_stores!(
    each_caller_sees_exactly_its_share_of_outposts,
    |env: common::Env| async move {
        let w = world(&env).await;
        let as_ = |token: &str, path: &str| {
            let token = token.to_owned();
            let path = path.to_owned();
            let env = &env;
            async move { env.api("GET", &path, Some(&token), None).await }
        };
        let reads = [
            "/outposts/instances/".to_owned(),
            format!("/outposts/instances/{}/", w.outpost_a),
            "/outposts/proxy/".into(),
            "/outposts/ldap/".into(),
            "/providers/proxy/".into(),
            "/providers/all/".into(),
            "/core/applications/".into(),
            "/crypto/certificatekeypairs/".into(),
            "/outposts/service_connections/all/".into(),
            "/core/brands/".into(),
        ];
        let mut checked = 0;
        // Anonymous: nothing at all.
        for path in &reads {
            let (status, _) = env.api("GET", path, None, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous GET {path}");
            checked += 1;
        }
        // A plain user with no permissions: refused (a person is told, not shown an empty list).
        for path in &reads {
            let (status, body) = as_(&w.plain, path).await;
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                "plain GET {path}: {status} {body}"
            );
            checked += 1;
        }

        // Outpost A (proxy): its outpost, its provider with the secrets it needs, its keypair.
        let (status, list) = as_(&w.token_a, "/outposts/instances/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            names(&list, "pk"),
            [w.outpost_a.clone()],
            "results[0] is itself"
        );
        let (status, _) = as_(&w.token_a, &format!("/outposts/instances/{}/", w.outpost_b)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "not outpost B");
        let (status, list) = as_(&w.token_a, "/outposts/proxy/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(names(&list, "pk"), [w.proxy.to_string()]);
        assert!(
            list["results"][0]["client_secret"]
                .as_str()
                .is_some_and(|s| s.len() == 128)
        );
        let (status, list) = as_(&w.token_a, "/outposts/ldap/").await;
        assert_eq!(
            (status, list["results"].clone()),
            (StatusCode::OK, json!([])),
            "an empty list, not 403"
        );
        let (status, list) = as_(&w.token_a, "/crypto/certificatekeypairs/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(names(&list, "pk"), [w.certificate.clone()]);
        for download in ["view_certificate", "view_private_key"] {
            let (status, body) = as_(
                &w.token_a,
                &format!("/crypto/certificatekeypairs/{}/{download}/", w.certificate),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{download}: {body}");
            assert!(
                body["data"]
                    .as_str()
                    .is_some_and(|d| d.contains("-----BEGIN"))
            );
        }
        let (status, list) = as_(&w.token_a, "/core/users/").await;
        assert_eq!(
            (status, list["results"].clone()),
            (StatusCode::OK, json!([])),
            "a proxy outpost sees no users"
        );
        checked += 9;

        // Outpost B (LDAP): every user and group (global views), not outpost A's things.
        let (status, list) = as_(&w.token_b, "/core/users/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            names(&list, "username").contains(&"plain".to_owned()),
            "{list}"
        );
        let (status, list) = as_(&w.token_b, "/core/groups/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(names(&list, "name").contains(&"authentik Admins".to_owned()));
        let (status, list) = as_(&w.token_b, "/outposts/ldap/").await;
        assert_eq!(
            (status, names(&list, "pk")),
            (StatusCode::OK, vec![w.ldap.to_string()])
        );
        let (status, list) = as_(&w.token_b, "/outposts/proxy/").await;
        assert_eq!(
            (status, list["results"].clone()),
            (StatusCode::OK, json!([]))
        );
        let (status, list) = as_(&w.token_b, "/crypto/certificatekeypairs/").await;
        assert_eq!(
            (status, list["results"].clone()),
            (StatusCode::OK, json!([]))
        );
        let (status, _) = as_(
            &w.token_b,
            &format!(
                "/crypto/certificatekeypairs/{}/view_private_key/",
                w.certificate
            ),
        )
        .await;
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN);
        checked += 6;

        // No outpost changes or deletes anything, its own outpost included.
        for token in [&w.token_a, &w.token_b] {
            let writes = [
                (
                    "PATCH",
                    format!("/outposts/instances/{}/", w.outpost_a),
                    json!({"name": "x"}),
                ),
                (
                    "DELETE",
                    format!("/outposts/instances/{}/", w.outpost_b),
                    Value::Null,
                ),
                (
                    "PATCH",
                    format!("/providers/proxy/{}/", w.proxy),
                    json!({"name": "x"}),
                ),
                (
                    "DELETE",
                    format!("/providers/ldap/{}/", w.ldap),
                    Value::Null,
                ),
                (
                    "POST",
                    "/outposts/instances/".into(),
                    json!({"name": "mine", "type": "proxy", "providers": [w.proxy], "config": {}}),
                ),
                ("PATCH", "/core/users/1/".into(), json!({"name": "x"})),
                (
                    "GET",
                    format!("/outposts/instances/{}/token/", w.outpost_a),
                    Value::Null,
                ),
            ];
            for (method, path, body) in writes {
                let body = (!body.is_null()).then_some(body);
                let (status, value) = env.api(method, &path, Some(token), body).await;
                assert!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                    "outpost {method} {path}: {status} {value}"
                );
                checked += 1;
            }
            // ... but it may post events.
            let (status, event) = env
                .api(
                    "POST",
                    "/events/events/",
                    Some(token),
                    Some(json!({"action": "custom_outpost_report", "app": "outpost", "context": {"hello": 1}})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{event}");
            assert!(
                event["user"]["username"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("ak-outpost-")
            );
            checked += 1;
        }

        // The administrator sees everything.
        for path in &reads {
            let (status, body) = env.admin("GET", path, None).await;
            assert_eq!(status, StatusCode::OK, "admin GET {path}: {body}");
            checked += 1;
        }
        let (_, list) = env.admin("GET", "/outposts/instances/", None).await;
        assert_eq!(
            list["pagination"]["count"], 3,
            "a, b and the embedded outpost"
        );
        eprintln!("outpost access matrix: {checked} checks");
    }
);

both_stores!(
    an_outpost_summary_shows_only_the_related_objects_the_caller_may_view,
    |env: common::Env| async move {
        let w = world(&env).await;
        let connection = ok(
            &env,
            "POST",
            "/outposts/service_connections/docker/",
            json!({"name": "engine", "local": true, "url": "unix:///var/run/docker.sock"}),
        )
        .await["pk"]
            .as_str()
            .unwrap()
            .to_owned();
        ok(
            &env,
            "PATCH",
            &format!("/outposts/instances/{}/", w.outpost_a),
            json!({"service_connection": connection}),
        )
        .await;
        let outposts_only = [("authentik_outposts.view_outpost", "")];
        let (_, only_outposts) =
            crate::security::user_holding(&env, "outposts-only", &outposts_only).await;
        let (_, with_related) = crate::security::user_holding(
            &env,
            "with-related",
            &[
                ("authentik_outposts.view_outpost", ""),
                ("authentik_providers_proxy.view_proxyprovider", ""),
                ("authentik_outposts.view_dockerserviceconnection", ""),
            ],
        )
        .await;
        let summary = |token: String| {
            let env = &env;
            let path = "/outposts/instances/?name__iexact=a".to_owned();
            async move {
                let (status, list) = env.api("GET", &path, Some(&token), None).await;
                assert_eq!(status, StatusCode::OK, "{list}");
                list["results"][0].clone()
            }
        };
        // The references stay (they are the outpost's own fields); the objects behind them
        // are shown only to whoever may view them.
        let hidden = summary(only_outposts).await;
        assert_eq!(hidden["providers"], json!([w.proxy]), "{hidden}");
        assert_eq!(hidden["providers_obj"], json!([]), "{hidden}");
        assert_eq!(hidden["service_connection"], json!(connection), "{hidden}");
        assert_eq!(hidden["service_connection_obj"], Value::Null, "{hidden}");
        let shown = summary(with_related).await;
        assert_eq!(shown["providers_obj"][0]["pk"], json!(w.proxy), "{shown}");
        assert_eq!(shown["providers_obj"][0]["name"], json!("web"), "{shown}");
        assert_eq!(
            shown["service_connection_obj"]["name"],
            json!("engine"),
            "{shown}"
        );
    }
);
