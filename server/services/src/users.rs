use std::collections::HashSet;

use chrono::Utc;
use garrison_model::{EventAction, FieldErrors, ListQuery, Page, User, UserChanges, UserType};
use garrison_store::{
    Conn, RowRef, groups as group_store, roles as role_store, sessions, users as store,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::{Caller, Visibility};
use crate::delegation::{self, require_superuser};
use crate::groups::{ADD_USER, REMOVE_USER};
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx, crypto};

pub(crate) const VIEW: &str = "authentik_core.view_user";
const ADD: &str = "authentik_core.add_user";
const CHANGE: &str = "authentik_core.change_user";
const DELETE: &str = "authentik_core.delete_user";
const RESET_PASSWORD: &str = "authentik_core.reset_user_password";

/// Filters a user list accepts besides search and ordering.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub username: Option<String>,
    pub user_type: Option<UserType>,
    pub is_active: Option<bool>,
    pub path_startswith: Option<String>,
}

impl Audited for User {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: garrison_model::models::USER,
            pk: self.pk.to_string(),
            name: &self.username,
        }
    }

    /// The fields events record: never secrets.
    fn audit_view(&self) -> Value {
        json!({
            "username": self.username,
            "name": self.name,
            "email": self.email,
            "is_active": self.is_active,
            "type": self.user_type.as_str(),
            "path": self.path,
            "attributes": self.attributes,
            "groups": self.groups,
            "roles": self.roles,
        })
    }
}

fn validate_path(errors: &mut FieldErrors, path: &str) {
    if path.is_empty() {
        errors.add("path", validate::BLANK);
    } else if path.starts_with('/') || path.ends_with('/') {
        errors.add("path", "No leading or trailing slashes allowed.");
    } else if path.contains("//") {
        errors.add("path", "No empty segments in user path allowed.");
    }
}

fn validate_email(errors: &mut FieldErrors, email: &str) {
    let valid = email.is_empty()
        || (email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')));
    if !valid {
        errors.add("email", "Enter a valid email address.");
    }
}

/// A new password: what a user is asked for when they change their own.
#[derive(Clone, Copy, Debug)]
pub struct PasswordChange<'a> {
    pub new_password: &'a str,
    /// Required when users change their own password without the reset permission: a stolen
    /// session or token alone must not be enough to take the account over.
    pub current_password: Option<&'a str>,
}

