//! The `garrison` binary's wiring: configuration, opening the store and the bus, the services,
//! and the HTTP routers (REST API, UI, health, metrics). `main.rs` only parses the command
//! line and calls into here; integration tests build the same router.
pub mod assets;
pub mod blueprints;
pub mod config;
pub mod telemetry;

/// Every binary built on this crate (the server and CLI, the suite, the benches) allocates
/// through mimalloc: a server and a blueprint apply make many small, short-lived allocations
/// (JSON values, YAML nodes, SQL arguments), where glibc's allocator spent a quarter of a
/// 5,000-entry apply. Set here rather than in `main.rs` so that the benches measure the
/// allocator users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::middleware;
use axum::routing::get;
use garrison_bus::Bus;
use garrison_http::{AppParts, AppState, HttpSettings, Metrics};
use garrison_registry::{Registry, RegistryConfig};
use garrison_services::{BlueprintWatcher, DiscoveryReport, KeySource, ServiceSettings, Services};
use garrison_store::Store;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};

pub use config::Config;

/// Opens the store (migrating it) and the bus named by `config`, and builds the services.
pub async fn open_services(config: &Config) -> anyhow::Result<Services> {
    // Always: besides the SQLite file it holds the sealing key and the plugin cache.
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = Store::connect(&config.effective_database_url()).await?;
    store.migrate().await.context("migrating the database")?;
    let bus = match &config.redis_url {
        Some(url) => Bus::redis(url, &config.redis_prefix).await?,
        None => Bus::in_process(),
    };
    let (secrets, key_source) = Services::load_secret_box(
        &store,
        config.secret_key.as_deref(),
        &config.secret_key_file(),
    )
    .await?;
    report_key_source(config, &key_source);
    let settings = ServiceSettings {
        session_lifetime: config.session_lifetime,
        login_failures_allowed: config.login_failures_allowed,
        login_failure_window: config.login_failure_window,
        max_token_lifetime: config.token_max_lifetime,
        blueprints_dir: Some(config.blueprints_dir.clone()),
        // One list for both OCI pulls: the registry's plugins and `oci://` blueprint sources.
        oci_registries: config.oci_registries.clone(),
        ..ServiceSettings::default()
    };
    Ok(Services::new(store, bus, secrets, settings))
}

/// Says where the sealing key lives. It must be kept (backed up) apart from the database:
/// without it sealed secrets cannot be opened, and with the database it opens them all.
fn report_key_source(config: &Config, source: &KeySource) {
    match source {
        KeySource::Configured => tracing::info!("secrets are sealed with GARRISON_SECRET_KEY"),
        KeySource::File(path) => {
            tracing::info!(file = %path.display(), "secrets are sealed with the key in the data directory")
        }
        KeySource::Created(path) => {
            tracing::warn!(file = %path.display(), "GARRISON_SECRET_KEY is not set: generated a key to seal secrets and wrote it to this file (mode 0600). Back it up apart from the database, or set GARRISON_SECRET_KEY")
        }
        KeySource::MovedFromDatabase(path) => {
            tracing::warn!(file = %path.display(), "the key sealing secrets was kept in the database by an older version; it now lives in this file (mode 0600) and is gone from the database. Back it up apart from the database, or set GARRISON_SECRET_KEY")
        }
    }
    if config.database_url.is_some() && *source != KeySource::Configured {
        tracing::warn!(
            "with PostgreSQL, every replica must seal secrets with the same key: set GARRISON_SECRET_KEY on all of them"
        );
    }
}

