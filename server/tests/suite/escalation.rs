//! The delegation rule, tried the hard way: no caller may give anyone (themselves included) a
//! right they do not hold.
//!
//! For every permission of the catalogue, held globally and held on one object of its model, a
//! user holding only that permission (mallory) tries every write the API offers that could pass
//! a right on, and the UI forms that write users, groups and plugins. Each case gets a Garrison
//! of its own, so what one case did can neither help nor hide another. Status codes are not
//! looked at: what counts is the state afterwards. After every attempt:
//! - nobody holds a right they did not hold before unless mallory held it (she may pass on what
//!   she holds, nothing more), and nobody became a superuser;
//! - every credential the attempt could have produced (a token key in an answer, a key or a
//!   password mallory set) is tried: whatever it logs in as must hold nothing mallory did not,
//!   since a credential for an account is holding what the account holds;
//! - akadmin is still active, a superuser, in the same groups, with the same password;
//! - no plugin has a capability the administrator did not grant, and mallory owns no token that
//!   never expires;
//! - no secret of the setting that logs in as nobody (victim-cert's private key, its
//!   certificate) appeared in an answer to her unless she holds the permission that shows it;
//! - the key of victim-outpost's token, which only the administrator read, logs in as that
//!   outpost's account or not at all;
//! - no event was recorded in another user's name, nor by her without `add_event`.
//!
//! Outposts' service accounts are accounts like any other: what an outpost serves decides what
//! its account holds, so whatever mallory does to outposts, providers, keypairs and brands is
//! checked by the same rule (the embedded outpost's account exists from the start, and is part
//! of what everyone held before).
//!
//! Blueprint instances run as whoever applies them: the administrator's instance and a file in
//! the blueprints directory would each make mallory an administrator, and applying them (or
//! instances of her own) must give her nothing she did not hold.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures::StreamExt;
use garrison_model::{ListQuery, PageRequest, Token, User};
use garrison_model::{PluginRecord, PluginSource, PluginWorld};
use garrison_services::authz::Visibility;
use garrison_services::{Caller, EventFilter, Principal, ServiceError, SessionKey, UserFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common;

/// The CSRF cookie and field of mallory's browser before she logs in (an unbound token).
const CSRF: &str = "0123456789abcdef0123456789abcdef";
const MALLORY_PASSWORD: &str = "mallory-password-123";
const VICTIM_PASSWORD: &str = "victim-password-123";
/// What mallory sets wherever she can set a password; if it then logs in, she holds the account.
const PLANTED_PASSWORD: &str = "planted-by-mallory-1";
/// What mallory sets wherever she can set a token key (40 characters, above the minimum).
const PLANTED_KEY: &str = "mallory-planted-key-0123456789abcdefghij";
/// A blueprint that would put mallory in the administrators' group (keeping her own group): the
/// content of the administrator's instance (`victim-blueprint`) once mallory exists, and of
/// `ESCALATING_FILE` in the blueprints directory. Whoever applies it runs it as themselves.
const ESCALATING_BLUEPRINT: &str = "version: 1
metadata:
  name: make mallory an administrator
entries:
  - model: authentik_core.user
    identifiers:
      username: mallory
    attrs:
      groups:
        - !Find [authentik_core.group, [name, mine]]
        - !Find [authentik_core.group, [name, authentik Admins]]
";
const ESCALATING_FILE: &str = "esc-admins.yaml";
/// A blueprint that would make a superuser group with mallory in it.
const SUPERUSER_BLUEPRINT: &str = "version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: esc-bp-superusers
    attrs:
      is_superuser: true
      users:
        - !Find [authentik_core.user, [username, mallory]]
";
/// What power-role grants: rights the victim holds and mallory, holding one permission, never
/// holds all of.
const POWER: [&str; 3] = [
    "authentik_core.delete_user",
    "authentik_events.view_event",
    "authentik_rbac.add_role",
];
/// A plugin record that requests a capability: the built-ins request none, so without it a
/// grant would have nothing to grant and the plugin attempts would prove nothing.
const SEEKER: &str = "capability-seeker";
const SEEKER_CAPABILITY: &str = "secret:api-key";
/// The administrator's token from bootstrap (`BOOTSTRAP_TOKEN_IDENTIFIER`, private to the
/// services).
const ADMIN_TOKEN_IDENTIFIER: &str = "authentik-bootstrap-token";
/// Cases in flight at once, each with its own Garrison: database and hashing waits overlap.
const CONCURRENT_CASES: usize = 2;
/// The catalogue has 80 permissions: 76 of them on models with object grants worth testing
/// (all but events), 62 that are no view (18 views): 80 + 76 + 62 = 218 cases.
const MIN_CASES: usize = 210;
/// The plan below has 105 attempts per case; the suite may grow, never silently shrink.
const MIN_ATTEMPTS_PER_CASE: usize = 102;
/// Any flow: flows stay outside Garrison, providers keep them as opaque references.
const FLOW: &str = "00000000-0000-4000-8000-000000000001";
/// The actions of the events mallory records: a plain one, and one whose body claims another
/// user (refused: the user is always the caller).
const EVENT_ACTION: &str = "custom_escalation";
const FORGED_EVENT_ACTION: &str = "custom_escalation_forged";
const ADD_EVENT: &str = "authentik_events.add_event";
/// What shows a keypair's private key, and its certificate.
const VIEW_PRIVATE_KEY: &str = "authentik_crypto.view_certificatekeypair_key";
const VIEW_CERTIFICATE: &str = "authentik_crypto.view_certificatekeypair_certificate";

/// One permission of the catalogue, as `app_label.codename`, with the model it is about.
#[derive(Clone, Debug)]
struct Permission {
    name: String,
    model: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// On every object of the model.
    Global,
    /// On one object of the model only.
    Object,
    /// Globally, together with every view permission: most writes first look the object up,
    /// so a permission held alone can be refused for want of seeing its target, which would
    /// hide a missing delegation check behind a 403.
    GlobalWithViews,
}

/// Whether `permission` only shows objects. Seeing a key (a token's, a keypair's, an outpost's
/// token) is acting as its owner, so those are no views.
fn is_view(permission: &str) -> bool {
    permission.split_once('.').is_some_and(|(_, codename)| {
        codename.starts_with("view_")
            && !codename.ends_with("_key")
            && codename != "view_outpost_token"
    })
}

/// What mallory holds in one case: one permission, in one scope.
#[derive(Clone, Debug)]
struct Case {
    permission: Permission,
    scope: Scope,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scope {
            Scope::Global => write!(f, "{} held globally", self.permission.name),
            Scope::GlobalWithViews => write!(
                f,
                "{} held globally with every view permission",
                self.permission.name
            ),
            Scope::Object => write!(
                f,
                "{} held on one {}",
                self.permission.name, self.permission.model
            ),
        }
    }
}

/// Every view permission of the catalogue (the keys' "view" excepted: seeing a key is
/// acting as its owner; see `is_view`).
async fn world_catalogue_views(env: &common::Env) -> Vec<String> {
    env.services
        .list_permissions(&Caller::cli())
        .await
        .expect("setup: the catalogue")
        .into_iter()
        .map(|p| format!("{}.{}", p.app_label, p.codename))
        .filter(|p| is_view(p))
        .collect()
}

/// Events have no object mallory could act on here: global scope only. Every other model has
/// one in the setting (`object_of_model`).
fn has_objects(model: &str) -> bool {
    !matches!(model, "event")
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    attempts: usize,
    /// Fresh Garrisons made because an attempt legitimately changed the setting.
    rebuilds: usize,
}

both_stores!(
    nobody_gains_a_right_they_did_not_hold,
    // Long by design (hundreds of cases); each phase of a case has its own limit below.
    within std::time::Duration::from_secs(1800),
    |env: common::Env| async move {
        let started = std::time::Instant::now();
        let backend = env.services.store_backend();
        let postgres = backend == "postgres";
        let catalogue: Vec<Permission> = env
            .services
            .list_permissions(&Caller::cli())
            .await
            .expect("the permission catalogue")
            .into_iter()
            .map(|p| Permission {
                name: format!("{}.{}", p.app_label, p.codename),
                model: p.model,
            })
            .collect();
        // Every case gets a Garrison of its own; this one only told us the catalogue.
        env.services.close().await;

        let mut cases = Vec::new();
        for permission in &catalogue {
            cases.push(Case {
                permission: permission.clone(),
                scope: Scope::Global,
            });
            if has_objects(&permission.model) {
                cases.push(Case {
                    permission: permission.clone(),
                    scope: Scope::Object,
                });
            }
            if !is_view(&permission.name) {
                cases.push(Case {
                    permission: permission.clone(),
                    scope: Scope::GlobalWithViews,
                });
            }
        }
        assert!(
            cases.len() >= MIN_CASES,
            "only {} cases: the catalogue shrank ({} permissions)",
            cases.len(),
            catalogue.len()
        );
        let case_count = cases.len();
        let catalogue = Arc::new(catalogue);
        let tallies: Vec<Tally> = futures::stream::iter(cases)
            // Each case is a task of its own, so a task dump shows where a stuck one waits.
            .map(|case| tokio::spawn(run_case(postgres, case, catalogue.clone())))
            .buffer_unordered(CONCURRENT_CASES)
            .map(common::joined)
            .collect()
            .await;
        let attempts: usize = tallies.iter().map(|t| t.attempts).sum();
        let rebuilds: usize = tallies.iter().map(|t| t.rebuilds).sum();
        eprintln!(
            "escalation on {backend}: {case_count} cases, {attempts} attempts, {rebuilds} fresh \
             Garrisons after an attempt changed the setting, {:.1?}",
            started.elapsed()
        );
        assert!(
            attempts >= case_count * MIN_ATTEMPTS_PER_CASE,
            "only {attempts} attempts for {case_count} cases: the plan shrank"
        );
    }
);

