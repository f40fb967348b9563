use chrono::Utc;
use garrison_model::{FieldErrors, Group, GroupChanges, ListQuery, Page};
use garrison_store::{groups as store, roles as role_store, users as user_store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::{Caller, Visibility};
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services};

pub(crate) const VIEW: &str = "authentik_core.view_group";
const ADD: &str = "authentik_core.add_group";
const CHANGE: &str = "authentik_core.change_group";
const DELETE: &str = "authentik_core.delete_group";
const ADD_USER: &str = "authentik_core.add_user_to_group";
const REMOVE_USER: &str = "authentik_core.remove_user_from_group";

#[derive(Clone, Debug, Default)]
pub struct GroupFilter {
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
}

impl Audited for Group {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            app: "authentik_core",
            model_name: "group",
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// The fields events record: never secrets.
    fn audit_view(&self) -> Value {
        json!({
            "name": self.name,
            "is_superuser": self.is_superuser,
            "parents": self.parents,
            "attributes": self.attributes,
            "roles": self.roles,
            "users": self.users,
        })
    }
}

impl Services {
    pub async fn list_groups(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: GroupFilter,
    ) -> ServiceResult<Page<Group>> {
        let ordering = validate::ordering(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let only_uuids = match caller.principal.visibility(VIEW)? {
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
        let store_filter = store::GroupFilter {
            search: query.search.clone(),
            only_uuids,
            name: filter.name,
            is_superuser: filter.is_superuser,
        };
        let mut conn = self.store().conn().await?;
        let (items, count) = store::list(
            &mut conn,
            &store_filter,
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

    pub async fn get_group(&self, caller: &Caller, pk: Uuid) -> ServiceResult<Group> {
        caller.principal.visibility(VIEW)?;
        if !caller.principal.has_on(VIEW, &pk.to_string()) {
            return Err(ServiceError::not_found("group", pk));
        }
        let mut conn = self.store().conn().await?;
        store::get(&mut conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", pk))
    }

    pub async fn create_group(
        &self,
        caller: &Caller,
        changes: GroupChanges,
    ) -> ServiceResult<Group> {
        caller.principal.require(ADD)?;
        let mut tx = self.store().begin().await?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 80);
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, None).await? {
                errors.add("name", "group with this name already exists.");
            }
        }
        if changes.is_superuser == Some(true) && !caller.principal.is_superuser() {
            errors.add(
                "is_superuser",
                "User does not have permission to set superuser status to True.",
            );
        }
        let links = resolve_links(&mut tx, &changes, None, &mut errors).await?;
        errors.into_result()?;

        let record = store::GroupRecord {
            uuid: Uuid::new_v4(),
            name: changes.name.clone().unwrap_or_default(),
            is_superuser: changes.is_superuser.unwrap_or(false),
            attributes: changes.attributes.clone().unwrap_or_default(),
        };
        let id = store::insert(tx.conn(), &record, Utc::now()).await?;
        links.apply(&mut tx, id, &changes).await?;
        let group = store::get(tx.conn(), record.uuid)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", record.uuid))?;
        audit::created(&mut tx, caller, &group).await?;
        tx.commit().await?;
        tracing::info!(group = %group.name, by = caller.principal.username(), "group created");
        Ok(group)
    }

    pub async fn update_group(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: GroupChanges,
        partial: bool,
    ) -> ServiceResult<Group> {
        let before = self.get_group(caller, pk).await?;
        caller.principal.require_on(CHANGE, &pk.to_string())?;
        let mut tx = self.store().begin().await?;
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            80,
        );
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, Some(pk)).await? {
                errors.add("name", "group with this name already exists.");
            }
        }
        let touches_superuser = changes
            .is_superuser
            .is_some_and(|flag| flag != before.is_superuser)
            || (before.is_superuser && changes.users.is_some());
        if touches_superuser && !caller.principal.is_superuser() {
            errors.add(
                "is_superuser",
                "User does not have permission to set superuser status to True.",
            );
        }
        let links = resolve_links(&mut tx, &changes, Some(before.num_pk), &mut errors).await?;
        errors.into_result()?;

