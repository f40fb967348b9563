//! The permission catalogue and grants. A grant is `(permission, object_pk)`; an empty
//! `object_pk` is a global (model-level) grant.
use sqlx::{AnyConnection, Row};

use crate::{Result, Tx};

/// One catalogue entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionRow {
    pub id: i64,
    pub app_label: String,
    pub model: String,
    pub codename: String,
    pub name: String,
}

pub async fn catalogue(conn: &mut AnyConnection) -> Result<Vec<PermissionRow>> {
    let rows = sqlx::query("SELECT id, app_label, model, codename, name FROM permissions ORDER BY app_label, model, codename")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(PermissionRow {
                id: row.try_get(0)?,
                app_label: row.try_get(1)?,
                model: row.try_get(2)?,
                codename: row.try_get(3)?,
                name: row.try_get(4)?,
            })
        })
        .collect()
}

/// The catalogue id of `app_label.codename`, if Garrison knows that permission.
pub async fn find(conn: &mut AnyConnection, qualified: &str) -> Result<Option<i64>> {
    let Some((app, codename)) = qualified.split_once('.') else {
        return Ok(None);
    };
    Ok(
        sqlx::query_scalar("SELECT id FROM permissions WHERE app_label = $1 AND codename = $2")
            .bind(app.to_owned())
            .bind(codename.to_owned())
            .fetch_optional(conn)
            .await?,
    )
}

/// Every `(app_label.codename, object_pk)` the user holds: directly, through roles assigned to
/// the user, and through roles of the user's groups and their ancestors.
pub async fn effective_for_user(
    conn: &mut AnyConnection,
    user_pk: i64,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "WITH RECURSIVE ug(id) AS ( \
             SELECT group_id FROM group_members WHERE user_id = $1 \
             UNION SELECT gp.parent_id FROM group_parents gp JOIN ug ON gp.group_id = ug.id), \
         ur(id) AS ( \
             SELECT role_id FROM user_roles WHERE user_id = $1 \
             UNION SELECT role_id FROM group_roles WHERE group_id IN (SELECT id FROM ug)) \
         SELECT p.app_label, p.codename, rp.object_pk FROM role_permissions rp \
             JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id IN (SELECT id FROM ur) \
         UNION SELECT p.app_label, p.codename, up.object_pk FROM user_permissions up \
             JOIN permissions p ON p.id = up.permission_id WHERE up.user_id = $1",
    )
    .bind(user_pk)
    .fetch_all(conn)
    .await?;
    qualified_grants(rows)
}

/// Rows of `(app_label, codename, object_pk)` as `("app_label.codename", object_pk)`.
pub(crate) fn qualified_grants(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<(String, String)>> {
    rows.iter()
        .map(|row| {
            let app: String = row.try_get(0)?;
            let codename: String = row.try_get(1)?;
            Ok((format!("{app}.{codename}"), row.try_get(2)?))
        })
        .collect()
}

/// Every `(app_label.codename, object_pk)` the roles `role_ids` grant.
pub async fn grants_of_roles(
    conn: &mut AnyConnection,
    role_ids: &[i64],
) -> Result<Vec<(String, String)>> {
    if role_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT p.app_label, p.codename, rp.object_pk FROM role_permissions rp \
         JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id IN {}",
        crate::sql::in_list(1, role_ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in role_ids {
        query = query.bind(*id);
    }
    qualified_grants(query.fetch_all(conn).await?)
}

pub async fn grant_to_role(
    tx: &mut Tx,
    role_id: i64,
    permission_id: i64,
    object_pk: &str,
) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("INSERT INTO role_permissions (role_id, permission_id, object_pk) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(role_id)
        .bind(permission_id)
        .bind(object_pk.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn revoke_from_role(
    tx: &mut Tx,
    role_id: i64,
    permission_id: i64,
    object_pk: &str,
) -> Result<()> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query(
        "DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2 AND object_pk = $3",
    )
    .bind(role_id)
    .bind(permission_id)
    .bind(object_pk.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces every direct grant of the user with `grants` (`(app_label.codename, object_pk)`,
/// `""` for global). Returns the permissions Garrison does not know, which are skipped.
pub async fn replace_user_grants(
    tx: &mut Tx,
    user_pk: i64,
    grants: &[(String, String)],
) -> Result<Vec<String>> {
    tx.touch_identities();
    let conn = tx.conn();
    sqlx::query("DELETE FROM user_permissions WHERE user_id = $1")
        .bind(user_pk)
        .execute(&mut *conn)
        .await?;
    let mut unknown = Vec::new();
    for (permission, object_pk) in grants {
        let Some(id) = find(&mut *conn, permission).await? else {
            unknown.push(permission.clone());
            continue;
        };
        sqlx::query(
            "INSERT INTO user_permissions (user_id, permission_id, object_pk) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_pk)
        .bind(id)
        .bind(object_pk.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(unknown)
}

/// The user's direct grants.
pub async fn user_grants(conn: &mut AnyConnection, user_pk: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT p.app_label, p.codename, up.object_pk FROM user_permissions up \
         JOIN permissions p ON p.id = up.permission_id WHERE up.user_id = $1 \
         ORDER BY p.app_label, p.codename, up.object_pk",
    )
    .bind(user_pk)
    .fetch_all(conn)
    .await?;
    qualified_grants(rows)
}
