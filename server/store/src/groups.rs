use std::collections::HashMap;

use chrono::{DateTime, Utc};
use garrison_model::Group;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use crate::codec::{self, format_ts};
use crate::sql::{Bind, Ordering, RowArguments, Ties, Where, in_list, value_rows};
use crate::{Result, Tx};

pub const ORDERING: &[(&str, &str, Ties)] = &[
    ("name", "g.name", Ties::None),
    ("is_superuser", "g.is_superuser", Ties::Possible),
    ("num_pk", "g.id", Ties::None),
    ("pk", "g.uuid", Ties::None),
];
pub const DEFAULT_ORDERING: Ordering = Ordering {
    column: "g.name",
    descending: false,
    ties: Ties::None,
};

#[derive(Clone, Debug, PartialEq)]
pub struct GroupRecord {
    pub uuid: Uuid,
    pub name: String,
    pub is_superuser: bool,
    pub attributes: Map<String, Value>,
}

/// The columns a new group's row fills, in the order both inserts bind them (`created` and
/// `last_updated` are the same time).
const INSERT_INTO: &str =
    "INSERT INTO groups (uuid, name, is_superuser, attributes, created, last_updated) VALUES";

impl GroupRecord {
    pub fn from_group(group: &Group) -> Self {
        Self {
            uuid: group.pk,
            name: group.name.clone(),
            is_superuser: group.is_superuser,
            attributes: group.attributes.clone(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct GroupFilter {
    pub search: Option<String>,
    pub only_uuids: Option<Vec<String>>,
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
}

/// Groups that make their members superusers: flagged groups and every descendant of one
/// (a child group inherits from its parents). A CTE named `su`.
pub(crate) const SUPERUSER_GROUPS: &str = "WITH RECURSIVE su(id) AS ( \
    SELECT id FROM groups WHERE is_superuser = TRUE \
    UNION SELECT gp.group_id FROM group_parents gp JOIN su ON gp.parent_id = su.id) ";

const COLUMNS: &str = "g.id, g.uuid, g.name, g.is_superuser, g.attributes";

fn decode(row: &AnyRow) -> Result<Group> {
    Ok(Group {
        num_pk: row.try_get("id")?,
        pk: codec::uuid("groups", "uuid", &row.try_get::<String, _>("uuid")?)?,
        name: row.try_get("name")?,
        is_superuser: codec::flag(row, "is_superuser")?,
        attributes: codec::json_map(
            "groups",
            "attributes",
            &row.try_get::<String, _>("attributes")?,
        )?,
        parents: Vec::new(),
        roles: Vec::new(),
        users: Vec::new(),
        children: Vec::new(),
    })
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &GroupFilter,
    ordering: Ordering,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Group>, u64)> {
    let mut w = Where::new();
    if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        w.search(&["g.name"], term);
    }
    if let Some(uuids) = &filter.only_uuids {
        w.within("g.uuid", uuids);
    }
    if let Some(name) = &filter.name {
        let p = w.arg(Bind::Text(name.clone()));
        w.and(format!("g.name = {p}"));
    }
    if let Some(flag) = filter.is_superuser {
        w.and(format!(
            "g.is_superuser = {}",
            if flag { "TRUE" } else { "FALSE" }
        ));
    }
    let count: i64 = w
        .query_scalar(format!("SELECT COUNT(*) FROM groups g{}", w.sql()))
        .fetch_one(&mut *conn)
        .await?;
    let where_sql = w.sql();
    let page = w.page_sql(ordering, "g.id", limit, offset);
    let rows = w
        .query(format!("SELECT {COLUMNS} FROM groups g{where_sql}{page}"))
        .fetch_all(&mut *conn)
        .await?;
    let mut groups = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
    attach_relations(conn, &mut groups).await?;
    Ok((groups, count as u64))
}

pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<Group>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM groups g WHERE g.uuid = $1"
    )))
    .bind(uuid.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut groups = vec![decode(&row)?];
    attach_relations(conn, &mut groups).await?;
    Ok(groups.pop())
}

/// Internal ids for the given UUIDs; the second list holds the UUIDs that do not exist.
pub async fn resolve_ids(
    conn: &mut AnyConnection,
    uuids: &[Uuid],
) -> Result<(Vec<i64>, Vec<Uuid>)> {
    resolve(conn, "groups", uuids).await
}

