use chrono::{DateTime, Utc};
use garrison_model::Event;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::codec::{self, format_ts};
use crate::sql::{Bind, Ordering, Ties, Where};
use crate::{Result, Tx};

pub const ORDERING: &[(&str, &str, Ties)] = &[
    ("created", "e.created", Ties::Possible),
    ("action", "e.action", Ties::Possible),
    ("user", "e.username", Ties::Possible),
    ("client_ip", "e.client_ip", Ties::Possible),
];
pub const DEFAULT_ORDERING: Ordering = Ordering {
    column: "e.created",
    descending: true,
    ties: Ties::Possible,
};

const COLUMNS: &str =
    "e.uuid, e.action, e.app, e.user_json, e.context, e.client_ip, e.created, e.expires";

#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub search: Option<String>,
    pub action: Option<String>,
    pub username: Option<String>,
    pub client_ip: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

fn decode(row: &AnyRow) -> Result<Event> {
    Ok(Event {
        pk: codec::uuid("events", "uuid", &row.try_get::<String, _>("uuid")?)?,
        action: row.try_get("action")?,
        app: row.try_get("app")?,
        user: codec::json(
            "events",
            "user_json",
            &row.try_get::<String, _>("user_json")?,
        )?,
        context: codec::json("events", "context", &row.try_get::<String, _>("context")?)?,
        client_ip: row.try_get("client_ip")?,
        created: codec::ts("events", "created", &row.try_get::<String, _>("created")?)?,
        expires: codec::opt_ts("events", "expires", row.try_get("expires")?)?,
    })
}

fn filter_sql(filter: &EventFilter) -> Where {
    let mut w = Where::new();
    if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        w.search(
            &["e.action", "e.username", "e.context", "e.client_ip"],
            term,
        );
    }
    if let Some(action) = &filter.action {
        let p = w.arg(Bind::Text(action.clone()));
        w.and(format!("e.action = {p}"));
    }
    if let Some(username) = &filter.username {
        let p = w.arg(Bind::Text(username.clone()));
        w.and(format!("e.username = {p}"));
    }
    if let Some(ip) = &filter.client_ip {
        let p = w.arg(Bind::Text(ip.clone()));
        w.and(format!("e.client_ip = {p}"));
    }
    if let Some(since) = filter.since {
        let p = w.arg(Bind::Text(format_ts(&since)));
        w.and(format!("e.created >= {p}"));
    }
    w
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &EventFilter,
    ordering: Ordering,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Event>, u64)> {
    let mut w = filter_sql(filter);
    let count: i64 = w
        .query_scalar(format!("SELECT COUNT(*) FROM events e{}", w.sql()))
        .fetch_one(&mut *conn)
        .await?;
    let where_sql = w.sql();
    let page = w.page_sql(ordering, "e.id", limit, offset);
    let rows = w
        .query(format!("SELECT {COLUMNS} FROM events e{where_sql}{page}"))
        .fetch_all(conn)
        .await?;
    Ok((
        rows.iter().map(decode).collect::<Result<Vec<_>>>()?,
        count as u64,
    ))
}

pub async fn count(conn: &mut AnyConnection, filter: &EventFilter) -> Result<u64> {
    let w = filter_sql(filter);
    let n: i64 = w
        .query_scalar(format!("SELECT COUNT(*) FROM events e{}", w.sql()))
        .fetch_one(conn)
        .await?;
    Ok(n as u64)
}

pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<Event>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events e WHERE e.uuid = $1"
    )))
    .bind(uuid.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// An event ready to be written, its JSON already text: what [`insert_rows`] takes. A batch
/// of events that share their user and time serializes those once instead of once per event.
pub struct EventRow<'a> {
    pub pk: Uuid,
    pub action: &'a str,
    pub app: &'a str,
    /// The user's name, as the events list filters and sorts by it.
    pub username: &'a str,
    pub user_json: &'a str,
    pub context: String,
    pub client_ip: Option<&'a str>,
    /// As [`format_ts`] writes it.
    pub created: &'a str,
    pub expires: Option<&'a str>,
}

/// Inserts every event with multi-row statements (nine parameters a row). Takes the rows so
/// that each context, the longest text, is handed to the driver instead of copied.
pub async fn insert_rows(tx: &mut Tx, rows: Vec<EventRow<'_>>) -> Result<()> {
    const COLUMNS: usize = 9;
    const ROWS_PER_STATEMENT: usize = 500;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk = rows.by_ref().take(ROWS_PER_STATEMENT);
        let count = chunk.len();
        let mut arguments = crate::sql::RowArguments::with_capacity(count * COLUMNS);
        for row in chunk {
            arguments
                .bind(row.pk.to_string())
                .bind(row.action)
                .bind(row.app)
                .bind(row.username)
                .bind(row.user_json)
                .bind(row.context)
                .bind(row.client_ip)
                .bind(row.created)
                .bind(row.expires);
        }
        let sql = format!(
            "INSERT INTO events (uuid, action, app, username, user_json, context, client_ip, created, expires) \
             VALUES {}",
            crate::sql::value_rows(tx.backend(), count, COLUMNS)
        );
        sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments.finish()?)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

fn username_of(event: &Event) -> &str {
    event
        .user
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// One event as the model holds it, through [`insert_rows`].
pub async fn insert(tx: &mut Tx, event: &Event) -> Result<()> {
    let (user_json, created) = (event.user.to_string(), format_ts(&event.created));
    let expires = event.expires.as_ref().map(format_ts);
    let row = EventRow {
        pk: event.pk,
        action: &event.action,
        app: &event.app,
        username: username_of(event),
        user_json: &user_json,
        context: event.context.to_string(),
        client_ip: event.client_ip.as_deref(),
        created: &created,
        expires: expires.as_deref(),
    };
    insert_rows(tx, vec![row]).await
}
