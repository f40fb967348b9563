//! Who is calling, and what they may do.
//!
//! Permissions are authentik's `app_label.codename` strings. A principal holds global grants
//! (any object of the model) and object grants (one object, by primary key). Superusers hold
//! everything.
use std::collections::{HashMap, HashSet};

use garrison_model::{User, UserType};

use crate::ServiceResult;
use crate::error::ServiceError;

#[derive(Clone, Debug, Default)]
pub struct PermissionSet {
    global: HashSet<String>,
    objects: HashMap<String, HashSet<String>>,
}

impl PermissionSet {
    pub fn from_grants(grants: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut set = Self::default();
        for (permission, object_pk) in grants {
            if object_pk.is_empty() {
                set.global.insert(permission);
            } else {
                set.objects.entry(permission).or_default().insert(object_pk);
            }
        }
        set
    }

    pub fn global(&self) -> impl Iterator<Item = &String> {
        self.global.iter()
    }
}

/// The authenticated identity behind a call: a user with what they hold, or the system
/// itself. Only the services construct one (from a session, a token or [`Caller::system`]).
#[derive(Clone, Debug)]
pub struct Principal {
    identity: Identity,
    permissions: PermissionSet,
}

#[derive(Clone, Debug)]
enum Identity {
    /// The server acting on its own behalf (start-up, the CLI, scheduled work).
    System,
    User(User),
}

/// Which objects of a model the principal may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    All,
    Only(Vec<String>),
}

impl Principal {
    pub(crate) fn system() -> Self {
        Self {
            identity: Identity::System,
            permissions: PermissionSet::default(),
        }
    }

    pub(crate) fn for_user(user: User, permissions: PermissionSet) -> Self {
        Self {
            identity: Identity::User(user),
            permissions,
        }
    }

    /// The user behind the call; `None` for the system.
    pub fn user(&self) -> Option<&User> {
        match &self.identity {
            Identity::System => None,
            Identity::User(user) => Some(user),
        }
    }

    pub fn permissions(&self) -> &PermissionSet {
        &self.permissions
    }

    pub fn is_superuser(&self) -> bool {
        match &self.identity {
            Identity::System => true,
            Identity::User(user) => user.is_superuser,
        }
    }

    pub fn user_pk(&self) -> Option<i64> {
        self.user().map(|u| u.pk)
    }

    pub fn username(&self) -> &str {
        self.user().map(|u| u.username.as_str()).unwrap_or("system")
    }

    pub fn has(&self, permission: &str) -> bool {
        self.is_superuser() || self.permissions.global.contains(permission)
    }

    /// Whether the principal holds one grant: `object_pk` empty means the global permission.
    pub fn holds(&self, permission: &str, object_pk: &str) -> bool {
        if object_pk.is_empty() {
            self.has(permission)
        } else {
            self.has_on(permission, object_pk)
        }
    }

    /// The first of `grants` the principal does not hold, if any. Delegation never exceeds
    /// the delegator: whoever passes rights on (a role, a group, a membership, a credential)
    /// must hold every one of them.
    pub fn first_missing<'a>(
        &self,
        grants: impl IntoIterator<Item = &'a (String, String)>,
    ) -> Option<&'a (String, String)> {
        grants
            .into_iter()
            .find(|(permission, object_pk)| !self.holds(permission, object_pk))
    }

    pub fn has_on(&self, permission: &str, object_pk: &str) -> bool {
        self.has(permission)
            || self
                .permissions
                .objects
                .get(permission)
                .is_some_and(|pks| pks.contains(object_pk))
    }

    pub fn require(&self, permission: &str) -> ServiceResult<()> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(permission))
        }
    }

    pub fn require_on(&self, permission: &str, object_pk: &str) -> ServiceResult<()> {
        if self.has_on(permission, object_pk) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(permission))
        }
    }

    /// Which objects a list may show. An ordinary user with nothing to see is refused (as
    /// authentik does); an internal service account (an outpost) gets an empty list instead,
    /// because outposts poll lists and treat 403 as a failure.
    pub fn visibility(&self, view_permission: &str) -> ServiceResult<Option<Visibility>> {
        if self.has(view_permission) {
            return Ok(Some(Visibility::All));
        }
        let pks: Vec<String> = self
            .permissions
            .objects
            .get(view_permission)
            .map(|pks| pks.iter().cloned().collect())
            .unwrap_or_default();
        if !pks.is_empty() {
            return Ok(Some(Visibility::Only(pks)));
        }
        match self.user() {
            Some(user) if user.user_type == UserType::InternalServiceAccount => Ok(None),
            _ => Err(ServiceError::forbidden(view_permission)),
        }
    }
}