impl Services {
    pub async fn list_users(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: UserFilter,
    ) -> ServiceResult<Page<User>> {
        let ordering = validate::ordering(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let only_pks = match caller.principal.visibility(VIEW)? {
            None => return Ok(Page::empty(query.page)),
            Some(Visibility::All) => None,
            Some(Visibility::Only(pks)) => {
                Some(pks.iter().filter_map(|pk| pk.parse().ok()).collect())
            }
        };
        let store_filter = store::UserFilter {
            search: query.search.clone(),
            only_pks,
            username: filter.username,
            user_type: filter.user_type,
            is_active: filter.is_active,
            path_startswith: filter.path_startswith,
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

    /// A user the caller may view; everyone may view themselves.
    pub async fn get_user(&self, caller: &Caller, pk: i64) -> ServiceResult<User> {
        let mut reader = self.read().await?;
        self.get_user_on(reader.conn(), caller, pk).await
    }

    pub async fn get_user_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: i64,
    ) -> ServiceResult<User> {
        if caller.principal.user_pk() != Some(pk) {
            caller.principal.visibility(VIEW)?;
            if !caller.principal.has_on(VIEW, &pk.to_string()) {
                return Err(ServiceError::not_found("user", pk));
            }
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", pk))
    }

    pub async fn create_user(&self, caller: &Caller, changes: UserChanges) -> ServiceResult<User> {
        one_tx!(self, |tx| self.create_user_in(&mut tx, caller, changes))
    }

    pub async fn create_user_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: UserChanges,
    ) -> ServiceResult<User> {
        caller.principal.require(ADD)?;
        let now = Utc::now();
        let mut errors = FieldErrors::new();
        let username = validate::text(
            &mut errors,
            "username",
            changes.username.as_ref(),
            true,
            false,
            150,
        );
        validate::text(&mut errors, "name", changes.name.as_ref(), false, true, 150);
        let email = changes.email.clone().unwrap_or_default();
        validate_email(&mut errors, &email);
        let path = changes.path.clone().unwrap_or_else(|| "users".into());
        validate_path(&mut errors, &path);
        if let Some(username) = username {
            if store::username_taken(tx.conn(), username, None).await? {
                errors.add("username", "This field must be unique.");
            }
        }
        let memberships = resolve_memberships(tx.conn(), &changes, &mut errors).await?;
        errors.into_result()?;
        memberships
            .require_may_change(tx.conn(), caller, &[], &[])
            .await?;
        let password_hash = match changes.password.as_deref() {
            Some(password) if !password.is_empty() => {
                Some(crypto::hash_password_blocking(password).await?)
            }
            _ => None,
        };

        let record = store::UserRecord {
            uuid: Uuid::new_v4(),
            username: changes.username.clone().unwrap_or_default(),
            name: changes.name.clone().unwrap_or_default(),
            email,
            is_active: changes.is_active.unwrap_or(true),
            user_type: changes.user_type.unwrap_or_default(),
            path,
            attributes: changes.attributes.clone().unwrap_or_default(),
            last_login: None,
            date_joined: now,
            last_updated: now,
            password_change_date: now,
        };
        let pk = store::insert(tx, &record, password_hash.as_deref().unwrap_or("")).await?;
        if let Some(groups) = &memberships.groups {
            store::set_groups(tx, pk, groups).await?;
        }
        if let Some(roles) = &memberships.roles {
            store::set_roles(tx, pk, roles).await?;
        }
        let user = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", pk))?;
        audit::created(tx, caller, &user).await?;
        tracing::info!(user = %user.username, by = caller.principal.username(), "user created");
        Ok(user)
    }

    /// Applies `changes` to user `pk`. With `partial == false` (PUT) the required fields must be
    /// present, as on create.
    pub async fn update_user(
        &self,
        caller: &Caller,
        pk: i64,
        changes: UserChanges,
        partial: bool,
    ) -> ServiceResult<User> {
        one_tx!(self, |tx| self
            .update_user_in(&mut tx, caller, pk, changes, partial))
    }

    pub async fn update_user_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: i64,
        changes: UserChanges,
        partial: bool,
    ) -> ServiceResult<User> {
        tx.lock_row(RowRef::User(pk)).await?;
        let before = self.get_user_on(tx.conn(), caller, pk).await?;
        caller.principal.require_on(CHANGE, &pk.to_string())?;
        // Deactivating, demoting or renaming an administrator is for administrators.
        if before.is_superuser {
            require_superuser(caller)?;
        }
        let mut errors = FieldErrors::new();
        validate::text(
            &mut errors,
            "username",
            changes.username.as_ref(),
            !partial,
            false,
            150,
        );
        validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            true,
            150,
        );
        if let Some(email) = &changes.email {
            validate_email(&mut errors, email);
        }
        if let Some(path) = &changes.path {
            validate_path(&mut errors, path);
        }
        if let Some(username) = &changes.username {
            if store::username_taken(tx.conn(), username, Some(pk)).await? {
                errors.add("username", "This field must be unique.");
            }
        }
        if changes.password.is_some() {
            errors.add("password", "Set passwords with set_password.");
        }
        let memberships = resolve_memberships(tx.conn(), &changes, &mut errors).await?;
        errors.into_result()?;
        let (current_groups, _) = group_store::resolve_ids(tx.conn(), &before.groups).await?;
        let (current_roles, _) = role_store::resolve_ids(tx.conn(), &before.roles).await?;
        memberships
            .require_may_change(tx.conn(), caller, &current_groups, &current_roles)
            .await?;

        let mut record = store::UserRecord::from_user(&before);
        if let Some(v) = changes.username.clone() {
            record.username = v;
        }
        if let Some(v) = changes.name.clone() {
            record.name = v;
        }
        if let Some(v) = changes.email.clone() {
            record.email = v;
        }
        if let Some(v) = changes.is_active {
            record.is_active = v;
        }
        if let Some(v) = changes.user_type {
            record.user_type = v;
        }
        if let Some(v) = changes.path.clone() {
            record.path = v;
        }
        if let Some(v) = changes.attributes.clone() {
            record.attributes = v;
        }
        record.last_updated = Utc::now();
        store::update(tx, pk, &record).await?;
        if let Some(groups) = &memberships.groups {
            store::set_groups(tx, pk, groups).await?;
        }
        if let Some(roles) = &memberships.roles {
            store::set_roles(tx, pk, roles).await?;
        }
        if !record.is_active {
            // A deactivated user is logged out everywhere, and outposts are told.
            let ended = sessions::delete_for_user(tx, pk).await?;
            crate::auth::announce_ended_sessions(tx, ended);
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", pk))?;
        audit::updated(tx, caller, &before, &after).await?;
        Ok(after)
    }

    pub async fn delete_user(&self, caller: &Caller, pk: i64) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_user_in(&mut tx, caller, pk))
    }

    pub async fn delete_user_in(&self, tx: &mut Tx, caller: &Caller, pk: i64) -> ServiceResult<()> {
        tx.lock_row(RowRef::User(pk)).await?;
        let before = self.get_user_on(tx.conn(), caller, pk).await?;
        caller.principal.require_on(DELETE, &pk.to_string())?;
        if caller.principal.user_pk() == Some(pk) {
            return Err(ServiceError::invalid(
                FieldErrors::NON_FIELD,
                "You cannot delete your own account.",
            ));
        }
        if before.is_superuser {
            require_superuser(caller)?;
        }
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before).await?;
        Ok(())
    }

    pub async fn set_user_password(
        &self,
        caller: &Caller,
        pk: i64,
        change: PasswordChange<'_>,
    ) -> ServiceResult<()> {
        one_tx!(self, |tx| self
            .set_user_password_in(&mut tx, caller, pk, change))
    }

    /// Sets a password. Users change their own with their current password (unless they hold
    /// the reset permission on themselves); setting another's needs the reset permission and
    /// holding everything the target holds, since the caller could then log in as them. Every
    /// other session of the user ends.
    pub async fn set_user_password_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: i64,
        change: PasswordChange<'_>,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::User(pk)).await?;
        let user = self.get_user_on(tx.conn(), caller, pk).await?;
        let own = caller.principal.user_pk() == Some(pk);
        let may_reset = caller.principal.has_on(RESET_PASSWORD, &pk.to_string());
        if !own {
            caller
                .principal
                .require_on(RESET_PASSWORD, &pk.to_string())?;
            delegation::require_may_act_as(tx.conn(), caller, &user).await?;
        }
        let mut errors = FieldErrors::new();
        if change.new_password.is_empty() {
            errors.add("password", validate::BLANK);
        }
        if own && !may_reset {
            match change.current_password.filter(|p| !p.is_empty()) {
                None => errors.add(
                    "current_password",
                    "Enter your current password to change it.",
                ),
                Some(current) => {
                    let stored = store::credentials(tx.conn(), &user.username)
                        .await?
                        .map(|c| c.password_hash);
                    if !crypto::verify_password_blocking(current, stored).await? {
                        errors.add("current_password", "Your current password is not correct.");
                    }
                }
            }
        }
        errors.into_result()?;
        let hash = crypto::hash_password_blocking(change.new_password).await?;
        store::set_password(tx, pk, &hash, Utc::now()).await?;
        // Whoever held a session of this account before the change holds it no longer; the
        // caller's own session (a user changing their password) stays.
        let ended = match caller.session.as_ref().filter(|_| own) {
            Some(session) => {
                sessions::delete_for_user_except(tx, pk, &crypto::sha256_hex(&session.0)).await?
            }
            None => sessions::delete_for_user(tx, pk).await?,
        };
        crate::auth::announce_ended_sessions(tx, ended);
        let mut context = serde_json::Map::new();
        context.insert(
            "model".into(),
            audit::object_json(
                garrison_model::models::USER,
                &pk.to_string(),
                &user.username,
            ),
        );
        audit::record(tx, caller, EventAction::PasswordSet, context).await?;
        Ok(())
    }
}

