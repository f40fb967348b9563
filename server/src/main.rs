//! `garrison`: the command line. Parsing and printing only; the work is in the library.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use garrison::{
    Config, assets, metrics_for, metrics_router, open_services, router, spawn_blueprint_lifecycle,
    spawn_housekeeping, start_registry, telemetry,
};
use garrison_services::blueprints::{ProgressHook, RunProgress};
use garrison_services::{BootstrapOutcome, BootstrapRequest, Caller};

#[derive(Parser)]
#[command(
    name = "garrison",
    version,
    about = "Control plane for identity-provider outposts and blueprints"
)]
struct Cli {
    /// A TOML file with settings (see `garrison config`); GARRISON_* variables override it.
    #[arg(long, global = true, env = "GARRISON_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: UI and API on :9000, metrics on :9300.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an administrator (member of "authentik Admins"). The password is read from
    /// GARRISON_BOOTSTRAP_PASSWORD, or from standard input.
    Bootstrap {
        #[arg(long, default_value = "akadmin")]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Also create the API token "authentik-bootstrap-token" with the key in GARRISON_BOOTSTRAP_TOKEN.
        #[arg(long)]
        with_token: bool,
    },
    /// List every setting, its environment variable, default and meaning.
    Config,
    /// Plugin tools.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Blueprint tools.
    #[command(subcommand)]
    Blueprint(BlueprintCommand),
    /// Run a reference outpost against a Garrison (or authentik) server: fetch the outpost's
    /// configuration, hold its websocket, refetch on updates, print what it holds. Reads
    /// authentik's AUTHENTIK_HOST, AUTHENTIK_TOKEN and AUTHENTIK_INSECURE when the flags are
    /// not given.
    Agent {
        /// The server's base URL (AUTHENTIK_HOST).
        #[arg(long, env = "AUTHENTIK_HOST")]
        url: String,
        /// The outpost's API token (AUTHENTIK_TOKEN).
        #[arg(long, env = "AUTHENTIK_TOKEN", hide_env_values = true)]
        token: String,
        /// Skip TLS verification (AUTHENTIK_INSECURE).
        #[arg(long, env = "AUTHENTIK_INSECURE", default_value_t = false)]
        insecure: bool,
        /// The longest random wait, in milliseconds, before refetching on an update.
        #[arg(long, default_value_t = 9000)]
        update_jitter_ms: u64,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Prints a component's world, WIT version, imports, exports and digest, and, with a
    /// manifest, what it requests and anything that would stop it from loading. Runs nothing.
    Inspect {
        /// The component (.wasm).
        file: PathBuf,
        /// Its manifest (TOML or JSON); defaults to FILE with a .toml extension, if present.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BlueprintCommand {
    /// Checks blueprint files without a store: YAML, structure, tag shapes, keys authentik
    /// would ignore, and that every entry's model is one Garrison implements. Prints each
    /// finding as FILE:LINE; exits 1 when any file has an error, 0 otherwise.
    Validate {
        /// Blueprint files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Shows what applying FILE would create, change (field by field) and delete, against the
    /// configured store, without writing anything. Exits 0 when there is nothing to do, 2 when
    /// there are changes, 1 on an error.
    Plan(BlueprintRun),
    /// Applies FILE to the configured store in one transaction: every entry or none. Exits 0
    /// on success, 1 on an error (nothing is written then).
    Apply(BlueprintRun),
    /// Prints the JSON schema editors validate blueprints with (yaml-language-server): the
    /// models and fields a blueprint can write here. A running server serves the same schema
    /// at /blueprints/schema.json.
    Schema,
    /// Prints a blueprint of everything Garrison holds (or of the models given) that applies
    /// to another Garrison: objects refer to each other with `!KeyOf` and `!Find`, never by
    /// primary key, and secrets are `!Env`/`!File` references whose names are listed on
    /// standard error (with what was left out).
    Export {
        /// Only this model (`app_label.model`); repeat for several. Default: every model.
        #[arg(long = "model", value_name = "MODEL")]
        models: Vec<String>,
        /// Print {"yaml": …, "placeholders": […], "warnings": […]} instead.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct BlueprintRun {
    /// The blueprint (YAML). `!File` reads only below its directory.
    file: PathBuf,
    /// The instance context, a JSON object merged over the blueprint's own `context`.
    #[arg(long, default_value = "{}")]
    context: String,
    /// Print the outcome as JSON instead of a diff.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let cli = Cli::parse();
    if let Command::Config = cli.command {
        for (env, default, help) in Config::describe() {
            println!("{env:<40} {default:<16} {help}");
        }
        return Ok(());
    }
    if let Command::Plugin(PluginCommand::Inspect {
        file,
        manifest,
        json,
    }) = &cli.command
    {
        return inspect_plugin(file, manifest.as_deref(), *json);
    }
    if let Command::Blueprint(BlueprintCommand::Schema) = &cli.command {
        println!(
            "{}",
            serde_json::to_string_pretty(&garrison_services::blueprints::json_schema())?
        );
        return Ok(());
    }
    if let Command::Blueprint(BlueprintCommand::Validate { files }) = &cli.command {
        let clean = validate_blueprints(files);
        std::process::exit(if clean { 0 } else { 1 });
    }
    if let Command::Agent {
        url,
        token,
        insecure,
        update_jitter_ms,
    } = &cli.command
    {
        return run_agent(url, token, *insecure, *update_jitter_ms);
    }
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(&config.log_level, &config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(config, started).await,
            Command::Migrate => {
                open_services(&config).await?;
                println!("database is up to date");
                Ok(())
            }
            Command::Bootstrap {
                username,
                email,
                with_token,
            } => bootstrap(config, username, email, with_token).await,
            Command::Blueprint(BlueprintCommand::Plan(run)) => {
                let code =
                    run_blueprint(&config, &run, garrison_services::blueprints::Mode::Plan).await?;
                std::process::exit(code)
            }
            Command::Blueprint(BlueprintCommand::Apply(run)) => {
                let code = run_blueprint(&config, &run, garrison_services::blueprints::Mode::Apply)
                    .await?;
                std::process::exit(code)
            }
            Command::Blueprint(BlueprintCommand::Export { models, json }) => {
                export_blueprint(&config, &models, json).await
            }
            Command::Config
            | Command::Plugin(_)
            | Command::Blueprint(BlueprintCommand::Validate { .. })
            | Command::Blueprint(BlueprintCommand::Schema)
            | Command::Agent { .. } => Ok(()),
        }
    })
}

/// `garrison blueprint validate`: one line per finding, then a summary. True when no file
/// has an error.
fn validate_blueprints(files: &[PathBuf]) -> bool {
    use garrison::blueprints::{Severity, validate};
    let (mut errors, mut warnings, mut entries) = (0, 0, 0);
    let mut unsupported: Vec<String> = Vec::new();
    for file in files {
        let shown = file.display();
        let text = match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    println!(
                        "{shown}: error: not UTF-8 text (byte {})",
                        e.utf8_error().valid_up_to()
                    );
                    errors += 1;
                    continue;
                }
            },
            Err(e) => {
                println!("{shown}: error: cannot read it: {e}");
                errors += 1;
                continue;
            }
        };
        let report = validate(&text);
        for finding in &report.findings {
            let kind = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            println!("{shown}:{}: {kind}: {}", finding.line, finding.message);
        }
        errors += report.errors();
        warnings += report.warnings();
        entries += report.entries;
        for model in report.unsupported_models {
            if !unsupported.contains(&model) {
                unsupported.push(model);
            }
        }
    }
    println!(
        "{} file(s), {entries} entries: {errors} error(s), {warnings} warning(s)",
        files.len()
    );
    if !unsupported.is_empty() {
        unsupported.sort();
        println!(
            "models Garrison does not implement: {}",
            unsupported.join(", ")
        );
    }
    errors == 0
}

