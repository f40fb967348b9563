//! The test harness: one Garrison per test, on SQLite (always) or on PostgreSQL + Redis (when
//! GARRISON_TEST_DATABASE_URL / GARRISON_TEST_REDIS_URL are set, as the test command does).
//! Each test is written once and instantiated for both stores by `both_stores!`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use garrison::Config;
use garrison_http::Metrics;
use garrison_services::{Caller, Services};
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct Env {
    pub services: Services,
    pub registry: garrison_registry::Registry,
    pub router: Router,
    pub config: Config,
    pub metrics: Metrics,
    /// Shared so the harness can keep the directory alive for the whole test: a test body that
    /// uses only some of `Env`'s fields captures only those, and would drop the rest early.
    dir: std::sync::Arc<scratch::Scratch>,
}

mod scratch {
    /// What one test made outside its process, removed when the test ends (passed or not): its
    /// directory and, on PostgreSQL, its database. Without the second, every run left ~300
    /// databases behind and the disk of the machine that runs the suite filled up.
    pub struct Scratch {
        pub dir: std::path::PathBuf,
        /// (admin URL, database name)
        pub database: Option<(String, String)>,
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
            if let Some((admin, name)) = self.database.take() {
                // Drop runs inside the test's runtime, which cannot be blocked on; a thread
                // with its own runtime can. FORCE closes what the test's pools left open.
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        use sqlx::{Connection, Executor};
                        let mut conn = sqlx::AnyConnection::connect(&admin).await.ok()?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await
                        .ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(_))) {
                    eprintln!(
                        "could not drop a test database; scripts/test-services.sh removes it next run"
                    );
                }
            }
        }
    }
}

fn unique() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_micros()
    )
}

/// A fresh PostgreSQL database for one test, created through the admin URL: (its name, its URL).
/// The name starts with the process id, which scripts/test-services.sh reads to remove the
/// databases of runs that were killed before they could.
async fn fresh_postgres(admin_url: &str) -> (String, String) {
    use sqlx::Connection;
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = format!("garrison_test_{}", unique());
    let mut conn = sqlx::AnyConnection::connect(admin_url)
        .await
        .expect("PostgreSQL reachable at GARRISON_TEST_DATABASE_URL");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    let url = format!("{base}/{name}");
    (name, url)
}

impl Env {
    pub async fn new(kind: Kind) -> Option<Env> {
        Self::build(kind, true, &[]).await
    }

    /// A bootstrapped Garrison with further settings (GARRISON_* name, value).
    pub async fn with_settings(kind: Kind, extra: &[(&str, &str)]) -> Option<Env> {
        Self::build(kind, true, extra).await
    }

    /// Behind one trusted proxy that appends to X-Forwarded-For.
    pub async fn with_trusted_proxy(kind: Kind) -> Option<Env> {
        Self::build(kind, true, &[("GARRISON_TRUST_FORWARDED_FOR", "true")]).await
    }

    /// The test OCI registry listed as `http://host:port`, so that `oci://` blueprint sources
    /// reach it over plain HTTP (they use HTTPS otherwise).
    pub async fn with_plain_http_registry(kind: Kind) -> Option<Env> {
        let listed = std::env::var("GARRISON_TEST_OCI_REGISTRY")
            .map(|registry| format!("http://{registry}"))
            .unwrap_or_default();
        Self::build(kind, true, &[("GARRISON_OCI_REGISTRIES", listed.as_str())]).await
    }

    /// A Garrison with no administrator yet, as on a first start.
    pub async fn empty(kind: Kind) -> Option<Env> {
        Self::build(kind, false, &[]).await
    }

