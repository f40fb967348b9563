//! The blueprint engine beside the database's floor, on both stores: a generated blueprint of
//! 5,000 `authentik_core.group` entries parsed, validated (what `garrison blueprint validate`
//! checks) and applied (what `garrison blueprint apply` does: parse, then one run in one
//! transaction, every entry through the services' cores with their permission checks and
//! audit events), beside raw batched inserts (one transaction, multi-row INSERTs) of the same
//! rows straight into `groups`, and of those with the audit event the apply writes for each
//! group (the rows an apply must write: its floor). Each figure is the median of five rounds,
//! each round on fresh databases; the goal is validate + apply within 3× of the raw insert
//! (the ratio is taken in each round, and its median given).
//!
//! `cargo bench -p garrison --bench blueprint_apply`; `scripts/bench-blueprint.sh` starts
//! PostgreSQL first and cleans up after an interrupted run. Settings (not `GARRISON_*`: those
//! belong to the server): `BENCH_ENTRIES` (5000), `BENCH_ROUNDS` (5), `BENCH_STORES` ("sqlite
//! postgres"), `BENCH_DATABASE_PREFIX` (names of the PostgreSQL databases it creates),
//! `BENCH_SCRATCH_DIR` (where the SQLite databases go; the system's temporary directory).
//! PostgreSQL is measured when `GARRISON_TEST_DATABASE_URL` is set (the test services' admin
//! URL), and skipped, saying so, otherwise.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use garrison::Config;
use garrison_blueprint::Limits;
use garrison_services::Caller;
use garrison_services::blueprints::RunOptions;
use garrison_store::Store;
use garrison_store::sql::RowArguments;
use serde_json::{Map, Value, json};

/// Every group this bench makes is named with it, so that counting them is exact.
const GROUP_PREFIX: &str = "bench-group-";

/// Rows per INSERT in the raw insert (as the store's own multi-row inserts): 3,000 parameters,
/// well under either database's limit.
const RAW_INSERT_CHUNK: usize = 500;

/// The goal the figures are held against: validate + apply within this many times the raw
/// insert.
const GOAL_RATIO: f64 = 3.0;

struct Settings {
    entries: usize,
    rounds: usize,
    sqlite: bool,
    postgres: bool,
    /// The test services' admin URL (`GARRISON_TEST_DATABASE_URL`), when set.
    postgres_admin: Option<String>,
    database_prefix: String,
    scratch_dir: PathBuf,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let number = |name: &str, default: usize| -> anyhow::Result<usize> {
            match std::env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|value| *value > 0)
                    .ok_or_else(|| anyhow!("{name} must be a positive number, not {text:?}")),
                Err(_) => Ok(default),
            }
        };
        let stores = std::env::var("BENCH_STORES").unwrap_or_else(|_| "sqlite postgres".into());
        let database_prefix = std::env::var("BENCH_DATABASE_PREFIX")
            // Like the suite's databases: scripts/test-services.sh drops those whose process
            // is gone, so even a killed run started by hand leaves nothing behind for long.
            .unwrap_or_else(|_| format!("garrison_test_{}_bench_", std::process::id()));
        // It becomes part of SQL statements (database names cannot be parameters).
        ensure!(
            !database_prefix.is_empty()
                && database_prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "BENCH_DATABASE_PREFIX may hold only a-z, 0-9 and _, not {database_prefix:?}"
        );
        let scratch_dir = std::env::var_os("BENCH_SCRATCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Ok(Settings {
            entries: number("BENCH_ENTRIES", 5_000)?,
            rounds: number("BENCH_ROUNDS", 5)?,
            sqlite: stores.contains("sqlite"),
            postgres: stores.contains("postgres"),
            postgres_admin: std::env::var("GARRISON_TEST_DATABASE_URL").ok(),
            database_prefix,
            scratch_dir,
        })
    }
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; there is nothing else to read from the command line.
    let settings = Settings::from_env()?;
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let groups = generate_groups(settings.entries);
    let text = blueprint_text(&groups);
    println!(
        "blueprint: {} authentik_core.group entries, {} KiB; {} round(s) per store, fresh \
         databases each",
        groups.len(),
        text.len() / 1024,
        settings.rounds
    );
    println!(
        "apply = parse + run + commit (what `garrison blueprint apply` does with the file's \
         text); raw insert = the same rows into `groups` in one transaction, {RAW_INSERT_CHUNK} \
         per INSERT"
    );
    if settings.sqlite {
        bench_store(
            &settings,
            &Target::Sqlite,
            "SQLite (embedded default)",
            &groups,
            &text,
        )
        .await?;
    }
    if settings.postgres {
        match &settings.postgres_admin {
            Some(admin) => {
                let target = Target::Postgres {
                    admin: admin.clone(),
                };
                bench_store(&settings, &target, "PostgreSQL", &groups, &text).await?;
            }
            None => println!(
                "== PostgreSQL: skipped (GARRISON_TEST_DATABASE_URL is not set; \
                 scripts/bench-blueprint.sh sets it)"
            ),
        }
    }
    Ok(())
}