/// `garrison blueprint plan|apply`: runs FILE as the system (the CLI is the operator) and
/// returns the exit code: 0 nothing to do (plan) or applied, 2 changes planned, 1 an error.
async fn run_blueprint(
    config: &Config,
    run: &BlueprintRun,
    mode: garrison_services::blueprints::Mode,
) -> anyhow::Result<i32> {
    use garrison_services::blueprints::{Mode, RunOptions};
    let shown = run.file.display().to_string();
    let text =
        std::fs::read_to_string(&run.file).with_context(|| format!("cannot read {shown}"))?;
    let context: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&run.context).context("--context must be a JSON object")?;
    let blueprint = match garrison_blueprint::parse(&text, &garrison_blueprint::Limits::default()) {
        Ok(blueprint) => blueprint,
        Err(error) => {
            println!("{shown}:{}: error: {error}", error.line());
            return Ok(1);
        }
    };
    for warning in &blueprint.warnings {
        println!("{shown}:{}: warning: {}", warning.line, warning.message);
    }
    let files_root = run
        .file
        .canonicalize()
        .ok()
        .and_then(|path| path.parent().map(std::path::Path::to_path_buf));
    let services = open_services(config).await?;
    let total = blueprint.entries.len();
    let bar = (total > PROGRESS_BAR_MIN_ENTRIES && std::io::stderr().is_terminal()).then(|| {
        let phase = match mode {
            Mode::Plan => "planning",
            Mode::Apply => "applying",
        };
        ProgressBar::start(phase, total)
    });
    let options = RunOptions {
        context,
        files_root,
        env: None,
        instance: None,
        progress: bar.as_ref().map(ProgressBar::hook),
    };
    let outcome = services
        .run_blueprint(mode, &Caller::cli(), &blueprint, &options)
        .await;
    // Cleared before anything else is printed: the summary, or the error.
    drop(bar);
    let outcome = outcome?;
    if run.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print!("{}", garrison::blueprints::render_outcome(&shown, &outcome));
        let changes = outcome
            .entries
            .iter()
            .filter(|e| e.action.is_change())
            .count();
        match (mode, outcome.failure.is_some()) {
            (_, true) => println!("nothing was written"),
            (Mode::Plan, false) if changes == 0 => println!("nothing to do"),
            (Mode::Plan, false) => println!("{changes} change(s) planned; nothing was written"),
            (Mode::Apply, false) => println!("applied: {changes} change(s)"),
        }
    }
    Ok(match (mode, &outcome.failure, outcome.changed) {
        (_, Some(_), _) => 1,
        (Mode::Plan, None, true) => 2,
        _ => 0,
    })
}