    async fn build(kind: Kind, bootstrap: bool, extra: &[(&str, &str)]) -> Option<Env> {
        let dir = std::env::temp_dir().join(format!("garrison-test-{}", unique()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut env = std::collections::BTreeMap::new();
        env.insert("GARRISON_DATA_DIR".to_owned(), dir.display().to_string());
        // One compiled-plugin cache for every test: the built-ins compile once, not once per
        // test, and tests starting side by side load the same components into it at once.
        // Entries are keyed by digest and engine, so sharing it across runs is safe.
        env.insert(
            "GARRISON_PLUGIN_CACHE_DIR".to_owned(),
            std::env::temp_dir()
                .join("garrison-test-plugin-cache")
                .display()
                .to_string(),
        );
        for sub in ["plugins", "secrets", "blueprints"] {
            std::fs::create_dir_all(dir.join(sub)).expect("plugin and blueprint dirs");
        }
        env.insert(
            "GARRISON_BLUEPRINTS_DIR".to_owned(),
            dir.join("blueprints").display().to_string(),
        );
        env.insert(
            "GARRISON_PLUGINS_DIR".to_owned(),
            dir.join("plugins").display().to_string(),
        );
        env.insert(
            "GARRISON_PLUGIN_SECRETS_DIR".to_owned(),
            dir.join("secrets").display().to_string(),
        );
        // The test registry listens on loopback, which pulls refuse unless it is listed.
        if let Ok(registry) = std::env::var("GARRISON_TEST_OCI_REGISTRY") {
            env.insert("GARRISON_OCI_REGISTRIES".to_owned(), registry);
        }
        for (key, value) in extra {
            env.insert(key.to_string(), value.to_string());
        }
        let mut database = None;
        match kind {
            Kind::Sqlite => {}
            Kind::Postgres => {
                let Ok(admin) = std::env::var("GARRISON_TEST_DATABASE_URL") else {
                    assert!(
                        std::env::var("CI").is_err(),
                        "CI must run the PostgreSQL tests: set GARRISON_TEST_DATABASE_URL"
                    );
                    eprintln!(
                        "SKIPPED: GARRISON_TEST_DATABASE_URL is not set (scripts/test.sh sets it)"
                    );
                    return None;
                };
                let (name, url) = fresh_postgres(&admin).await;
                env.insert("GARRISON_DATABASE_URL".to_owned(), url);
                database = Some((admin, name));
                if let Ok(redis) = std::env::var("GARRISON_TEST_REDIS_URL") {
                    env.insert("GARRISON_REDIS_URL".to_owned(), redis);
                    // Tests share one Redis: each Garrison gets its own keys and channels.
                    env.insert(
                        "GARRISON_REDIS_PREFIX".to_owned(),
                        format!("garrison-test-{}:", unique()),
                    );
                }
            }
        }
        let config = Config::from_sources(None, &env).expect("test config");
        let garrison = dir.display().to_string();
        let step = |what: &str| flights::start(format!("{what} for {garrison}"), None);
        let opening = step("opening the services");
        let services = garrison::open_services(&config)
            .await
            .expect("open services");
        drop(opening);
        let status: flights::Status = {
            let services = services.clone();
            std::sync::Arc::new(move || services.store_status().to_string())
        };
        let step =
            |what: &str| flights::start(format!("{what} for {garrison}"), Some(status.clone()));
        let _starting = step("bootstrapping, starting the registry and reconciling");
        if bootstrap {
            services
                .create_administrator(
                    &Caller::cli(),
                    "akadmin",
                    Some("admin@example.com"),
                    Some(ADMIN_PASSWORD),
                    Some(ADMIN_TOKEN),
                )
                .await
                .expect("bootstrap administrator");
        }
        let registry = garrison::start_registry(&config, &services)
            .await
            .expect("start the plugin registry");
        garrison::reconcile(&config, &services)
            .await
            .expect("reconcile what the server manages");
        let metrics = garrison::metrics_for(&registry);
        let router = garrison::router(services.clone(), registry.clone(), &config, metrics.clone());
        Some(Env {
            services,
            registry,
            router,
            config,
            metrics,
            dir: std::sync::Arc::new(scratch::Scratch { dir, database }),
        })
    }

    /// The directory blueprint instances may name files in (`GARRISON_BLUEPRINTS_DIR`);
    /// it exists and starts empty.
    pub fn blueprints_dir(&self) -> std::path::PathBuf {
        self.config.blueprints_dir.clone()
    }

    /// Registers `what` as running on this Garrison until the flight is dropped.
    pub fn flight(&self, what: String) -> Flight {
        let services = self.services.clone();
        let status: flights::Status =
            std::sync::Arc::new(move || services.store_status().to_string());
        flights::start(
            format!("{what} on {}", self.dir.dir.display()),
            Some(status),
        )
    }

    pub fn keep_dir(&self) -> std::sync::Arc<impl Sized + use<>> {
        self.dir.clone()
    }

    pub async fn send(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let _flight = self.flight(format!("{} {}", request.method(), request.uri()));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body")
            .to_vec();
        (status, headers, body)
    }

    /// A JSON API call with a bearer token (None: anonymous).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("/api/v3{path}"));
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        let (status, _, bytes) = self.send(request).await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.api(method, path, Some(ADMIN_TOKEN), body).await
    }
}

/// What the suite's Garrisons are doing right now: each request sent through [`Env::send`] and
/// each step of [`Env`]'s start, with when it began and a way to read its Garrison's store. A
/// test that stops making progress prints the ones that have been running for long (see
/// [`watched`]), which names the call that hangs even in a build without task dumps.
mod flights {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    pub type Status = Arc<dyn Fn() -> String + Send + Sync>;