/// Group and role ids a user change sets (`None`: left alone).
struct Memberships {
    groups: Option<Vec<i64>>,
    roles: Option<Vec<i64>>,
}

impl Memberships {
    /// Joining a group needs the membership right on it and passes on what it confers, which
    /// the caller must hold (superuser groups: superusers only); leaving one needs the removal
    /// right. Roles are assigned to users directly by superusers only.
    async fn require_may_change(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        current_groups: &[i64],
        current_roles: &[i64],
    ) -> ServiceResult<()> {
        if let Some(groups) = &self.groups {
            let before: HashSet<i64> = current_groups.iter().copied().collect();
            let after: HashSet<i64> = groups.iter().copied().collect();
            let joined: Vec<i64> = after.difference(&before).copied().collect();
            let left: Vec<i64> = before.difference(&after).copied().collect();
            for uuid in group_store::uuids_of(conn, &joined).await? {
                caller.principal.require_on(ADD_USER, &uuid.to_string())?;
            }
            for uuid in group_store::uuids_of(conn, &left).await? {
                caller
                    .principal
                    .require_on(REMOVE_USER, &uuid.to_string())?;
            }
            delegation::require_may_confer_groups(conn, caller, &joined, "A group joined").await?;
            if !group_store::effectively_superuser(conn, &left)
                .await?
                .is_empty()
            {
                require_superuser(caller)?;
            }
        }
        if let Some(roles) = &self.roles {
            if roles.iter().any(|id| !current_roles.contains(id))
                && !caller.principal.is_superuser()
            {
                return Err(ServiceError::invalid(
                    "roles",
                    "Only superusers may assign roles directly to users.",
                ));
            }
        }
        Ok(())
    }
}

