//! The models a blueprint entry can name, and how each one is read.
//!
//! One [`Kind`] per model, keyed by authentik's `app_label.model` from
//! [`garrison_model::models`]; one [`Schema`] per kind saying which fields its serialized form
//! has, which a blueprint may write and which authentik accepts but Garrison ignores; one
//! [`Object`] variant holding a loaded object. Adding a model (a provider, an outpost, …) is
//! a variant here (kind, schema, object, view, loads) plus its conversion and its
//! create/update/delete calls in `write.rs`.
use garrison_model::models::{self, ModelName};
use garrison_model::{Application, Brand, Group, Role, Token, User};
use garrison_store::outposts::{Paging, applications as app_store, brands as brand_store};
use garrison_store::{
    Conn, groups as group_store, roles as role_store, tokens as token_store, users as user_store,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::ServiceResult;
use crate::authz::Caller;

/// Every row: lists are read whole when a lookup has no natural key to go by.
const ALL_ROWS: u64 = i64::MAX as u64;

/// A model blueprints can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Group,
    Role,
    User,
    Application,
    Brand,
    Token,
}

/// What a blueprint may do with a model's fields.
#[derive(Debug)]
pub(super) struct Schema {
    pub model: ModelName,
    /// The fields of the serialized object (authentik's API names): what identifiers and
    /// `!Find` queries may match (besides `pk`), and what `!FindObject` returns.
    pub fields: &'static [&'static str],
    /// The fields a blueprint may write, blueprint-only ones included.
    pub writable: &'static [&'static str],
    /// Fields authentik's serializer has that Garrison accepts and ignores on write: read-only
    /// in authentik (DRF drops them silently there too), or kept by older authentik versions.
    pub ignored: &'static [&'static str],
    /// Writable fields the model's adapter handles itself instead of the generic comparison
    /// (write-only secrets, additive permission lists).
    pub special: &'static [&'static str],
    /// Write-only secrets: their values are never shown, not in a plan's fields (which say
    /// `"(hidden)"`), nor among the identifiers an outcome or a failure message repeats.
    pub secrets: &'static [&'static str],
    /// Many-to-many fields: compared as sets (order and repeats do not matter).
    pub sets: &'static [&'static str],
    /// Fields that may be written as `null`.
    pub nullable: &'static [&'static str],
    /// Date-time fields: compared as instants, so that `…T00:00:00Z` and `…T00:00:00+00:00`
    /// are the same value.
    pub timestamps: &'static [&'static str],
    /// A unique field with an index: a lookup by it reads one row instead of the table.
    pub natural_key: &'static str,
}

static GROUP_SCHEMA: Schema = Schema {
    model: models::GROUP,
    fields: &[
        "pk",
        "num_pk",
        "name",
        "is_superuser",
        "parents",
        "users",
        "attributes",
        "roles",
        "children",
    ],
    writable: &[
        "name",
        "is_superuser",
        "parents",
        "users",
        "attributes",
        "roles",
    ],
    ignored: &[
        "num_pk",
        "children",
        // Before groups could have several parents, authentik wrote one `parent`; current
        // authentik ignores the key, and so does Garrison.
        "parent",
        "parents_obj",
        "users_obj",
        "roles_obj",
        "inherited_roles_obj",
        "children_obj",
    ],
    special: &[],
    secrets: &[],
    sets: &["parents", "users", "roles", "children"],
    nullable: &[],
    timestamps: &[],
    natural_key: "name",
};

static ROLE_SCHEMA: Schema = Schema {
    model: models::ROLE,
    fields: &["pk", "name", "permissions"],
    // `permissions` (global `app_label.codename` grants) is blueprint-only, as in authentik.
    writable: &["name", "permissions"],
    ignored: &[],
    special: &["permissions"],
    secrets: &[],
    sets: &["permissions"],
    nullable: &[],
    timestamps: &[],
    natural_key: "name",
};