/// How long one phase of a case (building its Garrison, one attempt, one check, closing it)
/// may take before the test fails naming it. A whole run once stopped with every thread idle
/// in the SQLite case; if that happens again, this says where, and a build with task dumps
/// (`common::task_dump`) says where each task waits.
const PHASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

async fn within<T>(case: &Case, what: &str, phase: impl std::future::Future<Output = T>) -> T {
    common::watched(format!("with {case}, {what}"), PHASE_LIMIT, phase).await
}

/// Runs every attempt of the plan for one case and checks the rule after each.
async fn run_case(postgres: bool, case: Case, catalogue: Arc<Vec<Permission>>) -> Tally {
    let mut tally = Tally::default();
    let mut world = within(
        &case,
        "building its Garrison",
        World::build(postgres, &case, catalogue.clone()),
    )
    .await;
    let mut plan = world.plan();
    let mut index = 0;
    while index < plan.len() {
        let attempt = &plan[index];
        let obtained = within(
            &case,
            &format!("attempt {:?}", attempt.name),
            world.perform(attempt),
        )
        .await;
        let now = within(
            &case,
            &format!("the check after {:?}", attempt.name),
            world.check(&case, &attempt.name, &obtained),
        )
        .await;
        tally.attempts += 1;
        index += 1;
        // An attempt mallory was entitled to may still change the setting (she or the victim
        // lost a right, a setup group or token changed, her credentials stopped working); the
        // attempts after it would then prove nothing, so they get a fresh Garrison set up the
        // same way.
        if index < plan.len() && !within(&case, "the setting's check", world.intact(&now)).await {
            within(&case, "closing its Garrison", world.finish(&case)).await;
            world = within(
                &case,
                "rebuilding its Garrison",
                World::build(postgres, &case, catalogue.clone()),
            )
            .await;
            plan = world.plan();
            tally.rebuilds += 1;
        }
    }
    within(&case, "closing its Garrison", world.finish(&case)).await;
    tally
}

/// One step of an attempt. Paths and bodies may name `$PK`, the `pk` of the latest answer
/// that had one (an object the attempt created); `"$PKNUM"` (quoted) becomes it as a number.
enum Step {
    /// A JSON API call with mallory's bearer token.
    Api {
        method: &'static str,
        path: String,
        body: Option<Value>,
    },
    /// A form posted to a UI server function from mallory's browser (the CSRF field is added).
    Ui {
        function: &'static str,
        fields: Vec<(&'static str, String)>,
    },
}

/// A credential tried after an attempt (token keys found in answers are tried as well).
#[derive(Clone)]
enum Probe {
    Key(String),
    Password(String, String),
}

struct Attempt {
    name: String,
    steps: Vec<Step>,
    probes: Vec<Probe>,
}

/// A secret of the setting that logs in as nobody, yet may reach mallory only if she holds
/// `permission` on `object`. `needle` is how it reads inside an answer's JSON text.
#[derive(Clone)]
struct Secret {
    what: &'static str,
    needle: String,
    permission: &'static str,
    object: String,
}

fn secret(what: &'static str, text: &str, permission: &'static str, object: Uuid) -> Secret {
    let quoted = Value::String(text.to_owned()).to_string();
    let needle = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned();
    Secret {
        what,
        needle,
        permission,
        object: object.to_string(),
    }
}

/// What an attempt yielded: the credentials that work, with what each logs in as, and the
/// secrets that appeared in an answer.
struct Obtained {
    logins: Vec<(String, Principal)>,
    secrets: Vec<Secret>,
}

fn call(method: &'static str, path: impl Into<String>, body: Value) -> Step {
    Step::Api {
        method,
        path: path.into(),
        body: Some(body),
    }
}

fn bare(method: &'static str, path: impl Into<String>) -> Step {
    Step::Api {
        method,
        path: path.into(),
        body: None,
    }
}

fn form(function: &'static str, fields: Vec<(&'static str, &str)>) -> Step {
    Step::Ui {
        function,
        fields: fields
            .into_iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect(),
    }
}

fn password(username: &str, password: &str) -> Probe {
    Probe::Password(username.to_owned(), password.to_owned())
}

fn fill(text: &str, last_pk: Option<&str>) -> String {
    let number = last_pk
        .filter(|pk| pk.parse::<i64>().is_ok())
        .unwrap_or("0");
    text.replace("\"$PKNUM\"", number)
        .replace("$PK", last_pk.unwrap_or("none"))
}

/// The key of `model`'s object that object-scoped grants name: the group, user, role and token
/// mallory is after, a built-in plugin (plugins are keyed by name, tokens by UUID), and what the
/// administrator set up for outposts (providers by number, the rest by UUID).
fn object_of_model(
    model: &str,
    powerful: Uuid,
    victim: i64,
    power_role: Uuid,
    victim_token: Uuid,
    served: &Served,
) -> String {
    match model {
        "group" => powerful.to_string(),
        "user" => victim.to_string(),
        "role" => power_role.to_string(),
        "token" => victim_token.to_string(),
        "plugin" => "provider-proxy".to_owned(),
        "outpost" => served.outpost.to_string(),
        "proxyprovider" => served.proxy.to_string(),
        "ldapprovider" => served.ldap.to_string(),
        "radiusprovider" => served.radius.to_string(),
        "racprovider" => served.rac.to_string(),
        "application" => served.application.to_string(),
        "certificatekeypair" => served.certificate.to_string(),
        "dockerserviceconnection" => served.docker.to_string(),
        "kubernetesserviceconnection" => served.kubernetes.to_string(),
        "brand" => served.brand.to_string(),
        "blueprintinstance" => served.blueprint_instance.to_string(),
        // Events: any key, it names nothing.
        _ => "1".to_owned(),
    }
}

/// Every grant a principal holds, as (permission, object; "" for global). `PermissionSet`
/// shows only its global grants, so object grants are read per permission of the catalogue
/// through `visibility`, which lists the objects a permission is held on.
fn grants_of(principal: &Principal, catalogue: &[Permission]) -> BTreeSet<(String, String)> {
    let mut grants: BTreeSet<(String, String)> = principal
        .permissions()
        .global()
        .map(|permission| (permission.clone(), String::new()))
        .collect();
    for permission in catalogue {
        if let Ok(Some(Visibility::Only(objects))) = principal.visibility(&permission.name) {
            grants.extend(
                objects
                    .into_iter()
                    .map(|object| (permission.name.clone(), object)),
            );
        }
    }
    grants
}

fn show(permission: &str, object: &str) -> String {
    if object.is_empty() {
        format!("{permission} globally")
    } else {
        format!("{permission} on object {object}")
    }
}

fn violation(case: &Case, attempt: &str, what: impl std::fmt::Display) -> ! {
    panic!("delegation exceeded the delegator: with {case}, mallory's attempt \"{attempt}\" {what}")
}

/// A client address of its own for every password probe, so failed probes never add up to
/// the login limit and make a later probe fail for the wrong reason.
fn probe_address() -> String {
    static PROBES: AtomicU64 = AtomicU64::new(1);
    let n = PROBES.fetch_add(1, Ordering::Relaxed);
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

fn everything() -> ListQuery {
    ListQuery {
        page: PageRequest {
            page: 1,
            page_size: 1000,
        },
        ..ListQuery::default()
    }
}

/// What everyone holds now, by user pk (inactive users hold nothing and are left out).
async fn principals(env: &common::Env) -> HashMap<i64, Principal> {
    let users = env
        .services
        .list_users(&Caller::cli(), &everything(), UserFilter::default())
        .await
        .expect("list the users");
    let mut held = HashMap::new();
    for user in users.items {
        if let Some(principal) = env
            .services
            .principal_for(user.pk)
            .await
            .expect("load a principal")
        {
            held.insert(user.pk, principal);
        }
    }
    held
}

async fn admin_ok(env: &common::Env, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = env.admin(method, path, body).await;
    assert!(
        status.is_success(),
        "setup: {method} {path} answered {status}: {answer}"
    );
    answer
}

fn uuid_in(answer: &Value) -> Uuid {
    answer["pk"]
        .as_str()
        .and_then(|pk| pk.parse().ok())
        .unwrap_or_else(|| panic!("setup: no UUID pk in {answer}"))
}

fn pk_in(answer: &Value) -> i64 {
    answer["pk"]
        .as_i64()
        .unwrap_or_else(|| panic!("setup: no numeric pk in {answer}"))
}

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

fn form_post(path: &str, body: String, cookies: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://localhost/users")
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .expect("a form request")
}

/// The value a response sets for cookie `name`, if it sets one.
fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix(prefix.as_str()))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|v| !v.is_empty())
}

