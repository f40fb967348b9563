use std::collections::HashMap;

use garrison_model::Role;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use crate::codec;
use crate::sql::{Ordering, Ties, Where, in_list};
use crate::{Result, Tx};

pub const ORDERING: &[(&str, &str, Ties)] = &[("name", "r.name", Ties::None)];
pub const DEFAULT_ORDERING: Ordering = Ordering {
    column: "r.name",
    descending: false,
    ties: Ties::None,
};

pub async fn list(
    conn: &mut AnyConnection,
    search: Option<&str>,
    only_uuids: Option<&[String]>,
    ordering: Ordering,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Role>, u64)> {
    let mut w = Where::new();
    if let Some(term) = search.filter(|t| !t.is_empty()) {
        w.search(&["r.name"], term);
    }
    if let Some(uuids) = only_uuids {
        w.within("r.uuid", uuids);
    }
    let count: i64 = w
        .query_scalar(format!("SELECT COUNT(*) FROM roles r{}", w.sql()))
        .fetch_one(&mut *conn)
        .await?;
    let where_sql = w.sql();
    let page = w.page_sql(ordering, "r.id", limit, offset);
    let rows = w
        .query(format!(
            "SELECT r.id, r.uuid, r.name FROM roles r{where_sql}{page}"
        ))
        .fetch_all(&mut *conn)
        .await?;
    let mut ids = Vec::new();
    let mut roles = Vec::new();
    for row in &rows {
        ids.push(row.try_get::<i64, _>(0)?);
        roles.push(Role {
            pk: codec::uuid("roles", "uuid", &row.try_get::<String, _>(1)?)?,
            name: row.try_get(2)?,
            permissions: Vec::new(),
        });
    }
    let mut perms = global_permissions(conn, &ids).await?;
    for (id, role) in ids.iter().zip(roles.iter_mut()) {
        role.permissions = perms.remove(id).unwrap_or_default();
    }
    Ok((roles, count as u64))
}

/// The role and its internal id.
pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<(i64, Role)>> {
    let row = sqlx::query("SELECT id, name FROM roles WHERE uuid = $1")
        .bind(uuid.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.try_get(0)?;
    let permissions = global_permissions(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(Some((
        id,
        Role {
            pk: uuid,
            name: row.try_get(1)?,
            permissions,
        },
    )))
}

pub async fn resolve_ids(
    conn: &mut AnyConnection,
    uuids: &[Uuid],
) -> Result<(Vec<i64>, Vec<Uuid>)> {
    crate::groups::resolve(conn, "roles", uuids).await
}

pub async fn name_taken(
    conn: &mut AnyConnection,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT uuid FROM roles WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some_and(|uuid| Some(uuid) != except.map(|u| u.to_string())))
}

/// The role named `name` and its internal id (names are unique). Blueprints find roles by name.
pub async fn get_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<(i64, Role)>> {
    let uuid: Option<String> = sqlx::query_scalar("SELECT uuid FROM roles WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    match uuid {
        Some(uuid) => get(conn, codec::uuid("roles", "uuid", &uuid)?).await,
        None => Ok(None),
    }
}

pub async fn insert(tx: &mut Tx, uuid: Uuid, name: &str) -> Result<i64> {
    let conn = tx.conn();
    let id: i64 = sqlx::query_scalar("INSERT INTO roles (uuid, name) VALUES ($1, $2) RETURNING id")
        .bind(uuid.to_string())
        .bind(name.to_owned())
        .fetch_one(conn)
        .await?;
    Ok(id)
}

pub async fn rename(tx: &mut Tx, id: i64, name: &str) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("UPDATE roles SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(name.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> Result<bool> {
    tx.touch_identities();
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count(conn: &mut AnyConnection) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roles")
        .fetch_one(conn)
        .await?;
    Ok(n as u64)
}

async fn global_permissions(
    conn: &mut AnyConnection,
    role_ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>> {
    if role_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT rp.role_id, p.app_label, p.codename FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id \
         WHERE rp.object_pk = '' AND rp.role_id IN {} ORDER BY p.app_label, p.codename",
        in_list(1, role_ids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in role_ids {
        query = query.bind(*id);
    }
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for row in query.fetch_all(conn).await? {
        let app: String = row.try_get(1)?;
        let codename: String = row.try_get(2)?;
        out.entry(row.try_get(0)?)
            .or_default()
            .push(format!("{app}.{codename}"));
    }
    Ok(out)
}