static USER_SCHEMA: Schema = Schema {
    model: models::USER,
    fields: &[
        "pk",
        "uuid",
        "username",
        "name",
        "email",
        "is_active",
        "is_superuser",
        "type",
        "path",
        "attributes",
        "last_login",
        "date_joined",
        "last_updated",
        "password_change_date",
        "groups",
        "roles",
    ],
    // `password` and `permissions` are blueprint-only, as in authentik.
    writable: &[
        "username",
        "name",
        "email",
        "is_active",
        "type",
        "path",
        "attributes",
        "groups",
        "roles",
        "password",
        "permissions",
    ],
    ignored: &[
        "uuid",
        "uid",
        "avatar",
        "is_superuser",
        "last_login",
        "date_joined",
        "last_updated",
        "password_change_date",
        "groups_obj",
        "roles_obj",
    ],
    special: &["password", "permissions"],
    secrets: &["password"],
    sets: &["groups", "roles"],
    nullable: &["password"],
    timestamps: &[],
    natural_key: "username",
};

static APPLICATION_SCHEMA: Schema = Schema {
    model: models::APPLICATION,
    fields: &[
        "pk",
        "pbm_uuid",
        "name",
        "slug",
        "provider",
        "backchannel_providers",
        "open_in_new_tab",
        "meta_launch_url",
        "meta_icon",
        "meta_description",
        "meta_publisher",
        "policy_engine_mode",
        "group",
        "meta_hide",
    ],
    writable: &[
        "name",
        "slug",
        "provider",
        "backchannel_providers",
        "open_in_new_tab",
        "meta_launch_url",
        "meta_icon",
        "meta_description",
        "meta_publisher",
        "policy_engine_mode",
        "group",
        "meta_hide",
    ],
    ignored: &[
        "pbm_uuid",
        "provider_obj",
        "backchannel_providers_obj",
        "launch_url",
        "meta_icon_url",
        "meta_icon_themed_urls",
    ],
    special: &[],
    secrets: &[],
    sets: &["backchannel_providers"],
    nullable: &["provider"],
    timestamps: &[],
    natural_key: "slug",
};

pub(super) use crate::outposts::{BRAND_REFERENCES, BRAND_TEXTS};

static BRAND_SCHEMA: Schema = Schema {
    model: models::BRAND,
    fields: &[
        "brand_uuid",
        "domain",
        "default",
        "branding_title",
        "branding_logo",
        "branding_favicon",
        "branding_custom_css",
        "branding_default_flow_background",
        "branding_map_tiles",
        "flow_authentication",
        "flow_user_switch",
        "flow_invalidation",
        "flow_recovery",
        "flow_unenrollment",
        "flow_user_settings",
        "flow_device_code",
        "flow_lockdown",
        "flow_request",
        "default_application",
        "web_certificate",
        "client_certificates",
        "attributes",
    ],
    writable: &[
        "domain",
        "default",
        "branding_title",
        "branding_logo",
        "branding_favicon",
        "branding_custom_css",
        "branding_default_flow_background",
        "branding_map_tiles",
        "flow_authentication",
        "flow_user_switch",
        "flow_invalidation",
        "flow_recovery",
        "flow_unenrollment",
        "flow_user_settings",
        "flow_device_code",
        "flow_lockdown",
        "flow_request",
        "default_application",
        "web_certificate",
        "client_certificates",
        "attributes",
    ],
    ignored: &["brand_uuid"],
    special: &[],
    secrets: &[],
    sets: &["client_certificates"],
    nullable: &[
        "flow_authentication",
        "flow_user_switch",
        "flow_invalidation",
        "flow_recovery",
        "flow_unenrollment",
        "flow_user_settings",
        "flow_device_code",
        "flow_lockdown",
        "flow_request",
        "default_application",
        "web_certificate",
    ],
    timestamps: &[],
    natural_key: "domain",
};