/// Logs in through the login form as a browser does; returns the session cookie's value and
/// the cookie header later forms send (with the session-bound CSRF token the first page after
/// login issues).
async fn ui_log_in(env: &common::Env, username: &str, password: &str) -> (String, String) {
    let body = format!(
        "csrf_token={CSRF}&username={}&password={}&next=%2F",
        encode(username),
        encode(password)
    );
    let (status, headers, _) = env
        .send(form_post(
            "/ui-fn/login",
            body,
            &format!("garrison_csrf={CSRF}"),
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::FOUND,
        "setup: {username} logs in through the UI"
    );
    let session = cookie_value(&headers, "garrison_session")
        .expect("setup: the UI login sets a session cookie");
    let session_cookie = format!("garrison_session={session}");
    let request = Request::get("/")
        .header(header::COOKIE, &session_cookie)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .expect("a page request");
    let (_, headers, _) = env.send(request).await;
    let csrf = cookie_value(&headers, "garrison_csrf")
        .expect("setup: a session-bound CSRF cookie after login");
    let cookies = format!("garrison_csrf={csrf}; {session_cookie}");
    // The forms below act as mallory, not as nobody: the UI knows who is logged in.
    let request = Request::get("/ui-fn/current_user")
        .header(header::COOKIE, &cookies)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("a server function request");
    let (status, _, body) = env.send(request).await;
    let who = String::from_utf8_lossy(&body);
    assert!(
        status == StatusCode::OK && who.contains(&format!("\"{username}\"")),
        "setup: the UI session is {username}'s: {status} {who}"
    );
    (session, cookies)
}

/// Records a plugin that requests a capability, disabled with nothing granted, as an upload
/// would (no component: it is never enabled successfully, and need not be).
async fn seed_plugin(env: &common::Env) {
    let now = chrono::Utc::now();
    env.services
        .install_plugin(
            &Caller::cli(),
            PluginRecord {
                name: SEEKER.into(),
                version: "1.0.0".into(),
                kind: PluginWorld::Policy,
                wit_version: "0.1.0".into(),
                source: PluginSource::Upload,
                source_ref: format!("{SEEKER}.wasm"),
                digest: format!("sha256:{}", "0".repeat(64)),
                requested: vec![SEEKER_CAPABILITY.into()],
                granted: Vec::new(),
                enabled: false,
                deadline_ms: garrison_services::plugins::DEFAULT_DEADLINE_MS,
                memory_mib: garrison_services::plugins::DEFAULT_MEMORY_MIB,
                created: now,
                updated: now,
            },
            None,
        )
        .await
        .expect("setup: a plugin that requests a capability");
}

/// What the administrator sets up for outposts before mallory exists; none of it is hers.
struct Served {
    /// victim-cert: a generated ECDSA keypair (named after its common name, victim.example)
    /// that victim-proxy serves with; its private key and certificate as PEM.
    certificate: Uuid,
    private_key: String,
    certificate_pem: String,
    /// victim-proxy, served by victim-outpost; victim-directory (LDAP), served by none; a
    /// RADIUS and a RAC provider, for the object grants of their kinds.
    proxy: i64,
    ldap: i64,
    radius: i64,
    rac: i64,
    /// victim-proxy's application (victim-directory has one too).
    application: Uuid,
    /// victim-outpost: a proxy outpost serving victim-proxy; its account holds what that
    /// needs (the provider, victim-cert, posting events). The key of its token is read by the
    /// administrator only, to notice it change hands.
    outpost: Uuid,
    outpost_key: String,
    docker: Uuid,
    kubernetes: Uuid,
    /// A brand without a web certificate: the embedded outpost's account sees nothing of it.
    brand: Uuid,
    /// victim-blueprint: a blueprint instance with its text in the database, harmless until
    /// mallory exists, then `ESCALATING_BLUEPRINT` (see `World::build`).
    blueprint_instance: Uuid,
}

/// Sets up what outposts serve, as an administrator would through the API.
async fn serve(env: &common::Env) -> Served {
    let certificate = uuid_in(
        &admin_ok(
            env,
            "POST",
            "/crypto/certificatekeypairs/generate/",
            Some(json!({"common_name": "victim.example", "validity_days": 30, "alg": "ecdsa"})),
        )
        .await,
    );
    let keypair = format!("/crypto/certificatekeypairs/{certificate}/");
    let private_key =
        admin_ok(env, "GET", &format!("{keypair}view_private_key/"), None).await["data"]
            .as_str()
            .filter(|pem| pem.contains("PRIVATE KEY"))
            .expect("setup: victim-cert's private key")
            .to_owned();
    let certificate_pem = admin_ok(env, "GET", &format!("{keypair}view_certificate/"), None).await
        ["data"]
        .as_str()
        .filter(|pem| pem.contains("CERTIFICATE"))
        .expect("setup: victim-cert's certificate")
        .to_owned();
    let proxy = pk_in(
        &admin_ok(
            env,
            "POST",
            "/providers/proxy/",
            Some(json!({
                "name": "victim-proxy",
                "authorization_flow": FLOW,
                "invalidation_flow": FLOW,
                "external_host": "https://victim.example",
                "internal_host": "http://127.0.0.1:8000",
                "certificate": certificate,
            })),
        )
        .await,
    );
    let ldap = pk_in(
        &admin_ok(
            env,
            "POST",
            "/providers/ldap/",
            Some(json!({"name": "victim-directory", "authorization_flow": FLOW, "invalidation_flow": FLOW})),
        )
        .await,
    );
    let radius = pk_in(
        &admin_ok(
            env,
            "POST",
            "/providers/radius/",
            Some(json!({"name": "victim-radius", "authorization_flow": FLOW, "invalidation_flow": FLOW})),
        )
        .await,
    );
    // A RAC provider has no invalidation flow.
    let rac = pk_in(
        &admin_ok(
            env,
            "POST",
            "/providers/rac/",
            Some(json!({"name": "victim-rac", "authorization_flow": FLOW})),
        )
        .await,
    );
    let application = uuid_in(
        &admin_ok(
            env,
            "POST",
            "/core/applications/",
            Some(json!({"name": "Victim app", "slug": "victim-app", "provider": proxy})),
        )
        .await,
    );
    admin_ok(
        env,
        "POST",
        "/core/applications/",
        Some(json!({"name": "Victim directory", "slug": "victim-directory", "provider": ldap})),
    )
    .await;
    let outpost = uuid_in(
        &admin_ok(
            env,
            "POST",
            "/outposts/instances/",
            Some(json!({"name": "victim-outpost", "type": "proxy", "providers": [proxy], "config": {}})),
        )
        .await,
    );
    let outpost_key = admin_ok(
        env,
        "GET",
        &format!("/outposts/instances/{outpost}/token/"),
        None,
    )
    .await["key"]
        .as_str()
        .expect("setup: victim-outpost's token key")
        .to_owned();
    let docker = uuid_in(
        &admin_ok(
            env,
            "POST",
            "/outposts/service_connections/docker/",
            Some(json!({"name": "victim-docker", "url": "tcp://docker.victim.example:2376"})),
        )
        .await,
    );
    let kubernetes = uuid_in(
        &admin_ok(
            env,
            "POST",
            "/outposts/service_connections/kubernetes/",
            Some(json!({"name": "victim-kubernetes", "local": true})),
        )
        .await,
    );
    // Brands name their key `brand_uuid`.
    let brand: Uuid = admin_ok(
        env,
        "POST",
        "/core/brands/",
        Some(json!({"domain": "brand.victim.example"})),
    )
    .await["brand_uuid"]
        .as_str()
        .and_then(|pk| pk.parse().ok())
        .expect("setup: the brand's UUID");
    // The content must pass the administrator's dry run now, before mallory exists; the
    // escalating content replaces it once she does.
    let blueprint_instance = uuid_in(
        &admin_ok(
            env,
            "POST",
            "/managed/blueprints/",
            Some(json!({"name": "victim-blueprint", "content": "version: 1\nentries: []\n"})),
        )
        .await,
    );
    Served {
        certificate,
        private_key,
        certificate_pem,
        proxy,
        ldap,
        radius,
        rac,
        application,
        outpost,
        outpost_key,
        docker,
        kubernetes,
        brand,
        blueprint_instance,
    }
}

/// A setup group's links, to notice when an attempt changed one.
type GroupShape = (String, bool, BTreeSet<Uuid>, BTreeSet<Uuid>, BTreeSet<i64>);

/// One Garrison set up for a case: who is who, and what everyone held before the attempts.
struct World {
    env: common::Env,
    catalogue: Arc<Vec<Permission>>,
    admins: Uuid,
    child: Uuid,
    powerful: Uuid,
    mine: Uuid,
    power_role: Uuid,
    mallory_role: Uuid,
    akadmin: i64,
    victim: i64,
    mallory: i64,
    victim_token: Uuid,
    mallory_key: String,
    served: Served,
    /// victim-outpost's service account, and its token's identifier in the token API.
    outpost_account: i64,
    outpost_token: String,
    /// What must not show up in an answer to mallory unless she holds what shows it.
    secrets: Vec<Secret>,
    /// mallory's browser: the session cookie's value, and the cookie header forms send.
    session: String,
    cookies: String,
    csrf: String,
    before: HashMap<i64, Principal>,
    mallory_before: Principal,
    akadmin_before: User,
    plugins_before: BTreeMap<String, BTreeSet<String>>,
    groups_before: Vec<Option<GroupShape>>,
}

impl World {
    /// A fresh Garrison, set up through the API as an administrator would:
    /// - power-role (POWER, globally) on group `powerful`, which has no members but the victim;
    /// - `child-of-admins` under the administrators' group, without members;
    /// - the victim, in `powerful`, with a password and a token that never expires;
    /// - what outposts serve (`serve`): victim-cert, victim-proxy with its application,
    ///   victim-directory (LDAP) with its application, a RADIUS and a RAC provider,
    ///   victim-outpost serving victim-proxy, a Docker and a Kubernetes connection, a brand;
    /// - mallory, holding exactly the case's permission through mallory-role on her group
    ///   `mine`, with a password, an API token (her bearer) and a UI session;
    /// - capability-seeker, a plugin requesting a capability that is not granted.
    async fn build(postgres: bool, case: &Case, catalogue: Arc<Vec<Permission>>) -> World {
        let kind = if postgres {
            common::Kind::Postgres
        } else {
            common::Kind::Sqlite
        };
        let env = common::Env::new(kind)
            .await
            .expect("a fresh Garrison for the case (the first one started)");

        let listed = admin_ok(&env, "GET", "/core/groups/?name=authentik%20Admins", None).await;
        let admins = uuid_in(&listed["results"][0]);
        let akadmin = admin_ok(&env, "GET", "/core/users/me/", None).await["user"]["pk"]
            .as_i64()
            .expect("setup: akadmin's pk");

        let power_role = uuid_in(
            &admin_ok(
                &env,
                "POST",
                "/rbac/roles/",
                Some(json!({"name": "power-role"})),
            )
            .await,
        );
        admin_ok(
            &env,
            "POST",
            &format!("/rbac/permissions/assigned_by_roles/{power_role}/assign/"),
            Some(json!({"permissions": POWER})),
        )
        .await;
        let powerful = uuid_in(
            &admin_ok(
                &env,
                "POST",
                "/core/groups/",
                Some(json!({"name": "powerful", "roles": [power_role]})),
            )
            .await,
        );
        let child = uuid_in(
            &admin_ok(
                &env,
                "POST",
                "/core/groups/",
                Some(json!({"name": "child-of-admins", "parents": [admins]})),
            )
            .await,
        );
        let victim = pk_in(
            &admin_ok(
                &env,
                "POST",
                "/core/users/",
                Some(json!({"username": "victim", "name": "Victim", "groups": [powerful]})),
            )
            .await,
        );
        admin_ok(
            &env,
            "POST",
            &format!("/core/users/{victim}/set_password/"),
            Some(json!({"password": VICTIM_PASSWORD})),
        )
        .await;
        let victim_token = uuid_in(
            &admin_ok(
                &env,
                "POST",
                "/core/tokens/",
                Some(json!({"identifier": "victim-token", "user": victim, "expiring": false})),
            )
            .await,
        );
        let served = serve(&env).await;

        let mallory_role = uuid_in(
            &admin_ok(
                &env,
                "POST",
                "/rbac/roles/",
                Some(json!({"name": "mallory-role"})),
            )
            .await,
        );
        let views: Vec<String> = world_catalogue_views(&env).await;
        let object = match case.scope {
            Scope::Global | Scope::GlobalWithViews => String::new(),
            Scope::Object => object_of_model(
                &case.permission.model,
                powerful,
                victim,
                power_role,
                victim_token,
                &served,
            ),
        };
        let mut grant = json!({"permissions": [case.permission.name]});
        if case.scope == Scope::Object {
            grant["object_pk"] = Value::String(object.clone());
        }
        if case.scope == Scope::GlobalWithViews {
            let mut all = views.clone();
            all.push(case.permission.name.clone());
            grant["permissions"] = json!(all);
        }
        admin_ok(
            &env,
            "POST",
            &format!("/rbac/permissions/assigned_by_roles/{mallory_role}/assign/"),
            Some(grant),
        )
        .await;
        let mine = uuid_in(
            &admin_ok(
                &env,
                "POST",
                "/core/groups/",
                Some(json!({"name": "mine", "roles": [mallory_role]})),
            )
            .await,
        );
        let mallory = pk_in(
            &admin_ok(
                &env,
                "POST",
                "/core/users/",
                Some(json!({"username": "mallory", "name": "Mallory", "groups": [mine]})),
            )
            .await,
        );
        admin_ok(
            &env,
            "POST",
            &format!("/core/users/{mallory}/set_password/"),
            Some(json!({"password": MALLORY_PASSWORD})),
        )
        .await;
        // Expiring, as any token mallory could make herself (the default lifetime outlasts
        // the case).
        admin_ok(
            &env,
            "POST",
            "/core/tokens/",
            Some(json!({"identifier": "mallory-token", "user": mallory})),
        )
        .await;
        let mallory_key = admin_ok(&env, "GET", "/core/tokens/mallory-token/view_key/", None).await
            ["key"]
            .as_str()
            .expect("setup: mallory's token key")
            .to_owned();
        seed_plugin(&env).await;
        // The administrator's instance and a file in the blueprints directory would each make
        // mallory an administrator, if applied by someone entitled to (the administrator's dry
        // run of the content passes); applied by her, they run as her.
        std::fs::write(
            env.blueprints_dir().join(ESCALATING_FILE),
            ESCALATING_BLUEPRINT,
        )
        .expect("setup: the escalating blueprint file");
        admin_ok(
            &env,
            "PATCH",
            &format!("/managed/blueprints/{}/", served.blueprint_instance),
            Some(json!({"content": ESCALATING_BLUEPRINT})),
        )
        .await;
        let (session, cookies) = ui_log_in(&env, "mallory", MALLORY_PASSWORD).await;
        let csrf = cookies
            .split("; ")
            .find_map(|c| c.strip_prefix("garrison_csrf="))
            .expect("setup: a CSRF cookie")
            .to_owned();

        let before = principals(&env).await;
        let mallory_before = before
            .get(&mallory)
            .cloned()
            .expect("setup: mallory is active");
        let akadmin_before = before
            .get(&akadmin)
            .and_then(Principal::user)
            .cloned()
            .expect("setup: akadmin is active");
        let outpost_account = env
            .services
            .authenticate_token(&served.outpost_key)
            .await
            .expect("setup: look victim-outpost's token key up")
            .and_then(|p| p.user_pk())
            .expect("setup: victim-outpost's token key logs in as its account");
        let outpost_token = env
            .services
            .list_tokens(&Caller::cli(), &everything())
            .await
            .expect("setup: list the tokens")
            .items
            .into_iter()
            .find(|t| t.user == outpost_account)
            .map(|t| t.identifier)
            .expect("setup: victim-outpost's account has a token");
        let secrets = vec![
            secret(
                "victim-cert's private key",
                &served.private_key,
                VIEW_PRIVATE_KEY,
                served.certificate,
            ),
            secret(
                "victim-cert's certificate",
                &served.certificate_pem,
                VIEW_CERTIFICATE,
                served.certificate,
            ),
        ];
        let mut world = World {
            env,
            catalogue,
            admins,
            child,
            powerful,
            mine,
            power_role,
            mallory_role,
            akadmin,
            victim,
            mallory,
            victim_token,
            mallory_key,
            served,
            outpost_account,
            outpost_token,
            secrets,
            session,
            cookies,
            csrf,
            before,
            mallory_before,
            akadmin_before,
            plugins_before: BTreeMap::new(),
            groups_before: Vec::new(),
        };
        world.plugins_before = world.plugin_grants().await;
        world.groups_before = world.group_shapes().await;

        // The setting is what the case says, or every attempt below would prove nothing.
        let mut expected = BTreeSet::from([(case.permission.name.clone(), object)]);
        if case.scope == Scope::GlobalWithViews {
            expected.extend(views.iter().map(|v| (v.clone(), String::new())));
        }
        assert_eq!(
            grants_of(&world.mallory_before, &world.catalogue),
            expected,
            "setup: mallory holds exactly {case}"
        );
        assert!(!world.mallory_before.is_superuser(), "setup: {case}");
        let victim_holds = world
            .before
            .get(&victim)
            .expect("setup: the victim is active");
        assert!(
            !victim_holds.is_superuser() && POWER.iter().all(|p| victim_holds.has(p)),
            "setup: the victim holds power-role's permissions and is no superuser"
        );
        assert!(
            world.akadmin_before.is_superuser,
            "setup: akadmin is a superuser"
        );
        let account_holds = world
            .before
            .get(&world.outpost_account)
            .expect("setup: victim-outpost's account is active");
        let needs = [
            (
                "authentik_providers_proxy.view_proxyprovider",
                world.served.proxy.to_string(),
            ),
            (
                "authentik_crypto.view_certificatekeypair",
                world.served.certificate.to_string(),
            ),
            (ADD_EVENT, String::new()),
        ];
        assert!(
            !account_holds.is_superuser()
                && needs
                    .iter()
                    .all(|(permission, object)| account_holds.holds(permission, object)),
            "setup: victim-outpost's account holds what serving victim-proxy needs"
        );
        assert!(
            world
                .plugins_before
                .get(SEEKER)
                .is_some_and(BTreeSet::is_empty),
            "setup: {SEEKER} is installed with nothing granted"
        );
        world
    }

    fn object_for(&self, model: &str) -> String {
        object_of_model(
            model,
            self.powerful,
            self.victim,
            self.power_role,
            self.victim_token,
            &self.served,
        )
    }

    /// Every attempt, in order. Names are unique within one Garrison.
    fn plan(&self) -> Vec<Attempt> {
        let (admins, child, powerful, mine) = (self.admins, self.child, self.powerful, self.mine);
        let (power_role, mallory_role) = (self.power_role, self.mallory_role);
        let (me, victim, akadmin) = (self.mallory, self.victim, self.akadmin);
        let group = |uuid: Uuid| format!("/core/groups/{uuid}/");
        let user = |pk: i64| format!("/core/users/{pk}/");
        let assign_each = |role: &str, on_objects: bool| -> Vec<Step> {
            self.catalogue
                .iter()
                .map(|permission| {
                    let mut body = json!({"permissions": [permission.name]});
                    if on_objects {
                        body["object_pk"] = json!(self.object_for(&permission.model));
                    }
                    call(
                        "POST",
                        format!("/rbac/permissions/assigned_by_roles/{role}/assign/"),
                        body,
                    )
                })
                .collect()
        };
        let all_permissions: Vec<&str> = self.catalogue.iter().map(|p| p.name.as_str()).collect();
        let victim_pk = victim.to_string();
        let admin_user = &self.akadmin_before;

        let mut plan = Vec::new();
        let mut add = |name: &str, steps: Vec<Step>, probes: Vec<Probe>| {
            plan.push(Attempt {
                name: name.to_owned(),
                steps,
                probes,
            })
        };

        // 1. New groups that confer something, with herself in them.
        add(
            "create a group under the administrators' group with herself in it",
            vec![call(
                "POST",
                "/core/groups/",
                json!({"name": "esc-under-admins", "parents": [admins], "users": [me]}),
            )],
            vec![],
        );
        add(
            "create a group under child-of-admins with herself in it",
            vec![call(
                "POST",
                "/core/groups/",
                json!({"name": "esc-under-child", "parents": [child], "users": [me]}),
            )],
            vec![],
        );
        add(
            "create a superuser group with herself in it",
            vec![call(
                "POST",
                "/core/groups/",
                json!({"name": "esc-superusers", "is_superuser": true, "users": [me]}),
            )],
            vec![],
        );
        add(
            "create a group with power-role and herself in it",
            vec![call(
                "POST",
                "/core/groups/",
                json!({"name": "esc-power-role", "roles": [power_role], "users": [me]}),
            )],
            vec![],
        );
        add(
            "create a group under powerful with herself in it",
            vec![call(
                "POST",
                "/core/groups/",
                json!({"name": "esc-under-powerful", "parents": [powerful], "users": [me]}),
            )],
            vec![],
        );
        add(
            "create an empty group under the administrators' group, then join it",
            vec![
                call(
                    "POST",
                    "/core/groups/",
                    json!({"name": "esc-later-admins", "parents": [admins]}),
                ),
                call("POST", "/core/groups/$PK/add_user/", json!({"pk": me})),
            ],
            vec![],
        );
        add(
            "create an empty group, then give it power-role and herself",
            vec![
                call("POST", "/core/groups/", json!({"name": "esc-later-power"})),
                call(
                    "PATCH",
                    "/core/groups/$PK/",
                    json!({"roles": [power_role], "users": [me]}),
                ),
            ],
            vec![],
        );
        add(
            "create an empty group, put it under powerful, then join it",
            vec![
                call(
                    "POST",
                    "/core/groups/",
                    json!({"name": "esc-later-under-powerful"}),
                ),
                call("PATCH", "/core/groups/$PK/", json!({"parents": [powerful]})),
                call("POST", "/core/groups/$PK/add_user/", json!({"pk": me})),
            ],
            vec![],
        );

        // 2. Existing groups changed so that they confer more, or on her.
        add(
            "join powerful by patching its members",
            vec![call(
                "PATCH",
                group(powerful),
                json!({"users": [victim, me]}),
            )],
            vec![],
        );
        add(
            "join child-of-admins by patching its members",
            vec![call("PATCH", group(child), json!({"users": [me]}))],
            vec![],
        );
        add(
            "join the administrators' group by patching its members",
            vec![call(
                "PATCH",
                group(admins),
                json!({"users": [akadmin, me]}),
            )],
            vec![],
        );
        add(
            "put her own group under the administrators' group",
            vec![call("PATCH", group(mine), json!({"parents": [admins]}))],
            vec![],
        );
        add(
            "put her own group under child-of-admins",
            vec![call("PATCH", group(mine), json!({"parents": [child]}))],
            vec![],
        );
        add(
            "put her own group under powerful",
            vec![call("PATCH", group(mine), json!({"parents": [powerful]}))],
            vec![],
        );
        add(
            "give her own group power-role",
            vec![call(
                "PATCH",
                group(mine),
                json!({"roles": [mallory_role, power_role]}),
            )],
            vec![],
        );
        add(
            "make her own group a superuser group",
            vec![call("PATCH", group(mine), json!({"is_superuser": true}))],
            vec![],
        );
        add(
            "replace her own group (PUT) with one under the administrators' group holding power-role",
            vec![call(
                "PUT",
                group(mine),
                json!({"name": "mine", "parents": [admins], "roles": [mallory_role, power_role], "users": [me]}),
            )],
            vec![],
        );
        add(
            "put powerful (the victim's group) under the administrators' group",
            vec![call("PATCH", group(powerful), json!({"parents": [admins]}))],
            vec![],
        );

        // 3. The membership endpoints.
        for (target, label) in [
            (powerful, "powerful"),
            (child, "child-of-admins"),
            (admins, "the administrators' group"),
        ] {
            add(
                format!("add herself to {label}").as_str(),
                vec![call(
                    "POST",
                    format!("/core/groups/{target}/add_user/"),
                    json!({"pk": me}),
                )],
                vec![],
            );
            add(
                format!("remove herself from {label}").as_str(),
                vec![call(
                    "POST",
                    format!("/core/groups/{target}/remove_user/"),
                    json!({"pk": me}),
                )],
                vec![],
            );
        }

        // 4. Users' memberships, hers and others', and new users she can log in as.
        add(
            "join powerful through her own user",
            vec![call("PATCH", user(me), json!({"groups": [mine, powerful]}))],
            vec![],
        );
        add(
            "join child-of-admins through her own user",
            vec![call("PATCH", user(me), json!({"groups": [mine, child]}))],
            vec![],
        );
        add(
            "join the administrators' group through her own user",
            vec![call("PATCH", user(me), json!({"groups": [mine, admins]}))],
            vec![],
        );
        add(
            "give herself power-role directly",
            vec![call("PATCH", user(me), json!({"roles": [power_role]}))],
            vec![],
        );
        add(
            "swap her group for powerful",
            vec![call("PATCH", user(me), json!({"groups": [powerful]}))],
            vec![],
        );
        add(
            "replace her own user (PUT) with one in the administrators' group holding power-role",
            vec![call(
                "PUT",
                user(me),
                json!({"username": "mallory", "name": "Mallory", "groups": [mine, admins], "roles": [power_role]}),
            )],
            vec![],
        );
        add(
            "put the victim in the administrators' group",
            vec![call(
                "PATCH",
                user(victim),
                json!({"groups": [powerful, admins]}),
            )],
            vec![],
        );
        add(
            "put the victim in child-of-admins",
            vec![call(
                "PATCH",
                user(victim),
                json!({"groups": [powerful, child]}),
            )],
            vec![],
        );
        add(
            "give the victim power-role directly",
            vec![call("PATCH", user(victim), json!({"roles": [power_role]}))],
            vec![],
        );
        for (username, groups, roles, label) in [
            (
                "esc-admin",
                vec![admins],
                vec![],
                "in the administrators' group",
            ),
            ("esc-powerful", vec![powerful], vec![], "in powerful"),
            (
                "esc-power-role",
                vec![],
                vec![power_role],
                "with power-role",
            ),
        ] {
            add(
                format!("create a user {label}, set its password, log in as it").as_str(),
                vec![
                    call(
                        "POST",
                        "/core/users/",
                        json!({"username": username, "name": "Minion", "groups": groups, "roles": roles}),
                    ),
                    call(
                        "POST",
                        "/core/users/$PK/set_password/",
                        json!({"password": PLANTED_PASSWORD}),
                    ),
                ],
                vec![password(username, PLANTED_PASSWORD)],
            );
        }
        for (username, target, label) in [
            ("esc-joins-powerful", powerful, "powerful"),
            ("esc-joins-admins", admins, "the administrators' group"),
        ] {
            add(
                format!("create a user, set its password, add it to {label}, log in as it")
                    .as_str(),
                vec![
                    call(
                        "POST",
                        "/core/users/",
                        json!({"username": username, "name": "Minion"}),
                    ),
                    call(
                        "POST",
                        "/core/users/$PK/set_password/",
                        json!({"password": PLANTED_PASSWORD}),
                    ),
                    call(
                        "POST",
                        format!("/core/groups/{target}/add_user/"),
                        json!({"pk": "$PKNUM"}),
                    ),
                ],
                vec![password(username, PLANTED_PASSWORD)],
            );
        }
        add(
            "create a user, set its password, patch it into child-of-admins, log in as it",
            vec![
                call(
                    "POST",
                    "/core/users/",
                    json!({"username": "esc-joins-child", "name": "Minion"}),
                ),
                call(
                    "POST",
                    "/core/users/$PK/set_password/",
                    json!({"password": PLANTED_PASSWORD}),
                ),
                call("PATCH", "/core/users/$PK/", json!({"groups": [child]})),
            ],
            vec![password("esc-joins-child", PLANTED_PASSWORD)],
        );

        // 5. Role permissions: every permission of the catalogue, one call each.
        let own_role = mallory_role.to_string();
        let victims_role = power_role.to_string();
        add(
            "assign her own role each permission, globally",
            assign_each(own_role.as_str(), false),
            vec![],
        );
        add(
            "assign her own role each permission, on one object",
            assign_each(own_role.as_str(), true),
            vec![],
        );
        add(
            "assign her own role the whole catalogue with a blank object",
            vec![call(
                "POST",
                format!("/rbac/permissions/assigned_by_roles/{mallory_role}/assign/"),
                json!({"permissions": all_permissions, "object_pk": ""}),
            )],
            vec![],
        );
        add(
            "assign power-role (the victim's) each permission, globally",
            assign_each(victims_role.as_str(), false),
            vec![],
        );
        add(
            "assign power-role (the victim's) each permission, on one object",
            assign_each(victims_role.as_str(), true),
            vec![],
        );
        let mut steps = vec![call("POST", "/rbac/roles/", json!({"name": "esc-role"}))];
        steps.extend(assign_each("$PK", false));
        steps.push(call(
            "PATCH",
            group(mine),
            json!({"roles": [mallory_role, "$PK"]}),
        ));
        add(
            "create a role, assign it each permission, attach it to her own group",
            steps,
            vec![],
        );
        let mut steps = vec![call(
            "POST",
            "/rbac/roles/",
            json!({"name": "esc-object-role"}),
        )];
        steps.extend(assign_each("$PK", true));
        steps.push(call(
            "POST",
            "/core/groups/",
            json!({"name": "esc-role-group", "roles": ["$PK"], "users": [me]}),
        ));
        add(
            "create a role, assign it each permission on one object, join a new group with it",
            steps,
            vec![],
        );

        // 6. Tokens: keys for other accounts, or tokens that become theirs.
        for (identifier, owner, label) in [
            ("esc-for-victim", victim, "the victim"),
            ("esc-for-akadmin", akadmin, "akadmin"),
        ] {
            add(
                format!("create a token for {label} and read its key").as_str(),
                vec![
                    call(
                        "POST",
                        "/core/tokens/",
                        json!({"identifier": identifier, "user": owner}),
                    ),
                    bare("GET", format!("/core/tokens/{identifier}/view_key/")),
                ],
                vec![],
            );
        }
        for (identifier, label) in [
            ("victim-token", "the victim's token"),
            (ADMIN_TOKEN_IDENTIFIER, "akadmin's token"),
        ] {
            add(
                format!("read the key of {label}").as_str(),
                vec![bare("GET", format!("/core/tokens/{identifier}/view_key/"))],
                vec![],
            );
            add(
                format!("set the key of {label}").as_str(),
                vec![call(
                    "POST",
                    format!("/core/tokens/{identifier}/set_key/"),
                    json!({"key": PLANTED_KEY}),
                )],
                vec![Probe::Key(PLANTED_KEY.into())],
            );
        }
        add(
            "take the victim's token, read its key, give it back",
            vec![
                call("PATCH", "/core/tokens/victim-token/", json!({"user": me})),
                bare("GET", "/core/tokens/victim-token/view_key/"),
                call(
                    "PATCH",
                    "/core/tokens/victim-token/",
                    json!({"user": victim}),
                ),
            ],
            vec![],
        );
        add(
            "take the victim's token, set its key, give it back",
            vec![
                call("PATCH", "/core/tokens/victim-token/", json!({"user": me})),
                call(
                    "POST",
                    "/core/tokens/victim-token/set_key/",
                    json!({"key": PLANTED_KEY}),
                ),
                call(
                    "PATCH",
                    "/core/tokens/victim-token/",
                    json!({"user": victim}),
                ),
            ],
            vec![Probe::Key(PLANTED_KEY.into())],
        );
        for (owner, label) in [(victim, "the victim"), (akadmin, "akadmin")] {
            add(
                format!("give her own token (whose key she knows) to {label}").as_str(),
                vec![call(
                    "PATCH",
                    "/core/tokens/mallory-token/",
                    json!({"user": owner}),
                )],
                vec![Probe::Key(self.mallory_key.clone())],
            );
        }
        add(
            "create a token of her own that never expires",
            vec![call(
                "POST",
                "/core/tokens/",
                json!({"identifier": "esc-forever", "expiring": false}),
            )],
            vec![],
        );
        add(
            "make her own token never expire",
            vec![call(
                "PATCH",
                "/core/tokens/mallory-token/",
                json!({"expiring": false}),
            )],
            vec![],
        );

        // 7. Passwords of others.
        for (pk, username) in [(victim, "victim"), (akadmin, admin_user.username.as_str())] {
            add(
                format!("set {username}'s password").as_str(),
                vec![call(
                    "POST",
                    format!("/core/users/{pk}/set_password/"),
                    json!({"password": PLANTED_PASSWORD}),
                )],
                vec![password(username, PLANTED_PASSWORD)],
            );
        }

        // 8. Acting on the administrator and the administrators' group.
        add(
            "deactivate akadmin",
            vec![call("PATCH", user(akadmin), json!({"is_active": false}))],
            vec![],
        );
        add(
            "take akadmin out of every group",
            vec![call("PATCH", user(akadmin), json!({"groups": []}))],
            vec![],
        );
        add(
            "remove akadmin from the administrators' group",
            vec![call(
                "POST",
                format!("/core/groups/{admins}/remove_user/"),
                json!({"pk": akadmin}),
            )],
            vec![],
        );
        add(
            "empty the administrators' group",
            vec![call("PATCH", group(admins), json!({"users": []}))],
            vec![],
        );
        add(
            "make the administrators' group an ordinary one",
            vec![call("PATCH", group(admins), json!({"is_superuser": false}))],
            vec![],
        );
        add(
            "delete akadmin",
            vec![bare("DELETE", user(akadmin))],
            vec![],
        );
        add(
            "delete the administrators' group",
            vec![bare("DELETE", group(admins))],
            vec![],
        );

        // 9. Outposts and what they serve: an outpost's account holds what its providers need
        //    (and, for a managed outpost, the brands' web certificates), so changing what an
        //    outpost serves passes rights on, and its token's key logs in as that account.
        let served = &self.served;
        let outpost = format!("/outposts/instances/{}/", served.outpost);
        let outpost_token = self.outpost_token.as_str();
        let proxy = format!("/providers/proxy/{}/", served.proxy);
        let keypair = format!("/crypto/certificatekeypairs/{}/", served.certificate);
        add(
            "read victim-outpost's token",
            vec![bare("GET", format!("{outpost}token/"))],
            vec![],
        );
        add(
            "rotate victim-outpost's token",
            vec![bare("POST", format!("{outpost}token/rotate/"))],
            vec![],
        );
        add(
            "read the key of victim-outpost's token through the token API",
            vec![bare(
                "GET",
                format!("/core/tokens/{outpost_token}/view_key/"),
            )],
            vec![],
        );
        add(
            "set the key of victim-outpost's token through the token API",
            vec![call(
                "POST",
                format!("/core/tokens/{outpost_token}/set_key/"),
                json!({"key": PLANTED_KEY}),
            )],
            vec![Probe::Key(PLANTED_KEY.into())],
        );
        for (name, kind, provider, label) in [
            (
                "esc-ldap-outpost",
                "ldap",
                served.ldap,
                "an LDAP outpost serving victim-directory",
            ),
            (
                "esc-proxy-outpost",
                "proxy",
                served.proxy,
                "a proxy outpost serving victim-proxy",
            ),
        ] {
            add(
                format!("create {label}, read its token").as_str(),
                vec![
                    call(
                        "POST",
                        "/outposts/instances/",
                        json!({"name": name, "type": kind, "providers": [provider], "config": {}}),
                    ),
                    bare("GET", "/outposts/instances/$PK/token/"),
                ],
                vec![],
            );
        }
        add(
            "add victim-directory to victim-outpost",
            vec![call(
                "PATCH",
                outpost.as_str(),
                json!({"providers": [served.proxy, served.ldap]}),
            )],
            vec![],
        );
        add(
            "turn victim-outpost into an LDAP outpost serving victim-directory",
            vec![call(
                "PATCH",
                outpost.as_str(),
                json!({"type": "ldap", "providers": [served.ldap]}),
            )],
            vec![],
        );
        add(
            "take every provider from victim-outpost",
            vec![call("PATCH", outpost.as_str(), json!({"providers": []}))],
            vec![],
        );
        add(
            "mark victim-outpost as managed",
            vec![call(
                "PATCH",
                outpost.as_str(),
                json!({"managed": "goauthentik.io/outposts/escalation"}),
            )],
            vec![],
        );
        add(
            "generate a keypair, make victim-proxy serve with it",
            vec![
                call(
                    "POST",
                    "/crypto/certificatekeypairs/generate/",
                    json!({"common_name": "esc.example", "validity_days": 30, "alg": "ecdsa"}),
                ),
                call("PATCH", proxy.as_str(), json!({"certificate": "$PK"})),
            ],
            vec![],
        );
        add(
            "take victim-proxy's certificate away",
            vec![call("PATCH", proxy.as_str(), json!({"certificate": null}))],
            vec![],
        );
        add(
            "read victim-cert's private key",
            vec![bare("GET", format!("{keypair}view_private_key/"))],
            vec![],
        );
        add(
            "read victim-cert's certificate",
            vec![bare("GET", format!("{keypair}view_certificate/"))],
            vec![],
        );
        add(
            "create a brand serving victim-cert (the embedded outpost's account would see it)",
            vec![call(
                "POST",
                "/core/brands/",
                json!({"domain": "esc.example", "web_certificate": served.certificate}),
            )],
            vec![],
        );
        add(
            "record an event in the victim's name",
            vec![call(
                "POST",
                "/events/events/",
                json!({
                    "action": FORGED_EVENT_ACTION,
                    "app": "escalation",
                    "context": {},
                    "user": {"pk": victim, "username": "victim", "email": ""},
                }),
            )],
            vec![],
        );
        add(
            "record an event",
            vec![call(
                "POST",
                "/events/events/",
                json!({"action": EVENT_ACTION, "app": "escalation", "context": {}}),
            )],
            vec![],
        );

        // 10. Plugins: capabilities are the administrator's to grant.
        add(
            "disable provider-proxy",
            vec![bare("POST", "/plugins/provider-proxy/disable/")],
            vec![],
        );
        add(
            "grant capability-seeker what it requests",
            vec![call(
                "POST",
                format!("/plugins/{SEEKER}/grant/"),
                json!({"granted": [SEEKER_CAPABILITY]}),
            )],
            vec![],
        );
        add(
            "grant provider-proxy a capability it never requested",
            vec![call(
                "POST",
                "/plugins/provider-proxy/grant/",
                json!({"granted": ["docker"]}),
            )],
            vec![],
        );
        add(
            "enable provider-proxy",
            vec![bare("POST", "/plugins/provider-proxy/enable/")],
            vec![],
        );
        add(
            "enable capability-seeker",
            vec![bare("POST", format!("/plugins/{SEEKER}/enable/"))],
            vec![],
        );

        // 11. The UI's forms, from mallory's browser.
        add(
            "grant and enable capability-seeker through the plugin page",
            vec![form(
                "plugin_action",
                vec![("name", SEEKER), ("action", "grant-and-enable")],
            )],
            vec![],
        );
        add(
            "save the victim's user form with a new password",
            vec![form(
                "save_user",
                vec![
                    ("pk", victim_pk.as_str()),
                    ("username", "victim"),
                    ("name", "Victim"),
                    ("email", ""),
                    ("user_type", "internal"),
                    ("path", "users"),
                    ("is_active", "on"),
                    ("password", PLANTED_PASSWORD),
                ],
            )],
            vec![password("victim", PLANTED_PASSWORD)],
        );
        let akadmin_pk = akadmin.to_string();
        add(
            "save akadmin's user form with a new password",
            vec![form(
                "save_user",
                vec![
                    ("pk", akadmin_pk.as_str()),
                    ("username", admin_user.username.as_str()),
                    ("name", admin_user.name.as_str()),
                    ("email", admin_user.email.as_str()),
                    ("user_type", admin_user.user_type.as_str()),
                    ("path", admin_user.path.as_str()),
                    ("is_active", "on"),
                    ("password", PLANTED_PASSWORD),
                ],
            )],
            vec![password(&admin_user.username, PLANTED_PASSWORD)],
        );
        add(
            "create a user with a password through the user form, log in as it",
            vec![form(
                "save_user",
                vec![
                    ("username", "esc-ui-user"),
                    ("name", "Minion"),
                    ("email", ""),
                    ("user_type", "internal"),
                    ("path", "users"),
                    ("is_active", "on"),
                    ("password", PLANTED_PASSWORD),
                ],
            )],
            vec![password("esc-ui-user", PLANTED_PASSWORD)],
        );
        add(
            "create a superuser group through the group form",
            vec![form(
                "save_group",
                vec![
                    ("name", "esc-ui-superusers"),
                    ("is_superuser", "on"),
                    ("attributes", "{}"),
                ],
            )],
            vec![],
        );
        let mine_pk = mine.to_string();
        add(
            "make her own group a superuser group through the group form",
            vec![form(
                "save_group",
                vec![
                    ("pk", mine_pk.as_str()),
                    ("name", "mine"),
                    ("is_superuser", "on"),
                    ("attributes", "{}"),
                ],
            )],
            vec![],
        );
        // The outpost and keypair pages: what they hand over after a plain form post is read
        // back as the page would (see `perform`).
        let outpost_pk = self.served.outpost.to_string();
        let certificate_pk = self.served.certificate.to_string();
        let proxy_pk = self.served.proxy.to_string();
        add(
            "reveal victim-outpost's token through its page",
            vec![form(
                "reveal_outpost_token",
                vec![("pk", outpost_pk.as_str())],
            )],
            vec![],
        );
        add(
            "rotate victim-outpost's token through its page",
            vec![form(
                "rotate_outpost_token",
                vec![("pk", outpost_pk.as_str())],
            )],
            vec![],
        );
        add(
            "show victim-cert's private key through its page",
            vec![form(
                "show_private_key",
                vec![("pk", certificate_pk.as_str())],
            )],
            vec![],
        );
        add(
            "create an outpost serving victim-proxy through the outpost form",
            vec![form(
                "create_outpost",
                vec![
                    ("name", "esc-ui-outpost"),
                    ("outpost_type", "proxy"),
                    ("providers[]", proxy_pk.as_str()),
                ],
            )],
            vec![],
        );

        // 12. Blueprint instances: an instance's blueprint runs as whoever applies it, so
        //     applying one that would make her an administrator is her own attempt at it;
        //     and what she may store is dry-run as her.
        let instance = format!("/managed/blueprints/{}/", self.served.blueprint_instance);
        add(
            "apply the administrator's instance that would put her in the administrators' group",
            vec![bare("POST", format!("{instance}apply/"))],
            vec![],
        );
        add(
            "create an instance whose content puts her in the administrators' group, apply it",
            vec![
                call(
                    "POST",
                    "/managed/blueprints/",
                    json!({"name": "esc-bp-content", "content": ESCALATING_BLUEPRINT}),
                ),
                bare("POST", "/managed/blueprints/$PK/apply/"),
            ],
            vec![],
        );
        add(
            "create an instance of the file that puts her in the administrators' group, apply it",
            vec![
                call(
                    "POST",
                    "/managed/blueprints/",
                    json!({"name": "esc-bp-file", "path": ESCALATING_FILE}),
                ),
                bare("POST", "/managed/blueprints/$PK/apply/"),
            ],
            vec![],
        );
        add(
            "replace the administrator's instance with a superuser group of hers, apply it",
            vec![
                call(
                    "PUT",
                    instance.as_str(),
                    json!({"name": "victim-blueprint", "content": SUPERUSER_BLUEPRINT}),
                ),
                bare("POST", format!("{instance}apply/")),
            ],
            vec![],
        );
        add(
            "point the administrator's instance at the escalating file, apply it",
            vec![
                call(
                    "PATCH",
                    instance.as_str(),
                    json!({"path": ESCALATING_FILE, "content": ""}),
                ),
                bare("POST", format!("{instance}apply/")),
            ],
            vec![],
        );
        add(
            "import the blueprint that puts her in the administrators' group",
            vec![call(
                "POST",
                "/managed/blueprints/import/",
                json!({"content": ESCALATING_BLUEPRINT}),
            )],
            vec![],
        );
        add(
            "import the file that puts her in the administrators' group",
            vec![call(
                "POST",
                "/managed/blueprints/import/",
                json!({"path": ESCALATING_FILE}),
            )],
            vec![],
        );
        // The page's forms reach the same services: create an instance there, and apply the
        // administrator's with the plan fingerprint the page would hand back (the text and the
        // empty context as the page hashes them).
        let planned = {
            use sha2::{Digest, Sha256};
            let mut hasher = Sha256::new();
            hasher.update(ESCALATING_BLUEPRINT.as_bytes());
            hasher.update([0u8]);
            hasher.update(b"{}");
            hex::encode(hasher.finalize())
        };
        add(
            "create an instance that puts her in the administrators' group through the page",
            vec![form(
                "create_blueprint_instance",
                vec![
                    ("name", "esc-bp-page"),
                    ("source", "database"),
                    ("content", ESCALATING_BLUEPRINT),
                    ("context", "{}"),
                    ("enabled", "on"),
                ],
            )],
            vec![],
        );
        add(
            "apply the administrator's instance through its page",
            vec![form(
                "run_blueprint_instance",
                vec![
                    ("pk", self.served.blueprint_instance.to_string().as_str()),
                    ("mode", "apply"),
                    ("planned", planned.as_str()),
                ],
            )],
            vec![],
        );
        add(
            "delete the administrator's instance",
            vec![bare("DELETE", instance.as_str())],
            vec![],
        );
        plan
    }

    /// Runs an attempt's steps as mallory, then tries every credential it may have produced;
    /// returns what each working credential logs in as, and the secrets her answers showed.
    async fn perform(&self, attempt: &Attempt) -> Obtained {
        let mut last_pk: Option<String> = None;
        let mut probes = Vec::new();
        let mut revealed: Vec<Secret> = Vec::new();
        for step in &attempt.steps {
            match step {
                Step::Api { method, path, body } => {
                    let path = fill(path, last_pk.as_deref());
                    let body = body.as_ref().map(|body| {
                        serde_json::from_str::<Value>(&fill(&body.to_string(), last_pk.as_deref()))
                            .expect("a filled-in body is still JSON")
                    });
                    let (_, answer) = self
                        .env
                        .api(method, &path, Some(&self.mallory_key), body)
                        .await;
                    if let Some(pk) = answer.get("pk") {
                        last_pk = Some(match pk {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        });
                    }
                    if let Some(key) = answer.get("key").and_then(Value::as_str) {
                        probes.push(Probe::Key(key.to_owned()));
                    }
                    let text = answer.to_string();
                    for secret in &self.secrets {
                        if text.contains(&secret.needle)
                            && !revealed.iter().any(|r| r.what == secret.what)
                        {
                            revealed.push(secret.clone());
                        }
                    }
                }
                Step::Ui { function, fields } => {
                    self.ui_post(function, fields).await;
                    // A secret a form reveals waits for the page it redirects to: take it as
                    // the page would, and treat it as an answer.
                    let take = match *function {
                        "reveal_outpost_token" | "rotate_outpost_token" => {
                            Some("take_revealed_token")
                        }
                        "show_private_key" => Some("take_shown_private_key"),
                        _ => None,
                    };
                    if let Some(take) = take {
                        let pk = fields
                            .iter()
                            .find(|(name, _)| *name == "pk")
                            .map(|(_, value)| value.as_str())
                            .unwrap_or_default();
                        let (_, _, body) = self
                            .env
                            .send(
                                Request::get(format!("/ui-fn/{take}?pk={}", encode(pk)))
                                    .header(header::COOKIE, &self.cookies)
                                    .body(Body::empty())
                                    .unwrap(),
                            )
                            .await;
                        let text = String::from_utf8_lossy(&body).into_owned();
                        if let Ok(answer) = serde_json::from_str::<Value>(&text) {
                            if let Some(key) = answer.get("key").and_then(Value::as_str) {
                                probes.push(Probe::Key(key.to_owned()));
                            }
                        }
                        for secret in &self.secrets {
                            if text.contains(&secret.needle)
                                && !revealed.iter().any(|r| r.what == secret.what)
                            {
                                revealed.push(secret.clone());
                            }
                        }
                    }
                }
            }
        }
        probes.extend(attempt.probes.iter().cloned());

        let mut obtained = Obtained {
            logins: Vec::new(),
            secrets: revealed,
        };
        for probe in probes {
            match probe {
                Probe::Key(key) => {
                    if let Some(principal) = self
                        .env
                        .services
                        .authenticate_token(&key)
                        .await
                        .expect("look a token key up")
                    {
                        let shown: String = key.chars().take(8).collect();
                        obtained
                            .logins
                            .push((format!("a token key ({shown}…)"), principal));
                    }
                }
                Probe::Password(username, password) => {
                    if let Some(principal) = self.try_password(&username, &password).await {
                        obtained
                            .logins
                            .push((format!("a password for {username}"), principal));
                    }
                }
            }
        }
        obtained
    }

    async fn try_password(&self, username: &str, password: &str) -> Option<Principal> {
        // No such user (the attempt that would have made it was refused): no login can work,
        // and a login costs a password hash.
        let named = UserFilter {
            username: Some(username.to_owned()),
            ..UserFilter::default()
        };
        let users = self
            .env
            .services
            .list_users(&Caller::cli(), &everything(), named)
            .await
            .expect("look a username up");
        if users.items.is_empty() {
            return None;
        }
        let address = probe_address();
        match self
            .env
            .services
            .login(username, password, Some(&address), "escalation-probe")
            .await
        {
            Ok(outcome) => self
                .env
                .services
                .authenticate_session(&outcome.session)
                .await
                .expect("a new session resolves"),
            // The password does not work: nothing obtained.
            Err(ServiceError::Validation(_)) => None,
            Err(ServiceError::RateLimited { .. }) => {
                panic!("probing {username}'s password was rate limited, so it proves nothing")
            }
            Err(other) => panic!("probing {username}'s password failed: {other}"),
        }
    }

    async fn ui_post(&self, function: &str, fields: &[(&'static str, String)]) {
        let mut body = format!("csrf_token={}", encode(&self.csrf));
        for (name, value) in fields {
            body.push_str(&format!("&{name}={}", encode(value)));
        }
        let (status, headers, _) = self
            .env
            .send(form_post(
                &format!("/ui-fn/{function}"),
                body,
                &self.cookies,
            ))
            .await;
        // Done or refused, a form answers with a redirect (a refusal back to the form, with
        // the error); anything else means it never reached its server function.
        assert!(
            status.is_redirection(),
            "the {function} form did not reach its server function: {status} {:?}",
            headers.get(header::LOCATION)
        );
    }

    /// Panics unless the rule held through `attempt`; returns what everyone holds now.
    async fn check(
        &self,
        case: &Case,
        attempt: &str,
        obtained: &Obtained,
    ) -> HashMap<i64, Principal> {
        let admin = self
            .env
            .services
            .principal_for(self.akadmin)
            .await
            .expect("load akadmin");
        let Some(admin) = admin else {
            violation(case, attempt, "deactivated or deleted akadmin")
        };
        let Some(admin_user) = admin.user() else {
            violation(case, attempt, "turned akadmin into something else")
        };
        if !admin.is_superuser() {
            violation(case, attempt, "took akadmin's superuser status");
        }
        let groups: BTreeSet<Uuid> = admin_user.groups.iter().copied().collect();
        let groups_before: BTreeSet<Uuid> = self.akadmin_before.groups.iter().copied().collect();
        if groups != groups_before {
            violation(
                case,
                attempt,
                format!("changed akadmin's groups from {groups_before:?} to {groups:?}"),
            );
        }
        if admin_user.username != self.akadmin_before.username
            || admin_user.password_change_date != self.akadmin_before.password_change_date
        {
            violation(case, attempt, "changed akadmin's username or password");
        }

        let now = principals(&self.env).await;
        for (pk, principal) in &now {
            let before = self.before.get(pk);
            let who = principal.username();
            if principal.is_superuser() {
                if !before.is_some_and(Principal::is_superuser) {
                    violation(case, attempt, format!("made {who} a superuser"));
                }
                continue;
            }
            for (permission, object) in grants_of(principal, &self.catalogue) {
                let had = before.is_some_and(|b| b.holds(&permission, &object));
                if !had && !self.mallory_before.holds(&permission, &object) {
                    violation(
                        case,
                        attempt,
                        format!("gave {who} {}", show(&permission, &object)),
                    );
                }
            }
        }

        for (how, principal) in &obtained.logins {
            let whose = principal.username();
            if principal.is_superuser() {
                violation(
                    case,
                    attempt,
                    format!("yielded {how}, which logs in as {whose}, a superuser"),
                );
            }
            for (permission, object) in grants_of(principal, &self.catalogue) {
                if !self.mallory_before.holds(&permission, &object) {
                    violation(
                        case,
                        attempt,
                        format!(
                            "yielded {how}, which logs in as {whose} holding {}",
                            show(&permission, &object)
                        ),
                    );
                }
            }
        }

        for (name, granted) in self.plugin_grants().await {
            let before = self.plugins_before.get(&name);
            let new: Vec<&String> = granted
                .iter()
                .filter(|c| !before.is_some_and(|b| b.contains(*c)))
                .collect();
            if !new.is_empty() {
                violation(case, attempt, format!("granted plugin {name} {new:?}"));
            }
        }

        for token in self.tokens().await {
            if token.user == self.mallory && !token.expiring {
                violation(
                    case,
                    attempt,
                    format!(
                        "left mallory the token {} that never expires",
                        token.identifier
                    ),
                );
            }
        }

        for secret in &obtained.secrets {
            if !self.mallory_before.holds(secret.permission, &secret.object) {
                violation(
                    case,
                    attempt,
                    format!(
                        "showed her {}, which takes {}",
                        secret.what,
                        show(secret.permission, &secret.object)
                    ),
                );
            }
        }

        // The key only the administrator read logs in as victim-outpost's account, or (once
        // rotated or deleted) as nobody.
        let outpost_login = self
            .env
            .services
            .authenticate_token(&self.served.outpost_key)
            .await
            .expect("look victim-outpost's token key up");
        if let Some(other) = outpost_login.filter(|p| p.user_pk() != Some(self.outpost_account)) {
            violation(
                case,
                attempt,
                format!(
                    "made victim-outpost's token key log in as {}",
                    other.username()
                ),
            );
        }

        for action in [EVENT_ACTION, FORGED_EVENT_ACTION] {
            let filter = EventFilter {
                action: Some(action.to_owned()),
                ..EventFilter::default()
            };
            let events = self
                .env
                .services
                .list_events(&Caller::cli(), &everything(), filter)
                .await
                .expect("list mallory's events")
                .items;
            for event in events {
                let by = event.user["username"].as_str().unwrap_or("nobody");
                if action == FORGED_EVENT_ACTION {
                    violation(
                        case,
                        attempt,
                        format!("recorded an event whose body named another user (as {by})"),
                    );
                }
                if event.user["pk"].as_i64() != Some(self.mallory) {
                    violation(case, attempt, format!("recorded an event in {by}'s name"));
                }
                if !self.mallory_before.has(ADD_EVENT) {
                    violation(
                        case,
                        attempt,
                        format!("recorded an event without {ADD_EVENT}"),
                    );
                }
            }
        }
        now
    }

    /// Whether the setting is as it was made, so that the next attempt still means something.
    async fn intact(&self, now: &HashMap<i64, Principal>) -> bool {
        let still_holds = |pk: i64| match (self.before.get(&pk), now.get(&pk)) {
            (Some(before), Some(after)) => grants_of(before, &self.catalogue)
                .iter()
                .all(|(permission, object)| after.holds(permission, object)),
            _ => false,
        };
        if !still_holds(self.mallory)
            || !still_holds(self.victim)
            || !still_holds(self.outpost_account)
        {
            return false;
        }
        if self.group_shapes().await != self.groups_before {
            return false;
        }
        let services = &self.env.services;
        let victim_token = services
            .get_token(&Caller::cli(), "victim-token")
            .await
            .ok();
        if !victim_token.is_some_and(|t| t.pk == self.victim_token && t.user == self.victim) {
            return false;
        }
        let outpost = services
            .authenticate_token(&self.served.outpost_key)
            .await
            .expect("look victim-outpost's token key up");
        if !outpost.is_some_and(|p| p.user_pk() == Some(self.outpost_account)) {
            return false;
        }
        let bearer = services
            .authenticate_token(&self.mallory_key)
            .await
            .expect("look mallory's token up");
        if !bearer.is_some_and(|p| p.user_pk() == Some(self.mallory)) {
            return false;
        }
        let browser = services
            .authenticate_session(&SessionKey(self.session.clone()))
            .await
            .expect("look mallory's session up");
        browser.is_some_and(|p| p.user_pk() == Some(self.mallory))
    }

    async fn group_shapes(&self) -> Vec<Option<GroupShape>> {
        let mut shapes: Vec<Option<GroupShape>> = Vec::new();
        for pk in [self.admins, self.child, self.powerful, self.mine] {
            let group = self.env.services.get_group(&Caller::cli(), pk).await.ok();
            shapes.push(group.map(|g| -> GroupShape {
                (
                    g.name,
                    g.is_superuser,
                    g.parents.into_iter().collect(),
                    g.roles.into_iter().collect(),
                    g.users.into_iter().collect(),
                )
            }));
        }
        shapes
    }

    async fn plugin_grants(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.env
            .services
            .list_plugins(&Caller::cli())
            .await
            .expect("list the plugins")
            .into_iter()
            .map(|plugin| {
                let granted: BTreeSet<String> = plugin.granted.into_iter().collect();
                (plugin.name, granted)
            })
            .collect()
    }

    async fn tokens(&self) -> Vec<Token> {
        self.env
            .services
            .list_tokens(&Caller::cli(), &everything())
            .await
            .expect("list the tokens")
            .items
    }

    /// akadmin's password still works after everything mallory tried; then the Garrison's
    /// connections are closed (a case's Garrison is not needed again, and PostgreSQL would
    /// run out of connections with every case's pool left open).
    async fn finish(self, case: &Case) {
        let address = probe_address();
        if let Err(error) = self
            .env
            .services
            .login(
                &self.akadmin_before.username,
                common::ADMIN_PASSWORD,
                Some(&address),
                "escalation-check",
            )
            .await
        {
            panic!("with {case}, akadmin can no longer log in with its password: {error}");
        }
        self.env.services.close().await;
    }
}
