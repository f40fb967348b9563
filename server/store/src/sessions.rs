use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use crate::codec::{self, format_ts};
use crate::{Result, Tx};

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: i64,
    pub user_pk: i64,
    pub expires: DateTime<Utc>,
}

pub async fn insert(
    tx: &mut Tx,
    key_hash: &str,
    user_pk: i64,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
    client_ip: Option<&str>,
    user_agent: &str,
) -> Result<()> {
    let conn = tx.conn();
    sqlx::query(
        "INSERT INTO sessions (key_hash, user_id, created, expires, client_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key_hash.to_owned())
    .bind(user_pk)
    .bind(format_ts(&now))
    .bind(format_ts(&expires))
    .bind(client_ip.map(str::to_owned))
    .bind(user_agent.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut AnyConnection, key_hash: &str) -> Result<Option<SessionRow>> {
    let row = sqlx::query("SELECT id, user_id, expires FROM sessions WHERE key_hash = $1")
        .bind(key_hash.to_owned())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(SessionRow {
        id: row.try_get(0)?,
        user_pk: row.try_get(1)?,
        expires: codec::ts("sessions", "expires", &row.try_get::<String, _>(2)?)?,
    }))
}

pub async fn delete(tx: &mut Tx, key_hash: &str) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("DELETE FROM sessions WHERE key_hash = $1")
        .bind(key_hash.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of the user; returns their key hashes (outposts are told of each).
pub async fn delete_for_user(tx: &mut Tx, user_pk: i64) -> Result<Vec<String>> {
    let conn = tx.conn();
    Ok(
        sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING key_hash")
            .bind(user_pk)
            .fetch_all(conn)
            .await?,
    )
}

/// Ends every session of the user but the one whose key hash is `keep` (the caller's own);
/// returns the ended sessions' key hashes.
pub async fn delete_for_user_except(tx: &mut Tx, user_pk: i64, keep: &str) -> Result<Vec<String>> {
    let conn = tx.conn();
    Ok(sqlx::query_scalar(
        "DELETE FROM sessions WHERE user_id = $1 AND key_hash <> $2 RETURNING key_hash",
    )
    .bind(user_pk)
    .bind(keep.to_owned())
    .fetch_all(conn)
    .await?)
}

pub async fn delete_expired(tx: &mut Tx, now: DateTime<Utc>) -> Result<u64> {
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM sessions WHERE expires <= $1")
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
