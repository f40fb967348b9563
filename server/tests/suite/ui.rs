//! The admin UI without JavaScript: plain form posts to server functions, on both stores.
use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

const CSRF: &str = "0123456789abcdef0123456789abcdef";

fn form_post(path: &str, body: &str, cookies: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://localhost/login")
        .header(header::COOKIE, cookies)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(path: &str, cookies: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookies)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap()
}

fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("garrison_session=") && !v.starts_with("garrison_session=;"))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

async fn log_in(env: &common::Env) -> String {
    let body = format!(
        "csrf_token={CSRF}&username=akadmin&password={}&next=%2F",
        common::ADMIN_PASSWORD.replace(' ', "+")
    );
    let (status, headers, _) = env
        .send(form_post(
            "/ui-fn/login",
            &body,
            &format!("garrison_csrf={CSRF}"),
        ))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/")
    );
    let session = session_cookie(&headers).expect("login sets the session cookie");
    let set_cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite"),
        "{set_cookie}"
    );
    // The CSRF token is bound to the session: the first page after login issues a new one.
    let (status, headers, _) = env.send(get("/", &session)).await;
    assert_eq!(status, StatusCode::OK);
    let bound = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("garrison_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("a session-bound CSRF cookie after login")
        .to_owned();
    assert!(bound.contains('.'), "bound to the session: {bound}");
    format!("garrison_csrf={bound}; {session}")
}

/// The CSRF token in a cookie header made by [`log_in`].
fn csrf_of(cookies: &str) -> String {
    cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("garrison_csrf="))
        .expect("a CSRF cookie")
        .to_owned()
}