        let mut record = store::GroupRecord::from_group(&before);
        if let Some(v) = changes.name.clone() {
            record.name = v;
        }
        if let Some(v) = changes.is_superuser {
            record.is_superuser = v;
        }
        if let Some(v) = changes.attributes.clone() {
            record.attributes = v;
        }
        store::update(tx.conn(), before.num_pk, &record, Utc::now()).await?;
        links.apply(&mut tx, before.num_pk, &changes).await?;
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", pk))?;
        audit::updated(&mut tx, caller, &before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_group(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        let before = self.get_group(caller, pk).await?;
        caller.principal.require_on(DELETE, &pk.to_string())?;
        if before.is_superuser && !caller.principal.is_superuser() {
            return Err(ServiceError::forbidden("superuser"));
        }
        let mut tx = self.store().begin().await?;
        store::delete(tx.conn(), before.num_pk).await?;
        audit::deleted(&mut tx, caller, &before).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds (`add == true`) or removes one member.
    pub async fn change_group_member(
        &self,
        caller: &Caller,
        pk: Uuid,
        user_pk: i64,
        add: bool,
    ) -> ServiceResult<Group> {
        let before = self.get_group(caller, pk).await?;
        caller
            .principal
            .require_on(if add { ADD_USER } else { REMOVE_USER }, &pk.to_string())?;
        if before.is_superuser && !caller.principal.is_superuser() {
            return Err(ServiceError::forbidden("superuser"));
        }
        let mut tx = self.store().begin().await?;
        if user_store::existing(tx.conn(), &[user_pk])
            .await?
            .is_empty()
        {
            return Err(ServiceError::invalid(
                "pk",
                format!("Invalid pk \"{user_pk}\" - object does not exist."),
            ));
        }
        if add {
            store::add_member(tx.conn(), before.num_pk, user_pk).await?;
        } else {
            store::remove_member(tx.conn(), before.num_pk, user_pk).await?;
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", pk))?;
        audit::updated(&mut tx, caller, &before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// Resolved ids of a group's links, ready to write.
struct Links {
    parents: Vec<i64>,
    roles: Vec<i64>,
    users: Vec<i64>,
}

impl Links {
    async fn apply(
        &self,
        tx: &mut garrison_store::Tx,
        id: i64,
        changes: &GroupChanges,
    ) -> ServiceResult<()> {
        if changes.parents.is_some() {
            store::set_parents(tx.conn(), id, &self.parents).await?;
        }
        if changes.roles.is_some() {
            store::set_roles(tx.conn(), id, &self.roles).await?;
        }
        if changes.users.is_some() {
            store::set_members(tx.conn(), id, &self.users).await?;
        }
        Ok(())
    }
}

async fn resolve_links(
    tx: &mut garrison_store::Tx,
    changes: &GroupChanges,
    this_group: Option<i64>,
    errors: &mut FieldErrors,
) -> ServiceResult<Links> {
    let mut links = Links {
        parents: vec![],
        roles: vec![],
        users: vec![],
    };
    if let Some(parents) = &changes.parents {
        let (ids, missing) = store::resolve_ids(tx.conn(), parents).await?;
        if let Some(message) = does_not_exist(&missing) {
            errors.add("parents", message);
        }
        if let Some(id) = this_group {
            if store::would_cycle(tx.conn(), id, &ids).await? {
                errors.add("parents", "A group cannot be its own ancestor.");
            }
        }
        links.parents = ids;
    }
    if let Some(roles) = &changes.roles {
        let (ids, missing) = role_store::resolve_ids(tx.conn(), roles).await?;
        if let Some(message) = does_not_exist(&missing) {
            errors.add("roles", message);
        }
        links.roles = ids;
    }
    if let Some(users) = &changes.users {
        let existing = user_store::existing(tx.conn(), users).await?;
        let missing: Vec<i64> = users
            .iter()
            .copied()
            .filter(|pk| !existing.contains(pk))
            .collect();
        if let Some(message) = does_not_exist(&missing) {
            errors.add("users", message);
        }
        links.users = users
            .iter()
            .copied()
            .filter(|pk| existing.contains(pk))
            .collect();
    }
    Ok(links)
}