/// Through which door a call came in; recorded in audit events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    Api { method: String, path: String },
    Ui { path: String },
    Cli,
    System,
}

/// The caller of a service function: who, from where, through which door.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub client_ip: Option<String>,
    pub via: Via,
    /// The session the call came with, if any: a password change ends the user's other
    /// sessions but keeps this one.
    pub session: Option<crate::SessionKey>,
}

impl Caller {
    /// The server acting on its own behalf (start-up, scheduled work): holds everything.
    pub fn system() -> Self {
        Self {
            principal: Principal::system(),
            client_ip: None,
            via: Via::System,
            session: None,
        }
    }

    /// The operator at the command line, with the database in reach: holds everything.
    pub fn cli() -> Self {
        Self {
            principal: Principal::system(),
            client_ip: None,
            via: Via::Cli,
            session: None,
        }
    }

    /// A request from `principal` (as resolved by [`Services::authenticate_token`] or
    /// [`Services::authenticate_session`]).
    ///
    /// [`Services::authenticate_token`]: crate::Services::authenticate_token
    /// [`Services::authenticate_session`]: crate::Services::authenticate_session
    pub fn new(
        principal: Principal,
        client_ip: Option<String>,
        via: Via,
        session: Option<crate::SessionKey>,
    ) -> Self {
        Self {
            principal,
            client_ip,
            via,
            session,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(user_type: UserType, is_superuser: bool) -> User {
        let now = chrono::Utc::now();
        User {
            pk: 7,
            uuid: uuid::Uuid::new_v4(),
            username: "u".into(),
            name: String::new(),
            email: String::new(),
            is_active: true,
            is_superuser,
            user_type,
            path: "users".into(),
            attributes: Default::default(),
            last_login: None,
            date_joined: now,
            last_updated: now,
            password_change_date: now,
            groups: vec![],
            roles: vec![],
        }
    }

    #[test]
    fn object_grants_limit_visibility() {
        let principal = Principal::for_user(
            user(UserType::Internal, false),
            PermissionSet::from_grants([("authentik_core.view_group".into(), "g1".into())]),
        );
        assert_eq!(
            principal.visibility("authentik_core.view_group").unwrap(),
            Some(Visibility::Only(vec!["g1".into()]))
        );
        assert!(principal.has_on("authentik_core.view_group", "g1"));
        assert!(!principal.has_on("authentik_core.view_group", "g2"));
        assert!(!principal.has("authentik_core.view_group"));
    }

    #[test]
    fn nothing_visible_is_forbidden_for_users_but_empty_for_internal_service_accounts() {
        let person = Principal::for_user(user(UserType::Internal, false), Default::default());
        assert!(matches!(
            person.visibility("authentik_core.view_user"),
            Err(ServiceError::Forbidden { .. })
        ));
        let outpost = Principal::for_user(
            user(UserType::InternalServiceAccount, false),
            Default::default(),
        );
        assert_eq!(
            outpost.visibility("authentik_core.view_user").unwrap(),
            None
        );
    }

    #[test]
    fn superusers_and_the_system_hold_everything() {
        let admin = Principal::for_user(user(UserType::Internal, true), Default::default());
        assert!(admin.has("authentik_core.delete_user"));
        assert_eq!(admin.visibility("x.view_y").unwrap(), Some(Visibility::All));
        assert!(Principal::system().has("anything.at_all"));
    }

    #[test]
    fn a_grant_is_held_globally_or_on_its_object_only() {
        let principal = Principal::for_user(
            user(UserType::Internal, false),
            PermissionSet::from_grants([
                ("authentik_core.view_user".into(), String::new()),
                ("authentik_core.change_group".into(), "g1".into()),
            ]),
        );
        let grants = [
            ("authentik_core.view_user".to_owned(), "42".to_owned()),
            ("authentik_core.change_group".to_owned(), "g1".to_owned()),
        ];
        assert_eq!(principal.first_missing(&grants), None);
        let more = [("authentik_core.change_group".to_owned(), String::new())];
        assert_eq!(principal.first_missing(&more), Some(&more[0]));
        let other = [("authentik_core.change_group".to_owned(), "g2".to_owned())];
        assert_eq!(principal.first_missing(&other), Some(&other[0]));
    }
}