/// One group as both paths write it.
struct GeneratedGroup {
    name: String,
    attributes: Map<String, Value>,
}

/// Groups with a name and two attributes (a string shared by many, a number of its own): what
/// a directory sync or a migration from another IdP typically writes.
fn generate_groups(count: usize) -> Vec<GeneratedGroup> {
    (0..count)
        .map(|n| {
            let attributes = match json!({"team": format!("team-{:02}", n % 50), "index": n}) {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            GeneratedGroup {
                name: format!("{GROUP_PREFIX}{n:05}"),
                attributes,
            }
        })
        .collect()
}

/// The groups as a v1 blueprint, one entry each, as someone would write it by hand.
fn blueprint_text(groups: &[GeneratedGroup]) -> String {
    let mut text = String::with_capacity(groups.len() * 140);
    text.push_str("version: 1\nmetadata:\n  name: Benchmark groups\nentries:\n");
    for group in groups {
        let _ = writeln!(
            text,
            "  - model: authentik_core.group\n    identifiers:\n      name: {}\n    attrs:\n      \
             attributes:",
            group.name
        );
        for (key, value) in &group.attributes {
            // JSON scalars are YAML flow scalars: strings stay strings, numbers numbers.
            let _ = writeln!(text, "        {key}: {value}");
        }
    }
    text
}

/// One round's figures.
#[derive(Clone, Copy)]
struct Round {
    parse: Duration,
    validate: Duration,
    apply: Duration,
    raw_insert: Duration,
    /// The groups and an event row for each, as the apply writes them.
    raw_insert_with_events: Duration,
}

impl Round {
    fn validate_and_apply(&self) -> Duration {
        self.validate + self.apply
    }

    /// Validate + apply against a floor measured in the same round: figures taken a moment
    /// apart, so a machine that slows down for a while (this one does, by a third) moves both.
    fn ratio_to(&self, floor: fn(&Round) -> Duration) -> f64 {
        self.validate_and_apply().as_secs_f64() / floor(self).as_secs_f64().max(f64::EPSILON)
    }
}

async fn bench_store(
    settings: &Settings,
    target: &Target,
    label: &str,
    groups: &[GeneratedGroup],
    text: &str,
) -> anyhow::Result<()> {
    println!("== {label}");
    let mut rounds = Vec::with_capacity(settings.rounds);
    for number in 1..=settings.rounds {
        let (parse, validate, apply) = apply_round(settings, target, text, groups.len())
            .await
            .with_context(|| format!("{label}, round {number}: validate and apply"))?;
        let raw_insert = raw_insert_round(settings, target, groups, Events::Without)
            .await
            .with_context(|| format!("{label}, round {number}: raw insert"))?;
        let raw_insert_with_events = raw_insert_round(settings, target, groups, Events::With)
            .await
            .with_context(|| format!("{label}, round {number}: raw insert with events"))?;
        let round = Round {
            parse,
            validate,
            apply,
            raw_insert,
            raw_insert_with_events,
        };
        println!(
            "round {number}: parse {} ms, validate {} ms, apply {} ms, raw insert {} ms, \
             with events {} ms; ratios {:.1}x, {:.1}x with events",
            ms(round.parse),
            ms(round.validate),
            ms(round.apply),
            ms(round.raw_insert),
            ms(round.raw_insert_with_events),
            round.ratio_to(|round| round.raw_insert),
            round.ratio_to(|round| round.raw_insert_with_events)
        );
        rounds.push(round);
    }
    let median_of = |figure: fn(&Round) -> Duration| median(rounds.iter().map(figure).collect());
    let validate_and_apply = median_of(Round::validate_and_apply);
    let raw_insert = median_of(|round| round.raw_insert);
    let raw_insert_with_events = median_of(|round| round.raw_insert_with_events);
    let median_ratio = |floor: fn(&Round) -> Duration| {
        let mut ratios: Vec<f64> = rounds.iter().map(|round| round.ratio_to(floor)).collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    let ratio = median_ratio(|round| round.raw_insert);
    let ratio_with_events = median_ratio(|round| round.raw_insert_with_events);
    println!("median of {} round(s):", rounds.len());
    println!("  entries:          {:>10}", groups.len());
    println!(
        "  parse:            {:>10} ms",
        ms(median_of(|round| round.parse))
    );
    println!(
        "  validate:         {:>10} ms",
        ms(median_of(|round| round.validate))
    );
    println!(
        "  apply:            {:>10} ms",
        ms(median_of(|round| round.apply))
    );
    println!("  validate + apply: {:>10} ms", ms(validate_and_apply));
    println!("  raw insert:       {:>10} ms", ms(raw_insert));
    println!("  with events:      {:>10} ms", ms(raw_insert_with_events));
    let against = |ratio: f64| {
        if ratio <= GOAL_RATIO {
            "within"
        } else {
            "beyond"
        }
    };
    println!(
        "  ratio (validate + apply / raw insert, median of the rounds' ratios): {ratio:.1}x ({} \
         the goal of {GOAL_RATIO}x)",
        against(ratio)
    );
    println!(
        "  ratio (validate + apply / raw insert with events, median of the rounds' ratios): \
         {ratio_with_events:.1}x ({} the goal of {GOAL_RATIO}x)",
        against(ratio_with_events)
    );
    Ok(())
}

/// Parse, validate and apply on a fresh database: (parse, validate, apply).
async fn apply_round(
    settings: &Settings,
    target: &Target,
    text: &str,
    entries: usize,
) -> anyhow::Result<(Duration, Duration, Duration)> {
    let scratch = Scratch::fresh(settings, target).await?;
    let config = scratch.config()?;
    // As the server and the CLI open it: connect, migrate, the sealing key, the bus.
    let services = garrison::open_services(&config).await?;

    let started = Instant::now();
    let parsed = garrison_blueprint::parse(text, &Limits::default());
    let parse = started.elapsed();
    if let Err(error) = parsed {
        bail!(
            "the generated blueprint does not parse: line {}: {error}",
            error.line()
        );
    }

    let started = Instant::now();
    let report = garrison::blueprints::validate(text);
    let validate = started.elapsed();
    ensure!(
        report.errors() == 0 && report.entries == entries,
        "validate found {} error(s) in {} entries: {:?}",
        report.errors(),
        report.entries,
        report.findings.first()
    );

    // As `garrison blueprint apply` runs it, as the operator at the command line.
    let started = Instant::now();
    let blueprint = garrison_blueprint::parse(text, &Limits::default())
        .map_err(|error| anyhow!("line {}: {error}", error.line()))?;
    let outcome = services
        .apply_blueprint(&Caller::cli(), &blueprint, &RunOptions::default())
        .await?;
    let apply = started.elapsed();
    if let Some(failure) = &outcome.failure {
        bail!("the apply failed: {}", failure.message);
    }
    services.close().await;

    // A bench that applied nothing would measure nothing.
    let applied = count_groups(&config).await?;
    ensure!(
        applied == entries,
        "the applied database holds {applied} benchmark groups, not {entries}"
    );
    scratch.remove().await;
    Ok((parse, validate, apply))
}

/// Whether a raw insert also writes the audit event the apply records for each group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Events {
    Without,
    With,
}

/// The same rows straight into `groups` (and, `With` events, an `events` row for each, shaped
/// as the apply's `model_created` events) on a fresh database, every NOT NULL column filled as
/// the store fills it; only the transaction is timed (the floor is the database's work).
async fn raw_insert_round(
    settings: &Settings,
    target: &Target,
    groups: &[GeneratedGroup],
    events: Events,
) -> anyhow::Result<Duration> {
    let scratch = Scratch::fresh(settings, target).await?;
    let config = scratch.config()?;
    // As `garrison::open_services` opens it, without the services around it.
    let store = Store::connect(&config.effective_database_url()).await?;
    store.migrate().await?;
    let now = garrison_store::format_ts(&chrono::Utc::now());
    let rows: Vec<(String, String, String)> = groups
        .iter()
        .map(|group| {
            (
                uuid::Uuid::new_v4().to_string(),
                group.name.clone(),
                Value::Object(group.attributes.clone()).to_string(),
            )
        })
        .collect();
    // (uuid, context) of each group's event; built before the clock starts, like the rows.
    let event_rows: Vec<(String, String)> = match events {
        Events::Without => Vec::new(),
        Events::With => groups
            .iter()
            .zip(&rows)
            .map(|(group, (uuid, name, _))| {
                let context = json!({
                    "model": {"app": "authentik_core", "model_name": "group", "pk": uuid, "name": name},
                    "diff": {
                        "name": {"new_value": name},
                        "is_superuser": {"new_value": false},
                        "parents": {"new_value": []},
                        "attributes": {"new_value": group.attributes},
                        "roles": {"new_value": []},
                        "users": {"new_value": []},
                    },
                    "http_request": {"via": "cli"},
                });
                (uuid::Uuid::new_v4().to_string(), context.to_string())
            })
            .collect(),
    };
    let user_json = json!({"pk": null, "username": "system", "email": ""}).to_string();

    let started = Instant::now();
    // Through the store's own transaction: on SQLite it begins IMMEDIATE, as every write does.
    let mut tx = store.begin().await?;
    // Bound as the store binds its multi-row statements: arguments sized once, text built
    // before the clock moved in, shared text copied.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(RAW_INSERT_CHUNK).collect();
        let mut arguments = RowArguments::with_capacity(chunk.len() * 6);
        let sql = multi_row_insert(store.backend(), chunk.len());
        for (uuid, name, attributes) in chunk {
            arguments
                .bind(uuid)
                .bind(name)
                .bind(false)
                .bind(attributes)
                .bind(now.as_str())
                .bind(now.as_str());
        }
        sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments.finish()?)
            .execute(tx.conn())
            .await?;
    }
    let mut event_rows = event_rows.into_iter().peekable();
    while event_rows.peek().is_some() {
        let chunk: Vec<_> = event_rows.by_ref().take(RAW_INSERT_CHUNK).collect();
        let mut arguments = RowArguments::with_capacity(chunk.len() * 9);
        let sql = format!(
            "INSERT INTO events (uuid, action, app, username, user_json, context, client_ip, \
             created, expires) VALUES {}",
            garrison_store::sql::value_rows(store.backend(), chunk.len(), 9)
        );
        for (uuid, context) in chunk {
            arguments
                .bind(uuid)
                .bind("model_created")
                .bind("garrison")
                .bind("system")
                .bind(user_json.as_str())
                .bind(context)
                .bind(None::<String>)
                .bind(now.as_str())
                .bind(None::<String>);
        }
        sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments.finish()?)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    let elapsed = started.elapsed();
    store.close().await;

    let inserted = count_groups(&config).await?;
    ensure!(
        inserted == groups.len(),
        "the raw insert left {inserted} benchmark groups, not {}",
        groups.len()
    );
    scratch.remove().await;
    Ok(elapsed)
}