/// More entries than this and `plan`/`apply` draw a progress bar: a smaller blueprint is
/// done before a bar could be read.
const PROGRESS_BAR_MIN_ENTRIES: usize = 50;

/// How often the bar is redrawn at most: often enough to look alive, rarely enough that
/// drawing costs the run nothing.
const PROGRESS_BAR_REDRAW: Duration = Duration::from_millis(100);

/// A one-line progress bar on standard error, for a terminal only (the caller checks), drawn
/// from the run's progress hook and cleared when dropped.
struct ProgressBar {
    state: Arc<Mutex<ProgressBarState>>,
}

struct ProgressBarState {
    phase: &'static str,
    started: Instant,
    last_drawn: Option<Instant>,
    /// Columns: the terminal's when the shell exports them, else the classic 80.
    width: usize,
    /// Whether there is a line to clear.
    drawn: bool,
}

impl ProgressBar {
    /// Draws the empty bar at once: the run's first entry may take a while.
    fn start(phase: &'static str, total: usize) -> Self {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|columns| columns.trim().parse::<usize>().ok())
            .filter(|columns| *columns >= 20)
            .unwrap_or(80);
        let bar = ProgressBar {
            state: Arc::new(Mutex::new(ProgressBarState {
                phase,
                started: Instant::now(),
                last_drawn: None,
                width,
                drawn: false,
            })),
        };
        draw_progress(&bar.state, RunProgress { done: 0, total });
        bar
    }

    fn hook(&self) -> ProgressHook {
        let state = self.state.clone();
        Arc::new(move |progress: RunProgress| draw_progress(&state, progress))
    }
}