both_stores!(
    pages_need_a_login_and_the_login_page_has_a_csrf_field,
    |env: common::Env| async move {
        let (status, headers, _) = env.send(get("/users?page=2", "")).await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(
            headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some("/login?next=/users%3Fpage%3D2")
        );
        let (status, headers, body) = env.send(get("/login", "")).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("name=\"csrf_token\""), "{html}");
        assert!(
            headers
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().unwrap_or("").starts_with("garrison_csrf="))
        );
        let (status, _, _) = env.send(get("/no/such/page", &log_in(&env).await)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both_stores!(
    forms_without_a_csrf_token_are_refused,
    |env: common::Env| async move {
        let body = format!("username=akadmin&password={}", common::ADMIN_PASSWORD);
        let (status, _, page) = env
            .send(form_post(
                "/ui-fn/login",
                &body,
                &format!("garrison_csrf={CSRF}"),
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(String::from_utf8_lossy(&page).contains("CSRF token missing"));
        let wrong = format!("csrf_token=other&username=akadmin&password=x");
        let (status, _, _) = env
            .send(form_post(
                "/ui-fn/login",
                &wrong,
                &format!("garrison_csrf={CSRF}"),
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A session cookie does not let the API be driven cross-site either.
        let cookies = log_in(&env).await;
        let request = Request::post("/api/v3/core/groups/")
            .header(header::COOKIE, &cookies)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"name\": \"x\"}"))
            .unwrap();
        let (status, _, _) = env.send(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let request = Request::post("/api/v3/core/groups/")
            .header(header::COOKIE, &cookies)
            .header("X-CSRFToken", &csrf_of(&cookies))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"name\": \"x\"}"))
            .unwrap();
        let (status, _, _) = env.send(request).await;
        assert_eq!(status, StatusCode::CREATED);
    }
);

both_stores!(
    hydrated_form_posts_carry_the_token_as_an_argument,
    |env: common::Env| async move {
        // What the hydrated ActionForm sends: the typed arguments, url-encoded, via fetch.
        let post = |body: String| {
            Request::post("/ui-fn/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .header(header::COOKIE, format!("garrison_csrf={CSRF}"))
                .body(Body::from(body))
                .unwrap()
        };
        let password = common::ADMIN_PASSWORD.replace(' ', "+");
        let (status, headers, _) = env
            .send(post(format!(
                "csrf_token={CSRF}&username=akadmin&password={password}&next=%2Fgroups"
            )))
            .await;
        assert!(status.is_success() || status.is_redirection(), "{status}");
        assert!(session_cookie(&headers).is_some());
        let (status, _, body) = env
            .send(post(format!("username=akadmin&password={password}")))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            error["Message"].as_str().unwrap_or("").contains("CSRF"),
            "the UI can show it: {error}"
        );
    }
);

both_stores!(
    wrong_password_shows_an_inline_error_and_is_rate_limited,
    |env: common::Env| async move {
        let cookies = format!("garrison_csrf={CSRF}");
        let body = format!("csrf_token={CSRF}&username=akadmin&password=wrong");
        let (status, headers, _) = env.send(form_post("/ui-fn/login", &body, &cookies)).await;
        assert_eq!(status, StatusCode::FOUND);
        let back = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            back.contains("__err"),
            "the error travels back in the URL: {back}"
        );
        assert!(session_cookie(&headers).is_none());
        let path = back.trim_start_matches("http://localhost");
        let (status, _, page) = env.send(get(path, &cookies)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            String::from_utf8_lossy(&page).contains("Invalid username or password."),
            "error shown inline"
        );
        for _ in 0..5 {
            env.send(form_post("/ui-fn/login", &body, &cookies)).await;
        }
        let good = format!(
            "csrf_token={CSRF}&username=akadmin&password={}",
            common::ADMIN_PASSWORD.replace(' ', "+")
        );
        let (_, headers, _) = env.send(form_post("/ui-fn/login", &good, &cookies)).await;
        assert!(
            session_cookie(&headers).is_none(),
            "after 5 failures even the right password waits"
        );
        let (_, events) = env
            .admin("GET", "/events/events/?action=login_failed", None)
            .await;
        assert!(events["pagination"]["count"].as_u64().unwrap_or(0) >= 5);
        assert_eq!(events["results"][0]["user"]["username"], "akadmin");
    }
);

both_stores!(
    a_group_created_through_the_form_is_listed_and_audited,
    |env: common::Env| async move {
        let cookies = log_in(&env).await;
        let (status, _, page) = env.send(get("/", &cookies)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&page).contains("dashboard-counts"));

        let body = format!("csrf_token={}&name=&attributes=%7B%7D", csrf_of(&cookies));
        let (status, headers, _) = env
            .send(form_post("/ui-fn/save_group", &body, &cookies))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        let back = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            back.contains("__err"),
            "a blank name comes back as an error: {back}"
        );

        let csrf = csrf_of(&cookies);
        let body = format!(
            "csrf_token={csrf}&name=platform-team&is_superuser=&attributes=%7B%22tier%22%3A1%7D"
        );
        let (status, headers, _) = env
            .send(form_post("/ui-fn/save_group", &body, &cookies))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(
            headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some("/groups")
        );
        let (_, _, page) = env.send(get("/groups", &cookies)).await;
        assert!(String::from_utf8_lossy(&page).contains("platform-team"));
        let (_, _, page) = env
            .send(get("/events?action=model_created", &cookies))
            .await;
        let html = String::from_utf8_lossy(&page);
        assert!(
            html.contains("platform-team (authentik_core.group)"),
            "{html}"
        );
        assert!(html.contains("akadmin"));
    }
);

both_stores!(
    read_server_functions_answer_get_requests,
    |env: common::Env| async move {
        let cookies = log_in(&env).await;
        let fetch = |cookies: &str| {
            Request::get("/ui-fn/list_groups?page=1&search=")
                .header(header::COOKIE, cookies)
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap()
        };
        let (status, _, body) = env.send(fetch(&cookies)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page["items"][0]["name"], "authentik Admins");
        let (status, _, body) = env.send(fetch(&format!("garrison_csrf={CSRF}"))).await;
        assert!(
            String::from_utf8_lossy(&body).contains("session has ended"),
            "{status}: anonymous reads are refused"
        );
    }
);

