//! The JSON shapes of the API, as authentik's client expects them, with their OpenAPI schemas.
use chrono::{DateTime, Utc};
use garrison_model::{Event, Group, Page, Role, Token, TokenIntent, User, UserType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// authentik's pagination block: `next`/`previous` are page numbers, 0 when there is none.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub next: u64,
    pub previous: u64,
    pub count: u64,
    pub current: u64,
    pub total_pages: u64,
    pub start_index: u64,
    pub end_index: u64,
}

#[derive(Debug, Serialize)]
pub struct Paginated<T> {
    pub pagination: Pagination,
    pub results: Vec<T>,
    pub autocomplete: Map<String, Value>,
}

impl<T> Paginated<T> {
    pub fn new<S>(page: Page<S>, map: impl FnMut(S) -> T) -> Self {
        let total_pages = page.total_pages();
        let current = page.request.page;
        let len = page.items.len() as u64;
        let start_index = if len == 0 {
            0
        } else {
            page.request.offset() + 1
        };
        let end_index = if len == 0 { 0 } else { start_index + len - 1 };
        Self {
            pagination: Pagination {
                next: if current < total_pages {
                    current + 1
                } else {
                    0
                },
                previous: if current > 1 { current - 1 } else { 0 },
                count: page.count,
                current,
                total_pages,
                start_index,
                end_index,
            },
            results: page.items.into_iter().map(map).collect(),
            autocomplete: Map::new(),
        }
    }
}

/// authentik's `uid`: a stable, opaque per-user hash.
pub fn uid_for(uuid: &Uuid) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(uuid.as_bytes()))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RoleJson {
    pub pk: Uuid,
    pub name: String,
}

