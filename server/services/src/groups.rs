use std::collections::HashSet;

use chrono::Utc;
use garrison_model::{FieldErrors, Group, GroupChanges, ListQuery, Page};
use garrison_store::{
    Conn, RowRef, groups as store, permissions as perm_store, roles as role_store,
    users as user_store,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::{Caller, Visibility};
use crate::delegation::{self, require_superuser};
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx};

pub(crate) const VIEW: &str = "authentik_core.view_group";
const ADD: &str = "authentik_core.add_group";
const CHANGE: &str = "authentik_core.change_group";
const DELETE: &str = "authentik_core.delete_group";
pub(crate) const ADD_USER: &str = "authentik_core.add_user_to_group";
pub(crate) const REMOVE_USER: &str = "authentik_core.remove_user_from_group";

#[derive(Clone, Debug, Default)]
pub struct GroupFilter {
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
}

impl Audited for Group {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: garrison_model::models::GROUP,
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// The fields events record: never secrets.
    fn audit_view(&self) -> Value {
        group_audit_view(
            &self.name,
            self.is_superuser,
            &self.parents,
            &self.attributes,
            &self.roles,
            &self.users,
        )
    }
}

/// A group as it is inserted, before anything links to it: audited as the group it becomes.
impl Audited for store::GroupRecord {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: garrison_model::models::GROUP,
            pk: self.uuid.to_string(),
            name: &self.name,
        }
    }

    fn audit_view(&self) -> Value {
        group_audit_view(
            &self.name,
            self.is_superuser,
            &[],
            &self.attributes,
            &[],
            &[],
        )
    }
}