both_stores!(
    first_start_setup_link_creates_the_administrator_once,
    empty,
    |env: common::Env| async move {
        use garrison_services::{BootstrapOutcome, BootstrapRequest};
        let outcome = env
            .services
            .ensure_bootstrap(BootstrapRequest::default())
            .await
            .unwrap();
        let BootstrapOutcome::SetupRequired { setup_token } = outcome else {
            panic!("expected a setup link, got {outcome:?}")
        };
        let cookies = format!("garrison_csrf={CSRF}");
        let (status, _, page) = env
            .send(get(&format!("/setup/{setup_token}"), &cookies))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&page).contains("Create administrator"));
        let (_, _, page) = env.send(get("/setup/wrong-token", &cookies)).await;
        assert!(String::from_utf8_lossy(&page).contains("invalid or has already been used"));

        let body =
            format!("csrf_token={CSRF}&token={setup_token}&username=root&password=long-enough-pw");
        let (status, headers, _) = env
            .send(form_post("/ui-fn/complete_setup", &body, &cookies))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(
            headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some("/login?setup=done")
        );
        let outcome = env
            .services
            .login("root", "long-enough-pw", None, "test")
            .await
            .expect("the new administrator logs in");
        assert!(outcome.user.is_superuser);
        let (status, headers, _) = env
            .send(form_post("/ui-fn/complete_setup", &body, &cookies))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            location.contains("__err"),
            "the link works once: {location}"
        );
        assert_eq!(
            env.services
                .ensure_bootstrap(BootstrapRequest::default())
                .await
                .unwrap(),
            BootstrapOutcome::AlreadyBootstrapped
        );
    }
);

use common::plugin_component as wasm_component;

fn multipart_form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    common::multipart("ui-boundary", parts)
}

both_stores!(
    the_plugins_pages_review_upload_and_enable_without_javascript,
    |env: common::Env| async move {
        let cookies = log_in(&env).await;
        let (status, _, body) = env.send(get("/plugins", &cookies)).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body);
        assert!(
            html.contains("provider-proxy") && html.contains("backend-compose"),
            "{html}"
        );
        assert!(html.contains("running"), "{html}");
        assert!(
            html.contains("class=\"latency\""),
            "a latency chart per plugin: {html}"
        );
        let (status, _, body) = env.send(get("/plugins/provider-ldap", &cookies)).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("It requests nothing"), "{html}");
        assert!(html.contains("latency large"), "{html}");

        let manifest = b"name = \"reserved-names\"\nversion = \"1.0.0\"\nkind = \"policy\"\nwit_version = \"0.1.0\"\ncapabilities = [\"secret:api-key\"]\n";
        let component = wasm_component("garrison_test_policy");
        let upload = |csrf: &str| {
            Request::post("/plugins/upload")
                .header(
                    header::CONTENT_TYPE,
                    "multipart/form-data; boundary=ui-boundary",
                )
                .header(header::ACCEPT, "text/html")
                .header(header::COOKIE, &cookies)
                .body(Body::from(multipart_form(&[
                    ("csrf_token", None, csrf.as_bytes()),
                    ("component", Some("policy.wasm"), &component),
                    ("manifest", Some("plugin.toml"), manifest),
                ])))
                .unwrap()
        };
        let (status, _, _) = env.send(upload("wrong")).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the upload form is CSRF-protected"
        );
        let (status, headers, _) = env.send(upload(&csrf_of(&cookies))).await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(headers[header::LOCATION], "/plugins/reserved-names");

        let (_, _, body) = env.send(get("/plugins/reserved-names", &cookies)).await;
        let html = String::from_utf8_lossy(&body);
        assert!(
            html.contains("secret:api-key") && html.contains("read the secret"),
            "{html}"
        );
        assert!(html.contains("not granted"), "{html}");
        assert!(html.contains("Grant what it requests and enable"), "{html}");

        std::fs::write(
            env.config
                .plugin_secrets_dir
                .clone()
                .unwrap()
                .join("api-key"),
            "k",
        )
        .unwrap();
        let (status, headers, _) = env
            .send(form_post(
                "/ui-fn/plugin_action",
                &format!(
                    "csrf_token={}&name=reserved-names&action=grant-and-enable",
                    csrf_of(&cookies)
                ),
                &cookies,
            ))
            .await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(headers[header::LOCATION], "/plugins/reserved-names");
        let (_, _, body) = env.send(get("/plugins/reserved-names", &cookies)).await;
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("badge ok\">running"), "{html}");
        assert!(html.contains("Revoke all grants"), "{html}");

        // A bad upload comes back to the list with the reason.
        let bad = Request::post("/plugins/upload")
            .header(
                header::CONTENT_TYPE,
                "multipart/form-data; boundary=ui-boundary",
            )
            .header(header::COOKIE, &cookies)
            .body(Body::from(multipart_form(&[
                ("csrf_token", None, csrf_of(&cookies).as_bytes()),
                ("component", Some("x.wasm"), b"junk"),
                ("manifest", Some("plugin.toml"), manifest),
            ])))
            .unwrap();
        let (status, headers, _) = env.send(bad).await;
        assert!(status.is_redirection());
        let location = headers[header::LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with("/plugins?error="), "{location}");
        let (_, _, body) = env.send(get(&location, &cookies)).await;
        assert!(String::from_utf8_lossy(&body).contains("not a WebAssembly binary"));
    }
);

