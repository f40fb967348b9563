use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Timestamp;

/// authentik's user types. Service accounts cannot log in interactively; an *internal* service
/// account belongs to the system (outposts) and sees empty lists instead of 403.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    #[default]
    Internal,
    External,
    ServiceAccount,
    InternalServiceAccount,
}

impl UserType {
    pub const ALL: [UserType; 4] = [
        Self::Internal,
        Self::External,
        Self::ServiceAccount,
        Self::InternalServiceAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
            Self::ServiceAccount => "service_account",
            Self::InternalServiceAccount => "internal_service_account",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    pub fn is_service_account(self) -> bool {
        matches!(self, Self::ServiceAccount | Self::InternalServiceAccount)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub pk: i64,
    pub uuid: Uuid,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub user_type: UserType,
    pub path: String,
    pub attributes: Map<String, Value>,
    pub last_login: Option<Timestamp>,
    pub date_joined: Timestamp,
    pub last_updated: Timestamp,
    pub password_change_date: Timestamp,
    /// Groups the user is a direct member of.
    pub groups: Vec<Uuid>,
    /// Roles assigned to the user directly (not through groups).
    pub roles: Vec<Uuid>,
}

/// Fields a caller may set on a user. `None` leaves a field as it is (or at its default on
/// create); the services decide which fields are required.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserChanges {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
    pub user_type: Option<UserType>,
    pub path: Option<String>,
    pub attributes: Option<Map<String, Value>>,
    pub groups: Option<Vec<Uuid>>,
    pub roles: Option<Vec<Uuid>>,
    /// Only used on create, by the UI and the bootstrap command; the API sets passwords through
    /// `set_password`. Never stored in clear, never written to events.
    pub password: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub pk: Uuid,
    pub num_pk: i64,
    pub name: String,
    pub is_superuser: bool,
    pub parents: Vec<Uuid>,
    pub attributes: Map<String, Value>,
    pub roles: Vec<Uuid>,
    pub users: Vec<i64>,
    /// Groups that name this one as a parent.
    pub children: Vec<Uuid>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
    pub parents: Option<Vec<Uuid>>,
    pub attributes: Option<Map<String, Value>>,
    pub roles: Option<Vec<Uuid>>,
    pub users: Option<Vec<i64>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub pk: Uuid,
    pub name: String,
    /// Global permissions (`app_label.codename`) the role grants.
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChanges {
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenIntent {
    Verification,
    #[default]
    Api,
    Recovery,
    AppPassword,
}

impl TokenIntent {
    pub const ALL: [TokenIntent; 4] = [
        Self::Verification,
        Self::Api,
        Self::Recovery,
        Self::AppPassword,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::Api => "api",
            Self::Recovery => "recovery",
            Self::AppPassword => "app_password",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

/// An API token. The key itself is not part of this type: it is shown once on creation and
/// afterwards only through the explicit `view_key` operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub pk: Uuid,
    pub identifier: String,
    pub managed: Option<String>,
    pub intent: TokenIntent,
    pub user: i64,
    pub description: String,
    pub expires: Option<Timestamp>,
    pub expiring: bool,
}

impl Token {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expiring && self.expires.is_some_and(|at| at <= now)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenChanges {
    pub identifier: Option<String>,
    pub managed: Option<Option<String>>,
    pub intent: Option<TokenIntent>,
    pub user: Option<i64>,
    pub description: Option<String>,
    pub expires: Option<Option<Timestamp>>,
    pub expiring: Option<bool>,
}