impl From<Role> for RoleJson {
    fn from(role: Role) -> Self {
        Self {
            pk: role.pk,
            name: role.name,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserJson {
    pub pk: i64,
    pub username: String,
    pub name: String,
    pub is_active: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub date_joined: DateTime<Utc>,
    pub is_superuser: bool,
    pub groups: Vec<Uuid>,
    pub groups_obj: Option<Vec<Value>>,
    pub roles: Vec<Uuid>,
    pub roles_obj: Option<Vec<RoleJson>>,
    pub email: String,
    pub avatar: String,
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    pub uid: String,
    pub path: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub user_type: UserType,
    pub uuid: Uuid,
    pub password_change_date: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
}

pub const AVATAR: &str = "/static/avatar.svg";

impl From<User> for UserJson {
    fn from(user: User) -> Self {
        Self {
            pk: user.pk,
            uid: uid_for(&user.uuid),
            username: user.username,
            name: user.name,
            is_active: user.is_active,
            last_login: user.last_login,
            date_joined: user.date_joined,
            is_superuser: user.is_superuser,
            groups: user.groups,
            groups_obj: None,
            roles: user.roles,
            roles_obj: None,
            email: user.email,
            avatar: AVATAR.into(),
            attributes: user.attributes,
            path: user.path,
            user_type: user.user_type,
            uuid: user.uuid,
            password_change_date: user.password_change_date,
            last_updated: user.last_updated,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UserRequest)]
pub struct UserRequest {
    pub username: Option<String>,
    pub name: Option<String>,
    pub is_active: Option<bool>,
    pub last_login: Option<DateTime<Utc>>,
    pub groups: Option<Vec<Uuid>>,
    pub roles: Option<Vec<Uuid>>,
    pub email: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    pub path: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub user_type: Option<UserType>,
}

impl From<UserRequest> for garrison_model::UserChanges {
    fn from(r: UserRequest) -> Self {
        Self {
            username: r.username,
            name: r.name,
            email: r.email,
            is_active: r.is_active,
            user_type: r.user_type,
            path: r.path,
            attributes: r.attributes,
            groups: r.groups,
            roles: r.roles,
            password: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSelfGroup {
    pub name: String,
    pub pk: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSelf {
    pub pk: i64,
    pub username: String,
    pub name: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub is_current: bool,
    pub groups: Vec<UserSelfGroup>,
    pub roles: Vec<UserSelfGroup>,
    pub email: String,
    pub avatar: String,
    pub uid: String,
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub user_type: UserType,
    pub system_permissions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    pub user: UserSelf,
    pub users: Vec<UserSelf>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Group)]
pub struct GroupJson {
    pub pk: Uuid,
    pub num_pk: i64,
    pub name: String,
    pub is_superuser: bool,
    pub parents: Vec<Uuid>,
    pub parents_obj: Option<Vec<Value>>,
    pub users: Vec<i64>,
    pub users_obj: Option<Vec<Value>>,
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    pub roles: Vec<Uuid>,
    pub roles_obj: Vec<RoleJson>,
    pub inherited_roles_obj: Option<Vec<RoleJson>>,
    pub children: Vec<Uuid>,
    pub children_obj: Option<Vec<Value>>,
}

impl GroupJson {
    pub fn new(group: Group, roles: &std::collections::HashMap<Uuid, String>) -> Self {
        let roles_obj = group
            .roles
            .iter()
            .filter_map(|pk| {
                roles.get(pk).map(|name| RoleJson {
                    pk: *pk,
                    name: name.clone(),
                })
            })
            .collect();
        Self {
            pk: group.pk,
            num_pk: group.num_pk,
            name: group.name,
            is_superuser: group.is_superuser,
            parents: group.parents,
            parents_obj: None,
            users: group.users,
            users_obj: None,
            attributes: group.attributes,
            roles: group.roles,
            roles_obj,
            inherited_roles_obj: None,
            children: group.children,
            children_obj: None,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupRequest)]
pub struct GroupRequest {
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
    pub parents: Option<Vec<Uuid>>,
    pub users: Option<Vec<i64>>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    pub roles: Option<Vec<Uuid>>,
}

impl From<GroupRequest> for garrison_model::GroupChanges {
    fn from(r: GroupRequest) -> Self {
        Self {
            name: r.name,
            is_superuser: r.is_superuser,
            parents: r.parents,
            attributes: r.attributes,
            roles: r.roles,
            users: r.users,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenJson {
    pub pk: Uuid,
    pub managed: Option<String>,
    pub identifier: String,
    #[schema(value_type = String)]
    pub intent: TokenIntent,
    pub user: i64,
    pub user_obj: Option<UserJson>,
    pub description: String,
    pub expires: Option<DateTime<Utc>>,
    pub expiring: bool,
}

impl TokenJson {
    pub fn new(token: Token, user_obj: Option<UserJson>) -> Self {
        Self {
            pk: token.pk,
            managed: token.managed,
            identifier: token.identifier,
            intent: token.intent,
            user: token.user,
            user_obj,
            description: token.description,
            expires: token.expires,
            expiring: token.expiring,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenRequest)]
pub struct TokenRequest {
    pub managed: Option<Option<String>>,
    pub identifier: Option<String>,
    #[schema(value_type = Option<String>)]
    pub intent: Option<TokenIntent>,
    pub user: Option<i64>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub expires: Option<Option<DateTime<Utc>>>,
    pub expiring: Option<bool>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl From<TokenRequest> for garrison_model::TokenChanges {
    fn from(r: TokenRequest) -> Self {
        Self {
            identifier: r.identifier,
            managed: r.managed,
            intent: r.intent,
            user: r.user,
            description: r.description,
            expires: r.expires,
            expiring: r.expiring,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSetKeyRequest {
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPasswordSetRequest {
    pub password: String,
    /// Garrison's addition: required when users change their own password without holding
    /// the reset permission.
    #[serde(default)]
    pub current_password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserAccountRequest {
    pub pk: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionAssignRequest {
    pub permissions: Vec<String>,
    /// Accepted for compatibility with authentik's client; the permission strings already name
    /// their model.
    #[allow(dead_code)]
    pub model: Option<String>,
    pub object_pk: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventJson {
    pub pk: Uuid,
    #[schema(value_type = Object)]
    pub user: Value,
    pub action: String,
    pub app: String,
    #[schema(value_type = Object)]
    pub context: Value,
    pub client_ip: Option<String>,
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub brand: Value,
}

impl From<Event> for EventJson {
    fn from(e: Event) -> Self {
        Self {
            pk: e.pk,
            user: e.user,
            action: e.action,
            app: e.app,
            context: e.context,
            client_ip: e.client_ip,
            created: e.created,
            expires: e.expires,
            brand: Value::Object(Map::new()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionJson {
    pub id: i64,
    pub name: String,
    pub codename: String,
    pub model: String,
    pub app_label: String,
    pub app_label_verbose: String,
    pub model_verbose: String,
}