pub(crate) async fn resolve(
    conn: &mut AnyConnection,
    table: &'static str,
    uuids: &[Uuid],
) -> Result<(Vec<i64>, Vec<Uuid>)> {
    if uuids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let sql = format!(
        "SELECT uuid, id FROM {table} WHERE uuid IN {}",
        in_list(1, uuids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for uuid in uuids {
        query = query.bind(uuid.to_string());
    }
    let mut found: HashMap<String, i64> = HashMap::new();
    for row in query.fetch_all(conn).await? {
        found.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for uuid in uuids {
        match found.get(&uuid.to_string()) {
            Some(id) => ids.push(*id),
            None => missing.push(*uuid),
        }
    }
    Ok((ids, missing))
}

pub async fn name_taken(
    conn: &mut AnyConnection,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT uuid FROM groups WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some_and(|uuid| Some(uuid) != except.map(|u| u.to_string())))
}

pub async fn insert(tx: &mut Tx, group: &GroupRecord, now: DateTime<Utc>) -> Result<i64> {
    let now = format_ts(&now);
    let sql = format!("{INSERT_INTO} ($1, $2, $3, $4, $5, $5) RETURNING id");
    let id: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(group.uuid.to_string())
        .bind(group.name.as_str())
        .bind(group.is_superuser)
        .bind(codec::map_text(&group.attributes))
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
    Ok(id)
}

/// Rows per multi-row statement: six parameters a row stays far below either database's
/// limit on parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// Which of `names` are taken by an existing group.
pub async fn names_taken(
    tx: &mut Tx,
    names: &[String],
) -> Result<std::collections::HashSet<String>> {
    let mut taken = std::collections::HashSet::new();
    for chunk in names.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT name FROM groups WHERE name IN {}",
            value_rows(tx.backend(), 1, chunk.len())
        );
        let mut arguments = RowArguments::with_capacity(chunk.len());
        for name in chunk {
            arguments.bind(name.as_str());
        }
        let query =
            sqlx::query_scalar_with::<_, String, _>(AssertSqlSafe(sql), arguments.finish()?);
        taken.extend(query.fetch_all(tx.conn()).await?);
    }
    Ok(taken)
}

/// Inserts every group with multi-row statements. Their ids are not read back: a caller that
/// needs one reads the group by its UUID (on SQLite, RETURNING hands each row across the
/// driver's thread one at a time, which cost more than the insert itself).
pub async fn insert_many(tx: &mut Tx, groups: &[GroupRecord], now: DateTime<Utc>) -> Result<()> {
    let now = format_ts(&now);
    for chunk in groups.chunks(ROWS_PER_STATEMENT) {
        const COLUMNS: usize = 6;
        let mut arguments = RowArguments::with_capacity(chunk.len() * COLUMNS);
        for group in chunk {
            arguments
                .bind(group.uuid.to_string())
                .bind(group.name.as_str())
                .bind(group.is_superuser)
                .bind(codec::map_text(&group.attributes))
                .bind(now.as_str())
                .bind(now.as_str());
        }
        let sql = format!(
            "{INSERT_INTO} {}",
            value_rows(tx.backend(), chunk.len(), COLUMNS)
        );
        sqlx::query_with(AssertSqlSafe(sql), arguments.finish()?)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

pub async fn update(tx: &mut Tx, id: i64, group: &GroupRecord, now: DateTime<Utc>) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("UPDATE groups SET name = $2, is_superuser = $3, attributes = $4, last_updated = $5 WHERE id = $1")
        .bind(id)
        .bind(group.name.clone())
        .bind(group.is_superuser)
        .bind(codec::map_text(&group.attributes))
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> Result<bool> {
    tx.touch_identities();
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count(conn: &mut AnyConnection) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups")
        .fetch_one(conn)
        .await?;
    Ok(n as u64)
}

async fn replace_links(
    conn: &mut AnyConnection,
    delete_sql: &'static str,
    insert_sql: &'static str,
    id: i64,
    others: &[i64],
) -> Result<()> {
    sqlx::query(delete_sql).bind(id).execute(&mut *conn).await?;
    for other in others {
        sqlx::query(insert_sql)
            .bind(id)
            .bind(*other)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_parents(tx: &mut Tx, id: i64, parent_ids: &[i64]) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    replace_links(
        conn,
        "DELETE FROM group_parents WHERE group_id = $1",
        "INSERT INTO group_parents (group_id, parent_id) VALUES ($1, $2)",
        id,
        parent_ids,
    )
    .await
}

pub async fn set_roles(tx: &mut Tx, id: i64, role_ids: &[i64]) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    replace_links(
        conn,
        "DELETE FROM group_roles WHERE group_id = $1",
        "INSERT INTO group_roles (group_id, role_id) VALUES ($1, $2)",
        id,
        role_ids,
    )
    .await
}

pub async fn set_members(tx: &mut Tx, id: i64, user_ids: &[i64]) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    replace_links(
        conn,
        "DELETE FROM group_members WHERE group_id = $1",
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)",
        id,
        user_ids,
    )
    .await
}

pub async fn add_member(tx: &mut Tx, id: i64, user_id: i64) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove_member(tx: &mut Tx, id: i64, user_id: i64) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// True when making `parent_ids` the parents of group `id` would close a cycle: when `id` itself
/// or one of its descendants is among them.
pub async fn would_cycle(conn: &mut AnyConnection, id: i64, parent_ids: &[i64]) -> Result<bool> {
    if parent_ids.contains(&id) {
        return Ok(true);
    }
    if parent_ids.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "WITH RECURSIVE below(id) AS (SELECT CAST($1 AS BIGINT) UNION SELECT gp.group_id FROM group_parents gp JOIN below ON gp.parent_id = below.id) \
         SELECT COUNT(*) FROM below WHERE id IN {}",
        in_list(2, parent_ids.len())
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(id);
    for parent in parent_ids {
        query = query.bind(*parent);
    }
    Ok(query.fetch_one(conn).await? > 0)
}