    static NEXT: AtomicU64 = AtomicU64::new(0);
    static FLYING: Mutex<BTreeMap<u64, (String, Instant, Option<Status>)>> =
        Mutex::new(BTreeMap::new());

    fn flying() -> std::sync::MutexGuard<'static, BTreeMap<u64, (String, Instant, Option<Status>)>>
    {
        FLYING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends the flight when dropped (finished, failed or cancelled alike).
    pub struct Flight(u64);

    impl Drop for Flight {
        fn drop(&mut self) {
            flying().remove(&self.0);
        }
    }

    pub fn start(what: String, status: Option<Status>) -> Flight {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        flying().insert(id, (what, Instant::now(), status));
        Flight(id)
    }

    /// The flights older than `age`, oldest first, each with its store's state.
    pub fn report(age: Duration) -> String {
        let long: Vec<(String, Duration, Option<Status>)> = flying()
            .values()
            .filter(|(_, started, _)| started.elapsed() >= age)
            .map(|(what, started, status)| (what.clone(), started.elapsed(), status.clone()))
            .collect();
        if long.is_empty() {
            return format!("\nno Garrison call of the suite has been running for {age:?} or more");
        }
        let mut text = format!("\nGarrison calls of the suite running for {age:?} or more:");
        // Read outside the registry's lock: a status closure may take locks of its own.
        for (what, elapsed, status) in long {
            text.push_str(&format!("\n  {elapsed:.1?}: {what}"));
            if let Some(status) = status {
                text.push_str(&format!(" ({})", status()));
            }
        }
        text
    }
}

pub use flights::Flight;

/// How long one test may run. The slowest take well under a minute; a test past this is stuck,
/// and fails naming itself instead of holding the whole run until CI's limit.
pub const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Awaits `work`, failing naming `what` when it takes longer than `limit`. The task dump (see
/// [`task_dump`]) is taken by another task while `work` still waits, so when the caller is a
/// task of its own the dump shows where `work` is stuck.
pub async fn watched<T>(
    what: impl std::fmt::Display,
    limit: std::time::Duration,
    work: impl std::future::Future<Output = T>,
) -> T {
    let mut watchdog = tokio::spawn(async move {
        tokio::time::sleep(limit).await;
        task_dump().await
    });
    tokio::select! {
        value = work => {
            watchdog.abort();
            value
        }
        dump = &mut watchdog => {
            panic!(
                "{what} did not finish within {limit:?}{}{}",
                flights::report(std::time::Duration::from_secs(10)),
                dump.unwrap_or_default()
            )
        }
    }
}

/// The value of a finished task; a panic inside it fails the caller with that panic.
pub fn joined<T>(finished: Result<T, tokio::task::JoinError>) -> T {
    match finished {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// One store's instance of a `both_stores!` test: its Garrison (`None`: the store is not
/// configured here, and the test is skipped), then `body`, as a task of its own (so that it
/// shows in a task dump) under `limit`.
pub async fn run_on_store<Body, Run>(
    what: &'static str,
    limit: std::time::Duration,
    env: impl std::future::Future<Output = Option<Env>> + Send + 'static,
    body: Body,
) where
    Body: FnOnce(Env) -> Run + Send + 'static,
    Run: std::future::Future<Output = ()> + Send + 'static,
{
    let test = async move {
        if let Some(env) = env.await {
            let _dir = env.keep_dir();
            body(env).await;
        }
    };
    joined(tokio::spawn(watched(what, limit, test)).await)
}

/// Where every task of the runtime is waiting, for a test that stopped making progress. It
/// needs tokio's unstable task dumps: `RUSTFLAGS="--cfg erase_components --cfg tokio_unstable"
/// cargo test --release -p garrison --features tokio/taskdump --test suite`, in a target
/// directory of its own (the flags rebuild everything).
#[cfg(tokio_unstable)]
pub async fn task_dump() -> String {
    let handle = tokio::runtime::Handle::current();
    match tokio::time::timeout(std::time::Duration::from_secs(20), handle.dump()).await {
        Ok(dump) => {
            let mut text = String::from("\nthe runtime's tasks:\n");
            for (index, task) in dump.tasks().iter().enumerate() {
                text.push_str(&format!("--- task {index}\n{}\n", task.trace()));
            }
            text
        }
        Err(_) => "\n(the runtime's tasks could not be dumped within 20 s)".to_owned(),
    }
}

#[cfg(not(tokio_unstable))]
pub async fn task_dump() -> String {
    String::from(
        "\n(a build with tokio's task dumps prints where each task waits: see common::task_dump)",
    )
}

/// Instantiates an async test for SQLite and for PostgreSQL, each under [`TEST_LIMIT`] (or the
/// limit given with `within`, for the few tests that are long by design).
#[macro_export]
macro_rules! both_stores {
    ($name:ident, within $limit:expr, $body:expr) => {
        $crate::both_stores!(@limited $name, new, $limit, $body);
    };
    ($name:ident, $body:expr) => {
        $crate::both_stores!(@limited $name, new, common::TEST_LIMIT, $body);
    };
    ($name:ident, $constructor:ident, $body:expr) => {
        $crate::both_stores!(@limited $name, $constructor, common::TEST_LIMIT, $body);
    };
    (@limited $name:ident, $constructor:ident, $limit:expr, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let env = async {
                    let env = common::Env::$constructor(common::Kind::Sqlite).await;
                    Some(env.expect("sqlite always runs"))
                };
                let what = concat!(module_path!(), "::sqlite");
                common::run_on_store(what, $limit, env, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let env = common::Env::$constructor(common::Kind::Postgres);
                let what = concat!(module_path!(), "::postgres");
                common::run_on_store(what, $limit, env, $body).await;
            }
        }
    };
}

/// A component built by scripts/build-plugins.sh.
pub fn plugin_component(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/release")
        .join(format!("{file}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/build-plugins.sh first)",
            path.display()
        )
    })
}

/// A multipart/form-data body: (field name, file name for file parts, bytes).
pub fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match filename {
            Some(file) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/wasm\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// `base` with a suffix no other test or run uses: a repository one test pushes to alone.
pub fn fresh_repository(base: &str) -> String {
    format!("{base}-{}", uuid::Uuid::new_v4().simple())
}

/// The test OCI registry, `host:port` (scripts/test-services.sh starts one); `None`, and the
/// test skips, when it is not set outside CI.
pub fn oci_registry() -> Option<String> {
    match std::env::var("GARRISON_TEST_OCI_REGISTRY") {
        Ok(address) => Some(address),
        Err(_) => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the OCI tests: set GARRISON_TEST_OCI_REGISTRY (scripts/test-services.sh)"
            );
            eprintln!("SKIPPED: GARRISON_TEST_OCI_REGISTRY is not set");
            None
        }
    }
}

/// `sha256:` and the hex digest of `bytes`, as OCI names content.
pub fn oci_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Pushes blobs and an image manifest to `repository:tag` of the test registry (plain HTTP)
/// the way `oras push` does; returns the manifest's digest. Blocking.
pub fn push_artifact(
    registry: &str,
    repository: &str,
    tag: &str,
    layers: &[(&str, &[u8])],
) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let push_blob = |bytes: &[u8]| -> String {
        let digest = oci_digest(bytes);
        let started = agent
            .post(&format!("http://{registry}/v2/{repository}/blobs/uploads/"))
            .send_empty()
            .unwrap();
        assert_eq!(started.status().as_u16(), 202);
        let location = started.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with("http") {
            location
        } else {
            format!("http://{registry}{location}")
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let done = agent
            .put(&format!("{location}{separator}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .unwrap();
        assert_eq!(done.status().as_u16(), 201, "blob upload");
        digest
    };
    let config = b"{}";
    let config_digest = push_blob(config);
    let layers: Vec<Value> = layers
        .iter()
        .map(|(media_type, bytes)| {
            serde_json::json!({"mediaType": media_type, "digest": push_blob(bytes), "size": bytes.len()})
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers,
    })
    .to_string();
    let response = agent
        .put(&format!(
            "http://{registry}/v2/{repository}/manifests/{tag}"
        ))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send(manifest.as_bytes())
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "manifest upload");
    oci_digest(manifest.as_bytes())
}
