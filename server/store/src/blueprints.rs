//! Blueprint instances: the blueprints the server keeps, with the context they run in and what
//! their last run did.
use chrono::{DateTime, Utc};
use garrison_model::{BlueprintInstance, BlueprintStatus};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use crate::codec::{self, format_ts};
use crate::outposts::{Paging, count_and_page};
use crate::sql::{Bind, Ordering, Ties, Where};
use crate::{Result, StoreError, Tx};

const TABLE: &str = "blueprint_instances";

pub const ORDERING: &[(&str, &str, Ties)] = &[
    ("name", "i.name", Ties::None),
    ("path", "i.path", Ties::Possible),
    ("status", "i.status", Ties::Possible),
    ("last_applied", "i.last_applied", Ties::Possible),
    ("enabled", "i.enabled", Ties::Possible),
    ("pk", "i.uuid", Ties::None),
];
/// authentik's default ordering.
pub const DEFAULT_ORDERING: Ordering = Ordering {
    column: "i.name",
    descending: false,
    ties: Ties::None,
};

const COLUMNS: &str = "i.uuid, i.name, i.path, i.content, i.context, i.metadata, i.last_applied, \
    i.last_applied_hash, i.status, i.enabled, i.managed_models, i.managed, i.last_result, \
    i.created, i.last_updated";

fn decode(row: &AnyRow) -> Result<BlueprintInstance> {
    let status: String = row.try_get("status")?;
    let managed_models: String = row.try_get("managed_models")?;
    let last_result: Option<String> = row.try_get("last_result")?;
    Ok(BlueprintInstance {
        pk: codec::uuid(TABLE, "uuid", &row.try_get::<String, _>("uuid")?)?,
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        content: row.try_get("content")?,
        context: codec::json_map(TABLE, "context", &row.try_get::<String, _>("context")?)?,
        metadata: codec::json_map(TABLE, "metadata", &row.try_get::<String, _>("metadata")?)?,
        last_applied: codec::ts(
            TABLE,
            "last_applied",
            &row.try_get::<String, _>("last_applied")?,
        )?,
        last_applied_hash: row.try_get("last_applied_hash")?,
        status: BlueprintStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            table: TABLE,
            column: "status",
            detail: format!("unknown value {status:?}"),
        })?,
        enabled: codec::flag(row, "enabled")?,
        managed_models: serde_json::from_str(&managed_models).map_err(|e| StoreError::Corrupt {
            table: TABLE,
            column: "managed_models",
            detail: e.to_string(),
        })?,
        managed: row.try_get("managed")?,
        created: codec::ts(TABLE, "created", &row.try_get::<String, _>("created")?)?,
        last_updated: codec::ts(
            TABLE,
            "last_updated",
            &row.try_get::<String, _>("last_updated")?,
        )?,
        last_result: last_result
            .map(|text| codec::json(TABLE, "last_result", &text))
            .transpose()?,
    })
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Over name and path, as authentik's `search_fields`.
    pub search: Option<String>,
    /// Only these instances (by UUID): what the caller may view.
    pub only: Option<Vec<String>>,
    pub name: Option<String>,
    pub path: Option<String>,
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    paging: Paging,
) -> Result<(Vec<BlueprintInstance>, u64)> {
    let mut w = Where::new();
    if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        w.search(&["i.name", "i.path"], term);
    }
    if let Some(only) = &filter.only {
        w.within("i.uuid", only);
    }
    if let Some(name) = &filter.name {
        let p = w.arg(Bind::Text(name.clone()));
        w.and(format!("i.name = {p}"));
    }
    if let Some(path) = &filter.path {
        let p = w.arg(Bind::Text(path.clone()));
        w.and(format!("i.path = {p}"));
    }
    count_and_page(
        conn,
        w,
        "blueprint_instances i",
        COLUMNS,
        "i.uuid",
        paging,
        decode,
    )
    .await
}

pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<BlueprintInstance>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM blueprint_instances i WHERE i.uuid = $1"
    )))
    .bind(uuid.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// The first instance (in name order) of the file at `path`: several may share one file, and
/// authentik's discovery looks at the first only.
pub async fn get_by_path(
    conn: &mut AnyConnection,
    path: &str,
) -> Result<Option<BlueprintInstance>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM blueprint_instances i WHERE i.path = $1 ORDER BY i.name, i.uuid LIMIT 1"
    )))
    .bind(path.to_owned())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// Every instance of the file at `path`, in name order.
