//! The models a blueprint entry can name, and how each one is read.
//!
//! One [`Kind`] per model, keyed by authentik's `app_label.model` from
//! [`garrison_model::models`]; one [`Schema`] per kind saying which fields its serialized form
//! has, which a blueprint may write and which authentik accepts but Garrison ignores; one
//! [`Object`] variant holding a loaded object. Adding a model is a variant here (kind,
//! schema, object, view, loads) plus its conversion and its create/update/delete calls in
//! `write.rs`.
//!
//! The four provider models share one [`Kind::Provider`] (and one [`Object::Provider`]): one
//! `Provider` type with a [`ProviderKind`], a schema per kind. Objects are read from the store
//! alone, where secrets stay sealed: no loaded object carries one (see [`Object::provider`]).
use garrison_model::models::{self, ModelName};
use garrison_model::{
    Application, Brand, CertificateKeyPair, Group, Outpost, Provider, ProviderKind,
    ProviderSettings, Role, ServiceConnection, ServiceConnectionKind, Token, User,
};
use garrison_store::outposts::providers::ProviderRecord;
use garrison_store::outposts::{
    Paging, applications as app_store, brands as brand_store, certificates as cert_store,
    outposts as outpost_store, providers as provider_store,
    service_connections as connection_store,
};
use garrison_store::{
    Conn, groups as group_store, roles as role_store, tokens as token_store, users as user_store,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::authz::Caller;
use crate::{ServiceError, ServiceResult};

/// A primary key that is a UUID, as blueprints see it (`!KeyOf`, identifiers): its text.
pub(super) fn uuid_pk(pk: Uuid) -> Value {
    Value::String(pk.to_string())
}

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
    /// One of the four kinds of provider an outpost serves (a model each).
    Provider(ProviderKind),
    Outpost,
    CertificateKeyPair,
    /// Service connections: two models of one type, a variant each (a
    /// [`ServiceConnectionKind`] cannot be part of a `Kind`, which lookups hash).
    DockerConnection,
    KubernetesConnection,
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
    /// Outpost configurations: compared as the outpost reads them, every key authentik defines
    /// at its default unless given (see `write::same_outpost_config`).
    pub outpost_configs: &'static [&'static str],
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
    outpost_configs: &[],
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
    outpost_configs: &[],
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
    outpost_configs: &[],
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
    outpost_configs: &[],
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
    outpost_configs: &[],
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
    outpost_configs: &[],
    natural_key: "identifier",
};

// Providers. The fields are what the API's JSON for the kind holds (authentik's
// `…ProviderSerializer`): the shared ones, then the kind's own settings without the secrets the
// API does not show. The writable ones are what the API's `…ProviderRequest` for the kind
// accepts: the shared ones map onto `ProviderChanges`, the rest are the kind's settings. A
// RADIUS provider's `shared_secret` is writable; the API shows it (a RADIUS client must be
// configured with it), but it is sealed in the store, from which objects are read here, so it
// is compared by the adapter and a plan hides it. A proxy provider's `client_secret` and
// `cookie_secret` are neither shown nor accepted by the API, so not here either; its
// `client_id` is shown and read-only.