/// The fields a group's events record.
fn group_audit_view(
    name: &str,
    is_superuser: bool,
    parents: &[Uuid],
    attributes: &serde_json::Map<String, Value>,
    roles: &[Uuid],
    users: &[i64],
) -> Value {
    json!({
        "name": name,
        "is_superuser": is_superuser,
        "parents": parents,
        "attributes": attributes,
        "roles": roles,
        "users": users,
    })
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
            None => return Ok(Page::empty(query.page)),
            Some(Visibility::All) => None,
            Some(Visibility::Only(pks)) => Some(pks),
        };
        let store_filter = store::GroupFilter {
            search: query.search.clone(),
            only_uuids,
            name: filter.name,
            is_superuser: filter.is_superuser,
        };
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
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
        let mut reader = self.read().await?;
        self.get_group_on(reader.conn(), caller, pk).await
    }

    /// A group the caller may view, read through `conn` (a reader, or a transaction to see
    /// its own writes).
    pub async fn get_group_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<Group> {
        caller.principal.visibility(VIEW)?;
        if !caller.principal.has_on(VIEW, &pk.to_string()) {
            return Err(ServiceError::not_found("group", pk));
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", pk))
    }

    pub async fn create_group(
        &self,
        caller: &Caller,
        changes: GroupChanges,
    ) -> ServiceResult<Group> {
        one_tx!(self, |tx| self.create_group_in(&mut tx, caller, changes))
    }

    pub async fn create_group_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        mut changes: GroupChanges,
    ) -> ServiceResult<Group> {
        caller.principal.require(ADD)?;
        let mut errors = FieldErrors::new();
        if let Some(name) = check_new_group(caller, &changes, &mut errors) {
            if store::name_taken(tx.conn(), name, None).await? {
                errors.add("name", "group with this name already exists.");
            }
        }
        let uuid = Uuid::new_v4();
        let none = Links::default();
        let links = resolve_links(tx.conn(), &changes, None, &mut errors).await?;
        errors.into_result()?;
        // The new group has no members, roles or parents yet: everything it will confer is
        // what this call attaches, and every new member is added by this call.
        links
            .require_may_attach(tx.conn(), caller, &none, None)
            .await?;
        if !links.users.is_empty() {
            caller.principal.require_on(ADD_USER, &uuid.to_string())?;
        }

        let record = new_record(uuid, &mut changes);
        let id = store::insert(tx, &record, Utc::now()).await?;
        links.apply(tx, id, &changes).await?;
        let group = store::get(tx.conn(), record.uuid)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", record.uuid))?;
        audit::created(tx, caller, &group).await?;
        tracing::info!(group = %group.name, by = caller.principal.username(), "group created");
        Ok(group)
    }

    /// Creates groups without parents, members or roles (what a blueprint's plain group
    /// entries make) with the checks, permissions and events of
    /// [`Services::create_group_in`], in a few multi-row statements instead of several
    /// statements per group; their UUIDs, in the order given. `None`, with nothing written:
    /// one of them would be refused (an invalid or taken name, a name given twice, a link);
    /// the caller then creates them one by one, which names the one refused and why.
    pub(crate) async fn create_plain_groups_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        batch: Vec<GroupChanges>,
    ) -> ServiceResult<Option<Vec<Uuid>>> {
        caller.principal.require(ADD)?;
        let mut names = Vec::with_capacity(batch.len());
        let mut seen = HashSet::with_capacity(batch.len());
        for changes in &batch {
            let linked = links_anything(changes);
            let mut errors = FieldErrors::new();
            match check_new_group(caller, changes, &mut errors) {
                Some(name) if !linked && errors.is_empty() && seen.insert(name) => {
                    names.push(name.to_owned())
                }
                _ => return Ok(None),
            }
        }
        if !store::names_taken(tx, &names).await?.is_empty() {
            return Ok(None);
        }
        let records: Vec<store::GroupRecord> = batch
            .into_iter()
            .map(|mut changes| new_record(Uuid::new_v4(), &mut changes))
            .collect();
        store::insert_many(tx, &records, Utc::now()).await?;
        audit::created_many(tx, caller, &records).await?;
        tracing::info!(
            groups = records.len(),
            by = caller.principal.username(),
            "groups created"
        );
        Ok(Some(records.iter().map(|record| record.uuid).collect()))
    }

    pub async fn update_group(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: GroupChanges,
        partial: bool,
    ) -> ServiceResult<Group> {
        one_tx!(self, |tx| self
            .update_group_in(&mut tx, caller, pk, changes, partial))
    }

    pub async fn update_group_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        changes: GroupChanges,
        partial: bool,
    ) -> ServiceResult<Group> {
        tx.lock_row(RowRef::Group(pk)).await?;
        let before = self.get_group_on(tx.conn(), caller, pk).await?;
        caller.principal.require_on(CHANGE, &pk.to_string())?;
        // A group that makes its members superusers is a superuser's business, whatever the
        // change: renaming, re-parenting, or changing its members.
        if is_effectively_superuser(tx.conn(), before.num_pk).await? {
            require_superuser(caller)?;
        }
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
        if changes
            .is_superuser
            .is_some_and(|flag| flag != before.is_superuser)
            && !caller.principal.is_superuser()
        {
            errors.add(
                "is_superuser",
                "User does not have permission to set superuser status to True.",
            );
        }
        let current = Links::of(tx.conn(), before.num_pk).await?;
        let links = resolve_links(
            tx.conn(),
            &changes,
            Some((before.num_pk, &current)),
            &mut errors,
        )
        .await?;
        errors.into_result()?;
        links
            .require_may_attach(tx.conn(), caller, &current, Some(&before))
            .await?;

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
        store::update(tx, before.num_pk, &record, Utc::now()).await?;
        links.apply(tx, before.num_pk, &changes).await?;
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", pk))?;
        audit::updated(tx, caller, &before, &after).await?;
        Ok(after)
    }

    pub async fn delete_group(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_group_in(&mut tx, caller, pk))
    }

    pub async fn delete_group_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::Group(pk)).await?;
        let before = self.get_group_on(tx.conn(), caller, pk).await?;
        caller.principal.require_on(DELETE, &pk.to_string())?;
        if is_effectively_superuser(tx.conn(), before.num_pk).await? {
            require_superuser(caller)?;
        }
        store::delete(tx, before.num_pk).await?;
        audit::deleted(tx, caller, &before).await?;
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
        one_tx!(self, |tx| self
            .change_group_member_in(&mut tx, caller, pk, user_pk, add))
    }

    pub async fn change_group_member_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        user_pk: i64,
        add: bool,
    ) -> ServiceResult<Group> {
        tx.lock_row(RowRef::Group(pk)).await?;
        let before = self.get_group_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(if add { ADD_USER } else { REMOVE_USER }, &pk.to_string())?;
        if is_effectively_superuser(tx.conn(), before.num_pk).await? {
            require_superuser(caller)?;
        }
        if add {
            delegation::require_may_confer_groups(
                tx.conn(),
                caller,
                &[before.num_pk],
                &format!("Membership of group {}", before.name),
            )
            .await?;
        }
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
            store::add_member(tx, before.num_pk, user_pk).await?;
        } else {
            store::remove_member(tx, before.num_pk, user_pk).await?;
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("group", pk))?;
        audit::updated(tx, caller, &before, &after).await?;
        Ok(after)
    }
}

async fn is_effectively_superuser(conn: &mut Conn, id: i64) -> ServiceResult<bool> {
    Ok(!store::effectively_superuser(conn, &[id]).await?.is_empty())
}

/// The row of a new group, its fields moved out of `changes`; what is left there are its links,
/// written apart.
fn new_record(uuid: Uuid, changes: &mut GroupChanges) -> store::GroupRecord {
    store::GroupRecord {
        uuid,
        name: changes.name.take().unwrap_or_default(),
        is_superuser: changes.is_superuser.unwrap_or(false),
        attributes: changes.attributes.take().unwrap_or_default(),
    }
}

/// Whether `changes` give the group parents, roles or members.
pub(crate) fn links_anything(changes: &GroupChanges) -> bool {
    [&changes.parents, &changes.roles]
        .into_iter()
        .any(|uuids| uuids.as_ref().is_some_and(|list| !list.is_empty()))
        || changes
            .users
            .as_ref()
            .is_some_and(|users| !users.is_empty())
}

