//! Persistence for Garrison.
//!
//! One code path serves both stores: queries go through sqlx's `Any` driver and are written in
//! the SQL both SQLite and PostgreSQL accept (`$n` placeholders, `RETURNING`, recursive CTEs,
//! text timestamps and UUIDs). Each store has its own migration set in `migrations/`.
//!
//! This crate knows SQL and nothing else: no HTTP, no authorisation, no validation beyond what
//! the schema enforces. Callers get typed rows from `garrison-model` or small row structs.
#![deny(unsafe_code)]

pub mod blueprints;
mod codec;
pub mod events;
pub mod groups;
pub mod leases;
pub mod outposts;
pub mod permissions;
pub mod plugins;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod sql;
pub mod tokens;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use codec::{format_ts, parse_ts};

/// A connection to read through: a [`Reader`]'s or a [`Tx`]'s. Read functions take one, so the
/// services can read inside their transaction (seeing its writes) or outside any.
pub type Conn = AnyConnection;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How long a SQLite write waits for the one before it.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(30);

/// A pooled PostgreSQL connection idle for this long is pinged before it is handed out, so
/// that one which died meanwhile (the database restarted, a proxy or firewall dropped it) is
/// replaced instead of failing the request that drew it. A busy server's connections are
/// rarely idle this long, and an idle server has the round trip to spare.
pub const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {url:?}: expected sqlite:// or postgres://")]
    UnsupportedUrl { url: String },
    #[error("could not connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a row with this {constraint} already exists")]
    Unique { constraint: String },
    #[error("stored value in {table}.{column} is invalid: {detail}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        detail: String,
    },
    #[error("database error: {0}")]
    Query(sqlx::Error),
    #[error("the database is busy: a write waited {0:?} for another to finish")]
    Busy(Duration),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error() {
            if db.is_unique_violation() {
                let constraint = db.constraint().map(str::to_owned).unwrap_or_else(|| {
                    // SQLite names the columns in the message instead of a constraint.
                    db.message()
                        .rsplit(':')
                        .next()
                        .unwrap_or("value")
                        .trim()
                        .to_owned()
                });
                return StoreError::Unique { constraint };
            }
        }
        StoreError::Query(error)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection pool plus what the services need to know about the database behind it.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; serialising write transactions here turns would-be
    /// `SQLITE_BUSY` failures into short waits. PostgreSQL needs no such lock.
    write_lock: Option<Arc<Mutex<()>>>,
}

/// A pooled connection for reads. Store functions that write take a [`Tx`] instead, so a
/// write cannot happen outside a transaction by accident.
pub struct Reader {
    inner: PoolConnection<Any>,
}

impl Reader {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls back. Reads inside it see its
/// own writes (`conn()`); every store function that writes takes one.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    _write_guard: Option<OwnedMutexGuard<()>>,
    identities_changed: bool,
    backend: Backend,
}

impl Tx {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether this transaction changed who holds what (memberships, group parents, roles,
    /// permissions, a user's or group's own flags) or which key opens which account (a token
    /// changed, re-keyed or deleted). Cached principals and tokens are stale once it commits.
    /// The writes set it beside their SQL, so no caller can forget to.
    pub fn identities_changed(&self) -> bool {
        self.identities_changed
    }

    pub(crate) fn touch_identities(&mut self) {
        self.identities_changed = true;
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    /// Locks one row of `table` for the rest of the transaction (a no-op update: PostgreSQL
    /// takes the row lock, SQLite already holds the database's write lock). A service reads
    /// the "before" state after this, so two concurrent updates of one object cannot both
    /// rebuild it from the same old state and lose one change.
    pub async fn lock_row(&mut self, row: RowRef<'_>) -> Result<()> {
        let (table, column) = match row {
            RowRef::Group(_) => ("groups", "uuid"),
            RowRef::Outpost(_) => ("outposts", "uuid"),
            RowRef::Certificate(_) => ("certificate_keypairs", "uuid"),
            RowRef::ServiceConnection(_) => ("service_connections", "uuid"),
            RowRef::Application(_) => ("applications", "uuid"),
            RowRef::Brand(_) => ("brands", "uuid"),
            RowRef::BlueprintInstance(_) => ("blueprint_instances", "uuid"),
            RowRef::Provider(_) => ("providers", "id"),
            RowRef::Role(_) => ("roles", "uuid"),
            RowRef::Token(_) => ("tokens", "uuid"),
            RowRef::User(_) => ("users", "id"),
            RowRef::Plugin(_) => ("plugins", "name"),
        };
        let query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET {column} = {column} WHERE {column} = $1"
        )));
        let query = match row {
            RowRef::Group(uuid)
            | RowRef::Role(uuid)
            | RowRef::Token(uuid)
            | RowRef::Outpost(uuid)
            | RowRef::Certificate(uuid)
            | RowRef::ServiceConnection(uuid)
            | RowRef::Application(uuid)
            | RowRef::Brand(uuid)
            | RowRef::BlueprintInstance(uuid) => query.bind(uuid.to_string()),
            RowRef::User(id) | RowRef::Provider(id) => query.bind(id),
            RowRef::Plugin(name) => query.bind(name.to_owned()),
        };
        query.execute(self.conn()).await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.inner.rollback().await?;
        Ok(())
    }
}

