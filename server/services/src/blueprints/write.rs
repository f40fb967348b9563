//! Turning an entry's data into service calls: the model's `*Changes` type, the fields that
//! differ from the object, and the same `*_in` cores the API calls (so validation,
//! permissions, delegation rules and audit events are the API's).
use garrison_model::{
    ApplicationChanges, BrandChanges, CertificateKeyPairChanges, GroupChanges, OutpostChanges,
    OutpostConfig, PolicyEngineMode, ProviderChanges, ProviderKind, ProviderSettings, RoleChanges,
    ServiceConnectionChanges, ServiceConnectionKind, Timestamp, TokenChanges, TokenIntent,
    UserChanges, UserType,
};
use garrison_store::outposts::{
    certificates as cert_store, service_connections as connection_store,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::registry::{BRAND_REFERENCES, BRAND_TEXTS, Kind, Object};
use super::{EntryError, FieldChange};
use crate::authz::Caller;
use crate::users::PasswordChange;
use crate::{Services, Tx, crypto};

/// What a plan shows for a write-only secret (a password, a key, a kubeconfig): never the
/// value.
pub(super) const HIDDEN: &str = "(hidden)";

/// The permission to set a token's key (authentik's `set_token_key`).
const SET_TOKEN_KEY: &str = "authentik_core.set_token_key";

/// A write-only secret taken from an entry (a token's key, a keypair's private key, a
/// kubeconfig). Its `Debug` shows [`HIDDEN`], so that no debug output of a [`Prepared`]
/// carries it.
pub(super) struct Secret<T = String>(T);

impl Secret<String> {
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl<T> Secret<T> {
    fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

/// An entry's data as the services take it.
#[derive(Debug)]
pub(super) enum Prepared {
    Group(GroupChanges),
    Role {
        changes: RoleChanges,
        /// Global permissions to grant (authentik's blueprint-only field; never revoked).
        permissions: Option<Vec<String>>,
    },
    User {
        changes: UserChanges,
        /// authentik's blueprint-only field: set (hashed) when given and not empty.
        password: Option<String>,
    },
    Application(ApplicationChanges),
    Brand(BrandChanges),
    Token {
        changes: TokenChanges,
        /// authentik's blueprint-only field: set when it is not the token's key already.
        key: Option<Secret>,
    },
    Provider {
        kind: ProviderKind,
        /// The shared fields, and the kind's settings that are not secrets.
        changes: ProviderChanges,
        /// The kind's writable secret settings (a RADIUS `shared_secret`), by name: moved into
        /// `changes.settings` only when they are written.
        secrets: Vec<(String, Secret)>,
    },
    Outpost(OutpostChanges),
    CertificateKeyPair {
        /// `name` and `certificate_data`; `key_data` is set from `key_data` below when written.
        changes: CertificateKeyPairChanges,
        key_data: Option<Secret>,
    },
    ServiceConnection {
        kind: ServiceConnectionKind,
        /// Everything but the kubeconfig, which is set from `kubeconfig` below when written.
        changes: ServiceConnectionChanges,
        kubeconfig: Option<Secret<Map<String, Value>>>,
    },
}

fn unwritable(kind: Kind, key: &str) -> String {
    format!(
        "{key}: {} has no field `{key}` that blueprints can write (writable: {})",
        kind.qualified(),
        kind.schema().writable.join(", ")
    )
}

/// One field's value as type `T`; serde's message, prefixed with the field, when it is not.
fn field<T: DeserializeOwned>(key: &str, value: &Value) -> Result<T, String> {
    T::deserialize(value).map_err(|error| format!("{key}: {error}"))
}

/// A secret's text, as authentik's `CharField` takes it: a string, or a number as its text.
/// Unlike [`field`], the message never repeats the value (serde's would).
fn secret_text(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(format!("{key}: Not a valid string.")),
    }
}

/// One of a provider kind's own settings, checked as the provider service checks it when it
/// merges the settings (the kind's defaults with this one field given), so that a wrong type
/// fails here naming the field, as the other models' fields do.
fn provider_setting(
    kind: Kind,
    provider_kind: ProviderKind,
    key: &str,
    value: &Value,
) -> Result<Value, String> {
    let mut probe = ProviderSettings::defaults(provider_kind).to_map();
    if !probe.contains_key(key) {
        return Err(unwritable(kind, key));
    }
    probe.insert(key.to_owned(), value.clone());
    ProviderSettings::from_map(provider_kind, probe).map_err(|error| format!("{key}: {error}"))?;
    Ok(value.clone())
}

/// Converts an entry's data (attrs merged with identifiers, without `pk`) to the model's
/// changes, checking every key and type first.
///
/// Garrison is stricter than authentik here, on purpose: authentik's serializers drop a key
/// they do not know (a typo such as `is_superuer: true` is silently ignored, and the
/// blueprint "succeeds" without doing what it says); Garrison refuses it, naming the key and
/// the fields that can be written. Only the keys authentik's serializers have that Garrison
/// ignores (read-only fields, and fields of older authentik versions; see
/// [`super::registry::Schema::ignored`]) pass silently.
pub(super) fn prepare(kind: Kind, data: &Map<String, Value>) -> Result<Prepared, String> {
    let schema = kind.schema();
    let mut given = Vec::new();
    for (key, value) in data {
        let key = key.as_str();
        if schema.ignored.contains(&key) {
            continue;
        }
        if !schema.writable.contains(&key) {
            return Err(unwritable(kind, key));
        }
        if value.is_null() && !schema.nullable.contains(&key) {
            return Err(format!("{key}: This field may not be null."));
        }
        given.push((key, value));
    }
    Ok(match kind {
        Kind::Group => {
            let mut c = GroupChanges::default();
            for (key, value) in given {
                match key {
                    "name" => c.name = Some(field(key, value)?),
                    "is_superuser" => c.is_superuser = Some(field(key, value)?),
                    "parents" => c.parents = Some(field(key, value)?),
                    "attributes" => c.attributes = Some(field(key, value)?),
                    "roles" => c.roles = Some(field(key, value)?),
                    "users" => c.users = Some(field(key, value)?),
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::Group(c)
        }
        Kind::Role => {
            let mut changes = RoleChanges::default();
            let mut permissions = None;
            for (key, value) in given {
                match key {
                    "name" => changes.name = Some(field(key, value)?),
                    "permissions" => {
                        let mut list: Vec<String> = field(key, value)?;
                        list.sort();
                        list.dedup();
                        permissions = Some(list);
                    }
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::Role {
                changes,
                permissions,
            }
        }
        Kind::User => {
            let mut c = UserChanges::default();
            let mut password = None;
            for (key, value) in given {
                match key {
                    "username" => c.username = Some(field(key, value)?),
                    "name" => c.name = Some(field(key, value)?),
                    "email" => c.email = Some(field(key, value)?),
                    "is_active" => c.is_active = Some(field(key, value)?),
                    "type" => c.user_type = Some(field::<UserType>(key, value)?),
                    "path" => c.path = Some(field(key, value)?),
                    "attributes" => c.attributes = Some(field(key, value)?),
                    "groups" => c.groups = Some(field(key, value)?),
                    "roles" => c.roles = Some(field(key, value)?),
                    "password" if value.is_null() => password = None,
                    "password" => password = Some(secret_text(key, value)?),
                    "permissions" => {
                        // authentik assigns these through the user's own managed role, which
                        // Garrison does not have yet; refused rather than silently dropped.
                        let list: Vec<String> = field(key, value)?;
                        if !list.is_empty() {
                            return Err("permissions: assigning permissions to a user in a \
                                        blueprint is not supported yet (give the user a group \
                                        with a role instead)"
                                .into());
                        }
                    }
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::User {
                changes: c,
                password,
            }
        }
        Kind::Application => {
            let mut c = ApplicationChanges::default();
            for (key, value) in given {
                match key {
                    "name" => c.name = Some(field(key, value)?),
                    "slug" => c.slug = Some(field(key, value)?),
                    "provider" => c.provider = Some(field::<Option<i64>>(key, value)?),
                    "backchannel_providers" => c.backchannel_providers = Some(field(key, value)?),
                    "open_in_new_tab" => c.open_in_new_tab = Some(field(key, value)?),
                    "meta_launch_url" => c.meta_launch_url = Some(field(key, value)?),
                    "meta_icon" => c.meta_icon = Some(field(key, value)?),
                    "meta_description" => c.meta_description = Some(field(key, value)?),
                    "meta_publisher" => c.meta_publisher = Some(field(key, value)?),
                    "policy_engine_mode" => {
                        c.policy_engine_mode = Some(field::<PolicyEngineMode>(key, value)?)
                    }
                    "group" => c.group = Some(field(key, value)?),
                    "meta_hide" => c.meta_hide = Some(field(key, value)?),
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::Application(c)
        }
        Kind::Brand => {
            let mut c = BrandChanges::default();
            for (key, value) in given {
                match key {
                    "domain" => c.domain = Some(field(key, value)?),
                    "default" => c.default = Some(field(key, value)?),
                    "web_certificate" => {
                        c.web_certificate = Some(field::<Option<Uuid>>(key, value)?)
                    }
                    "client_certificates" => c.client_certificates = Some(field(key, value)?),
                    "attributes" => c.attributes = Some(field(key, value)?),
                    // Texts and references go into `settings`, where the brand service checks
                    // them as it does for the API.
                    other if BRAND_TEXTS.contains(&other) || BRAND_REFERENCES.contains(&other) => {
                        c.settings.insert(other.to_owned(), value.clone());
                    }
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::Brand(c)
        }
        Kind::Token => {
            let mut c = TokenChanges::default();
            let mut secret = None;
            for (key, value) in given {
                match key {
                    "identifier" => c.identifier = Some(field(key, value)?),
                    "intent" => c.intent = Some(field::<TokenIntent>(key, value)?),
                    "user" => c.user = Some(field(key, value)?),
                    "description" => c.description = Some(field(key, value)?),
                    "expires" => c.expires = Some(field::<Option<Timestamp>>(key, value)?),
                    "expiring" => c.expiring = Some(field(key, value)?),
                    // Checked (length, characters) by the token service when it is set.
                    "key" => secret = Some(Secret(secret_text(key, value)?)),
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::Token {
                changes: c,
                key: secret,
            }
        }
        Kind::Provider(provider_kind) => {
            let mut c = ProviderChanges::default();
            let mut secrets = Vec::new();
            for (key, value) in given {
                match key {
                    "name" => c.name = Some(field(key, value)?),
                    "authentication_flow" => {
                        c.authentication_flow = Some(field::<Option<Uuid>>(key, value)?)
                    }
                    "authorization_flow" => {
                        c.authorization_flow = Some(field::<Option<Uuid>>(key, value)?)
                    }
                    "invalidation_flow" => {
                        c.invalidation_flow = Some(field::<Option<Uuid>>(key, value)?)
                    }
                    "property_mappings" => c.property_mappings = Some(field(key, value)?),
                    "certificate" => c.certificate = Some(field::<Option<Uuid>>(key, value)?),
                    // Kept apart (never in a `Debug` of the changes), as text like any secret.
                    secret if schema.secrets.contains(&secret) => {
                        secrets.push((secret.to_owned(), Secret(secret_text(key, value)?)));
                    }
                    // The kind's own settings travel in `settings`, which the provider service
                    // merges and checks as for the API (the kind's `…ProviderRequest` fields
                    // are exactly the schema's writable ones).
                    setting => {
                        let value = provider_setting(kind, provider_kind, setting, value)?;
                        c.settings.insert(setting.to_owned(), value);
                    }
                }
            }
            Prepared::Provider {
                kind: provider_kind,
                changes: c,
                secrets,
            }
        }
        Kind::Outpost => {
            let mut c = OutpostChanges::default();
            for (key, value) in given {
                match key {
                    "name" => c.name = Some(field(key, value)?),
                    "type" => c.outpost_type = Some(field::<ProviderKind>(key, value)?),
                    "providers" => c.providers = Some(field::<Vec<i64>>(key, value)?),
                    "service_connection" => {
                        c.service_connection = Some(field::<Option<Uuid>>(key, value)?)
                    }
                    // A mapping, replacing the stored one whole (as authentik's serializer does);
                    // the outpost service checks its keys.
                    "config" => {
                        let config: Map<String, Value> = field(key, value)?;
                        c.config = Some(Value::Object(config));
                    }
                    "managed" => c.managed = Some(field::<Option<String>>(key, value)?),
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::Outpost(c)
        }
        Kind::CertificateKeyPair => {
            let mut c = CertificateKeyPairChanges::default();
            let mut key_data = None;
            for (key, value) in given {
                match key {
                    "name" => c.name = Some(field(key, value)?),
                    // Checked (PEM, a certificate) by the certificate service.
                    "certificate_data" => c.certificate_data = Some(field(key, value)?),
                    "key_data" => key_data = Some(Secret(secret_text(key, value)?)),
                    other => return Err(unwritable(kind, other)),
                }
            }
            Prepared::CertificateKeyPair {
                changes: c,
                key_data,
            }
        }
        Kind::DockerConnection => prepare_connection(kind, ServiceConnectionKind::Docker, given)?,
        Kind::KubernetesConnection => {
            prepare_connection(kind, ServiceConnectionKind::Kubernetes, given)?
        }
    })
}

/// [`prepare`] for a service connection: the schema of `kind` has already refused the fields
/// the other kind has.
fn prepare_connection(
    kind: Kind,
    connection_kind: ServiceConnectionKind,
    given: Vec<(&str, &Value)>,
) -> Result<Prepared, String> {
    let mut c = ServiceConnectionChanges::default();
    let mut kubeconfig = None;
    for (key, value) in given {
        match key {
            "name" => c.name = Some(field(key, value)?),
            "local" => c.local = Some(field(key, value)?),
            "url" => c.url = Some(field(key, value)?),
            "tls_verification" => c.tls_verification = Some(field::<Option<Uuid>>(key, value)?),
            "tls_authentication" => c.tls_authentication = Some(field::<Option<Uuid>>(key, value)?),
            "verify_ssl" => c.verify_ssl = Some(field(key, value)?),
            "kubeconfig" => kubeconfig = Some(Secret(secret_mapping(key, value)?)),
            other => return Err(unwritable(kind, other)),
        }
    }
    Ok(Prepared::ServiceConnection {
        kind: connection_kind,
        changes: c,
        kubeconfig,
    })
}

/// A secret given as a mapping (a kubeconfig), or as the JSON text of one: `!Env` and `!File`
/// give text, and that is how an export refers to a kubeconfig it must not contain. Unlike
/// [`field`], the message never repeats the value.
fn secret_mapping(key: &str, value: &Value) -> Result<Map<String, Value>, String> {
    let refused = || format!("{key}: Expected a dictionary of items.");
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(refused()),
        },
        _ => Err(refused()),
    }
}

/// The supplied fields whose values differ from `before` (the object's serialized form), or
/// all supplied fields for a new object (`before == None`, old values `null`). Ignored fields
/// and those the model's adapter handles itself ([`super::registry::Schema::special`]) are
/// left out.
pub(super) fn changed_fields(
    kind: Kind,
    before: Option<&Map<String, Value>>,
    data: &Map<String, Value>,
) -> Vec<FieldChange> {
    let schema = kind.schema();
    let mut changes = Vec::new();
    for (key, new) in data {
        let name = key.as_str();
        if schema.ignored.contains(&name) || schema.special.contains(&name) {
            continue;
        }
        let old = match before {
            None => Value::Null,
            Some(view) => {
                let old = view.get(key).cloned().unwrap_or(Value::Null);
                let unchanged = if schema.timestamps.contains(&name) {
                    same_instant(&old, new)
                } else if schema.outpost_configs.contains(&name) {
                    same_outpost_config(&old, new)
                } else {
                    same(schema.sets.contains(&name), &old, new)
                };
                if unchanged {
                    continue;
                }
                old
            }
        };
        changes.push(FieldChange {
            field: key.clone(),
            old,
            new: new.clone(),
        });
    }
    changes
}

/// Whether a stored value and a supplied one mean the same: UUIDs in any case, and for a
/// many-to-many field the same members in any order.
pub(super) fn same(set: bool, old: &Value, new: &Value) -> bool {
    let (old, new) = (normalize(old), normalize(new));
    if set && let (Value::Array(a), Value::Array(b)) = (&old, &new) {
        return members(a) == members(b);
    }
    match (&old, &new) {
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        _ => old == new,
    }
}

/// Whether two date-times are the same instant, in whatever offset each is written; values
/// that are not RFC 3339 date-times (`null`) are compared as [`same`] compares them.
pub(super) fn same_instant(old: &Value, new: &Value) -> bool {
    let instant = |value: &Value| {
        value
            .as_str()
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text.trim()).ok())
    };
    match (instant(old), instant(new)) {
        (Some(a), Some(b)) => a == b,
        _ => same(false, old, new),
    }
}

/// Whether two outpost configurations configure the same, each read as the outpost reads it:
/// every key authentik defines at its default unless given, other keys as they are.
///
/// A configuration is written whole: the given one replaces the stored one, as authentik's
/// serializer replaces it, so comparing only the keys an entry gives would report "unchanged"
/// and keep keys the entry would drop. Comparing the two as they are would report a change
/// whenever one spells out a default the other leaves out (the API's form sends every key; a
/// blueprint gives those it sets). Both are read with the defaults filled in instead, which is
/// what the outpost does with either: they differ exactly when the outpost would be configured
/// differently. Values that are not mappings are compared as [`same`] compares them.
pub(super) fn same_outpost_config(old: &Value, new: &Value) -> bool {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => same(
            false,
            &Value::Object(with_config_defaults(old)),
            &Value::Object(with_config_defaults(new)),
        ),
        _ => same(false, old, new),
    }
}

/// `config` over the defaults of every key authentik defines (those `OutpostConfig` fills in).
fn with_config_defaults(config: &Map<String, Value>) -> Map<String, Value> {
    let mut effective = OutpostConfig::defaults_map("");
    effective.extend(
        config
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    effective
}

fn members(items: &[Value]) -> Vec<String> {
    let mut members: Vec<String> = items.iter().map(Value::to_string).collect();
    members.sort();
    members.dedup();
    members
}

fn normalize(value: &Value) -> Value {
    match value {
        Value::String(text) if text.len() == 36 => match Uuid::parse_str(text) {
            Ok(uuid) => Value::String(uuid.to_string()),
            Err(_) => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), normalize(value)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// `data` restricted to the fields in `changes`.
fn only(data: &Map<String, Value>, changes: &[FieldChange]) -> Map<String, Value> {
    changes
        .iter()
        .filter_map(|change| {
            data.get(&change.field)
                .map(|value| (change.field.clone(), value.clone()))
        })
        .collect()
}

fn failed(message: String) -> EntryError {
    EntryError::Failed(message)
}

/// Creates the object through the model's create core. Returns it with every field the
/// entry set.
pub(super) async fn create(
    services: &Services,
    tx: &mut Tx,
    caller: &Caller,
    kind: Kind,
    data: &Map<String, Value>,
) -> Result<(Object, Vec<FieldChange>), EntryError> {
    let prepared = prepare(kind, data).map_err(failed)?;
    let mut fields = changed_fields(kind, None, data);
    let object = match prepared {
        Prepared::Group(changes) => {
            Object::Group(services.create_group_in(tx, caller, changes).await?)
        }
        Prepared::Role {
            changes,
            permissions,
        } => {
            let mut role = services.create_role_in(tx, caller, changes).await?;
            if let Some(permissions) = permissions.filter(|list| !list.is_empty()) {
                fields.push(FieldChange {
                    field: "permissions".into(),
                    old: Value::Null,
                    new: json!(permissions),
                });
                role = services
                    .change_role_permissions_in(tx, caller, role.pk, &permissions, None, true)
                    .await?;
            }
            Object::Role(role)
        }
        Prepared::User {
            mut changes,
            password,
        } => {
            // An empty password leaves the account without a usable one, as in authentik.
            if password.as_deref().is_some_and(|p| !p.is_empty()) {
                fields.push(FieldChange {
                    field: "password".into(),
                    old: Value::Null,
                    new: json!(HIDDEN),
                });
            }
            changes.password = password;
            Object::User(services.create_user_in(tx, caller, changes).await?)
        }
        Prepared::Application(changes) => {
            Object::Application(services.create_application_in(tx, caller, changes).await?)
        }
        Prepared::Brand(changes) => {
            Object::Brand(services.create_brand_in(tx, caller, changes).await?)
        }
        Prepared::Token { changes, key } => {
            // The create core draws a random key (and never takes one); a key the entry gives
            // replaces it at once, in the same transaction, through the core that checks keys
            // (length, characters) and the permission to set them. The drawn key is dropped
            // unseen.
            let created = services.create_token_in(tx, caller, changes).await?;
            if let Some(key) = key {
                fields.push(FieldChange {
                    field: "key".into(),
                    old: Value::Null,
                    new: json!(HIDDEN),
                });
                services
                    .set_token_key_in(tx, caller, &created.token.identifier, key.expose())
                    .await?;
            }
            Object::Token(created.token)
        }
        Prepared::Provider {
            kind,
            mut changes,
            secrets,
        } => {
            for (name, secret) in secrets {
                fields.push(hidden_change(&name, Value::Null));
                changes
                    .settings
                    .insert(name, Value::String(secret.into_inner()));
            }
            let provider = services
                .create_provider_in(tx, caller, kind, changes)
                .await?;
            Object::provider(provider)?
        }
        Prepared::Outpost(changes) => {
            Object::Outpost(services.create_outpost_in(tx, caller, changes).await?)
        }
        Prepared::CertificateKeyPair {
            mut changes,
            key_data,
        } => {
            // The certificate is public: a plan shows it. The key never.
            if let Some(certificate) = &changes.certificate_data {
                fields.push(FieldChange {
                    field: "certificate_data".into(),
                    old: Value::Null,
                    new: json!(certificate),
                });
            }
            // An empty key means "no key", as in the API's form.
            if let Some(key) = key_data.filter(|key| !key.expose().trim().is_empty()) {
                fields.push(hidden_change("key_data", Value::Null));
                changes.key_data = Some(key.into_inner());
            }
            Object::CertificateKeyPair(services.create_certificate_in(tx, caller, changes).await?)
        }
        Prepared::ServiceConnection {
            kind,
            mut changes,
            kubeconfig,
        } => {
            if let Some(kubeconfig) = kubeconfig {
                fields.push(hidden_change("kubeconfig", Value::Null));
                changes.kubeconfig = Some(kubeconfig.into_inner());
            }
            Object::ServiceConnection(
                services
                    .create_service_connection_in(tx, caller, kind, changes)
                    .await?,
            )
        }
    };
    Ok((object, fields))
}

/// A secret field written: `"(hidden)"` for the new value, and for the old one unless there
/// was none (`old` is then `null`).
fn hidden_change(field: &str, old: Value) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        old,
        new: json!(HIDDEN),
    }
}

/// Checks an entry's data without writing (`state: created` on an existing object: authentik
/// still validates the entry there).
pub(super) fn validate(kind: Kind, data: &Map<String, Value>) -> Result<(), EntryError> {
    prepare(kind, data).map(|_| ()).map_err(failed)
}

/// A partial update of `existing` with the supplied fields that differ from it. Nothing
/// differs: no core is called, nothing is written or audited, and the list is empty.
pub(super) async fn update(
    services: &Services,
    tx: &mut Tx,
    caller: &Caller,
    existing: &Object,
    data: &Map<String, Value>,
) -> Result<(Object, Vec<FieldChange>), EntryError> {
    let kind = existing.kind();
    // Every supplied field is checked, changed or not.
    let supplied = prepare(kind, data).map_err(failed)?;
    let mut fields = changed_fields(kind, Some(&existing.view()), data);
    let general = !fields.is_empty();
    let prepared = prepare(kind, &only(data, &fields)).map_err(failed)?;
    let mut object = existing.clone();
    match (existing, prepared, supplied) {
        (Object::Group(group), Prepared::Group(changes), _) => {
            if general {
                object = Object::Group(
                    services
                        .update_group_in(tx, caller, group.pk, changes, true)
                        .await?,
                );
            }
        }
        (
            Object::Role(role),
            Prepared::Role { changes, .. },
            Prepared::Role {
                permissions: wanted,
                ..
            },
        ) => {
            if general {
                object = Object::Role(
                    services
                        .update_role_in(tx, caller, role.pk, changes, true)
                        .await?,
                );
            }
            // Additive, as authentik assigns them: what the role lacks is granted, nothing is
            // revoked.
            let missing: Vec<String> = wanted
                .unwrap_or_default()
                .into_iter()
                .filter(|permission| !role.permissions.contains(permission))
                .collect();
            if !missing.is_empty() {
                let mut all = role.permissions.clone();
                all.extend(missing.iter().cloned());
                all.sort();
                all.dedup();
                fields.push(FieldChange {
                    field: "permissions".into(),
                    old: json!(role.permissions),
                    new: json!(all),
                });
                object = Object::Role(
                    services
                        .change_role_permissions_in(tx, caller, role.pk, &missing, None, true)
                        .await?,
                );
            }
        }
        (Object::User(user), Prepared::User { changes, .. }, Prepared::User { password, .. }) => {
            if general {
                object = Object::User(
                    services
                        .update_user_in(tx, caller, user.pk, changes, true)
                        .await?,
                );
            }
            // A password is set when it is not the one the account has already, so that a
            // re-apply writes nothing. An empty one changes nothing.
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                let username = match &object {
                    Object::User(after) => after.username.clone(),
                    _ => user.username.clone(),
                };
                let stored = garrison_store::users::credentials(tx.conn(), &username)
                    .await?
                    .map(|credentials| credentials.password_hash);
                if !crypto::verify_password_blocking(&password, stored).await? {
                    fields.push(FieldChange {
                        field: "password".into(),
                        old: json!(HIDDEN),
                        new: json!(HIDDEN),
                    });
                    services
                        .set_user_password_in(
                            tx,
                            caller,
                            user.pk,
                            PasswordChange {
                                new_password: &password,
                                current_password: None,
                            },
                        )
                        .await?;
                }
            }
        }
        (Object::Application(app), Prepared::Application(changes), _) => {
            if general {
                object = Object::Application(
                    services
                        .update_application_in(tx, caller, &app.slug, changes, true)
                        .await?,
                );
            }
        }
        (Object::Brand(brand), Prepared::Brand(changes), _) => {
            if general {
                object = Object::Brand(
                    services
                        .update_brand_in(tx, caller, brand.pk, changes, true)
                        .await?,
                );
            }
        }
        (Object::Token(token), Prepared::Token { changes, .. }, Prepared::Token { key, .. }) => {
            if general {
                object = Object::Token(
                    services
                        .update_token_in(tx, caller, &token.identifier, changes, true)
                        .await?,
                );
            }
            // A key is set when it is not the token's key already, so that a re-apply writes
            // nothing. Writing one takes the permission to set it even when it is the key
            // already: otherwise a plan would tell whoever may view the token whether a
            // guessed key is its key.
            if let Some(key) = key {
                caller
                    .principal
                    .require_on(SET_TOKEN_KEY, &token.pk.to_string())?;
                if !token_key_is(tx, token.pk, key.expose()).await? {
                    let identifier = match &object {
                        Object::Token(after) => after.identifier.clone(),
                        _ => token.identifier.clone(),
                    };
                    fields.push(FieldChange {
                        field: "key".into(),
                        old: json!(HIDDEN),
                        new: json!(HIDDEN),
                    });
                    services
                        .set_token_key_in(tx, caller, &identifier, key.expose())
                        .await?;
                }
            }
        }
        (
            Object::Provider(provider),
            Prepared::Provider {
                kind, mut changes, ..
            },
            Prepared::Provider { secrets, .. },
        ) => {
            // A secret setting is written when it is not the stored one already, so that a
            // re-apply writes nothing. It is compared with the provider as the API reads it
            // for this caller (the API shows a RADIUS shared secret to whoever may view the
            // provider): the comparison tells nothing the caller could not read, and records
            // no secret view, as the API's read records none.
            if !secrets.is_empty() {
                let stored = services
                    .get_provider_on(tx.conn(), caller, provider.pk, Some(kind))
                    .await?
                    .settings
                    .to_map();
                for (name, secret) in secrets {
                    if stored.get(&name).and_then(Value::as_str) != Some(secret.expose()) {
                        fields.push(hidden_change(&name, json!(HIDDEN)));
                        changes
                            .settings
                            .insert(name, Value::String(secret.into_inner()));
                    }
                }
            }
            if !fields.is_empty() {
                let updated = services
                    .update_provider_in(tx, caller, provider.pk, Some(kind), changes, true)
                    .await?;
                object = Object::provider(updated)?;
            }
        }
        (Object::Outpost(outpost), Prepared::Outpost(changes), _) => {
            if general {
                object = Object::Outpost(
                    services
                        .update_outpost_in(tx, caller, outpost.pk, changes, true)
                        .await?,
                );
            }
        }
        (
            Object::CertificateKeyPair(pair),
            Prepared::CertificateKeyPair { mut changes, .. },
            Prepared::CertificateKeyPair {
                changes: wanted,
                key_data,
            },
        ) => {
            // The certificate is compared with the stored PEM (public; the API just has its own
            // endpoint for it), ignoring surrounding whitespace (YAML block scalars end in a
            // newline or not).
            let stored = cert_store::get(tx.conn(), pair.pk)
                .await?
                .map(|record| record.certificate_data)
                .unwrap_or_default();
            let new_certificate = wanted
                .certificate_data
                .filter(|certificate| certificate.trim() != stored.trim());
            if let Some(certificate) = &new_certificate {
                fields.push(FieldChange {
                    field: "certificate_data".into(),
                    old: json!(stored),
                    new: json!(certificate),
                });
            }
            // An empty key leaves the key as it is, as in the API's form.
            if let Some(key) = key_data.filter(|key| !key.expose().trim().is_empty()) {
                let holds = services
                    .certificate_holds_key(tx.conn(), pair.pk, key.expose())
                    .await?;
                if !holds {
                    let old = if pair.private_key_available {
                        json!(HIDDEN)
                    } else {
                        Value::Null
                    };
                    fields.push(hidden_change("key_data", old));
                }
                // With a new certificate the key goes along even when it is the pair's key
                // already: the service drops a stored key when the certificate changes
                // without one (it would not match a new certificate).
                if !holds || new_certificate.is_some() {
                    changes.key_data = Some(key.into_inner());
                }
            }
            changes.certificate_data = new_certificate;
            if !fields.is_empty() {
                object = Object::CertificateKeyPair(
                    services
                        .update_certificate_in(tx, caller, pair.pk, changes, true)
                        .await?,
                );
            }
        }
        (
            Object::ServiceConnection(connection),
            Prepared::ServiceConnection {
                kind, mut changes, ..
            },
            Prepared::ServiceConnection { kubeconfig, .. },
        ) => {
            // As for a token's key: comparing takes the permission to write it, even when it
            // is the stored one already, since otherwise a plan would tell whoever may view
            // the connection whether a guessed kubeconfig is its kubeconfig.
            if let Some(kubeconfig) = kubeconfig {
                caller.principal.require_on(
                    &kind.model().permission("change"),
                    &connection.pk.to_string(),
                )?;
                if !kubeconfig_is(services, tx, connection.pk, &kubeconfig).await? {
                    fields.push(hidden_change("kubeconfig", json!(HIDDEN)));
                    changes.kubeconfig = Some(kubeconfig.into_inner());
                }
            }
            if !fields.is_empty() {
                object = Object::ServiceConnection(
                    services
                        .update_service_connection_in(
                            tx,
                            caller,
                            connection.pk,
                            Some(kind),
                            changes,
                            true,
                        )
                        .await?,
                );
            }
        }
        _ => {
            return Err(EntryError::Infra(crate::ServiceError::Internal(format!(
                "blueprint data for {} did not match its object",
                kind.qualified()
            ))));
        }
    }
    Ok((object, fields))
}

/// Whether `key` is the key of the token with UUID `pk`: compared by the lookup hash the store
/// keeps (the sealed key is not opened, and no secret-view event is recorded).
async fn token_key_is(tx: &mut Tx, pk: Uuid, key: &str) -> Result<bool, EntryError> {
    let holder =
        garrison_store::tokens::get_by_key_hash(tx.conn(), &crypto::sha256_hex(key)).await?;
    Ok(holder.is_some_and(|token| token.pk == pk))
}

/// Whether `given` is the kubeconfig the connection with UUID `pk` holds (`{}`: none, the
/// in-cluster configuration). The sealed kubeconfig is opened here, inside the server, and
/// dropped: only the answer leaves, to a caller who may change the connection (see the caller),
/// so this is no secret view and records none.
async fn kubeconfig_is(
    services: &Services,
    tx: &mut Tx,
    pk: Uuid,
    given: &Secret<Map<String, Value>>,
) -> Result<bool, EntryError> {
    let Some(record) = connection_store::get(tx.conn(), pk).await? else {
        return Ok(false);
    };
    let given = &given.0;
    Ok(match record.kubeconfig_sealed {
        None => given.is_empty(),
        Some(sealed) => {
            let stored: Value =
                serde_json::from_str(&services.secrets().open(&sealed)?).unwrap_or(Value::Null);
            !given.is_empty() && same(false, &stored, &Value::Object(given.clone()))
        }
    })
}

/// Deletes the object through the model's delete core.
pub(super) async fn delete(
    services: &Services,
    tx: &mut Tx,
    caller: &Caller,
    existing: &Object,
) -> Result<(), EntryError> {
    match existing {
        Object::Group(group) => services.delete_group_in(tx, caller, group.pk).await?,
        Object::Role(role) => services.delete_role_in(tx, caller, role.pk).await?,
        Object::User(user) => services.delete_user_in(tx, caller, user.pk).await?,
        Object::Application(app) => {
            services
                .delete_application_in(tx, caller, &app.slug)
                .await?
        }
        Object::Brand(brand) => services.delete_brand_in(tx, caller, brand.pk).await?,
        Object::Token(token) => {
            services
                .delete_token_in(tx, caller, &token.identifier)
                .await?
        }
        Object::Provider(provider) => {
            services
                .delete_provider_in(tx, caller, provider.pk, Some(provider.kind))
                .await?
        }
        Object::Outpost(outpost) => services.delete_outpost_in(tx, caller, outpost.pk).await?,
        Object::CertificateKeyPair(pair) => {
            services.delete_certificate_in(tx, caller, pair.pk).await?
        }
        Object::ServiceConnection(connection) => {
            services
                .delete_service_connection_in(tx, caller, connection.pk, Some(connection.kind))
                .await?
        }
    }
    Ok(())
}
