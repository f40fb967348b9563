use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use garrison_model::{User, UserType};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use crate::codec::{self, format_ts};
use crate::sql::{Bind, Ordering, Ties, Where, in_list};
use crate::{Result, StoreError, Tx};

/// API field name → column, for `ordering=`.
pub const ORDERING: &[(&str, &str, Ties)] = &[
    ("pk", "u.id", Ties::None),
    ("username", "u.username", Ties::None),
    ("name", "u.name", Ties::Possible),
    ("email", "u.email", Ties::Possible),
    ("is_active", "u.is_active", Ties::Possible),
    ("date_joined", "u.date_joined", Ties::Possible),
    ("last_login", "u.last_login", Ties::Possible),
    ("last_updated", "u.last_updated", Ties::Possible),
    ("path", "u.path", Ties::Possible),
    ("type", "u.type", Ties::Possible),
];
pub const DEFAULT_ORDERING: Ordering = Ordering {
    column: "u.username",
    descending: false,
    ties: Ties::None,
};

use crate::groups::SUPERUSER_GROUPS;

/// The stored fields of a user; what `User` holds besides these is derived.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    pub uuid: Uuid,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_active: bool,
    pub user_type: UserType,
    pub path: String,
    pub attributes: Map<String, Value>,
    pub last_login: Option<DateTime<Utc>>,
    pub date_joined: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub password_change_date: DateTime<Utc>,
}

impl UserRecord {
    pub fn from_user(user: &User) -> Self {
        Self {
            uuid: user.uuid,
            username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            is_active: user.is_active,
            user_type: user.user_type,
            path: user.path.clone(),
            attributes: user.attributes.clone(),
            last_login: user.last_login,
            date_joined: user.date_joined,
            last_updated: user.last_updated,
            password_change_date: user.password_change_date,
        }
    }
}

/// What login needs to check a password.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub pk: i64,
    pub password_hash: String,
    pub is_active: bool,
    pub user_type: UserType,
}

#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub search: Option<String>,
    /// Only these primary keys (object-permission filtering); `None` is unrestricted.
    pub only_pks: Option<Vec<i64>>,
    pub username: Option<String>,
    pub user_type: Option<UserType>,
    pub is_active: Option<bool>,
    pub path_startswith: Option<String>,
}

const COLUMNS: &str = "u.id, u.uuid, u.username, u.name, u.email, u.is_active, u.type, u.path, \
    u.attributes, u.last_login, u.date_joined, u.last_updated, u.password_change_date";

fn decode(row: &AnyRow) -> Result<User> {
    let user_type: String = row.try_get("type")?;
    Ok(User {
        pk: row.try_get("id")?,
        uuid: codec::uuid("users", "uuid", &row.try_get::<String, _>("uuid")?)?,
        username: row.try_get("username")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        is_active: codec::flag(row, "is_active")?,
        is_superuser: false,
        user_type: UserType::parse(&user_type).ok_or_else(|| StoreError::Corrupt {
            table: "users",
            column: "type",
            detail: format!("unknown user type {user_type:?}"),
        })?,
        path: row.try_get("path")?,
        attributes: codec::json_map(
            "users",
            "attributes",
            &row.try_get::<String, _>("attributes")?,
        )?,
        last_login: codec::opt_ts("users", "last_login", row.try_get("last_login")?)?,
        date_joined: codec::ts(
            "users",
            "date_joined",
            &row.try_get::<String, _>("date_joined")?,
        )?,
        last_updated: codec::ts(
            "users",
            "last_updated",
            &row.try_get::<String, _>("last_updated")?,
        )?,
        password_change_date: codec::ts(
            "users",
            "password_change_date",
            &row.try_get::<String, _>("password_change_date")?,
        )?,
        groups: Vec::new(),
        roles: Vec::new(),
    })
}