/// Starts the plugin registry: the engine, the built-in and directory plugins, and every
/// enabled plugin (one that fails to load is shown as failed; the server starts anyway).
pub async fn start_registry(config: &Config, services: &Services) -> anyhow::Result<Registry> {
    let registry = Registry::start(
        services.clone(),
        RegistryConfig {
            plugins_dir: config.plugins_dir.clone(),
            secrets_dir: config.plugin_secrets_dir.clone(),
            cache_dir: Some(config.plugin_cache_dir.clone()),
            oci_registries: config.oci_registries.clone(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot start the plugin registry: {e}"))?;
    // The services call plugins through traits they own; this is where the two meet.
    services.install_extensions(registry.extensions());
    Ok(registry)
}

/// Brings what the server manages up to date once plugins run: the embedded outpost (its
/// account's permissions come from the provider plugins).
pub async fn reconcile(config: &Config, services: &Services) -> anyhow::Result<()> {
    services
        .reconcile_embedded_outpost(config.embedded_outpost)
        .await
        .context("reconciling the embedded outpost")?;
    Ok(())
}

/// The metrics of the HTTP server, the process and the plugins.
pub fn metrics_for(registry: &Registry) -> Metrics {
    Metrics::new_with(|prometheus| registry.register_metrics(prometheus))
}

/// Leptos's options; the page's script tags name the bundle by its content hash.
fn leptos_options(bundle: Option<&assets::Bundle>) -> LeptosOptions {
    let output_name = bundle.map_or_else(|| "garrison".to_owned(), |b| b.output_name());
    LeptosOptions::builder()
        .output_name(output_name)
        .site_pkg_dir("pkg")
        .build()
}

/// The whole HTTP surface on the main port.
pub fn router(services: Services, registry: Registry, config: &Config, metrics: Metrics) -> Router {
    services.follow_other_replicas();
    let state = AppState::new(AppParts {
        services: services.clone(),
        registry: registry.clone(),
        settings: HttpSettings {
            secure_cookies: config.secure_cookies,
            trusted_proxies: if config.trust_forwarded_for {
                config.trusted_proxies
            } else {
                0
            },
        },
        metrics: metrics.clone(),
        hub: garrison_http::channel::OutpostHub::start(&services, metrics.clone()),
    });
    let bundle = assets::Bundle::load(&config.site_dir);
    let options = leptos_options(bundle.as_deref());
    let routes = generate_route_list(garrison_app::App);
    let ui_context = {
        let services = services.clone();
        let registry = registry.clone();
        let settings = state.settings.clone();
        move || {
            provide_context(services.clone());
            provide_context(registry.clone());
            provide_context(settings.clone());
        }
    };
    let ui = Router::new()
        .leptos_routes_with_context(&options, routes, ui_context.clone(), {
            let options = options.clone();
            move || garrison_app::shell(options.clone())
        })
        // Reads are GET (`input = GetUrl`), writes POST; CSRF guards the writes.
        .route(
            &format!("{}{{*name}}", garrison_web::SERVER_FN_PREFIX),
            axum::routing::any(move |request: Request| {
                let ui_context = ui_context.clone();
                async move { handle_server_fns_with_context(ui_context, request).await }
            }),
        )
        .layer(middleware::from_fn(garrison_web::gate::require_login))
        .with_state(options);

    Router::new()
        .nest("/api/v3", garrison_http::api::router())
        .route(
            "/ws/outpost/{uuid}/",
            get(garrison_http::channel::outpost_socket),
        )
        .route("/-/health/live/", get(garrison_http::health::live))
        .route("/-/health/ready/", get(garrison_http::health::ready))
        .route(
            "/plugins/upload",
            axum::routing::post(garrison_web::upload::upload_plugin),
        )
        .route("/static/garrison.css", get(assets::stylesheet))
        .route("/static/avatar.svg", get(assets::avatar))
        .route(
            garrison_services::blueprints::SCHEMA_PATH,
            get(assets::blueprint_schema),
        )
        .route("/pkg/{file}", get(assets::package).with_state(bundle))
        .with_state(state.clone())
        .merge(ui)
        .layer(middleware::from_fn_with_state(
            state.settings.clone(),
            garrison_web::csrf::protect,
        ))
        .layer(middleware::from_fn_with_state(
            state,
            garrison_http::identify,
        ))
        .layer(middleware::from_fn_with_state(
            metrics,
            garrison_http::metrics::track,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            garrison_http::limits::MAX_BODY_BYTES,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(garrison_http::metrics::serve))
        .with_state(metrics)
}

/// Deletes expired sessions every hour.
pub fn spawn_housekeeping(services: Services) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match services.sweep_expired_sessions().await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "session cleanup failed"),
            }
        }
    });
}

