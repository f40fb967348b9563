//! Server-wide key/value settings that replicas share.
use sqlx::AnyConnection;

use crate::{Result, Tx};

pub async fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key.to_owned())
            .fetch_optional(conn)
            .await?,
    )
}

/// Stores `value` unless the key already has one, and returns whichever value won: two replicas
/// starting at once agree on one value.
pub async fn get_or_insert(tx: &mut Tx, key: &str, value: &str) -> Result<String> {
    let conn = tx.conn();
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(get(conn, key).await?.unwrap_or_else(|| value.to_owned()))
}

pub async fn set(tx: &mut Tx, key: &str, value: &str) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, key: &str) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the key only if it holds `value`; true when this call deleted it. Two callers
/// racing for a one-time value cannot both win.
pub async fn take(tx: &mut Tx, key: &str, value: &str) -> Result<bool> {
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM settings WHERE key = $1 AND value = $2")
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
