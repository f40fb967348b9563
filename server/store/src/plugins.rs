//! The plugin registry's rows: `plugins` and the uploaded components in `plugin_components`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::codec::{self, format_ts};
use garrison_model::{PluginRecord, PluginSource, PluginWorld};

use crate::{Result, StoreError, Tx};

const COLUMNS: &str = "name, version, kind, wit_version, source, source_ref, digest, requested, \
                       granted, enabled, deadline_ms, memory_mib, created, updated";

fn strings(column: &'static str, text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt {
        table: "plugins",
        column,
        detail: e.to_string(),
    })
}

fn decode(row: &AnyRow) -> Result<PluginRecord> {
    let count =
        |column: &'static str| -> Result<u64> { Ok(row.try_get::<i64, _>(column)?.max(0) as u64) };
    let corrupt = |column: &'static str, value: String| StoreError::Corrupt {
        table: "plugins",
        column,
        detail: format!("unknown value {value:?}"),
    };
    let kind: String = row.try_get("kind")?;
    let source: String = row.try_get("source")?;
    Ok(PluginRecord {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        kind: PluginWorld::parse(&kind).ok_or_else(|| corrupt("kind", kind.clone()))?,
        wit_version: row.try_get("wit_version")?,
        source: PluginSource::parse(&source).ok_or_else(|| corrupt("source", source.clone()))?,
        source_ref: row.try_get("source_ref")?,
        digest: row.try_get("digest")?,
        requested: strings("requested", &row.try_get::<String, _>("requested")?)?,
        granted: strings("granted", &row.try_get::<String, _>("granted")?)?,
        enabled: codec::flag(row, "enabled")?,
        deadline_ms: count("deadline_ms")?,
        memory_mib: count("memory_mib")?,
        created: codec::ts("plugins", "created", &row.try_get::<String, _>("created")?)?,
        updated: codec::ts("plugins", "updated", &row.try_get::<String, _>("updated")?)?,
    })
}

fn json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

/// Every plugin, by name. The registry is small (tens of rows), so there is no paging here;
/// the API pages the result.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<PluginRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM plugins ORDER BY name"
    )))
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode).collect()
}

pub async fn get(conn: &mut AnyConnection, name: &str) -> Result<Option<PluginRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM plugins WHERE name = $1"
    )))
    .bind(name.to_owned())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// Binds the columns insert and update share, `$1` (name) to `$12` (memory_mib), in order.
fn bind_fields<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    plugin: &PluginRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(plugin.name.clone())
        .bind(plugin.version.clone())
        .bind(plugin.kind.as_str())
        .bind(plugin.wit_version.clone())
        .bind(plugin.source.as_str())
        .bind(plugin.source_ref.clone())
        .bind(plugin.digest.clone())
        .bind(json(&plugin.requested))
        .bind(json(&plugin.granted))
        .bind(plugin.enabled)
        .bind(plugin.deadline_ms as i64)
        .bind(plugin.memory_mib as i64)
}

pub async fn insert(tx: &mut Tx, plugin: &PluginRecord) -> Result<()> {
    let conn = tx.conn();
    let query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO plugins ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )));
    bind_fields(query, plugin)
        .bind(format_ts(&plugin.created))
        .bind(format_ts(&plugin.updated))
        .execute(conn)
        .await?;
    Ok(())
}

/// Rewrites everything but the name and creation time.
pub async fn update(tx: &mut Tx, plugin: &PluginRecord) -> Result<()> {
    let conn = tx.conn();
    let query = sqlx::query(
        "UPDATE plugins SET version = $2, kind = $3, wit_version = $4, source = $5, \
         source_ref = $6, digest = $7, requested = $8, granted = $9, enabled = $10, \
         deadline_ms = $11, memory_mib = $12, updated = $13 WHERE name = $1",
    );
    bind_fields(query, plugin)
        .bind(format_ts(&plugin.updated))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, name: &str) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("DELETE FROM plugins WHERE name = $1")
        .bind(name.to_owned())
        .execute(&mut *conn)
        .await?;
    // A component no plugin uses any more is dropped with its last user.
    sqlx::query("DELETE FROM plugin_components WHERE digest NOT IN (SELECT digest FROM plugins)")
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn put_component(tx: &mut Tx, digest: &str, bytes: &[u8]) -> Result<()> {
    let conn = tx.conn();
    sqlx::query(
        "INSERT INTO plugin_components (digest, bytes) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest.to_owned())
    .bind(bytes.to_vec())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn component(conn: &mut AnyConnection, digest: &str) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT bytes FROM plugin_components WHERE digest = $1")
            .bind(digest.to_owned())
            .fetch_optional(conn)
            .await?,
    )
}