/// The blueprint lifecycle: discovery with cleanup at start and then every discovery interval,
/// and the watcher's scan every watch interval (when on). Both run on one replica at a time:
/// the services take a lease in the store, and a replica that does not hold it skips the work
/// (the holder sees the same files). Logs only when something happened.
pub fn spawn_blueprint_lifecycle(services: Services, config: &Config) {
    let discovery_every = config.blueprints_discovery_interval;
    let watch_every = config.blueprints_watch_interval;
    tokio::spawn(async move {
        let mut watcher = BlueprintWatcher::new();
        // The first scan records what is there, before discovery starts: a file that changes
        // while discovery runs is then seen by the next scan.
        if watch_every.is_some() {
            watcher = blueprint_watch_scan(&services, watcher).await;
        }
        scheduled_blueprint_run(&services).await;
        let start = tokio::time::Instant::now();
        let mut discovery = tokio::time::interval_at(start + discovery_every, discovery_every);
        // A run longer than the period delays the next one instead of starting a burst.
        discovery.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watch = watch_every.map(|every| {
            let mut tick = tokio::time::interval_at(start + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        });
        loop {
            let watch_tick = async {
                match watch.as_mut() {
                    Some(tick) => {
                        tick.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = discovery.tick() => scheduled_blueprint_run(&services).await,
                () = watch_tick => {
                    watcher = blueprint_watch_scan(&services, std::mem::take(&mut watcher)).await;
                }
            }
        }
    });
}

/// One scheduled discovery and cleanup, if this replica holds the lease. It runs as a task of
/// its own, so that a panic (a bug; no file content should cause one) ends that run only and
/// the next tick runs again.
async fn scheduled_blueprint_run(services: &Services) {
    let run = tokio::spawn({
        let services = services.clone();
        async move { services.run_blueprint_schedule().await }
    });
    match run.await {
        Ok(Ok(Some(report))) => log_blueprint_report("blueprint discovery", &report),
        // Another replica holds the lease and does the work.
        Ok(Ok(None)) => {}
        Ok(Err(error)) => tracing::warn!(%error, "blueprint discovery failed"),
        Err(error) => tracing::error!(%error, "blueprint discovery ended abnormally"),
    }
}

/// One scan of the blueprints directory for new and changed files, as a task of its own (see
/// [`scheduled_blueprint_run`]); gives the watcher back. After a panic a new watcher starts
/// over, its first scan recording what is there.
async fn blueprint_watch_scan(services: &Services, watcher: BlueprintWatcher) -> BlueprintWatcher {
    let scan = tokio::spawn({
        let services = services.clone();
        async move {
            let mut watcher = watcher;
            let outcome = watcher.scan(&services).await;
            (watcher, outcome)
        }
    });
    match scan.await {
        Ok((watcher, outcome)) => {
            match outcome {
                Ok(Some(report)) => log_blueprint_report("blueprint files changed", &report),
                // Another replica holds the lease and applies the same files.
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "watching the blueprints directory failed"),
            }
            watcher
        }
        Err(error) => {
            tracing::error!(%error, "watching the blueprints directory ended abnormally");
            BlueprintWatcher::new()
        }
    }
}

fn log_blueprint_report(what: &str, report: &DiscoveryReport) {
    if report.is_empty() {
        return;
    }
    let failed: Vec<String> = report
        .failed
        .iter()
        .map(|run| format!("{}: {}", run.name, run.message))
        .collect();
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|file| format!("{}: {}", file.path, file.reason))
        .collect();
    tracing::info!(
        created = report.created.len(),
        applied = report.applied.len(),
        failed = report.failed.len(),
        skipped = report.skipped.len(),
        removed = report.removed.len(),
        created_instances = ?report.created,
        applied_instances = ?report.applied,
        failed_runs = ?failed,
        skipped_files = ?skipped,
        removed_instances = ?report.removed,
        lease_lost = report.lease_lost,
        "{what}"
    );
}
