use chrono::Utc;
use garrison_model::{EventAction, FieldErrors, ListQuery, Page, User, UserChanges, UserType};
use garrison_store::{groups as group_store, roles as role_store, users as store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::{Caller, Visibility};
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, crypto};

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
            app: "authentik_core",
            model_name: "user",
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

impl Services {
    pub async fn list_users(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: UserFilter,
    ) -> ServiceResult<Page<User>> {
        let ordering = validate::ordering(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let only_pks = match caller.principal.visibility(VIEW)? {
            None => {
                return Ok(Page {
                    items: vec![],
                    count: 0,
                    request: query.page,
                });
            }
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

    /// A user the caller may view; everyone may view themselves.
    pub async fn get_user(&self, caller: &Caller, pk: i64) -> ServiceResult<User> {
        if caller.principal.user_pk() != Some(pk) {
            caller.principal.visibility(VIEW)?;
            if !caller.principal.has_on(VIEW, &pk.to_string()) {
                return Err(ServiceError::not_found("user", pk));
            }
        }
        let mut conn = self.store().conn().await?;
        store::get(&mut conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", pk))
    }

    pub async fn create_user(&self, caller: &Caller, changes: UserChanges) -> ServiceResult<User> {
        caller.principal.require(ADD)?;
        let now = Utc::now();
        let mut tx = self.store().begin().await?;
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
        let password_hash = match changes.password.as_deref() {
            Some(password) if !password.is_empty() => Some(crypto::hash_password(password)?),
            _ => None,
        };
        let (group_ids, role_ids) = self
            .resolve_memberships(&mut tx, caller, &changes, &mut errors)
            .await?;
        errors.into_result()?;

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
        let pk = store::insert(tx.conn(), &record, password_hash.as_deref().unwrap_or("")).await?;
        store::set_groups(tx.conn(), pk, &group_ids).await?;
        store::set_roles(tx.conn(), pk, &role_ids).await?;
        let user = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", pk))?;
        audit::created(&mut tx, caller, &user).await?;
        tx.commit().await?;
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
        let before = self.get_user(caller, pk).await?;
        caller.principal.require_on(CHANGE, &pk.to_string())?;
        let mut tx = self.store().begin().await?;
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
        let (group_ids, role_ids) = self
            .resolve_memberships(&mut tx, caller, &changes, &mut errors)
            .await?;
        errors.into_result()?;

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
        store::update(tx.conn(), pk, &record).await?;
        if changes.groups.is_some() {
            store::set_groups(tx.conn(), pk, &group_ids).await?;
        }
        if changes.roles.is_some() {
            store::set_roles(tx.conn(), pk, &role_ids).await?;
        }
        if !record.is_active {
            // A deactivated user is logged out everywhere.
            garrison_store::sessions::delete_for_user(tx.conn(), pk).await?;
        }
        let after = store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", pk))?;
        audit::updated(&mut tx, caller, &before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_user(&self, caller: &Caller, pk: i64) -> ServiceResult<()> {
        let before = self.get_user(caller, pk).await?;
        caller.principal.require_on(DELETE, &pk.to_string())?;
        if caller.principal.user_pk() == Some(pk) {
            return Err(ServiceError::invalid(
                FieldErrors::NON_FIELD,
                "You cannot delete your own account.",
            ));
        }
        let mut tx = self.store().begin().await?;
        store::delete(tx.conn(), pk).await?;
        audit::deleted(&mut tx, caller, &before).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_user_password(
        &self,
        caller: &Caller,
        pk: i64,
        password: &str,
    ) -> ServiceResult<()> {
        let user = self.get_user(caller, pk).await?;
        if caller.principal.user_pk() != Some(pk) {
            caller
                .principal
                .require_on(RESET_PASSWORD, &pk.to_string())?;
        }
        if password.is_empty() {
            return Err(ServiceError::invalid("password", validate::BLANK));
        }
        let hash = crypto::hash_password(password)?;
        let mut tx = self.store().begin().await?;
        store::set_password(tx.conn(), pk, &hash, Utc::now()).await?;
        let mut context = serde_json::Map::new();
        context.insert("model".into(), json!({"app": "authentik_core", "model_name": "user", "pk": pk.to_string(), "name": user.username}));
        audit::record(&mut tx, caller, EventAction::PasswordSet, context).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resolves group and role UUIDs to ids, adding field errors for unknown ones and refusing
    /// superuser group membership to callers who are not superusers themselves.
    async fn resolve_memberships(
        &self,
        tx: &mut garrison_store::Tx,
        caller: &Caller,
        changes: &UserChanges,
        errors: &mut FieldErrors,
    ) -> ServiceResult<(Vec<i64>, Vec<i64>)> {
        let mut group_ids = Vec::new();
        if let Some(groups) = &changes.groups {
            let (ids, missing) = group_store::resolve_ids(tx.conn(), groups).await?;
            if let Some(message) = does_not_exist(&missing) {
                errors.add("groups", message);
            }
            if !caller.principal.is_superuser() {
                for uuid in groups {
                    if let Some(group) = group_store::get(tx.conn(), *uuid).await? {
                        if group.is_superuser {
                            errors.add("groups", "User does not have permission to add members to a superuser group.");
                        }
                    }
                }
            }
            group_ids = ids;
        }
        let mut role_ids = Vec::new();
        if let Some(roles) = &changes.roles {
            let (ids, missing) = role_store::resolve_ids(tx.conn(), roles).await?;
            if let Some(message) = does_not_exist(&missing) {
                errors.add("roles", message);
            }
            if !roles.is_empty() && !caller.principal.is_superuser() {
                errors.add(
                    "roles",
                    "Only superusers may assign roles directly to users.",
                );
            }
            role_ids = ids;
        }
        Ok((group_ids, role_ids))
    }
}

impl Services {
    /// Names of the caller's own groups and roles, for `/core/users/me/`: a user may always
    /// see what they belong to, whatever they may view otherwise.
    pub async fn own_memberships(
        &self,
        caller: &Caller,
    ) -> ServiceResult<(Vec<(Uuid, String)>, Vec<(Uuid, String)>)> {
        let Some(user) = &caller.principal.user else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut conn = self.store().conn().await?;
        let mut groups = Vec::new();
        for pk in &user.groups {
            if let Some(group) = group_store::get(&mut conn, *pk).await? {
                groups.push((group.pk, group.name));
            }
        }
        let mut roles = Vec::new();
        for pk in &user.roles {
            if let Some((_, role)) = role_store::get(&mut conn, *pk).await? {
                roles.push((role.pk, role.name));
            }
        }
        Ok((groups, roles))
    }
}