static TOKEN_SCHEMA: Schema = Schema {
    model: models::TOKEN,
    fields: &[
        "pk",
        "managed",
        "identifier",
        "intent",
        "user",
        "description",
        "expires",
        "expiring",
    ],
    // `key` is blueprint-only, as in authentik (its API never shows a key in the serialized
    // token). `user` is the owner's integer pk (what `!KeyOf` gives for a user entry).
    writable: &[
        "identifier",
        "intent",
        "user",
        "description",
        "expires",
        "expiring",
        "key",
    ],
    // `managed` is read-only in authentik's serializer: tokens the server manages are its own.
    ignored: &["managed", "user_obj"],
    special: &["key"],
    secrets: &["key"],
    sets: &[],
    nullable: &["expires"],
    timestamps: &["expires"],
    natural_key: "identifier",
};

impl Kind {
    pub(super) const ALL: [Kind; 6] = [
        Kind::Group,
        Kind::Role,
        Kind::User,
        Kind::Application,
        Kind::Brand,
        Kind::Token,
    ];

    pub(super) fn schema(self) -> &'static Schema {
        match self {
            Kind::Group => &GROUP_SCHEMA,
            Kind::Role => &ROLE_SCHEMA,
            Kind::User => &USER_SCHEMA,
            Kind::Application => &APPLICATION_SCHEMA,
            Kind::Brand => &BRAND_SCHEMA,
            Kind::Token => &TOKEN_SCHEMA,
        }
    }

    pub(super) fn model(self) -> ModelName {
        self.schema().model
    }

    /// `app_label.model` as Garrison spells it (the model part in lower case).
    pub(super) fn qualified(self) -> String {
        self.model().qualified()
    }

    /// The kind named `app_label` and `model`: the app label as written, the model part in
    /// any case (as authentik's registry matches them).
    pub(super) fn from_name(app_label: &str, model: &str) -> Option<Kind> {
        let model = model.to_lowercase();
        Kind::ALL
            .into_iter()
            .find(|kind| kind.model().app_label == app_label && kind.model().model == model)
    }
}

/// One loaded object.
#[derive(Clone, Debug)]
pub(super) enum Object {
    Group(Group),
    Role(Role),
    User(User),
    Application(Application),
    Brand(Brand),
    Token(Token),
}

impl Object {
    pub(super) fn kind(&self) -> Kind {
        match self {
            Object::Group(_) => Kind::Group,
            Object::Role(_) => Kind::Role,
            Object::User(_) => Kind::User,
            Object::Application(_) => Kind::Application,
            Object::Brand(_) => Kind::Brand,
            Object::Token(_) => Kind::Token,
        }
    }

    /// The primary key as the API shows it: a UUID string, or a user's integer.
    pub(super) fn pk(&self) -> Value {
        match self {
            Object::Group(group) => Value::String(group.pk.to_string()),
            Object::Role(role) => Value::String(role.pk.to_string()),
            Object::User(user) => Value::from(user.pk),
            Object::Application(app) => Value::String(app.pk.to_string()),
            Object::Brand(brand) => Value::String(brand.pk.to_string()),
            Object::Token(token) => Value::String(token.pk.to_string()),
        }
    }

    /// The primary key as object permissions name it.
    pub(super) fn pk_text(&self) -> String {
        match self.pk() {
            Value::String(text) => text,
            other => other.to_string(),
        }
    }