fn filter_sql(filter: &UserFilter) -> Where {
    let mut w = Where::new();
    if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        w.search(&["u.username", "u.name", "u.email"], term);
    }
    if let Some(pks) = &filter.only_pks {
        let pks: Vec<String> = pks.iter().map(i64::to_string).collect();
        // Compare as text: both stores cast the integer key the same way.
        w.within("CAST(u.id AS TEXT)", &pks);
    }
    if let Some(username) = &filter.username {
        let p = w.arg(Bind::Text(username.clone()));
        w.and(format!("u.username = {p}"));
    }
    if let Some(user_type) = filter.user_type {
        let p = w.arg(Bind::Text(user_type.as_str().into()));
        w.and(format!("u.type = {p}"));
    }
    if let Some(active) = filter.is_active {
        w.and(format!(
            "u.is_active = {}",
            if active { "TRUE" } else { "FALSE" }
        ));
    }
    if let Some(prefix) = &filter.path_startswith {
        let p = w.arg(Bind::Text(format!(
            "{}%",
            prefix.replace('%', "\\%").replace('_', "\\_")
        )));
        w.and(format!("u.path LIKE {p} ESCAPE '\\'"));
    }
    w
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &UserFilter,
    ordering: Ordering,
    limit: u64,
    offset: u64,
) -> Result<(Vec<User>, u64)> {
    let mut w = filter_sql(filter);
    let count: i64 = w
        .query_scalar(format!("SELECT COUNT(*) FROM users u{}", w.sql()))
        .fetch_one(&mut *conn)
        .await?;
    let where_sql = w.sql();
    let page = w.page_sql(ordering, "u.id", limit, offset);
    let rows = w
        .query(format!("SELECT {COLUMNS} FROM users u{where_sql}{page}"))
        .fetch_all(&mut *conn)
        .await?;
    let mut users = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
    attach_relations(conn, &mut users).await?;
    Ok((users, count as u64))
}

pub async fn get(conn: &mut AnyConnection, pk: i64) -> Result<Option<User>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id = $1"
    )))
    .bind(pk)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut users = vec![decode(&row)?];
    attach_relations(conn, &mut users).await?;
    Ok(users.pop())
}

pub async fn get_by_username(conn: &mut AnyConnection, username: &str) -> Result<Option<User>> {
    let pk: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    match pk {
        Some(pk) => get(conn, pk).await,
        None => Ok(None),
    }
}

/// The primary keys of the users with exactly this email address, lowest first (addresses
/// are not unique). Blueprints find users by email.
pub async fn pks_with_email(conn: &mut AnyConnection, email: &str) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1 ORDER BY id")
            .bind(email.to_owned())
            .fetch_all(conn)
            .await?,
    )
}

pub async fn credentials(conn: &mut AnyConnection, username: &str) -> Result<Option<Credentials>> {
    let row = sqlx::query("SELECT id, password, is_active, type FROM users WHERE username = $1")
        .bind(username.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let user_type: String = row.try_get("type")?;
    Ok(Some(Credentials {
        pk: row.try_get("id")?,
        password_hash: row.try_get("password")?,
        is_active: codec::flag(&row, "is_active")?,
        user_type: UserType::parse(&user_type).unwrap_or(UserType::Internal),
    }))
}

pub async fn username_taken(
    conn: &mut AnyConnection,
    username: &str,
    except_pk: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username.to_owned())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some_and(|pk| Some(pk) != except_pk))
}