/// A row services lock before a read-modify-write.
#[derive(Clone, Copy, Debug)]
pub enum RowRef<'a> {
    Group(uuid::Uuid),
    Outpost(uuid::Uuid),
    Certificate(uuid::Uuid),
    ServiceConnection(uuid::Uuid),
    Application(uuid::Uuid),
    Brand(uuid::Uuid),
    BlueprintInstance(uuid::Uuid),
    Provider(i64),
    Role(uuid::Uuid),
    Token(uuid::Uuid),
    User(i64),
    Plugin(&'a str),
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). For SQLite the file is created when
    /// missing.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            });
        };
        let options: AnyConnectOptions = url.parse().map_err(|source| StoreError::Connect {
            backend: backend.name(),
            source,
        })?;
        // No ping before handing out a connection that was in use a moment ago: on PostgreSQL
        // that ping was a round trip on every request. One idle for longer is pinged (see
        // `PING_WHEN_IDLE_FOR`).
        let pool_options = AnyPoolOptions::new()
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            });
        let pool_options = if backend == Backend::Postgres {
            pool_options.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < PING_WHEN_IDLE_FOR {
                        return Ok(true);
                    }
                    // False: the pool closes it and hands out another (or a new) one.
                    let alive = conn.ping().await.is_ok();
                    if !alive {
                        tracing::info!(
                            "a pooled PostgreSQL connection died while idle; replacing it"
                        );
                    }
                    Ok(alive)
                })
            })
        } else {
            pool_options
        };
        let pool_options = if backend == Backend::Sqlite {
            pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            })
        } else {
            pool_options
        };
        let pool =
            pool_options
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    backend: backend.name(),
                    source,
                })?;
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            write_lock,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations for this store's database; idempotent.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("../../migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub async fn begin(&self) -> Result<Tx> {
        let guard = match &self.write_lock {
            // A write waits its turn, but not forever: one stuck while holding the lock (a
            // bug) must surface as an error on the others, not as a server that hangs.
            Some(lock) => Some(
                tokio::time::timeout(WRITE_LOCK_WAIT, lock.clone().lock_owned())
                    .await
                    .map_err(|_| {
                        tracing::error!(
                            "a write waited {WRITE_LOCK_WAIT:?} for SQLite's write lock"
                        );
                        StoreError::Busy(WRITE_LOCK_WAIT)
                    })?,
            ),
            None => None,
        };
        // SQLite: take the write lock when the transaction begins. A deferred transaction that
        // reads first and writes later must upgrade its lock, and SQLite answers "database is
        // locked" at once (without waiting) when the database changed since its first read.
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            inner,
            _write_guard: guard,
            identities_changed: false,
            backend: self.backend,
        })
    }

    /// A pooled connection for reads.
    pub async fn read(&self) -> Result<Reader> {
        Ok(Reader {
            inner: self.pool.acquire().await?,
        })
    }

    /// What the pool holds right now: for diagnosing a server (or a test) that stopped
    /// making progress, where "every connection is out" and "a write holds the lock" are
    /// the first two questions.
    pub fn status(&self) -> StoreStatus {
        StoreStatus {
            backend: self.backend,
            connections: self.pool.size(),
            idle: self.pool.num_idle(),
            write_lock_held: self
                .write_lock
                .as_ref()
                .map(|lock| lock.try_lock().is_err()),
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A snapshot of the pool, see [`Store::status`].
#[derive(Clone, Copy, Debug)]
pub struct StoreStatus {
    pub backend: Backend,
    /// Open connections, idle or in use.
    pub connections: u32,
    pub idle: usize,
    /// SQLite only: whether a write transaction holds the write lock.
    pub write_lock_held: Option<bool>,
}

impl std::fmt::Display for StoreStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} connections open, {} idle",
            self.backend.name(),
            self.connections,
            self.idle
        )?;
        match self.write_lock_held {
            Some(true) => f.write_str(", the write lock held"),
            Some(false) => f.write_str(", the write lock free"),
            None => Ok(()),
        }
    }
}

/// Database URLs may carry passwords; they never reach logs or error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_credentials_in_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://***@db:5432/x"
        );
        assert_eq!(
            redact_url("sqlite://data/garrison.db"),
            "sqlite://data/garrison.db"
        );
    }
}
