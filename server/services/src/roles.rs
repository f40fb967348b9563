use garrison_model::{EventAction, FieldErrors, ListQuery, Page, Role, RoleChanges};
use garrison_store::{Conn, RowRef, permissions as perm_store, roles as store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::{Caller, Visibility};
use crate::{ServiceError, ServiceResult, Services, Tx, delegation, validate};

const VIEW: &str = "authentik_rbac.view_role";
const ADD: &str = "authentik_rbac.add_role";
const CHANGE: &str = "authentik_rbac.change_role";
const DELETE: &str = "authentik_rbac.delete_role";
const ASSIGN: &str = "authentik_rbac.assign_role_permissions";
const UNASSIGN: &str = "authentik_rbac.unassign_role_permissions";

impl Audited for Role {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: garrison_model::models::ROLE,
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
            None => return Ok(Page::empty(query.page)),
            Some(Visibility::All) => None,
            Some(Visibility::Only(pks)) => Some(pks),
        };
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
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
        let mut reader = self.read().await?;
        Ok(self.get_role_on(reader.conn(), caller, pk).await?.1)
    }

    /// A role the caller may view, with its internal id.
    async fn get_role_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<(i64, Role)> {
        caller.principal.visibility(VIEW)?;
        if !caller.principal.has_on(VIEW, &pk.to_string()) {
            return Err(ServiceError::not_found("role", pk));
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))
    }

    pub async fn create_role(&self, caller: &Caller, changes: RoleChanges) -> ServiceResult<Role> {
        one_tx!(self, |tx| self.create_role_in(&mut tx, caller, changes))
    }

    pub async fn create_role_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: RoleChanges,
    ) -> ServiceResult<Role> {
        caller.principal.require(ADD)?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 150);
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, None).await? {
                errors.add("name", "role with this name already exists.");
            }
        }
        errors.into_result()?;
        let uuid = Uuid::new_v4();
        store::insert(tx, uuid, name.unwrap_or_default()).await?;
        let role = store::get(tx.conn(), uuid)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", uuid))?
            .1;
        audit::created(tx, caller, &role).await?;
        Ok(role)
    }

    pub async fn update_role(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: RoleChanges,
        partial: bool,
    ) -> ServiceResult<Role> {
        one_tx!(self, |tx| self
            .update_role_in(&mut tx, caller, pk, changes, partial))
    }

    pub async fn update_role_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        changes: RoleChanges,
        partial: bool,
    ) -> ServiceResult<Role> {
        tx.lock_row(RowRef::Role(pk)).await?;
        let (id, before) = self.get_role_on(tx.conn(), caller, pk).await?;
        caller.principal.require_on(CHANGE, &pk.to_string())?;
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
        if let Some(name) = name {
            store::rename(tx, id, name).await?;
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("role", pk))?
            .1;
        audit::updated(tx, caller, &before, &after).await?;
        Ok(after)
    }

    pub async fn delete_role(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_role_in(&mut tx, caller, pk))
    }

    pub async fn delete_role_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::Role(pk)).await?;
        let (id, before) = self.get_role_on(tx.conn(), caller, pk).await?;
        caller.principal.require_on(DELETE, &pk.to_string())?;
        store::delete(tx, id).await?;
        audit::deleted(tx, caller, &before).await?;
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
        one_tx!(self, |tx| self.change_role_permissions_in(
            &mut tx,
            caller,
            pk,
            permissions,
            object_pk,
            assign
        ))
    }

    /// Whoever assigns a permission to a role passes it on to every holder of the role, so
    /// they must hold it themselves (globally for a global grant, on the object for an object
    /// grant). Revoking needs only the unassign right.
    pub async fn change_role_permissions_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        permissions: &[String],
        object_pk: Option<&str>,
        assign: bool,
    ) -> ServiceResult<Role> {
        tx.lock_row(RowRef::Role(pk)).await?;
        let (role_id, before) = self.get_role_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(if assign { ASSIGN } else { UNASSIGN }, &pk.to_string())?;
        let mut errors = FieldErrors::new();
        if object_pk.is_some_and(|pk| pk.trim().is_empty()) {
            errors.add(
                "object_pk",
                "This field may not be blank; leave it out for a global permission.",
            );
        }
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
        if assign {
            let grants: Vec<(String, String)> = permissions
                .iter()
                .map(|p| (p.clone(), object_pk.unwrap_or("").to_owned()))
                .collect();
            delegation::require_holds(caller, &grants, &format!("Role {}", before.name))?;
        }
        for id in ids {
            if assign {
                perm_store::grant_to_role(tx, role_id, id, object_pk.unwrap_or("")).await?;
            } else {
                perm_store::revoke_from_role(tx, role_id, id, object_pk.unwrap_or("")).await?;
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
            tx,
            caller,
            EventAction::ModelUpdated,
            after.model_ref(),
            Some(&before.audit_view()),
            Some(&diff_after),
        )
        .await?;
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
        let mut reader = self.read().await?;
        Ok(perm_store::catalogue(reader.conn())
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
