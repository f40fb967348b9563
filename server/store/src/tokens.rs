use chrono::{DateTime, Utc};
use garrison_model::{Token, TokenIntent};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use crate::codec::{self, format_ts};
use crate::sql::{Bind, Ordering, Ties, Where};
use crate::{Result, StoreError, Tx};

pub const ORDERING: &[(&str, &str, Ties)] = &[
    ("identifier", "t.identifier", Ties::None),
    ("intent", "t.intent", Ties::Possible),
    ("expires", "t.expires", Ties::Possible),
    ("description", "t.description", Ties::Possible),
    ("user", "t.user_id", Ties::Possible),
];
pub const DEFAULT_ORDERING: Ordering = Ordering {
    column: "t.identifier",
    descending: false,
    ties: Ties::None,
};

const COLUMNS: &str =
    "t.uuid, t.identifier, t.managed, t.intent, t.user_id, t.description, t.expires, t.expiring";

/// A token's key material as stored: a lookup hash and the sealed key.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub hash: String,
    pub sealed: String,
}

#[derive(Clone, Debug, Default)]
pub struct TokenFilter {
    pub search: Option<String>,
    pub user_pk: Option<i64>,
    pub identifier: Option<String>,
    pub intent: Option<TokenIntent>,
    pub only_identifiers: Option<Vec<String>>,
}

fn decode(row: &AnyRow) -> Result<Token> {
    let intent: String = row.try_get("intent")?;
    Ok(Token {
        pk: codec::uuid("tokens", "uuid", &row.try_get::<String, _>("uuid")?)?,
        identifier: row.try_get("identifier")?,
        managed: row.try_get("managed")?,
        intent: TokenIntent::parse(&intent).ok_or_else(|| StoreError::Corrupt {
            table: "tokens",
            column: "intent",
            detail: format!("unknown intent {intent:?}"),
        })?,
        user: row.try_get("user_id")?,
        description: row.try_get("description")?,
        expires: codec::opt_ts("tokens", "expires", row.try_get("expires")?)?,
        expiring: codec::flag(row, "expiring")?,
    })
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &TokenFilter,
    ordering: Ordering,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Token>, u64)> {
    let mut w = Where::new();
    if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        w.search(&["t.identifier", "t.description"], term);
    }
    if let Some(pk) = filter.user_pk {
        let p = w.arg(Bind::Int(pk));
        w.and(format!("t.user_id = {p}"));
    }
    if let Some(identifier) = &filter.identifier {
        let p = w.arg(Bind::Text(identifier.clone()));
        w.and(format!("t.identifier = {p}"));
    }
    if let Some(intent) = filter.intent {
        let p = w.arg(Bind::Text(intent.as_str().into()));
        w.and(format!("t.intent = {p}"));
    }
    if let Some(ids) = &filter.only_identifiers {
        w.within("t.identifier", ids);
    }
    let count: i64 = w
        .query_scalar(format!("SELECT COUNT(*) FROM tokens t{}", w.sql()))
        .fetch_one(&mut *conn)
        .await?;
    let where_sql = w.sql();
    let page = w.page_sql(ordering, "t.id", limit, offset);
    let rows = w
        .query(format!("SELECT {COLUMNS} FROM tokens t{where_sql}{page}"))
        .fetch_all(conn)
        .await?;
    let tokens = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
    Ok((tokens, count as u64))
}

pub async fn get(conn: &mut AnyConnection, identifier: &str) -> Result<Option<Token>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tokens t WHERE t.identifier = $1"
    )))
    .bind(identifier.to_owned())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn get_by_key_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<Token>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tokens t WHERE t.key_hash = $1"
    )))
    .bind(hash.to_owned())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn sealed_key(conn: &mut AnyConnection, identifier: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT key_sealed FROM tokens WHERE identifier = $1")
            .bind(identifier.to_owned())
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn insert(tx: &mut Tx, token: &Token, key: &StoredKey, now: DateTime<Utc>) -> Result<()> {
    let conn = tx.conn();
    sqlx::query(
        "INSERT INTO tokens (uuid, identifier, key_hash, key_sealed, intent, user_id, description, expires, \
         expiring, managed, created, last_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(token.pk.to_string())
    .bind(token.identifier.clone())
    .bind(key.hash.clone())
    .bind(key.sealed.clone())
    .bind(token.intent.as_str())
    .bind(token.user)
    .bind(token.description.clone())
    .bind(token.expires.as_ref().map(format_ts))
    .bind(token.expiring)
    .bind(token.managed.clone())
    .bind(format_ts(&now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes every field; the row is found by its UUID so the identifier itself may change.
pub async fn update(tx: &mut Tx, token: &Token, now: DateTime<Utc>) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query(
        "UPDATE tokens SET identifier = $2, intent = $3, user_id = $4, description = $5, expires = $6, \
         expiring = $7, managed = $8, last_updated = $9 WHERE uuid = $1",
    )
    .bind(token.pk.to_string())
    .bind(token.identifier.clone())
    .bind(token.intent.as_str())
    .bind(token.user)
    .bind(token.description.clone())
    .bind(token.expires.as_ref().map(format_ts))
    .bind(token.expiring)
    .bind(token.managed.clone())
    .bind(format_ts(&now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_key(tx: &mut Tx, uuid: Uuid, key: &StoredKey) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("UPDATE tokens SET key_hash = $2, key_sealed = $3 WHERE uuid = $1")
        .bind(uuid.to_string())
        .bind(key.hash.clone())
        .bind(key.sealed.clone())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, identifier: &str) -> Result<bool> {
    tx.touch_identities();
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM tokens WHERE identifier = $1")
        .bind(identifier.to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count(conn: &mut AnyConnection) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens")
        .fetch_one(conn)
        .await?;
    Ok(n as u64)
}