/// Redraws the bar, unless it was drawn less than [`PROGRESS_BAR_REDRAW`] ago and the run is
/// not done. A bar that cannot be written is not worth failing or slowing the run for.
fn draw_progress(state: &Mutex<ProgressBarState>, progress: RunProgress) {
    let Ok(mut state) = state.lock() else {
        return;
    };
    let now = Instant::now();
    let finished = progress.done >= progress.total;
    if !finished
        && state
            .last_drawn
            .is_some_and(|at| now.duration_since(at) < PROGRESS_BAR_REDRAW)
    {
        return;
    }
    state.last_drawn = Some(now);
    let line = garrison::blueprints::render_progress_bar(
        state.phase,
        progress.done,
        progress.total,
        now.duration_since(state.started),
        state.width,
    );
    let mut stderr = std::io::stderr().lock();
    // Back to the start of the line, the bar, and the rest of the line erased.
    let _ = write!(stderr, "\r{line}\x1b[K");
    let _ = stderr.flush();
    state.drawn = true;
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        let drawn = self.state.lock().map(|state| state.drawn).unwrap_or(true);
        if drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

/// `garrison blueprint export`: what the CLI sees (everything), the blueprint on standard output
/// and the secrets it refers to and what it left out on standard error, so that redirecting the
/// output gives the file alone.
async fn export_blueprint(config: &Config, models: &[String], json: bool) -> anyhow::Result<()> {
    use garrison_services::blueprints::{ExportSelection, ModelSelection, PlaceholderSource};
    let selection = if models.is_empty() {
        ExportSelection::Everything
    } else {
        ExportSelection::Models(
            models
                .iter()
                .map(|model| ModelSelection {
                    model: model.clone(),
                    pks: None,
                })
                .collect(),
        )
    };
    let services = open_services(config).await?;
    let export = services
        .export_blueprint(&Caller::cli(), &selection)
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&export)?);
        return Ok(());
    }
    print!("{}", export.yaml);
    for placeholder in &export.placeholders {
        let source = match placeholder.source {
            PlaceholderSource::Env => "!Env",
            PlaceholderSource::File => "!File",
        };
        eprintln!(
            "needs {source} {}: {}",
            placeholder.name, placeholder.description
        );
    }
    for warning in &export.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// `garrison agent`: needs no configuration or database of its own, only the server's URL and
/// the outpost's token. Prints one line per event.
fn run_agent(url: &str, token: &str, insecure: bool, update_jitter_ms: u64) -> anyhow::Result<()> {
    use garrison_agent::{Agent, AgentConfig, AgentEvent};
    let mut config = AgentConfig::new(url.to_owned(), token.to_owned(), insecure);
    config.update_jitter = std::time::Duration::from_millis(update_jitter_ms);
    println!(
        "garrison agent {} (instance {}) for {}",
        config.version, config.instance, config.url
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (events, mut received) = tokio::sync::mpsc::channel(64);
        let agent = tokio::spawn(Agent::new(config).run(events));
        while let Some(event) = received.recv().await {
            let now = chrono::Utc::now().format("%H:%M:%S");
            match event {
                AgentEvent::Fetched { outpost, providers, config_hash } => println!(
                    "{now} holding the configuration of outpost {outpost:?}: {providers} provider(s), hash {config_hash}"
                ),
                AgentEvent::Connected { attempt } => println!("{now} connected (attempt {attempt})"),
                AgentEvent::UpdateTriggered { .. } => println!("{now} update announced; refetching"),
                AgentEvent::SessionEnded { session_id } => println!("{now} session ended: {session_id}"),
                AgentEvent::Disconnected { reason, retry_in } => println!(
                    "{now} disconnected: {reason}; retrying in {:.1} s",
                    retry_in.as_secs_f64()
                ),
            }
        }
        agent.await??;
        Ok(())
    })
}

/// `garrison plugin inspect`: needs no configuration, database or server.
fn inspect_plugin(
    file: &std::path::Path,
    manifest: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let manifest_path = manifest.map(PathBuf::from).or_else(|| {
        let beside = file.with_extension("toml");
        beside.is_file().then_some(beside)
    });
    let manifest = match &manifest_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(
                garrison_registry::manifest::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let host = garrison_registry::host::PluginHost::new(Default::default())
        .map_err(|e| anyhow::anyhow!(e))?;
    let review = garrison_registry::review(&host, manifest.as_ref(), &bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&review)?);
    } else {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        println!("file:         {}", file.display());
        println!("digest:       {}", review.digest);
        println!("world:        {}", or_none(&review.world));
        println!("wit version:  {}", or_none(&review.wit_version));
        println!("exports:");
        for export in &review.exports {
            println!("  {export}");
        }
        println!("imports:");
        for import in &review.imports {
            println!("  {import}");
        }
        match &manifest_path {
            Some(path) => {
                println!("manifest:     {}", path.display());
                println!("  name:       {}", or_none(&review.name));
                println!("  version:    {}", or_none(&review.version));
                println!("  requests:");
                if review.requested.is_empty() {
                    println!("    nothing");
                }
                for capability in &review.requested {
                    println!(
                        "    {:<48} {}",
                        capability.capability, capability.description
                    );
                }
            }
            None => println!("manifest:     (none given; pass --manifest to check one)"),
        }
        for problem in &review.problems {
            println!("problem:      {problem}");
        }
    }
    if !review.problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