/// What creating a group checks without reading the store: the name's shape, and that only a
/// superuser makes a superuser group. Returns the name when it is well formed.
fn check_new_group<'c>(
    caller: &Caller,
    changes: &'c GroupChanges,
    errors: &mut FieldErrors,
) -> Option<&'c str> {
    let name = validate::text(errors, "name", changes.name.as_ref(), true, false, 80);
    if changes.is_superuser == Some(true) && !caller.principal.is_superuser() {
        errors.add(
            "is_superuser",
            "User does not have permission to set superuser status to True.",
        );
    }
    name
}

/// Resolved ids of a group's links, ready to write.
#[derive(Clone, Debug, Default)]
struct Links {
    parents: Vec<i64>,
    roles: Vec<i64>,
    users: Vec<i64>,
}

impl Links {
    async fn of(conn: &mut Conn, id: i64) -> ServiceResult<Self> {
        let (parents, roles, users) = store::links_of(conn, id).await?;
        Ok(Self {
            parents,
            roles,
            users,
        })
    }

    /// Delegation checks for the links this change adds, given the group's current parents,
    /// roles and (for an existing group) state:
    /// - a new parent passes its roles (and superuser status) on to this group's members, so
    ///   the caller needs the membership right on it and must hold all it confers;
    /// - a new role passes its permissions on: the caller must hold each;
    /// - a new member receives what the group confers now (new roles and parents are checked
    ///   above); a removed member needs the removal right.
    async fn require_may_attach(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        current: &Links,
        existing: Option<&Group>,
    ) -> ServiceResult<()> {
        let added_parents: Vec<i64> = self
            .parents
            .iter()
            .copied()
            .filter(|id| !current.parents.contains(id))
            .collect();
        if !added_parents.is_empty() {
            for uuid in store::uuids_of(conn, &added_parents).await? {
                caller.principal.require_on(ADD_USER, &uuid.to_string())?;
            }
            delegation::require_may_confer_groups(conn, caller, &added_parents, "A parent group")
                .await?;
        }
        let added_roles: Vec<i64> = self
            .roles
            .iter()
            .copied()
            .filter(|id| !current.roles.contains(id))
            .collect();
        if !added_roles.is_empty() {
            let grants = perm_store::grants_of_roles(conn, &added_roles).await?;
            delegation::require_holds(caller, &grants, "A role attached to the group")?;
        }
        if let Some(group) = existing {
            let before: HashSet<i64> = current.users.iter().copied().collect();
            let after: HashSet<i64> = self.users.iter().copied().collect();
            if after.difference(&before).next().is_some() {
                caller
                    .principal
                    .require_on(ADD_USER, &group.pk.to_string())?;
                delegation::require_may_confer_groups(
                    conn,
                    caller,
                    &[group.num_pk],
                    &format!("Membership of group {}", group.name),
                )
                .await?;
            }
            if before.difference(&after).next().is_some() {
                caller
                    .principal
                    .require_on(REMOVE_USER, &group.pk.to_string())?;
            }
        }
        Ok(())
    }

    async fn apply(&self, tx: &mut Tx, id: i64, changes: &GroupChanges) -> ServiceResult<()> {
        if changes.parents.is_some() {
            store::set_parents(tx, id, &self.parents).await?;
        }
        if changes.roles.is_some() {
            store::set_roles(tx, id, &self.roles).await?;
        }
        if changes.users.is_some() {
            store::set_members(tx, id, &self.users).await?;
        }
        Ok(())
    }
}

/// Resolves the links `changes` sets; links it leaves alone stay as the group's current ones
/// (`existing`: its id and links), so the delegation checks compare like with like.
async fn resolve_links(
    conn: &mut Conn,
    changes: &GroupChanges,
    existing: Option<(i64, &Links)>,
    errors: &mut FieldErrors,
) -> ServiceResult<Links> {
    let this_group = existing.map(|(id, _)| id);
    let mut links = existing.map(|(_, l)| l.clone()).unwrap_or_default();
    if let Some(parents) = &changes.parents {
        let (ids, missing) = store::resolve_ids(conn, parents).await?;
        if let Some(message) = does_not_exist(&missing) {
            errors.add("parents", message);
        }
        if let Some(id) = this_group {
            if store::would_cycle(conn, id, &ids).await? {
                errors.add("parents", "A group cannot be its own ancestor.");
            }
        }
        links.parents = ids;
    }
    if let Some(roles) = &changes.roles {
        let (ids, missing) = role_store::resolve_ids(conn, roles).await?;
        if let Some(message) = does_not_exist(&missing) {
            errors.add("roles", message);
        }
        links.roles = ids;
    }
    if let Some(users) = &changes.users {
        let existing = user_store::existing(conn, users).await?;
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