/// `INSERT INTO groups … VALUES (…), (…), …` for `rows` rows, with the parameters the store's
/// own multi-row statements use (`garrison_store::sql::value_rows`: anonymous on SQLite, where
/// numbered ones cost time quadratic in their number), so the floor is the fastest insert.
fn multi_row_insert(backend: garrison_store::Backend, rows: usize) -> String {
    format!(
        "INSERT INTO groups (uuid, name, is_superuser, attributes, created, last_updated) VALUES {}",
        garrison_store::sql::value_rows(backend, rows, 6)
    )
}

/// How many of this bench's groups the database named by `config` holds.
async fn count_groups(config: &Config) -> anyhow::Result<usize> {
    let store = Store::connect(&config.effective_database_url()).await?;
    let mut reader = store.read().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE name LIKE $1")
        .bind(format!("{GROUP_PREFIX}%"))
        .fetch_one(reader.conn())
        .await?;
    drop(reader);
    store.close().await;
    usize::try_from(count).context("a negative count")
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// Which store a round runs on.
enum Target {
    Sqlite,
    /// Databases are created and dropped through `admin` (a URL to a database that exists).
    Postgres {
        admin: String,
    },
}

/// Tells the databases of one run apart.
static SCRATCH_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh database and data directory for one measurement, removed by [`Scratch::remove`]
/// or, should the round fail or panic, when dropped.
struct Scratch {
    dir: PathBuf,
    /// The PostgreSQL database: (admin URL, name, URL).
    database: Option<(String, String, String)>,
}

impl Scratch {
    async fn fresh(settings: &Settings, target: &Target) -> anyhow::Result<Scratch> {
        let number = SCRATCH_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = settings
            .scratch_dir
            .join(format!("garrison-bench-{}-{number}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut scratch = Scratch {
            dir,
            database: None,
        };
        if let Target::Postgres { admin } = target {
            use sqlx::{Connection, Executor};
            let name = format!("{}{number}", settings.database_prefix);
            let mut conn = sqlx::AnyConnection::connect(admin)
                .await
                .context("PostgreSQL reachable at GARRISON_TEST_DATABASE_URL")?;
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .with_context(|| format!("creating the database {name}"))?;
            let _ = conn.close().await;
            let base = admin
                .rsplit_once('/')
                .map_or(admin.as_str(), |(base, _)| base);
            let url = format!("{base}/{name}");
            scratch.database = Some((admin.clone(), name, url));
        }
        Ok(scratch)
    }

    /// The server's configuration for this database, from settings alone (not the process's
    /// environment, which holds the bench's own variables).
    fn config(&self) -> anyhow::Result<Config> {
        let mut env = BTreeMap::new();
        env.insert(
            "GARRISON_DATA_DIR".to_owned(),
            self.dir.display().to_string(),
        );
        if let Some((_, _, url)) = &self.database {
            env.insert("GARRISON_DATABASE_URL".to_owned(), url.clone());
        }
        Ok(Config::from_sources(None, &env)?)
    }

    async fn remove(mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin, name, _)) = self.database.take() {
            if drop_database(&admin, &name).await.is_err() {
                eprintln!("could not drop the database {name}; drop it by hand");
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin, name, _)) = self.database.take() {
            // Drop may run inside the bench's runtime, which cannot be blocked on; a thread
            // with its own runtime can.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(drop_database(&admin, &name)).ok()
            })
            .join();
            if !matches!(dropped, Ok(Some(()))) {
                eprintln!(
                    "could not drop a benchmark database; scripts/bench-blueprint.sh drops it when it exits"
                );
            }
        }
    }
}

/// FORCE: a pool the round left open must not keep the database alive.
async fn drop_database(admin: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::AnyConnection::connect(admin).await?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await?;
    let _ = conn.close().await;
    Ok(())
}