async fn bootstrap(
    config: Config,
    username: String,
    email: Option<String>,
    with_token: bool,
) -> anyhow::Result<()> {
    let password = match config.bootstrap_password.clone() {
        Some(password) => password,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("Password for {username}: ");
                std::io::stderr().flush()?;
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        bail!("no password given: set GARRISON_BOOTSTRAP_PASSWORD or pipe it on standard input");
    }
    let token = if with_token {
        Some(
            config
                .bootstrap_token
                .clone()
                .context("--with-token needs GARRISON_BOOTSTRAP_TOKEN")?,
        )
    } else {
        None
    };
    let services = open_services(&config).await?;
    let user = services
        .create_administrator(
            &Caller::cli(),
            &username,
            email.or(config.bootstrap_email.clone()).as_deref(),
            Some(&password),
            token.as_deref(),
        )
        .await?;
    println!("administrator {} (pk {}) is ready", user.username, user.pk);
    Ok(())
}

async fn serve(config: Config, started: Instant) -> anyhow::Result<()> {
    let services = open_services(&config).await?;
    let outcome = services
        .ensure_bootstrap(BootstrapRequest {
            username: None,
            email: config.bootstrap_email.clone(),
            password: config.bootstrap_password.clone(),
            token: config.bootstrap_token.clone(),
        })
        .await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (GARRISON_LISTEN)", config.listen))?;
    let metrics_listener = tokio::net::TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (GARRISON_METRICS_LISTEN)",
                config.metrics_listen
            )
        })?;
    match outcome {
        BootstrapOutcome::SetupRequired { setup_token } => {
            let port = config.listen.port();
            // Printed, not logged: the link is a credential and must not reach log collectors.
            println!(
                "\n  No administrator exists yet. Open this one-time link to create one:\n\n    http://localhost:{port}/setup/{setup_token}\n"
            );
        }
        BootstrapOutcome::Created { username, token } => {
            tracing::info!(%username, api_token = token, "first administrator created from GARRISON_BOOTSTRAP_*");
        }
        BootstrapOutcome::AlreadyBootstrapped => {}
    }
    if assets::Bundle::load(&config.site_dir).is_none() {
        tracing::warn!(
            "browser bundle not built (scripts/build-ui.sh): pages are served without hydration"
        );
    }
    let registry = start_registry(&config, &services).await?;
    garrison::reconcile(&config, &services).await?;
    let metrics = metrics_for(&registry);
    let app = router(services.clone(), registry, &config, metrics.clone());
    spawn_housekeeping(services.clone());
    // After the registry and the reconcile: blueprints may name what plugins provide.
    spawn_blueprint_lifecycle(services.clone(), &config);
    tracing::info!(
        listen = %config.listen,
        metrics = %config.metrics_listen,
        store = services.store_backend(),
        cache = services.bus().kind(),
        startup_ms = started.elapsed().as_millis() as u64,
        "garrison ready"
    );
    let metrics_server = axum::serve(metrics_listener, metrics_router(metrics))
        .with_graceful_shutdown(shutdown_signal());
    let main_server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal());
    let (main, metrics_result) = tokio::join!(main_server, metrics_server);
    main?;
    metrics_result?;
    // Connections still checked out (a request that outlived the grace period) must not keep
    // the process from exiting.
    if tokio::time::timeout(std::time::Duration::from_secs(10), services.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections were still in use after 10 s; exiting anyway");
    }
    tracing::info!("garrison stopped");
    Ok(())
}

/// SIGTERM (orchestrators) or Ctrl-C: stop accepting, finish in-flight requests, exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