static PROXY_PROVIDER_SCHEMA: Schema = Schema {
    model: models::PROXY_PROVIDER,
    fields: &[
        "pk",
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "certificate",
        "internal_host",
        "external_host",
        "internal_host_ssl_validation",
        "skip_path_regex",
        "basic_auth_enabled",
        "basic_auth_password_attribute",
        "basic_auth_user_attribute",
        "mode",
        "intercept_header_auth",
        "cookie_domain",
        "access_token_validity",
        "refresh_token_validity",
        "jwt_federation_sources",
        "jwt_federation_providers",
        "client_id",
    ],
    writable: &[
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "certificate",
        "internal_host",
        "external_host",
        "internal_host_ssl_validation",
        "skip_path_regex",
        "basic_auth_enabled",
        "basic_auth_password_attribute",
        "basic_auth_user_attribute",
        "mode",
        "intercept_header_auth",
        "cookie_domain",
        "access_token_validity",
        "refresh_token_validity",
        "jwt_federation_sources",
        "jwt_federation_providers",
    ],
    ignored: &[
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
        "redirect_uris",
        "client_id",
    ],
    special: &[],
    secrets: &[],
    sets: &[
        "property_mappings",
        "outpost_set",
        "jwt_federation_sources",
        "jwt_federation_providers",
    ],
    nullable: &[
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "certificate",
    ],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

static LDAP_PROVIDER_SCHEMA: Schema = Schema {
    model: models::LDAP_PROVIDER,
    fields: &[
        "pk",
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "certificate",
        "base_dn",
        "tls_server_name",
        "uid_start_number",
        "gid_start_number",
        "search_mode",
        "bind_mode",
        "mfa_support",
    ],
    writable: &[
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "certificate",
        "base_dn",
        "tls_server_name",
        "uid_start_number",
        "gid_start_number",
        "search_mode",
        "bind_mode",
        "mfa_support",
    ],
    ignored: &[
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
    ],
    special: &[],
    secrets: &[],
    sets: &["property_mappings", "outpost_set"],
    nullable: &[
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "certificate",
    ],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

static RADIUS_PROVIDER_SCHEMA: Schema = Schema {
    model: models::RADIUS_PROVIDER,
    fields: &[
        "pk",
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "certificate",
        "client_networks",
        "mfa_support",
    ],
    writable: &[
        "name",
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "property_mappings",
        "certificate",
        "client_networks",
        "shared_secret",
        "mfa_support",
    ],
    ignored: &[
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
    ],
    special: &["shared_secret"],
    secrets: &["shared_secret"],
    sets: &["property_mappings", "outpost_set"],
    nullable: &[
        "authentication_flow",
        "authorization_flow",
        "invalidation_flow",
        "certificate",
    ],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

// authentik's RAC serializer has neither an invalidation flow nor a certificate.
static RAC_PROVIDER_SCHEMA: Schema = Schema {
    model: models::RAC_PROVIDER,
    fields: &[
        "pk",
        "name",
        "authentication_flow",
        "authorization_flow",
        "property_mappings",
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "settings",
        "connection_expiry",
        "delete_token_on_disconnect",
    ],
    writable: &[
        "name",
        "authentication_flow",
        "authorization_flow",
        "property_mappings",
        "settings",
        "connection_expiry",
        "delete_token_on_disconnect",
    ],
    ignored: &[
        "assigned_application_slug",
        "assigned_application_name",
        "assigned_backchannel_application_slug",
        "assigned_backchannel_application_name",
        "outpost_set",
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
    ],
    special: &[],
    secrets: &[],
    sets: &["property_mappings", "outpost_set"],
    nullable: &["authentication_flow", "authorization_flow"],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

static OUTPOST_SCHEMA: Schema = Schema {
    model: models::OUTPOST,
    fields: &[
        "pk",
        "name",
        "type",
        "providers",
        "service_connection",
        "refresh_interval_s",
        "token_identifier",
        "config",
        "managed",
        "config_hash",
        "expansion_error",
    ],
    // `providers` are provider integer pks (what `!KeyOf` gives for a provider entry). Only
    // the server may set `managed` to something else than it is (the service says so).
    writable: &[
        "name",
        "type",
        "providers",
        "service_connection",
        "config",
        "managed",
    ],
    // `config_hash` and `expansion_error` are Garrison's read-only additions to the API's JSON.
    ignored: &[
        "providers_obj",
        "service_connection_obj",
        "refresh_interval_s",
        "token_identifier",
        "config_hash",
        "expansion_error",
    ],
    special: &[],
    secrets: &[],
    sets: &["providers"],
    nullable: &["service_connection", "managed"],
    timestamps: &[],
    outpost_configs: &["config"],
    natural_key: "name",
};

static CERTIFICATE_KEYPAIR_SCHEMA: Schema = Schema {
    model: models::CERTIFICATE_KEYPAIR,
    fields: &[
        "pk",
        "name",
        "fingerprint_sha256",
        "fingerprint_sha1",
        "cert_expiry",
        "cert_subject",
        "private_key_available",
        "key_type",
        "managed",
    ],
    // Both PEMs are write-only in authentik's serializer, and the API's JSON has neither: the
    // adapter compares them with what is stored. `certificate_data` is public and shown in a
    // plan; `key_data` is a secret and never shown.
    writable: &["name", "certificate_data", "key_data"],
    ignored: &[
        "fingerprint_sha256",
        "fingerprint_sha1",
        "cert_expiry",
        "cert_subject",
        "private_key_available",
        "key_type",
        "certificate_download_url",
        "private_key_download_url",
        "managed",
    ],
    special: &["certificate_data", "key_data"],
    secrets: &["key_data"],
    sets: &[],
    nullable: &[],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

static DOCKER_CONNECTION_SCHEMA: Schema = Schema {
    model: models::DOCKER_SERVICE_CONNECTION,
    fields: &[
        "pk",
        "name",
        "local",
        "url",
        "tls_verification",
        "tls_authentication",
    ],
    writable: &[
        "name",
        "local",
        "url",
        "tls_verification",
        "tls_authentication",
    ],
    ignored: &[
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
    ],
    special: &[],
    secrets: &[],
    sets: &[],
    nullable: &["tls_verification", "tls_authentication"],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

// The API answers `kubeconfig: {}` whatever is stored (it is sealed and never returned): that
// placeholder says nothing, so the serialized form here leaves the field out, and a lookup by it
// is refused as for any secret.
static KUBERNETES_CONNECTION_SCHEMA: Schema = Schema {
    model: models::KUBERNETES_SERVICE_CONNECTION,
    fields: &["pk", "name", "local", "verify_ssl"],
    writable: &["name", "local", "kubeconfig", "verify_ssl"],
    ignored: &[
        "component",
        "verbose_name",
        "verbose_name_plural",
        "meta_model_name",
    ],
    special: &["kubeconfig"],
    secrets: &["kubeconfig"],
    sets: &[],
    nullable: &[],
    timestamps: &[],
    outpost_configs: &[],
    natural_key: "name",
};

impl Kind {
    pub(super) const ALL: [Kind; 14] = [
        Kind::Group,
        Kind::Role,
        Kind::User,
        Kind::Application,
        Kind::Brand,
        Kind::Token,
        Kind::Provider(ProviderKind::Proxy),
        Kind::Provider(ProviderKind::Ldap),
        Kind::Provider(ProviderKind::Radius),
        Kind::Provider(ProviderKind::Rac),
        Kind::Outpost,
        Kind::CertificateKeyPair,
        Kind::DockerConnection,
        Kind::KubernetesConnection,
    ];

    pub(super) fn schema(self) -> &'static Schema {
        match self {
            Kind::Group => &GROUP_SCHEMA,
            Kind::Role => &ROLE_SCHEMA,
            Kind::User => &USER_SCHEMA,
            Kind::Application => &APPLICATION_SCHEMA,
            Kind::Brand => &BRAND_SCHEMA,
            Kind::Token => &TOKEN_SCHEMA,
            Kind::Provider(ProviderKind::Proxy) => &PROXY_PROVIDER_SCHEMA,
            Kind::Provider(ProviderKind::Ldap) => &LDAP_PROVIDER_SCHEMA,
            Kind::Provider(ProviderKind::Radius) => &RADIUS_PROVIDER_SCHEMA,
            Kind::Provider(ProviderKind::Rac) => &RAC_PROVIDER_SCHEMA,
            Kind::Outpost => &OUTPOST_SCHEMA,
            Kind::CertificateKeyPair => &CERTIFICATE_KEYPAIR_SCHEMA,
            Kind::DockerConnection => &DOCKER_CONNECTION_SCHEMA,
            Kind::KubernetesConnection => &KUBERNETES_CONNECTION_SCHEMA,
        }
    }

    /// The kind of a service connection of `kind`.
    pub(super) fn connection(kind: ServiceConnectionKind) -> Kind {
        match kind {
            ServiceConnectionKind::Docker => Kind::DockerConnection,
            ServiceConnectionKind::Kubernetes => Kind::KubernetesConnection,
        }
    }

    /// The service connection kind this kind is, if it is one.
    pub(super) fn connection_kind(self) -> Option<ServiceConnectionKind> {
        match self {
            Kind::DockerConnection => Some(ServiceConnectionKind::Docker),
            Kind::KubernetesConnection => Some(ServiceConnectionKind::Kubernetes),
            _ => None,
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
    /// Without its secrets: build it with [`Object::provider`].
    Provider(Provider),
    Outpost(Outpost),
    CertificateKeyPair(CertificateKeyPair),
    ServiceConnection(ServiceConnection),
}

impl Object {
    /// A provider as a run keeps it: its secret settings blanked. Loaded providers never have
    /// them (the store keeps them sealed); one a service core returns has them opened, and
    /// goes through here so that no object a run holds carries a secret.
    pub(super) fn provider(provider: Provider) -> ServiceResult<Object> {
        let settings = settings_without_secrets(provider.kind, provider.settings.to_map())?;
        Ok(Object::Provider(Provider {
            settings,
            ..provider
        }))
    }

    pub(super) fn kind(&self) -> Kind {
        match self {
            Object::Group(_) => Kind::Group,
            Object::Role(_) => Kind::Role,
            Object::User(_) => Kind::User,
            Object::Application(_) => Kind::Application,
            Object::Brand(_) => Kind::Brand,
            Object::Token(_) => Kind::Token,
            Object::Provider(provider) => Kind::Provider(provider.kind),
            Object::Outpost(_) => Kind::Outpost,
            Object::CertificateKeyPair(_) => Kind::CertificateKeyPair,
            Object::ServiceConnection(connection) => Kind::connection(connection.kind),
        }
    }

    /// The primary key as the API shows it: a UUID string, or a user's or provider's integer.
    pub(super) fn pk(&self) -> Value {
        match self {
            Object::Group(group) => uuid_pk(group.pk),
            Object::Role(role) => Value::String(role.pk.to_string()),
            Object::User(user) => Value::from(user.pk),
            Object::Application(app) => Value::String(app.pk.to_string()),
            Object::Brand(brand) => Value::String(brand.pk.to_string()),
            Object::Token(token) => Value::String(token.pk.to_string()),
            Object::Provider(provider) => Value::from(provider.pk),
            Object::Outpost(outpost) => Value::String(outpost.pk.to_string()),
            Object::CertificateKeyPair(pair) => Value::String(pair.pk.to_string()),
            Object::ServiceConnection(connection) => Value::String(connection.pk.to_string()),
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
            Object::Provider(p) => return provider_view(p),
            Object::Outpost(o) => {
                // As the API reads it: only the one key, 300 when it is missing or not a
                // duration.
                let refresh_interval_s = o
                    .config
                    .get("refresh_interval")
                    .and_then(Value::as_str)
                    .map_or(Ok(300), garrison_model::refresh_interval_seconds)
                    .unwrap_or(300);
                json!({
                    "pk": o.pk,
                    "name": o.name,
                    "type": o.outpost_type.as_str(),
                    "providers": o.providers,
                    "service_connection": o.service_connection,
                    "refresh_interval_s": refresh_interval_s,
                    "token_identifier": o.token_identifier(),
                    "config": o.config,
                    "managed": o.managed,
                    "config_hash": o.config_hash,
                    "expansion_error": o.expansion_error,
                })
            }
            // Never a PEM: the API shows neither (the certificate has its own endpoint, the key
            // its own audited one).
            Object::CertificateKeyPair(c) => json!({
                "pk": c.pk,
                "name": c.name,
                "fingerprint_sha256": c.fingerprint_sha256,
                "fingerprint_sha1": c.fingerprint_sha1,
                "cert_expiry": c.cert_expiry,
                "cert_subject": c.cert_subject,
                "private_key_available": c.private_key_available,
                "key_type": c.key_type,
                "managed": c.managed,
            }),
            // Each kind's own fields (the schema's) of what the two share: a Docker connection
            // has no `verify_ssl`, a Kubernetes one no URL nor TLS keypairs.
            Object::ServiceConnection(c) => {
                let all = [
                    ("pk", json!(c.pk)),
                    ("name", json!(c.name)),
                    ("local", json!(c.local)),
                    ("url", json!(c.url)),
                    ("tls_verification", json!(c.tls_verification)),
                    ("tls_authentication", json!(c.tls_authentication)),
                    ("verify_ssl", json!(c.verify_ssl)),
                ];
                let fields = Kind::connection(c.kind).schema().fields;
                return all
                    .into_iter()
                    .filter(|(key, _)| fields.contains(key))
                    .map(|(key, value)| (key.to_owned(), value))
                    .collect();
            }
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

/// A provider's serialized form: the fields of its kind's schema, taken from the fields every
/// kind shares and from its settings. The schema decides what a kind shows (a RAC provider has
/// no certificate) and leaves out the secrets.
fn provider_view(provider: &Provider) -> Map<String, Value> {
    let application = |app: &Option<(String, String)>| {
        app.as_ref()
            .map_or((Value::Null, Value::Null), |(slug, name)| {
                (json!(slug), json!(name))
            })
    };
    let (app_slug, app_name) = application(&provider.application);
    let (back_slug, back_name) = application(&provider.backchannel_application);
    let shared = [
        ("pk", json!(provider.pk)),
        ("name", json!(provider.name)),
        ("authentication_flow", json!(provider.authentication_flow)),
        ("authorization_flow", json!(provider.authorization_flow)),
        ("invalidation_flow", json!(provider.invalidation_flow)),
        ("property_mappings", json!(provider.property_mappings)),
        ("assigned_application_slug", app_slug),
        ("assigned_application_name", app_name),
        ("assigned_backchannel_application_slug", back_slug),
        ("assigned_backchannel_application_name", back_name),
        ("outpost_set", json!(provider.outposts)),
        ("certificate", json!(provider.certificate)),
    ];
    let fields = Kind::Provider(provider.kind).schema().fields;
    shared
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .chain(provider.settings.to_map())
        .filter(|(key, _)| fields.contains(&key.as_str()))
        .collect()
}

/// A kind's settings from `map` without its secrets (blank, as the defaults have them).
fn settings_without_secrets(
    kind: ProviderKind,
    mut map: Map<String, Value>,
) -> ServiceResult<ProviderSettings> {
    for secret in ProviderSettings::secret_fields(kind) {
        map.remove(*secret);
    }
    ProviderSettings::from_map(kind, map).map_err(|error| {
        ServiceError::Internal(format!(
            "stored {} is invalid: {error}",
            kind.verbose_name()
        ))
    })
}

/// A stored provider as a run keeps it: the store's record has no secrets (they are sealed
/// apart), and they are not opened here.
fn provider_of_record(record: ProviderRecord) -> ServiceResult<Object> {
    Ok(Object::Provider(Provider {
        pk: record.pk,
        name: record.name,
        kind: record.kind,
        authentication_flow: record.authentication_flow,
        authorization_flow: record.authorization_flow,
        invalidation_flow: record.invalidation_flow,
        property_mappings: record.property_mappings,
        certificate: record.certificate,
        settings: settings_without_secrets(record.kind, record.settings)?,
        application: record.application,
        backchannel_application: record.backchannel_application,
        outposts: record.outposts,
    }))
}

/// The providers of one kind the store's filter selects, in the list's order.
async fn providers_where(
    conn: &mut Conn,
    filter: provider_store::Filter,
) -> ServiceResult<Vec<Object>> {
    provider_store::list(conn, &filter, paging(provider_store::DEFAULT_ORDERING))
        .await?
        .0
        .into_iter()
        .map(provider_of_record)
        .collect()
}

/// The service connections of one kind the store's filter selects, in the list's order.
async fn connections_where(
    conn: &mut Conn,
    filter: connection_store::Filter,
) -> ServiceResult<Vec<Object>> {
    Ok(
        connection_store::list(conn, &filter, paging(connection_store::DEFAULT_ORDERING))
            .await?
            .0
            .into_iter()
            .map(Object::ServiceConnection)
            .collect(),
    )
}

/// The keypairs the store's filter selects, in the list's order.
async fn certificates_where(
    conn: &mut Conn,
    filter: cert_store::Filter,
) -> ServiceResult<Vec<Object>> {
    Ok(
        cert_store::list(conn, &filter, paging(cert_store::DEFAULT_ORDERING))
            .await?
            .0
            .into_iter()
            .map(Object::CertificateKeyPair)
            .collect(),
    )
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

/// The object with primary key `pk` (a UUID string, or a user's or provider's integer), if
/// any.
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
        // Of the entry's kind only: a proxy provider's pk names no LDAP provider.
        Kind::Provider(provider_kind) => match as_i64(pk) {
            Some(pk) => match provider_store::get(conn, pk).await? {
                Some(record) if record.kind == provider_kind => vec![provider_of_record(record)?],
                _ => Vec::new(),
            },
            None => Vec::new(),
        },
        Kind::Outpost => match as_uuid(pk) {
            Some(uuid) => one(outpost_store::get(conn, uuid).await?.map(Object::Outpost)),
            None => Vec::new(),
        },
        Kind::CertificateKeyPair => match as_uuid(pk) {
            Some(uuid) => one(cert_store::get(conn, uuid)
                .await?
                .map(|record| Object::CertificateKeyPair(record.pair))),
            None => Vec::new(),
        },
        Kind::DockerConnection | Kind::KubernetesConnection => match as_uuid(pk) {
            Some(uuid) => one(connection_store::get(conn, uuid)
                .await?
                .map(|record| record.connection)
                .filter(|connection| kind.connection_kind() == Some(connection.kind))
                .map(Object::ServiceConnection)),
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
        // Names are unique across the four kinds; an entry finds one of its own kind only (and
        // creating it then fails on the name, as in authentik).
        Kind::Provider(provider_kind) => {
            providers_where(
                conn,
                provider_store::Filter {
                    kind: Some(provider_kind),
                    name: Some(value.to_owned()),
                    ..Default::default()
                },
            )
            .await?
        }
        Kind::Outpost => one(outpost_store::get_by_name(conn, value)
            .await?
            .map(Object::Outpost)),
        Kind::CertificateKeyPair => {
            certificates_where(
                conn,
                cert_store::Filter {
                    name: Some(value.to_owned()),
                    ..Default::default()
                },
            )
            .await?
        }
        Kind::DockerConnection | Kind::KubernetesConnection => {
            connections_where(
                conn,
                connection_store::Filter {
                    kind: kind.connection_kind(),
                    name: Some(value.to_owned()),
                    ..Default::default()
                },
            )
            .await?
        }
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
        Kind::Provider(provider_kind) => {
            providers_where(
                conn,
                provider_store::Filter {
                    kind: Some(provider_kind),
                    ..Default::default()
                },
            )
            .await?
        }
        Kind::Outpost => outpost_store::list(
            conn,
            &outpost_store::Filter::default(),
            paging(outpost_store::DEFAULT_ORDERING),
            // Inside the run's transaction, which may have written: counted afresh.
            None,
        )
        .await?
        .0
        .into_iter()
        .map(Object::Outpost)
        .collect(),
        Kind::CertificateKeyPair => certificates_where(conn, cert_store::Filter::default()).await?,
        Kind::DockerConnection | Kind::KubernetesConnection => {
            connections_where(
                conn,
                connection_store::Filter {
                    kind: kind.connection_kind(),
                    ..Default::default()
                },
            )
            .await?
        }
    })
}