/// Resolves group and role UUIDs to ids, adding field errors for unknown ones.
async fn resolve_memberships(
    conn: &mut Conn,
    changes: &UserChanges,
    errors: &mut FieldErrors,
) -> ServiceResult<Memberships> {
    let mut memberships = Memberships {
        groups: None,
        roles: None,
    };
    if let Some(groups) = &changes.groups {
        let (ids, missing) = group_store::resolve_ids(conn, groups).await?;
        if let Some(message) = does_not_exist(&missing) {
            errors.add("groups", message);
        }
        memberships.groups = Some(ids);
    }
    if let Some(roles) = &changes.roles {
        let (ids, missing) = role_store::resolve_ids(conn, roles).await?;
        if let Some(message) = does_not_exist(&missing) {
            errors.add("roles", message);
        }
        memberships.roles = Some(ids);
    }
    Ok(memberships)
}

impl Services {
    /// Names of the caller's own groups and roles, for `/core/users/me/`: a user may always
    /// see what they belong to, whatever they may view otherwise.
    pub async fn own_memberships(
        &self,
        caller: &Caller,
    ) -> ServiceResult<(Vec<(Uuid, String)>, Vec<(Uuid, String)>)> {
        let Some(user) = caller.principal.user() else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut reader = self.read().await?;
        let mut groups = Vec::new();
        for pk in &user.groups {
            if let Some(group) = group_store::get(reader.conn(), *pk).await? {
                groups.push((group.pk, group.name));
            }
        }
        let mut roles = Vec::new();
        for pk in &user.roles {
            if let Some((_, role)) = role_store::get(reader.conn(), *pk).await? {
                roles.push((role.pk, role.name));
            }
        }
        Ok((groups, roles))
    }
}