pub async fn list_by_path(conn: &mut AnyConnection, path: &str) -> Result<Vec<BlueprintInstance>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM blueprint_instances i WHERE i.path = $1 ORDER BY i.name, i.uuid"
    )))
    .bind(path.to_owned())
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode).collect()
}

/// Every instance whose text is a file of the blueprints directory (neither database content
/// nor an OCI artifact: `oci://` compared case-sensitively, as the model does), in name order.
pub async fn list_file_instances(conn: &mut AnyConnection) -> Result<Vec<BlueprintInstance>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM blueprint_instances i \
         WHERE i.path <> '' AND substr(i.path, 1, 6) <> 'oci://' ORDER BY i.name, i.uuid"
    )))
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode).collect()
}

/// Whether another instance than `except` has this name.
pub async fn name_taken(
    conn: &mut AnyConnection,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT uuid FROM blueprint_instances WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some_and(|u| Some(u) != except.map(|e| e.to_string())))
}

pub async fn insert(tx: &mut Tx, instance: &BlueprintInstance) -> Result<()> {
    let conn = tx.conn();
    sqlx::query(
        "INSERT INTO blueprint_instances (uuid, name, path, content, context, metadata, \
         last_applied, last_applied_hash, status, enabled, managed_models, managed, last_result, \
         created, last_updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(instance.pk.to_string())
    .bind(instance.name.clone())
    .bind(instance.path.clone())
    .bind(instance.content.clone())
    .bind(codec::map_text(&instance.context))
    .bind(codec::map_text(&instance.metadata))
    .bind(format_ts(&instance.last_applied))
    .bind(instance.last_applied_hash.clone())
    .bind(instance.status.as_str().to_owned())
    .bind(instance.enabled)
    .bind(Value::from(instance.managed_models.clone()).to_string())
    .bind(instance.managed.clone())
    .bind(instance.last_result.as_ref().map(Value::to_string))
    .bind(format_ts(&instance.created))
    .bind(format_ts(&instance.last_updated))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the fields a request may change (name, path, content, context, enabled).
pub async fn update(tx: &mut Tx, instance: &BlueprintInstance, now: DateTime<Utc>) -> Result<()> {
    let conn = tx.conn();
    sqlx::query(
        "UPDATE blueprint_instances SET name = $2, path = $3, content = $4, context = $5, \
         enabled = $6, last_updated = $7 WHERE uuid = $1",
    )
    .bind(instance.pk.to_string())
    .bind(instance.name.clone())
    .bind(instance.path.clone())
    .bind(instance.content.clone())
    .bind(codec::map_text(&instance.context))
    .bind(instance.enabled)
    .bind(format_ts(&now))
    .execute(conn)
    .await?;
    Ok(())
}

/// What one run of an instance did.
#[derive(Clone, Debug)]
pub struct RunRecord<'a> {
    pub status: BlueprintStatus,
    /// The hash of the text applied, on success only: a failed run keeps the last success's.
    pub hash: Option<&'a str>,
    /// The blueprint's metadata; `None` keeps what is stored (the text could not be read).
    pub metadata: Option<&'a Map<String, Value>>,
    pub last_result: &'a Value,
}

/// Records a run's outcome; `now` becomes `last_applied` (authentik's `auto_now`, so failed
/// runs move it too) and `last_updated`.
pub async fn record_result(
    tx: &mut Tx,
    uuid: Uuid,
    run: &RunRecord<'_>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let conn = tx.conn();
    let done = sqlx::query(
        "UPDATE blueprint_instances SET status = $2, \
         last_applied_hash = COALESCE($3, last_applied_hash), \
         metadata = COALESCE($4, metadata), last_result = $5, last_applied = $6, \
         last_updated = $6 WHERE uuid = $1",
    )
    .bind(uuid.to_string())
    .bind(run.status.as_str().to_owned())
    .bind(run.hash.map(str::to_owned))
    .bind(run.metadata.map(codec::map_text))
    .bind(run.last_result.to_string())
    .bind(format_ts(&now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete(tx: &mut Tx, uuid: Uuid) -> Result<bool> {
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM blueprint_instances WHERE uuid = $1")
        .bind(uuid.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