async fn attach_relations(conn: &mut AnyConnection, groups: &mut [Group]) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = groups.iter().map(|g| g.num_pk).collect();
    let list = in_list(1, ids.len());

    let parents = uuid_links(
        conn,
        format!("SELECT gp.group_id, p.uuid FROM group_parents gp JOIN groups p ON p.id = gp.parent_id WHERE gp.group_id IN {list} ORDER BY p.name"),
        &ids,
    )
    .await?;
    let roles = uuid_links(
        conn,
        format!("SELECT gr.group_id, r.uuid FROM group_roles gr JOIN roles r ON r.id = gr.role_id WHERE gr.group_id IN {list} ORDER BY r.name"),
        &ids,
    )
    .await?;
    let children = uuid_links(
        conn,
        format!("SELECT gp.parent_id, c.uuid FROM group_parents gp JOIN groups c ON c.id = gp.group_id WHERE gp.parent_id IN {list} ORDER BY c.name"),
        &ids,
    )
    .await?;
    let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut query = sqlx::query(AssertSqlSafe(format!(
        "SELECT group_id, user_id FROM group_members WHERE group_id IN {list} ORDER BY user_id"
    )));
    for id in &ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        members
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    let (mut parents, mut roles, mut children) = (parents, roles, children);
    for group in groups.iter_mut() {
        group.parents = parents.remove(&group.num_pk).unwrap_or_default();
        group.roles = roles.remove(&group.num_pk).unwrap_or_default();
        group.users = members.remove(&group.num_pk).unwrap_or_default();
        group.children = children.remove(&group.num_pk).unwrap_or_default();
    }
    Ok(())
}

async fn uuid_links(
    conn: &mut AnyConnection,
    sql: String,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<Uuid>>> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    let mut links: HashMap<i64, Vec<Uuid>> = HashMap::new();
    for row in query.fetch_all(conn).await? {
        let uuid: String = row.try_get(1)?;
        links
            .entry(row.try_get(0)?)
            .or_default()
            .push(codec::uuid("groups", "uuid", &uuid)?);
    }
    Ok(links)
}

/// Which of the groups `ids` make their members superusers: flagged themselves, or below a
/// flagged group.
pub async fn effectively_superuser(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{SUPERUSER_GROUPS}SELECT id FROM su WHERE id IN {}",
        in_list(1, ids.len())
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?)
}

/// The internal ids of `ids` and every group below them (children, their children, ...).
pub async fn with_descendants(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH RECURSIVE below(id) AS (SELECT id FROM groups WHERE id IN {} \
         UNION SELECT gp.group_id FROM group_parents gp JOIN below ON gp.parent_id = below.id) \
         SELECT id FROM below",
        in_list(1, ids.len())
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?)
}

/// Every `(app_label.codename, object_pk)` that membership of the groups `ids` grants: the
/// roles of the groups and of their ancestors. An empty `object_pk` is a global grant.
pub async fn grants_of(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH RECURSIVE up(id) AS (SELECT id FROM groups WHERE id IN {} \
         UNION SELECT gp.parent_id FROM group_parents gp JOIN up ON gp.group_id = up.id) \
         SELECT p.app_label, p.codename, rp.object_pk FROM role_permissions rp \
         JOIN permissions p ON p.id = rp.permission_id \
         WHERE rp.role_id IN (SELECT role_id FROM group_roles WHERE group_id IN (SELECT id FROM up))",
        in_list(1, ids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    crate::permissions::qualified_grants(query.fetch_all(conn).await?)
}

/// A group's direct links by internal id: (parents, roles, members).
pub async fn links_of(conn: &mut AnyConnection, id: i64) -> Result<(Vec<i64>, Vec<i64>, Vec<i64>)> {
    let ids = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(id);
    let parents = ids("SELECT parent_id FROM group_parents WHERE group_id = $1 ORDER BY parent_id")
        .fetch_all(&mut *conn)
        .await?;
    let roles = ids("SELECT role_id FROM group_roles WHERE group_id = $1 ORDER BY role_id")
        .fetch_all(&mut *conn)
        .await?;
    let users = ids("SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id")
        .fetch_all(&mut *conn)
        .await?;
    Ok((parents, roles, users))
}

/// The UUIDs of the groups with internal ids `ids` (object permissions name groups by UUID).
pub async fn uuids_of(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT uuid FROM groups WHERE id IN {}",
        in_list(1, ids.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|uuid| codec::uuid("groups", "uuid", uuid))
        .collect()
}