both_stores!(
    a_plugins_limits_are_set_on_its_page_and_bad_values_are_named,
    |env: common::Env| async move {
        let cookies = log_in(&env).await;
        let csrf = csrf_of(&cookies);
        let page = "/plugins/provider-ldap";
        let set = |deadline: &str, memory: &str| {
            let mut request = form_post(
                "/ui-fn/set_plugin_limits",
                &format!(
                    "csrf_token={csrf}&name=provider-ldap&deadline_ms={deadline}&memory_mib={memory}"
                ),
                &cookies,
            );
            request.headers_mut().insert(
                header::REFERER,
                axum::http::HeaderValue::from_static("http://localhost/plugins/provider-ldap"),
            );
            request
        };
        let shown_after = |response: (StatusCode, axum::http::HeaderMap, _)| {
            let (status, headers, _) = response;
            assert_eq!(status, StatusCode::FOUND);
            let location = headers[header::LOCATION].to_str().unwrap().to_owned();
            location.trim_start_matches("http://localhost").to_owned()
        };

        let (_, _, body) = env.send(get(page, &cookies)).await;
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("Limits per call"), "{html}");
        assert!(html.contains("name=\"deadline_ms\""), "{html}");

        let back = shown_after(env.send(set("soon", "16")).await);
        assert!(back.starts_with(page) && back.contains("__err"), "{back}");
        let (_, _, body) = env.send(get(&back, &cookies)).await;
        let html = String::from_utf8_lossy(&body);
        assert!(
            html.contains("is not a whole number of milliseconds"),
            "the bad field is named on the page: {html}"
        );

        let back = shown_after(env.send(set("0", "16")).await);
        let (_, _, body) = env.send(get(&back, &cookies)).await;
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("must be between 1 and 60000"), "{html}");

        let back = shown_after(env.send(set("250", "16")).await);
        assert_eq!(back, page);
        let (_, _, body) = env.send(get(page, &cookies)).await;
        let html = String::from_utf8_lossy(&body);
        assert!(
            html.contains("value=\"250\"") && html.contains("value=\"16\""),
            "{html}"
        );
        assert!(
            html.contains("badge ok\">running"),
            "reloaded, still running: {html}"
        );
        let (_, plugin) = env.admin("GET", "/plugins/provider-ldap/", None).await;
        assert_eq!(
            (
                plugin["deadline_ms"].as_u64(),
                plugin["memory_mib"].as_u64()
            ),
            (Some(250), Some(16))
        );
        let (_, events) = env
            .admin("GET", "/events/events/?page_size=100", None)
            .await;
        assert!(
            events.to_string().contains("deadline_ms"),
            "the change is audited: {events}"
        );
    }
);

#[test]
fn every_server_function_lives_under_the_one_prefix() {
    // Leptos's attribute takes a literal, so the prefix is spelled per function in
    // garrison-app; this holds them to the one the browser edge (CSRF, login gate) knows.
    let paths: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    assert!(
        paths.len() > 10,
        "server functions are registered: {paths:?}"
    );
    for path in paths {
        assert!(
            path.starts_with(garrison_web::SERVER_FN_PREFIX),
            "{path} is outside {}",
            garrison_web::SERVER_FN_PREFIX
        );
    }
}

