use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use crate::Result;
use crate::codec::{self, format_ts};

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: i64,
    pub user_pk: i64,
    pub expires: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    key_hash: &str,
    user_pk: i64,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
    client_ip: Option<&str>,
    user_agent: &str,
) -> Result<()> {
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

pub async fn delete(conn: &mut AnyConnection, key_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE key_hash = $1")
        .bind(key_hash.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut AnyConnection, user_pk: i64) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_pk)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_expired(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires <= $1")
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
