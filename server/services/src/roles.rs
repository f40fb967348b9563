use garrison_model::{EventAction, FieldErrors, ListQuery, Page, Role, RoleChanges};
use garrison_store::{permissions as perm_store, roles as store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::{Caller, Visibility};
use crate::validate;
use crate::{ServiceError, ServiceResult, Services};

const VIEW: &str = "authentik_rbac.view_role";
const ADD: &str = "authentik_rbac.add_role";
const CHANGE: &str = "authentik_rbac.change_role";
const DELETE: &str = "authentik_rbac.delete_role";
const ASSIGN: &str = "authentik_rbac.assign_role_permissions";
const UNASSIGN: &str = "authentik_rbac.unassign_role_permissions";

impl Audited for Role {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            app: "authentik_rbac",
            model_name: "role",
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// The fields events record: never secrets.
    fn audit_view(&self) -> Value {
        json!({"name": self.name, "permissions": self.permissions})
    }
}

impl Services {
    pub async fn list_roles(
        &self,
        caller: &Caller,
        query: &ListQuery,
    ) -> ServiceResult<Page<Role>> {
        let ordering = validate::ordering(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let only = match caller.principal.visibility(VIEW)? {
            None => {
                return Ok(Page {
                    items: vec![],
                    count: 0,
                    request: query.page,
                });
            }
            Some(Visibility::All) => None,
            Some(Visibility::Only(pks)) => Some(pks),
        };
        let mut conn = self.store().conn().await?;
        let (items, count) = store::list(
            &mut conn,
            query.search.as_deref(),
            only.as_deref(),
            ordering,
            query.page.page_size,
            query.page.offset(),
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_role(&self, caller: &Caller, pk: Uuid) -> ServiceResult<Role> {
        caller.principal.visibility(VIEW)?;
        if !caller.principal.has_on(VIEW, &pk.to_string()) {
            return Err(ServiceError::not_found("role", pk));
        }
        let mut conn = self.store().conn().await?;
        Ok(store::get(&mut conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?
            .1)
    }

    pub async fn create_role(&self, caller: &Caller, changes: RoleChanges) -> ServiceResult<Role> {
        caller.principal.require(ADD)?;
        let mut tx = self.store().begin().await?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 150);
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, None).await? {
                errors.add("name", "role with this name already exists.");
            }
        }
        errors.into_result()?;
        let uuid = Uuid::new_v4();
        store::insert(tx.conn(), uuid, name.unwrap_or_default()).await?;
        let role = store::get(tx.conn(), uuid)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", uuid))?
            .1;
        audit::created(&mut tx, caller, &role).await?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn update_role(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: RoleChanges,
        partial: bool,
    ) -> ServiceResult<Role> {
        let before = self.get_role(caller, pk).await?;
        caller.principal.require_on(CHANGE, &pk.to_string())?;
        let mut tx = self.store().begin().await?;
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            150,
        );
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, Some(pk)).await? {
                errors.add("name", "role with this name already exists.");
            }
        }
        errors.into_result()?;
        let (id, _) = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?;
        if let Some(name) = name {
            store::rename(tx.conn(), id, name).await?;
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?
            .1;
        audit::updated(&mut tx, caller, &before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_role(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        let before = self.get_role(caller, pk).await?;
        caller.principal.require_on(DELETE, &pk.to_string())?;
        let mut tx = self.store().begin().await?;
        let (id, _) = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?;
        store::delete(tx.conn(), id).await?;
        audit::deleted(&mut tx, caller, &before).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants (`assign == true`) or revokes `permissions` for the role: globally when
    /// `object_pk` is `None`, else on that one object.
    pub async fn change_role_permissions(
        &self,
        caller: &Caller,
        pk: Uuid,
        permissions: &[String],
        object_pk: Option<&str>,
        assign: bool,
    ) -> ServiceResult<Role> {
        let before = self.get_role(caller, pk).await?;
        caller
            .principal
            .require_on(if assign { ASSIGN } else { UNASSIGN }, &pk.to_string())?;
        let mut tx = self.store().begin().await?;
        let mut errors = FieldErrors::new();
        let mut ids = Vec::new();
        for permission in permissions {
            match perm_store::find(tx.conn(), permission).await? {
                Some(id) => ids.push(id),
                None => errors.add(
                    "permissions",
                    format!("Unknown permission \"{permission}\"."),
                ),
            }
        }
        if permissions.is_empty() {
            errors.add("permissions", validate::REQUIRED);
        }
        errors.into_result()?;
        let (role_id, _) = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?;
        for id in ids {
            if assign {
                perm_store::grant_to_role(tx.conn(), role_id, id, object_pk.unwrap_or("")).await?;
            } else {
                perm_store::revoke_from_role(tx.conn(), role_id, id, object_pk.unwrap_or(""))
                    .await?;
            }
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?
            .1;
        let mut diff_after = after.audit_view();
        if let Some(object_pk) = object_pk {
            diff_after["object_permissions"] =
                json!({"object_pk": object_pk, "permissions": permissions, "assigned": assign});
        }
        audit::record_model_change(
            &mut tx,
            caller,
            EventAction::ModelUpdated,
            after.model_ref(),
            Some(&before.audit_view()),
            Some(&diff_after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// One entry of the permission catalogue, for the API and the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionInfo {
    pub id: i64,
    pub app_label: String,
    pub model: String,
    pub codename: String,
    pub name: String,
}

impl Services {
    /// The permission catalogue; any authenticated caller may read it (it names no objects).
    pub async fn list_permissions(&self, _caller: &Caller) -> ServiceResult<Vec<PermissionInfo>> {
        let mut conn = self.store().conn().await?;
        Ok(perm_store::catalogue(&mut conn)
            .await?
            .into_iter()
            .map(|p| PermissionInfo {
                id: p.id,
                app_label: p.app_label,
                model: p.model,
                codename: p.codename,
                name: p.name,
            })
            .collect())
    }
}