both_stores!(
    the_bundle_is_named_by_its_hash_cached_for_good_and_compressed,
    |env: common::Env| async move {
        let (status, _, page) = env.send(get("/login", "")).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&page).into_owned();
        let Some(start) = html.find("/pkg/garrison.") else {
            // A build without the bundle (scripts/build-ui.sh not run) has nothing to serve.
            assert!(std::env::var("CI").is_err(), "CI builds the bundle: {html}");
            return;
        };
        let name: String = html[start + "/pkg/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let name = name.trim_end_matches(".js").to_owned();
        assert!(name.len() == "garrison.".len() + 16, "hashed: {name}");
        let fetch = |path: String, encoding: &'static str| {
            Request::get(path)
                .header(header::ACCEPT_ENCODING, encoding)
                .body(Body::empty())
                .unwrap()
        };
        let (status, headers, br) = env
            .send(fetch(format!("/pkg/{name}_bg.wasm"), "gzip, deflate, br"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let (_, headers, gz) = env
            .send(fetch(format!("/pkg/{name}_bg.wasm"), "gzip"))
            .await;
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        let (_, headers, raw) = env.send(fetch(format!("/pkg/{name}_bg.wasm"), "")).await;
        assert!(headers.get(header::CONTENT_ENCODING).is_none());
        assert!(raw.starts_with(b"\0asm"), "the raw module");
        assert!(br.len() < gz.len() && gz.len() < raw.len());
        // The goal: under 600 KB on the wire. Held with every page since the whole build
        // type-erases components (`.cargo/config.toml`; 463 KB with the Blueprints pages,
        // 703 KB without it). Raise it only deliberately and with a reason.
        assert!(
            br.len() < 600_000,
            "under 600 KB on the wire: {} bytes",
            br.len()
        );
        let (status, _, _) = env
            .send(fetch("/pkg/garrison.0000000000000000.js".into(), "br"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an old hash is gone");
    }
);

both_stores!(
    assets_leave_the_sessions_csrf_cookie_alone,
    |env: common::Env| async move {
        // A full page load fetches the stylesheet and the bundle after the page; none of
        // them may replace the session's CSRF cookie, or the page's forms fail.
        let cookies = log_in(&env).await;
        for path in [
            "/static/garrison.css",
            "/static/avatar.svg",
            "/-/health/live/",
        ] {
            let (_, headers, _) = env.send(get(path, &cookies)).await;
            let set: Vec<_> = headers.get_all(header::SET_COOKIE).iter().collect();
            assert!(set.is_empty(), "{path} set {set:?}");
        }
        // And a form posted after them still passes.
        let csrf = csrf_of(&cookies);
        let (status, headers, _) = env
            .send(form_post(
                "/ui-fn/save_group",
                &format!("csrf_token={csrf}&name=after-assets&attributes=%7B%7D"),
                &cookies,
            ))
            .await;
        assert_eq!(status, StatusCode::FOUND, "{headers:?}");
        let location = headers[header::LOCATION].to_str().unwrap();
        assert!(!location.contains("__err"), "{location}");
    }
);

/// A form value, url-encoded.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of the form input named `name` in a page (`name="…" value="…"`, as rendered).
fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The part of a page from the element marked `data-testid="{test_id}"` to the end of the
/// first `</{until}>` after it.
fn marked<'a>(html: &'a str, test_id: &str, until: &str) -> Option<&'a str> {
    let start = html.find(&format!("data-testid=\"{test_id}\""))?;
    let rest = &html[start..];
    let end = rest.find(&format!("</{until}>")).unwrap_or(rest.len());
    Some(&rest[..end])
}

async fn groups_named(env: &common::Env, name: &str) -> u64 {
    let (status, list) = env
        .admin("GET", &format!("/core/groups/?name={name}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["pagination"]["count"].as_u64().unwrap_or(0)
}

/// The plain form post of an instance page's Plan or Apply button, sent from `page`.
fn blueprint_run_form(page: &str, body: &str, cookies: &str) -> Request<Body> {
    let mut request = form_post("/ui-fn/run_blueprint_instance", body, cookies);
    request.headers_mut().insert(
        header::REFERER,
        axum::http::HeaderValue::from_str(&format!("http://localhost{page}")).unwrap(),
    );
    request
}

both_stores!(
    a_blueprint_is_planned_then_applied_without_javascript,
    |env: common::Env| async move {
        use serde_json::json;
        let cookies = log_in(&env).await;
        let csrf = csrf_of(&cookies);
        let content = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
                       name: ui-blueprint-group\n    attrs:\n      attributes: {tier: 2}\n";
        let (status, created) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "ui-blueprint", "content": content})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let pk = created["pk"].as_str().expect("a UUID pk").to_owned();
        let page = format!("/blueprints/{pk}");

        let (status, _, body) = env.send(get("/blueprints", &cookies)).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body).into_owned();
        let list = marked(&html, "blueprints", "table").expect("the instances' table");
        assert!(
            list.contains("ui-blueprint") && list.contains("database") && list.contains("never"),
            "{list}"
        );

        // Before a plan there is nothing to apply.
        let (status, _, body) = env.send(get(&page, &cookies)).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8_lossy(&body).into_owned();
        assert!(html.contains("Not applied yet"), "{html}");
        assert!(html.contains("data-testid=\"plan-form\""), "{html}");
        assert!(!html.contains("data-testid=\"apply\""), "{html}");

        let run = |body: String| blueprint_run_form(&page, &body, &cookies);
        // The plan of a plain form post comes back to the page, which draws it as a table.
        let (status, headers, _) = env
            .send(run(format!("csrf_token={csrf}&pk={pk}&mode=plan")))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(headers[header::LOCATION], format!("{page}#plan").as_str());
        let (_, _, body) = env.send(get(&page, &cookies)).await;
        let html = String::from_utf8_lossy(&body).into_owned();
        let table = marked(&html, "plan-rows", "table").expect("the plan's table");
        assert!(
            table.contains(">+<") && table.contains(">create<"),
            "a create row: {table}"
        );
        assert!(table.contains("authentik_core.group"), "{table}");
        assert!(table.contains("name: \"ui-blueprint-group\""), "{table}");
        assert!(table.contains("attributes: "), "its fields: {table}");
        assert!(html.contains("1 change: 1 to create"), "{html}");
        let planned = input_value(&html, "planned").expect("an apply form with the plan");
        assert_eq!(
            groups_named(&env, "ui-blueprint-group").await,
            0,
            "a plan writes nothing"
        );
        let (_, _, body) = env.send(get(&page, &cookies)).await;
        assert!(
            !String::from_utf8_lossy(&body).contains("data-testid=\"plan-rows\""),
            "the plan is shown once"
        );

        // Applying needs what was planned to be what is applied.
        let (status, headers, _) = env
            .send(run(format!(
                "csrf_token={csrf}&pk={pk}&mode=apply&planned=other"
            )))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        let location = headers[header::LOCATION].to_str().unwrap().to_owned();
        assert!(location.contains("__err"), "{location}");
        assert_eq!(groups_named(&env, "ui-blueprint-group").await, 0);

        let (status, headers, _) = env
            .send(run(format!(
                "csrf_token={csrf}&pk={pk}&mode=apply&planned={planned}"
            )))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(
            headers[header::LOCATION],
            format!("{page}#last-run").as_str()
        );
        assert_eq!(groups_named(&env, "ui-blueprint-group").await, 1);
        let (_, _, body) = env.send(get(&page, &cookies)).await;
        let html = String::from_utf8_lossy(&body).into_owned();
        assert!(html.contains("badge ok\">successful"), "{html}");
        let last_run = marked(&html, "last-run", "section").expect("the last run");
        assert!(
            last_run.contains("1 entry applied, with changes"),
            "{last_run}"
        );
        let (_, _, body) = env.send(get("/blueprints", &cookies)).await;
        let html = String::from_utf8_lossy(&body).into_owned();
        assert!(
            html.contains("badge ok\">successful")
                && html.contains("1 entry applied, with changes"),
            "{html}"
        );

        // A run that failed shows its entry in an error panel, on the page and in the list.
        let taken = "version: 1\nentries:\n  - model: authentik_core.group\n    state: \
                     must_created\n    identifiers:\n      name: ui-blueprint-taken\n";
        let (status, failing) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "ui-blueprint-failing", "content": taken})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{failing}");
        let failing_pk = failing["pk"].as_str().expect("a UUID pk").to_owned();
        let (status, group) = env
            .admin(
                "POST",
                "/core/groups/",
                Some(json!({"name": "ui-blueprint-taken"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let (status, applied) = env
            .admin(
                "POST",
                &format!("/managed/blueprints/{failing_pk}/apply/"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        assert_eq!(applied["status"], "error", "{applied}");
        let (_, _, body) = env
            .send(get(&format!("/blueprints/{failing_pk}"), &cookies))
            .await;
        let html = String::from_utf8_lossy(&body).into_owned();
        assert!(html.contains("badge bad\">error"), "{html}");
        let panel = marked(&html, "failure", "div").expect("an error panel");
        assert!(
            panel.contains("must_created")
                && panel.contains("authentik_core.group")
                && panel.contains("name: \"ui-blueprint-taken\""),
            "{panel}"
        );

        // A new instance through the form: a bad context is refused, then one is created.
        let create = |context: &str| {
            form_post(
                "/ui-fn/create_blueprint_instance",
                &format!(
                    "csrf_token={csrf}&name=ui-blueprint-form&source=database&content={}&path=\
                     &context={}&enabled=on",
                    encode(content),
                    encode(context)
                ),
                &cookies,
            )
        };
        let (status, headers, _) = env.send(create("[1]")).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = headers[header::LOCATION].to_str().unwrap().to_owned();
        assert!(location.contains("__err"), "{location}");
        let (status, headers, _) = env.send(create("{\"k\": \"v\"}")).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = headers[header::LOCATION].to_str().unwrap().to_owned();
        assert!(
            location.starts_with("/blueprints/") && !location.contains("__err"),
            "{location}"
        );

        // Deleting asks for the box to be ticked.
        let delete = |confirm: &str| {
            form_post(
                "/ui-fn/delete_blueprint_instance",
                &format!("csrf_token={csrf}&pk={failing_pk}{confirm}"),
                &cookies,
            )
        };
        let (status, headers, _) = env.send(delete("")).await;
        assert_eq!(status, StatusCode::FOUND);
        let location = headers[header::LOCATION].to_str().unwrap().to_owned();
        assert!(location.contains("__err"), "{location}");
        let (status, headers, _) = env.send(delete("&confirm=on")).await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(headers[header::LOCATION], "/blueprints");
        let (status, _) = env
            .admin("GET", &format!("/managed/blueprints/{failing_pk}/"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

both_stores!(
    a_blueprints_plan_names_the_outposts_applying_would_update,
    |env: common::Env| async move {
        use crate::blueprint_instances::{import_served_provider, served_provider_blueprint};
        use serde_json::json;
        import_served_provider(&env, "https://a.example.com").await;
        let moved = served_provider_blueprint("https://b.example.com");
        let (status, created) = env
            .admin(
                "POST",
                "/managed/blueprints/",
                Some(json!({"name": "ui-outposts", "content": moved})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let pk = created["pk"].as_str().expect("a UUID pk").to_owned();
        let page = format!("/blueprints/{pk}");
        let cookies = log_in(&env).await;
        let csrf = csrf_of(&cookies);
        let (status, _, _) = env
            .send(blueprint_run_form(
                &page,
                &format!("csrf_token={csrf}&pk={pk}&mode=plan"),
                &cookies,
            ))
            .await;
        assert_eq!(status, StatusCode::FOUND);
        let (_, _, body) = env.send(get(&page, &cookies)).await;
        let html = String::from_utf8_lossy(&body).into_owned();
        let outposts = marked(&html, "plan-outposts", "p").expect("the outposts line");
        assert!(outposts.contains("bp-plan-edge"), "{outposts}");
        let table = marked(&html, "plan-rows", "table").expect("the plan's table");
        assert!(table.contains("https://b.example.com"), "{table}");
    }
);