pub async fn insert(tx: &mut Tx, user: &UserRecord, password_hash: &str) -> Result<i64> {
    let conn = tx.conn();
    let pk: i64 = sqlx::query_scalar(
        "INSERT INTO users (uuid, username, name, email, password, password_change_date, is_active, \
         type, path, attributes, last_login, date_joined, last_updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(user.uuid.to_string())
    .bind(user.username.clone())
    .bind(user.name.clone())
    .bind(user.email.clone())
    .bind(password_hash.to_owned())
    .bind(format_ts(&user.password_change_date))
    .bind(user.is_active)
    .bind(user.user_type.as_str())
    .bind(user.path.clone())
    .bind(codec::map_text(&user.attributes))
    .bind(user.last_login.as_ref().map(format_ts))
    .bind(format_ts(&user.date_joined))
    .bind(format_ts(&user.last_updated))
    .fetch_one(conn)
    .await?;
    Ok(pk)
}

pub async fn update(tx: &mut Tx, pk: i64, user: &UserRecord) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query(
        "UPDATE users SET username = $2, name = $3, email = $4, is_active = $5, type = $6, path = $7, \
         attributes = $8, last_login = $9, last_updated = $10, password_change_date = $11 WHERE id = $1",
    )
    .bind(pk)
    .bind(user.username.clone())
    .bind(user.name.clone())
    .bind(user.email.clone())
    .bind(user.is_active)
    .bind(user.user_type.as_str())
    .bind(user.path.clone())
    .bind(codec::map_text(&user.attributes))
    .bind(user.last_login.as_ref().map(format_ts))
    .bind(format_ts(&user.last_updated))
    .bind(format_ts(&user.password_change_date))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_password(tx: &mut Tx, pk: i64, hash: &str, at: DateTime<Utc>) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("UPDATE users SET password = $2, password_change_date = $3, last_updated = $3 WHERE id = $1")
        .bind(pk)
        .bind(hash.to_owned())
        .bind(format_ts(&at))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn record_login(tx: &mut Tx, pk: i64, at: DateTime<Utc>) -> Result<()> {
    let conn = tx.conn();
    sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
        .bind(pk)
        .bind(format_ts(&at))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, pk: i64) -> Result<bool> {
    tx.touch_identities();
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(pk)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count(conn: &mut AnyConnection) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?;
    Ok(n as u64)
}

/// Which of `pks` exist.
pub async fn existing(conn: &mut AnyConnection, pks: &[i64]) -> Result<HashSet<i64>> {
    if pks.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!("SELECT id FROM users WHERE id IN {}", in_list(1, pks.len()));
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
    for pk in pks {
        query = query.bind(*pk);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

pub async fn set_groups(tx: &mut Tx, pk: i64, group_ids: &[i64]) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("DELETE FROM group_members WHERE user_id = $1")
        .bind(pk)
        .execute(&mut *conn)
        .await?;
    for group_id in group_ids {
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(*group_id)
            .bind(pk)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_roles(tx: &mut Tx, pk: i64, role_ids: &[i64]) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(pk)
        .execute(&mut *conn)
        .await?;
    for role_id in role_ids {
        sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
            .bind(pk)
            .bind(*role_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Fills `groups`, `roles` and `is_superuser` for a page of users with three queries.
async fn attach_relations(conn: &mut AnyConnection, users: &mut [User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let pks: Vec<i64> = users.iter().map(|u| u.pk).collect();
    let list = in_list(1, pks.len());

    let mut groups: HashMap<i64, Vec<Uuid>> = HashMap::new();
    let sql = format!(
        "SELECT gm.user_id, g.uuid FROM group_members gm JOIN groups g ON g.id = gm.group_id \
         WHERE gm.user_id IN {list} ORDER BY g.name"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for pk in &pks {
        query = query.bind(*pk);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let uuid: String = row.try_get(1)?;
        groups
            .entry(row.try_get(0)?)
            .or_default()
            .push(codec::uuid("groups", "uuid", &uuid)?);
    }

    let mut roles: HashMap<i64, Vec<Uuid>> = HashMap::new();
    let sql = format!(
        "SELECT ur.user_id, r.uuid FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
         WHERE ur.user_id IN {list} ORDER BY r.name"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for pk in &pks {
        query = query.bind(*pk);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let uuid: String = row.try_get(1)?;
        roles
            .entry(row.try_get(0)?)
            .or_default()
            .push(codec::uuid("roles", "uuid", &uuid)?);
    }

    let sql = format!(
        "{SUPERUSER_GROUPS}SELECT DISTINCT user_id FROM group_members \
         WHERE group_id IN (SELECT id FROM su) AND user_id IN {list}"
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
    for pk in &pks {
        query = query.bind(*pk);
    }
    let superusers: HashSet<i64> = query.fetch_all(&mut *conn).await?.into_iter().collect();

    for user in users.iter_mut() {
        user.groups = groups.remove(&user.pk).unwrap_or_default();
        user.roles = roles.remove(&user.pk).unwrap_or_default();
        user.is_superuser = superusers.contains(&user.pk);
    }
    Ok(())
}