    /// The serialized object, in authentik's field names ([`Schema::fields`], in that order).
    pub(super) fn view(&self) -> Map<String, Value> {
        let value = match self {
            Object::Group(g) => json!({
                "pk": g.pk,
                "num_pk": g.num_pk,
                "name": g.name,
                "is_superuser": g.is_superuser,
                "parents": g.parents,
                "users": g.users,
                "attributes": g.attributes,
                "roles": g.roles,
                "children": g.children,
            }),
            Object::Role(r) => json!({
                "pk": r.pk,
                "name": r.name,
                "permissions": r.permissions,
            }),
            Object::User(u) => json!({
                "pk": u.pk,
                "uuid": u.uuid,
                "username": u.username,
                "name": u.name,
                "email": u.email,
                "is_active": u.is_active,
                "is_superuser": u.is_superuser,
                "type": u.user_type,
                "path": u.path,
                "attributes": u.attributes,
                "last_login": u.last_login,
                "date_joined": u.date_joined,
                "last_updated": u.last_updated,
                "password_change_date": u.password_change_date,
                "groups": u.groups,
                "roles": u.roles,
            }),
            Object::Application(a) => json!({
                "pk": a.pk,
                "pbm_uuid": a.pk,
                "name": a.name,
                "slug": a.slug,
                "provider": a.provider,
                "backchannel_providers": a.backchannel_providers,
                "open_in_new_tab": a.open_in_new_tab,
                "meta_launch_url": a.meta_launch_url,
                "meta_icon": a.meta_icon,
                "meta_description": a.meta_description,
                "meta_publisher": a.meta_publisher,
                "policy_engine_mode": a.policy_engine_mode,
                "group": a.group,
                "meta_hide": a.meta_hide,
            }),
            Object::Brand(b) => {
                let mut view = Map::new();
                view.insert("brand_uuid".into(), json!(b.pk));
                view.insert("domain".into(), json!(b.domain));
                view.insert("default".into(), json!(b.default));
                for key in BRAND_TEXTS.iter().chain(BRAND_REFERENCES) {
                    let setting = b.settings.get(*key).cloned().unwrap_or(Value::Null);
                    view.insert((*key).to_owned(), setting);
                }
                view.insert("web_certificate".into(), json!(b.web_certificate));
                view.insert("client_certificates".into(), json!(b.client_certificates));
                view.insert("attributes".into(), json!(b.attributes));
                Value::Object(view)
            }
            // Never the key: authentik's serializer has none, and Garrison's token has none.
            Object::Token(t) => json!({
                "pk": t.pk,
                "managed": t.managed,
                "identifier": t.identifier,
                "intent": t.intent.as_str(),
                "user": t.user,
                "description": t.description,
                "expires": t.expires,
                "expiring": t.expiring,
            }),
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Whether `caller` may see this object: lookups (identifiers, `!Find`) see what the
    /// caller may view, nothing more, so a blueprint cannot probe for objects hidden from
    /// its author. (The system and superusers see everything, as authentik's importer does.)
    pub(super) fn visible_to(&self, caller: &Caller) -> bool {
        // Users see themselves and their own tokens, as the API shows them.
        let own = match self {
            Object::User(user) => Some(user.pk),
            Object::Token(token) => Some(token.user),
            _ => None,
        };
        if own.is_some() && caller.principal.user_pk() == own {
            return true;
        }
        caller
            .principal
            .has_on(&self.kind().model().permission("view"), &self.pk_text())
    }
}

fn as_uuid(value: &Value) -> Option<Uuid> {
    value
        .as_str()
        .and_then(|text| Uuid::parse_str(text.trim()).ok())
}

fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
}

fn one(object: Option<Object>) -> Vec<Object> {
    object.into_iter().collect()
}

fn paging(ordering: garrison_store::sql::Ordering) -> Paging {
    Paging {
        ordering,
        limit: ALL_ROWS,
        offset: 0,
    }
}

/// The object with primary key `pk` (a UUID string, or a user's integer), if any.
pub(super) async fn load_by_pk(
    conn: &mut Conn,
    kind: Kind,
    pk: &Value,
) -> ServiceResult<Vec<Object>> {
    Ok(match kind {
        Kind::Group => match as_uuid(pk) {
            Some(uuid) => one(group_store::get(conn, uuid).await?.map(Object::Group)),
            None => Vec::new(),
        },
        Kind::Role => match as_uuid(pk) {
            Some(uuid) => one(role_store::get(conn, uuid)
                .await?
                .map(|(_, role)| Object::Role(role))),
            None => Vec::new(),
        },
        Kind::User => match as_i64(pk) {
            Some(pk) => one(user_store::get(conn, pk).await?.map(Object::User)),
            None => Vec::new(),
        },
        Kind::Application => match as_uuid(pk) {
            // Applications are read by slug; by UUID they are picked from the list.
            Some(uuid) => load_all(conn, kind)
                .await?
                .into_iter()
                .filter(|object| matches!(object, Object::Application(app) if app.pk == uuid))
                .collect(),
            None => Vec::new(),
        },
        Kind::Brand => match as_uuid(pk) {
            Some(uuid) => one(brand_store::get(conn, uuid).await?.map(Object::Brand)),
            None => Vec::new(),
        },
        Kind::Token => match as_uuid(pk) {
            // Tokens are read by identifier; by UUID they are picked from the list.
            Some(uuid) => load_all(conn, kind)
                .await?
                .into_iter()
                .filter(|object| matches!(object, Object::Token(token) if token.pk == uuid))
                .collect(),
            None => Vec::new(),
        },
    })
}

/// The objects whose [`Schema::natural_key`] is exactly `value` (at most one: it is unique).
pub(super) async fn load_by_natural_key(
    conn: &mut Conn,
    kind: Kind,
    value: &str,
) -> ServiceResult<Vec<Object>> {
    Ok(match kind {
        Kind::Group => {
            let filter = group_store::GroupFilter {
                name: Some(value.to_owned()),
                ..Default::default()
            };
            group_store::list(conn, &filter, group_store::DEFAULT_ORDERING, ALL_ROWS, 0)
                .await?
                .0
                .into_iter()
                .map(Object::Group)
                .collect()
        }
        Kind::Role => one(role_store::get_by_name(conn, value)
            .await?
            .map(|(_, role)| Object::Role(role))),
        Kind::User => one(user_store::get_by_username(conn, value)
            .await?
            .map(Object::User)),
        Kind::Application => one(app_store::get_by_slug(conn, value)
            .await?
            .map(Object::Application)),
        Kind::Brand => {
            let filter = brand_store::Filter {
                domain: Some(value.to_owned()),
                ..Default::default()
            };
            brand_store::list(conn, &filter, paging(brand_store::DEFAULT_ORDERING))
                .await?
                .0
                .into_iter()
                .map(Object::Brand)
                .collect()
        }
        Kind::Token => one(token_store::get(conn, value).await?.map(Object::Token)),
    })
}

/// The users with exactly this email address.
pub(super) async fn load_users_by_email(
    conn: &mut Conn,
    email: &str,
) -> ServiceResult<Vec<Object>> {
    let mut users = Vec::new();
    for pk in user_store::pks_with_email(conn, email).await? {
        if let Some(user) = user_store::get(conn, pk).await? {
            users.push(Object::User(user));
        }
    }
    Ok(users)
}

/// Every object of `kind`, in the order its list shows them (the "first" match of a lookup
/// is the first in this order, as authentik's `.first()` takes the model's ordering).
pub(super) async fn load_all(conn: &mut Conn, kind: Kind) -> ServiceResult<Vec<Object>> {
    Ok(match kind {
        Kind::Group => group_store::list(
            conn,
            &group_store::GroupFilter::default(),
            group_store::DEFAULT_ORDERING,
            ALL_ROWS,
            0,
        )
        .await?
        .0
        .into_iter()
        .map(Object::Group)
        .collect(),
        Kind::Role => role_store::list(conn, None, None, role_store::DEFAULT_ORDERING, ALL_ROWS, 0)
            .await?
            .0
            .into_iter()
            .map(Object::Role)
            .collect(),
        Kind::User => user_store::list(
            conn,
            &user_store::UserFilter::default(),
            user_store::DEFAULT_ORDERING,
            ALL_ROWS,
            0,
        )
        .await?
        .0
        .into_iter()
        .map(Object::User)
        .collect(),
        Kind::Application => app_store::list(
            conn,
            &app_store::Filter::default(),
            paging(app_store::DEFAULT_ORDERING),
        )
        .await?
        .0
        .into_iter()
        .map(Object::Application)
        .collect(),
        Kind::Brand => brand_store::list(
            conn,
            &brand_store::Filter::default(),
            paging(brand_store::DEFAULT_ORDERING),
        )
        .await?
        .0
        .into_iter()
        .map(Object::Brand)
        .collect(),
        Kind::Token => token_store::list(
            conn,
            &token_store::TokenFilter::default(),
            token_store::DEFAULT_ORDERING,
            ALL_ROWS,
            0,
        )
        .await?
        .0
        .into_iter()
        .map(Object::Token)
        .collect(),
    })
}
