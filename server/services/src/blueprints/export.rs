//! Exporting objects as a blueprint that applies to another Garrison.
//!
//! authentik's exporter identifies every object by its primary key and writes them in no
//! particular order, so an export names rows that exist only where it was made and often fails
//! to import (spec §10, item 4). An export here is made to be applied elsewhere:
//!
//! - entries come in dependency order ([`EXPORT_ORDER`]: keypairs, roles, groups with parents
//!   before children, users, tokens, service connections, providers, applications, outposts,
//!   brands), so every reference points to an entry already written;
//! - an entry's `identifiers` are its model's natural key only (a group's `name`, a user's
//!   `username`, an application's `slug`, …), never `pk`;
//! - a field that holds another object's primary key ([`references`]) is written
//!   `!KeyOf <id>` when that object is in the export, else `!Find [model, [natural key,
//!   value]]`, which finds it by name where the export is applied;
//! - secrets are never read: a token's key, a RADIUS shared secret and a kubeconfig become
//!   `!Env NAME`, a keypair's private key `!File keys/<name>.pem`, each listed as a
//!   [`Placeholder`] the importer provides; a user's password is left out;
//! - `attrs` are every writable field the object's serialized form has, so that planning the
//!   export where it was made (with the placeholders' values) shows nothing to do.
//!
//! What Garrison manages itself (the embedded outpost, outposts' service accounts and tokens,
//! anything whose `managed` is set) is left out: the Garrison it is applied to makes its own.
//! An export holds exactly what the caller may view; a reference to an object hidden from the
//! caller leaves its field out, with a warning.
use std::collections::{HashMap, HashSet};

use garrison_model::{ProviderKind, UserType};
use garrison_store::Conn;
use garrison_store::outposts::certificates as cert_store;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use self::emit::Yaml;
use super::registry::{self, Kind, Object};
use crate::authz::Caller;
use crate::{ServiceError, ServiceResult, Services};

/// Reading a keypair's certificate PEM takes a permission of its own (authentik's), and an
/// exported keypair carries its certificate.
const VIEW_CERTIFICATE: &str = "authentik_crypto.view_certificatekeypair_certificate";

/// The first word of the `!Env` variables an export names. Not `GARRISON_`: the engine reads
/// those as unset, so that no blueprint can copy Garrison's own settings.
const ENV_PREFIX: &str = "EXPORT";

/// Where `!File` private keys are read, relative to the directory the export is applied from.
const KEYS_DIR: &str = "keys";

/// The export's `metadata.name`.
const EXPORT_NAME: &str = "Garrison export";

/// authentik's label on the blueprints its exporter writes.
const GENERATED_LABEL: &str = "blueprints.goauthentik.io/generated";

/// What to export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportSelection {
    /// Every object the caller may view, of every model a blueprint can write.
    Everything,
    /// These models only.
    Models(Vec<ModelSelection>),
}

/// One model of an [`ExportSelection::Models`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSelection {
    /// `app_label.model`, the model part in any case.
    pub model: String,
    /// Primary keys as the API shows them (a UUID, or a user's or provider's integer); `None`:
    /// every object of the model the caller may view.
    pub pks: Option<Vec<String>>,
}

/// An export: the blueprint and what applying it needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Export {
    /// The blueprint. Its header comment lists the placeholders and warnings too.
    pub yaml: String,
    /// The secrets the blueprint refers to instead of containing them.
    pub placeholders: Vec<Placeholder>,
    /// What was left out, and why.
    pub warnings: Vec<String>,
}

/// Where a placeholder's value comes from when the export is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceholderSource {
    /// `!Env NAME`: an environment variable (read only when a superuser applies the export).
    Env,
    /// `!File PATH`: a file below the directory the export is applied from.
    File,
}

/// A secret an export refers to, which whoever applies it provides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    pub source: PlaceholderSource,
    /// The variable's name, or the file's path.
    pub name: String,
    /// `app_label.model` of the object the secret belongs to.
    pub model: String,
    /// That object's natural key (its `name`, `username`, `identifier`, …).
    pub object: String,
    pub field: String,
    /// What to provide, for people.
    pub description: String,
}

/// The order entries are written in. Every kind comes after the kinds its references point to
/// (a test checks it; groups, which refer to groups, are ordered parents first), so every
/// `!KeyOf` names an entry already written.
const EXPORT_ORDER: [Kind; 14] = [
    Kind::CertificateKeyPair,
    Kind::Role,
    Kind::Group,
    Kind::User,
    Kind::Token,
    Kind::DockerConnection,
    Kind::KubernetesConnection,
    Kind::Provider(ProviderKind::Proxy),
    Kind::Provider(ProviderKind::Ldap),
    Kind::Provider(ProviderKind::Radius),
    Kind::Provider(ProviderKind::Rac),
    Kind::Application,
    Kind::Outpost,
    Kind::Brand,
];

/// The model a reference field points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    One(Kind),
    /// A provider of any of the four kinds: its integer primary key names one of them.
    AnyProvider,
    /// A service connection of either kind.
    AnyConnection,
}

impl Target {
    fn kinds(self) -> Vec<Kind> {
        match self {
            Target::One(kind) => vec![kind],
            Target::AnyProvider => ProviderKind::ALL.into_iter().map(Kind::Provider).collect(),
            Target::AnyConnection => vec![Kind::DockerConnection, Kind::KubernetesConnection],
        }
    }
}

/// A field holding other objects' primary keys.
#[derive(Debug)]
struct Reference {
    field: &'static str,
    target: Target,
    /// A list of primary keys rather than one (or null).
    many: bool,
    /// The object cannot be created without it: when the export cannot refer to its target,
    /// the object is left out rather than the field.
    required: bool,
}

const fn one(field: &'static str, target: Target) -> Reference {
    Reference {
        field,
        target,
        many: false,
        required: false,
    }
}

const fn list(field: &'static str, target: Target) -> Reference {
    Reference {
        field,
        target,
        many: true,
        required: false,
    }
}

const KEYPAIR: Target = Target::One(Kind::CertificateKeyPair);

const GROUP_REFERENCES: &[Reference] = &[
    list("parents", Target::One(Kind::Group)),
    list("roles", Target::One(Kind::Role)),
];
const USER_REFERENCES: &[Reference] = &[
    list("groups", Target::One(Kind::Group)),
    list("roles", Target::One(Kind::Role)),
];
const TOKEN_REFERENCES: &[Reference] = &[Reference {
    field: "user",
    target: Target::One(Kind::User),
    many: false,
    required: true,
}];
const PROVIDER_REFERENCES: &[Reference] = &[one("certificate", KEYPAIR)];
const APPLICATION_REFERENCES: &[Reference] = &[
    one("provider", Target::AnyProvider),
    list("backchannel_providers", Target::AnyProvider),
];
const OUTPOST_REFERENCES: &[Reference] = &[
    list("providers", Target::AnyProvider),
    one("service_connection", Target::AnyConnection),
];
const BRAND_REFERENCES: &[Reference] = &[
    one("web_certificate", KEYPAIR),
    list("client_certificates", KEYPAIR),
    one("default_application", Target::One(Kind::Application)),
];
const DOCKER_CONNECTION_REFERENCES: &[Reference] = &[
    one("tls_verification", KEYPAIR),
    one("tls_authentication", KEYPAIR),
];

/// The fields of `kind` that hold other objects' primary keys. Kept here rather than in the
/// registry's schemas, which describe what a blueprint may write; a test checks that every
/// field named here is one of them. (Flows, property mappings and federation sources are not
/// Garrison objects: their UUIDs are written as they are.)
fn references(kind: Kind) -> &'static [Reference] {
    match kind {
        Kind::Group => GROUP_REFERENCES,
        Kind::User => USER_REFERENCES,
        Kind::Token => TOKEN_REFERENCES,
        // authentik's RAC provider has no certificate.
        Kind::Provider(ProviderKind::Rac) => &[],
        Kind::Provider(_) => PROVIDER_REFERENCES,
        Kind::Application => APPLICATION_REFERENCES,
        Kind::Outpost => OUTPOST_REFERENCES,
        Kind::Brand => BRAND_REFERENCES,
        Kind::DockerConnection => DOCKER_CONNECTION_REFERENCES,
        Kind::Role | Kind::CertificateKeyPair | Kind::KubernetesConnection => &[],
    }
}

/// Writable fields an export never writes.
fn left_out(kind: Kind) -> &'static [&'static str] {
    match kind {
        // Membership is written once, on the user (`groups`): users come after groups, so a
        // group's `users` would name entries not written yet, and writing both would make a
        // group entry drop the members the user entries add back.
        Kind::Group => &["users"],
        // authentik's blueprint-only grants through the user's own role, which Garrison refuses
        // (not supported yet); the serialized user has none to export.
        Kind::User => &["permissions"],
        _ => &[],
    }
}

/// Writable fields read apart from the serialized object (which does not show them).
fn exported_apart(kind: Kind, field: &str) -> bool {
    // The certificate PEM is public, but the API serves it from an endpoint of its own.
    kind == Kind::CertificateKeyPair && field == "certificate_data"
}

/// What an export writes in place of a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SecretRule {
    /// Nothing: the object is created without it (a user's password).
    Omit,
    /// `!Env NAME`.
    Env,
    /// `!File keys/<name>.pem`: a PEM is a file more often than a variable.
    File,
}

/// The rule for each of the schemas' secrets (a test checks that every secret has one).
fn secret_rule(kind: Kind, field: &str) -> Option<SecretRule> {
    match (kind, field) {
        (Kind::User, "password") => Some(SecretRule::Omit),
        (Kind::Token, "key") => Some(SecretRule::Env),
        (Kind::CertificateKeyPair, "key_data") => Some(SecretRule::File),
        (Kind::KubernetesConnection, "kubeconfig") => Some(SecretRule::Env),
        (Kind::Provider(ProviderKind::Radius), "shared_secret") => Some(SecretRule::Env),
        _ => None,
    }
}

/// Whether the object has the secret at all: a keypair may lack a private key, a Kubernetes
/// connection a kubeconfig (it then uses the cluster it runs in). Tokens always have a key and
/// RADIUS providers a shared secret (perhaps empty: the secret is not read to tell).
fn holds_secret(object: &Object) -> bool {
    match object {
        Object::CertificateKeyPair(pair) => pair.private_key_available,
        Object::ServiceConnection(connection) => connection.has_kubeconfig,
        _ => true,
    }
}

fn describe_secret(kind: Kind, field: &str, name: &str) -> String {
    match kind {
        Kind::Token => format!("the key of token `{name}`"),
        Kind::CertificateKeyPair => {
            format!("the private key (PEM) of keypair `{name}`, matching its certificate")
        }
        Kind::KubernetesConnection => format!(
            "the kubeconfig of Kubernetes connection `{name}`, as JSON \
             (`kubectl config view --raw -o json`)"
        ),
        Kind::Provider(ProviderKind::Radius) => {
            format!("the shared secret of RADIUS provider `{name}`")
        }
        _ => format!("`{field}` of {} `{name}`", kind.qualified()),
    }
}

/// The models asked for: every object the caller may view (`None`), or these primary keys
/// (spelled as `Object::pk_text` spells them).
type Wanted = HashMap<Kind, Option<Vec<String>>>;

fn wanted(selection: &ExportSelection) -> ServiceResult<Wanted> {
    let mut wanted = Wanted::new();
    match selection {
        ExportSelection::Everything => {
            for kind in Kind::ALL {
                wanted.insert(kind, None);
            }
        }
        ExportSelection::Models(models) => {
            for chosen in models {
                let kind = super::resolve_model(chosen.model.trim())
                    .map_err(|message| ServiceError::invalid("model", message))?;
                let slot = wanted.entry(kind).or_insert_with(|| Some(Vec::new()));
                match (&chosen.pks, slot) {
                    // Every object of the model: whatever else was asked of it.
                    (None, slot) => *slot = None,
                    (Some(pks), Some(listed)) => {
                        listed.extend(pks.iter().map(|pk| pk_text(pk)));
                    }
                    (Some(_), None) => {}
                }
            }
        }
    }
    Ok(wanted)
}

/// A primary key as `Object::pk_text` spells it: a UUID hyphenated in lower case, an integer
/// in decimal.
fn pk_text(text: &str) -> String {
    let text = text.trim();
    if let Ok(uuid) = Uuid::parse_str(text) {
        return uuid.to_string();
    }
    match text.parse::<i64>() {
        Ok(number) => number.to_string(),
        Err(_) => text.to_owned(),
    }
}

/// The primary key a reference field holds, spelled as [`pk_text`] spells it.
fn referenced_pk(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(pk_text(text)),
        Value::Number(number) => number.as_i64().map(|number| number.to_string()),
        _ => None,
    }
}

/// Every object of every kind as the export's transaction sees them: the selection's and
/// those its references name.
struct Catalogue {
    objects: Vec<Object>,
    views: Vec<Map<String, Value>>,
    visible: Vec<bool>,
    by_pk: HashMap<(Kind, String), usize>,
    /// Each kind's objects, in the order its list shows them.
    by_kind: HashMap<Kind, Vec<usize>>,
}

impl Catalogue {
    async fn load(conn: &mut Conn, caller: &Caller) -> ServiceResult<Catalogue> {
        let mut catalogue = Catalogue {
            objects: Vec::new(),
            views: Vec::new(),
            visible: Vec::new(),
            by_pk: HashMap::new(),
            by_kind: HashMap::new(),
        };
        for kind in Kind::ALL {
            let mut of_kind = Vec::new();
            for object in registry::load_all(conn, kind).await? {
                let index = catalogue.objects.len();
                catalogue.by_pk.insert((kind, object.pk_text()), index);
                catalogue.visible.push(object.visible_to(caller));
                catalogue.views.push(object.view());
                catalogue.objects.push(object);
                of_kind.push(index);
            }
            catalogue.by_kind.insert(kind, of_kind);
        }
        Ok(catalogue)
    }

    /// The object's natural key (what its entry is identified by, and `!Find` finds it by).
    fn natural_key(&self, index: usize) -> Option<&str> {
        let kind = self.objects[index].kind();
        self.views[index]
            .get(kind.schema().natural_key)
            .and_then(Value::as_str)
    }

    /// The object a reference field's value names, if the caller may view it. An object that
    /// does not exist and one hidden from the caller are not told apart: an export must not
    /// reveal hidden objects.
    fn find(&self, target: Target, value: &Value) -> Option<usize> {
        let pk = referenced_pk(value)?;
        target
            .kinds()
            .into_iter()
            .find_map(|kind| self.by_pk.get(&(kind, pk.clone())).copied())
            .filter(|&index| self.visible[index] && self.natural_key(index).is_some())
    }

    /// The object's model and name, for warnings.
    fn label(&self, index: usize) -> String {
        format!(
            "{} `{}`",
            self.objects[index].kind().qualified(),
            self.natural_key(index).unwrap_or("?")
        )
    }
}

/// Why an object the selection covers is not exported.
enum Skip {
    /// Garrison makes it itself wherever it runs: said only when the object was asked for by
    /// its primary key.
    Managed(&'static str),
    /// It cannot be exported usefully: always said.
    Unusable(String),
}

fn skip_reason(
    catalogue: &Catalogue,
    caller: &Caller,
    index: usize,
    service_accounts: &HashSet<String>,
) -> Option<Skip> {
    let object = &catalogue.objects[index];
    let kind = object.kind();
    let managed = match object {
        Object::Token(token) => token.managed.is_some(),
        Object::Outpost(outpost) => outpost.managed.is_some(),
        Object::CertificateKeyPair(pair) => pair.managed.is_some(),
        _ => false,
    };
    if managed {
        return Some(Skip::Managed("Garrison manages it"));
    }
    if let Object::User(user) = object
        && user.user_type == UserType::InternalServiceAccount
        && service_accounts.contains(&user.username)
    {
        return Some(Skip::Managed(
            "it is an outpost's service account, which Garrison manages",
        ));
    }
    if catalogue.natural_key(index).is_none() {
        return Some(Skip::Unusable(format!(
            "it has no `{}`",
            kind.schema().natural_key
        )));
    }
    if let Object::CertificateKeyPair(pair) = object
        && !caller
            .principal
            .has_on(VIEW_CERTIFICATE, &pair.pk.to_string())
    {
        return Some(Skip::Unusable(format!(
            "you may not read its certificate ({VIEW_CERTIFICATE})"
        )));
    }
    // An expired token authenticates nobody, and recreating it elsewhere could be refused.
    if let Object::Token(token) = object
        && token.is_expired(chrono::Utc::now())
    {
        return Some(Skip::Unusable("it has expired".into()));
    }
    for reference in references(kind).iter().filter(|r| r.required) {
        let found = catalogue.views[index]
            .get(reference.field)
            .and_then(|value| catalogue.find(reference.target, value));
        if found.is_none() {
            return Some(Skip::Unusable(format!(
                "its `{}` is an object you may not view",
                reference.field
            )));
        }
    }
    None
}

/// The objects to export, in the order they are written.
fn choose(
    catalogue: &Catalogue,
    caller: &Caller,
    wanted: &Wanted,
    warnings: &mut Vec<String>,
) -> ServiceResult<Vec<usize>> {
    // Outposts' service accounts, by username (whether or not the caller sees the outpost).
    let service_accounts: HashSet<String> = catalogue
        .objects
        .iter()
        .filter_map(|object| match object {
            Object::Outpost(outpost) => Some(outpost.service_account_username()),
            _ => None,
        })
        .collect();
    let mut chosen = Vec::new();
    for kind in EXPORT_ORDER {
        let Some(asked) = wanted.get(&kind) else {
            continue;
        };
        let explicit: Option<HashSet<usize>> = match asked {
            None => None,
            Some(pks) => {
                let mut indices = HashSet::new();
                for pk in pks {
                    let found = catalogue
                        .by_pk
                        .get(&(kind, pk.clone()))
                        .copied()
                        .filter(|&index| catalogue.visible[index]);
                    match found {
                        Some(index) => {
                            indices.insert(index);
                        }
                        // As for any object the caller may not view: not found.
                        None => {
                            return Err(ServiceError::not_found(kind.model().verbose_name, pk));
                        }
                    }
                }
                Some(indices)
            }
        };
        let mut of_kind = Vec::new();
        let all = catalogue
            .by_kind
            .get(&kind)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for &index in all {
            if !catalogue.visible[index]
                || explicit.as_ref().is_some_and(|set| !set.contains(&index))
            {
                continue;
            }
            match skip_reason(catalogue, caller, index, &service_accounts) {
                None => of_kind.push(index),
                Some(Skip::Managed(reason)) => {
                    if explicit.is_some() {
                        warnings.push(format!("{} left out: {reason}", catalogue.label(index)));
                    }
                }
                Some(Skip::Unusable(reason)) => {
                    warnings.push(format!("{} left out: {reason}", catalogue.label(index)));
                }
            }
        }
        if kind == Kind::Group {
            of_kind = parents_first(catalogue, of_kind)?;
        }
        chosen.extend(of_kind);
    }
    Ok(chosen)
}

/// Groups with every parent among them before its children (otherwise in the given order).
fn parents_first(catalogue: &Catalogue, groups: Vec<usize>) -> ServiceResult<Vec<usize>> {
    let among: HashMap<String, usize> = groups
        .iter()
        .map(|&index| (catalogue.objects[index].pk_text(), index))
        .collect();
    let parents_among = |index: usize| -> Vec<usize> {
        match &catalogue.objects[index] {
            Object::Group(group) => group
                .parents
                .iter()
                .filter_map(|parent| among.get(&parent.to_string()).copied())
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut placed: HashSet<usize> = HashSet::new();
    let mut ordered = Vec::with_capacity(groups.len());
    let mut remaining = groups;
    while !remaining.is_empty() {
        // A pass places every group whose parents an earlier pass placed; a child whose
        // parent is placed in the same pass waits for the next.
        let (ready, waiting): (Vec<usize>, Vec<usize>) =
            remaining.into_iter().partition(|&index| {
                parents_among(index)
                    .iter()
                    .all(|parent| placed.contains(parent))
            });
        // The store refuses cycles; if one were there anyway, the export would fail to apply.
        if ready.is_empty() {
            return Err(ServiceError::Internal(format!(
                "the parents of {} groups form a cycle",
                waiting.len()
            )));
        }
        placed.extend(ready.iter().copied());
        ordered.extend(ready);
        remaining = waiting;
    }
    Ok(ordered)
}

/// Lower-case letters and digits, other runs as one `-`: entry ids and key file names.
fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("object");
    }
    slug
}

/// Upper-case letters and digits, anything else `_`: environment variable names.
fn shout(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `base`, or `base<separator>2`, `…3`, … : the first that `taken` does not hold yet (then it
/// does).
fn unique(taken: &mut HashSet<String>, base: String, separator: char) -> String {
    if taken.insert(base.clone()) {
        return base;
    }
    let mut n = 2u64;
    loop {
        let candidate = format!("{base}{separator}{n}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// Builds the entries of the chosen objects, in order.
struct Writer<'c> {
    catalogue: &'c Catalogue,
    /// Entry id of each chosen object.
    ids: HashMap<usize, String>,
    /// The objects whose entries are written: `!KeyOf` may name only those.
    written: HashSet<usize>,
    env_names: HashSet<String>,
    file_names: HashSet<String>,
    placeholders: Vec<Placeholder>,
    warnings: Vec<String>,
}

impl<'c> Writer<'c> {
    fn new(catalogue: &'c Catalogue, chosen: &[usize], warnings: Vec<String>) -> Self {
        let mut taken = HashSet::new();
        let ids = chosen
            .iter()
            .map(|&index| {
                let kind = catalogue.objects[index].kind();
                let name = slug(catalogue.natural_key(index).unwrap_or_default());
                let id = unique(&mut taken, format!("{}-{name}", kind.model().model), '-');
                (index, id)
            })
            .collect();
        Writer {
            catalogue,
            ids,
            written: HashSet::new(),
            env_names: HashSet::new(),
            file_names: HashSet::new(),
            placeholders: Vec::new(),
            warnings,
        }
    }

    async fn entry(&mut self, conn: &mut Conn, index: usize) -> ServiceResult<Yaml> {
        let catalogue = self.catalogue;
        let object = &catalogue.objects[index];
        let view = &catalogue.views[index];
        let kind = object.kind();
        let schema = kind.schema();
        let (Some(name), Some(id)) = (catalogue.natural_key(index), self.ids.get(&index).cloned())
        else {
            return Err(ServiceError::Internal(format!(
                "{} was chosen for the export without a name",
                catalogue.label(index)
            )));
        };
        let mut attrs = Vec::new();
        for &field in schema.writable {
            if field == schema.natural_key || left_out(kind).contains(&field) {
                continue;
            }
            if let Some(rule) = secret_rule(kind, field) {
                if let Some(placeholder) = self.secret(rule, object, name, field) {
                    attrs.push((field.to_owned(), placeholder));
                }
                continue;
            }
            if exported_apart(kind, field) {
                attrs.push((
                    field.to_owned(),
                    Yaml::Str(certificate_pem(conn, object).await?),
                ));
                continue;
            }
            let Some(value) = view.get(field) else {
                continue;
            };
            // A null the model does not take back (none is stored today) would fail the
            // import: left out, the created object gets the default.
            if value.is_null() && !schema.nullable.contains(&field) {
                continue;
            }
            match references(kind).iter().find(|r| r.field == field) {
                None => attrs.push((field.to_owned(), Yaml::from_json(value))),
                Some(reference) => match self.reference(reference, value)? {
                    Some(written) => attrs.push((field.to_owned(), written)),
                    None => self.warnings.push(format!(
                        "{}: `{field}` left out: it names an object you may not view",
                        catalogue.label(index)
                    )),
                },
            }
        }
        self.written.insert(index);
        Ok(Yaml::Map(vec![
            ("model".into(), Yaml::Str(kind.qualified())),
            ("id".into(), Yaml::Str(id)),
            (
                "identifiers".into(),
                Yaml::Map(vec![(
                    schema.natural_key.to_owned(),
                    Yaml::Str(name.to_owned()),
                )]),
            ),
            ("attrs".into(), Yaml::Map(attrs)),
        ]))
    }

    /// A reference field as written; `None` when it names an object the export cannot refer
    /// to (then the field is left out: a partial list would change the object).
    fn reference(&self, reference: &Reference, value: &Value) -> ServiceResult<Option<Yaml>> {
        if !reference.many {
            if value.is_null() {
                return Ok(Some(Yaml::Null));
            }
            return self.refer(reference.target, value);
        }
        let Value::Array(items) = value else {
            return Ok(None);
        };
        let mut written = Vec::with_capacity(items.len());
        for item in items {
            match self.refer(reference.target, item)? {
                Some(yaml) => written.push(yaml),
                None => return Ok(None),
            }
        }
        Ok(Some(Yaml::Seq(written)))
    }

    /// `!KeyOf <id>` for an object in the export, `!Find [model, [key, value]]` for one that is
    /// not.
    fn refer(&self, target: Target, value: &Value) -> ServiceResult<Option<Yaml>> {
        let Some(index) = self.catalogue.find(target, value) else {
            return Ok(None);
        };
        if let Some(id) = self.ids.get(&index) {
            // The order guarantees this; a `!KeyOf` to a later entry would fail the import.
            if !self.written.contains(&index) {
                return Err(ServiceError::Internal(format!(
                    "the export would refer to `{id}` before its entry"
                )));
            }
            return Ok(Some(Yaml::KeyOf(id.clone())));
        }
        let kind = self.catalogue.objects[index].kind();
        Ok(self.catalogue.natural_key(index).map(|name| Yaml::Find {
            model: kind.qualified(),
            field: kind.schema().natural_key.to_owned(),
            value: name.to_owned(),
        }))
    }

    /// The placeholder written for a secret, recorded; `None` when nothing is written.
    fn secret(
        &mut self,
        rule: SecretRule,
        object: &Object,
        name: &str,
        field: &str,
    ) -> Option<Yaml> {
        if !holds_secret(object) {
            return None;
        }
        let kind = object.kind();
        let (source, reference, written) = match rule {
            SecretRule::Omit => return None,
            SecretRule::Env => {
                let base = format!(
                    "{ENV_PREFIX}_{}_{}_{}",
                    shout(kind.model().model),
                    shout(name),
                    shout(field)
                );
                let variable = unique(&mut self.env_names, base, '_');
                (
                    PlaceholderSource::Env,
                    variable.clone(),
                    Yaml::Env(variable),
                )
            }
            SecretRule::File => {
                let stem = unique(&mut self.file_names, slug(name), '-');
                let path = format!("{KEYS_DIR}/{stem}.pem");
                (PlaceholderSource::File, path.clone(), Yaml::File(path))
            }
        };
        self.placeholders.push(Placeholder {
            source,
            name: reference,
            model: kind.qualified(),
            object: name.to_owned(),
            field: field.to_owned(),
            description: describe_secret(kind, field, name),
        });
        Some(written)
    }

    fn finish(self, entries: Vec<Yaml>) -> Export {
        let mut header = vec![
            "Exported by Garrison. Objects refer to each other with !KeyOf and !Find,".to_owned(),
            "never by primary key.".to_owned(),
        ];
        if !self.placeholders.is_empty() {
            header.push(
                "Secrets are not in this file; applying it needs (!Env is read only when a \
                 superuser applies it):"
                    .to_owned(),
            );
            for placeholder in &self.placeholders {
                header.push(match placeholder.source {
                    PlaceholderSource::Env => {
                        format!("  environment variable {}", placeholder.name)
                    }
                    PlaceholderSource::File => format!(
                        "  file {} below the directory it is applied from",
                        placeholder.name
                    ),
                });
            }
        }
        if !self.warnings.is_empty() {
            header.push("Left out:".to_owned());
            header.extend(self.warnings.iter().map(|warning| format!("  {warning}")));
        }
        let document = vec![
            (
                "version".to_owned(),
                Yaml::Number(serde_json::Number::from(1_i64)),
            ),
            (
                "metadata".to_owned(),
                Yaml::Map(vec![
                    ("name".to_owned(), Yaml::Str(EXPORT_NAME.to_owned())),
                    (
                        "labels".to_owned(),
                        Yaml::Map(vec![(GENERATED_LABEL.to_owned(), Yaml::Str("true".into()))]),
                    ),
                ]),
            ),
            ("entries".to_owned(), Yaml::Seq(entries)),
        ];
        Export {
            yaml: emit::document(&document, &header),
            placeholders: self.placeholders,
            warnings: self.warnings,
        }
    }
}

/// A keypair's certificate PEM, from the store (the serialized keypair has none).
async fn certificate_pem(conn: &mut Conn, object: &Object) -> ServiceResult<String> {
    let Object::CertificateKeyPair(pair) = object else {
        return Err(ServiceError::Internal(
            "a certificate asked of an object that is no keypair".into(),
        ));
    };
    cert_store::get(conn, pair.pk)
        .await?
        .map(|record| record.certificate_data)
        .ok_or_else(|| ServiceError::Internal(format!("keypair {} vanished", pair.pk)))
}

async fn export_in(conn: &mut Conn, caller: &Caller, wanted: &Wanted) -> ServiceResult<Export> {
    let catalogue = Catalogue::load(conn, caller).await?;
    let mut warnings = Vec::new();
    let chosen = choose(&catalogue, caller, wanted, &mut warnings)?;
    let mut writer = Writer::new(&catalogue, &chosen, warnings);
    let mut entries = Vec::with_capacity(chosen.len());
    for index in chosen {
        entries.push(writer.entry(conn, index).await?);
    }
    Ok(writer.finish(entries))
}

impl Services {
    /// A blueprint of what `selection` names, as far as `caller` may view it, that applies to
    /// another Garrison (see the module documentation). Writes nothing and records nothing:
    /// no secret is read.
    pub async fn export_blueprint(
        &self,
        caller: &Caller,
        selection: &ExportSelection,
    ) -> ServiceResult<Export> {
        let wanted = wanted(selection)?;
        // One transaction, always rolled back: every read sees the same instant, so no
        // reference names an object another writer removed between two reads. (On SQLite this
        // waits for, and then holds off, writers for the export's duration, as a plan does.)
        let mut tx = self.begin().await?;
        match export_in(tx.conn(), caller, &wanted).await {
            Ok(export) => {
                tx.rollback().await?;
                Ok(export)
            }
            Err(error) => {
                // The export's error is what matters; the rollback (or the drop) ends the rest.
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }
}

/// A YAML writer for what an export holds: mappings, sequences, JSON's scalars and the four
/// tags an export uses. Its output is read back as written by YAML 1.1 readers (PyYAML's
/// rules, which Garrison's reader follows): a string is written plain only when no reader
/// could take it for anything else, and double-quoted with escapes otherwise.
mod emit {
    use serde_json::{Number, Value};

    /// A node as the export writes it.
    #[derive(Clone, Debug, PartialEq)]
    pub(super) enum Yaml {
        Null,
        Bool(bool),
        Number(Number),
        Str(String),
        Seq(Vec<Yaml>),
        /// Keys in the order written.
        Map(Vec<(String, Yaml)>),
        /// `!KeyOf id`
        KeyOf(String),
        /// `!Find [model, [field, value]]`
        Find {
            model: String,
            field: String,
            value: String,
        },
        /// `!Env NAME`
        Env(String),
        /// `!File PATH`
        File(String),
    }

    impl Yaml {
        pub(super) fn from_json(value: &Value) -> Yaml {
            match value {
                Value::Null => Yaml::Null,
                Value::Bool(flag) => Yaml::Bool(*flag),
                Value::Number(number) => Yaml::Number(number.clone()),
                Value::String(text) => Yaml::Str(text.clone()),
                Value::Array(items) => Yaml::Seq(items.iter().map(Yaml::from_json).collect()),
                Value::Object(map) => Yaml::Map(
                    map.iter()
                        .map(|(key, value)| (key.clone(), Yaml::from_json(value)))
                        .collect(),
                ),
            }
        }
    }

    /// YAML limits an implicit mapping key to 1024 characters (quotes and escapes included);
    /// longer keys are written explicitly (`? key`), with room to spare.
    const MAX_IMPLICIT_KEY: usize = 1000;

    /// Spaces per nesting level.
    const STEP: usize = 2;

    /// A document: `comments` as `#` lines, then the top-level mapping.
    pub(super) fn document(top: &[(String, Yaml)], comments: &[String]) -> String {
        let mut out = String::new();
        for comment in comments {
            out.push('#');
            if !comment.is_empty() {
                out.push(' ');
                // A comment ends at the line's end: a line break in an object's name (which
                // warnings repeat) must not start a line of YAML.
                out.extend(
                    comment
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c }),
                );
            }
            out.push('\n');
        }
        write_map(&mut out, top, 0);
        out
    }

    fn pad(out: &mut String, indent: usize) {
        out.extend(std::iter::repeat_n(' ', indent));
    }

    fn write_map(out: &mut String, pairs: &[(String, Yaml)], indent: usize) {
        for (key, value) in pairs {
            pad(out, indent);
            write_pair(out, key, value, indent);
        }
    }

    /// `key: value` from the current position (the key's indentation written), the value's
    /// own lines below it indented one step more.
    fn write_pair(out: &mut String, key: &str, value: &Yaml, indent: usize) {
        let key = inline_str(key);
        if key.chars().count() > MAX_IMPLICIT_KEY {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(out, indent);
            out.push(':');
        } else {
            out.push_str(&key);
            out.push(':');
        }
        write_value(out, value, indent);
    }

    /// A value after `key:` or `-`: on the same line when it is a scalar, a tag or an empty
    /// collection, otherwise on the lines below at `indent` plus one step.
    fn write_value(out: &mut String, value: &Yaml, indent: usize) {
        match value {
            Yaml::Map(pairs) if !pairs.is_empty() => {
                out.push('\n');
                write_map(out, pairs, indent + STEP);
            }
            Yaml::Seq(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(out, items, indent + STEP);
            }
            Yaml::Str(text) if fits_literal_block(text) => {
                write_literal_block(out, text, indent + STEP);
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }

    fn write_seq(out: &mut String, items: &[Yaml], indent: usize) {
        for item in items {
            pad(out, indent);
            out.push('-');
            match item {
                // `- key: value` with the other keys below the first.
                Yaml::Map(pairs)
                    if !pairs.is_empty()
                        && pairs.iter().all(|(key, _)| {
                            inline_str(key).chars().count() <= MAX_IMPLICIT_KEY
                        }) =>
                {
                    out.push(' ');
                    for (position, (key, value)) in pairs.iter().enumerate() {
                        if position > 0 {
                            pad(out, indent + STEP);
                        }
                        write_pair(out, key, value, indent + STEP);
                    }
                }
                other => write_value(out, other, indent),
            }
        }
    }

    /// A multi-line string (a PEM, a regular expression per line) as a literal block (`|`),
    /// which keeps it readable: only when it reads back exactly. Any character that needs an
    /// escape, a carriage return, a tab, a line that starts or ends with white space, an empty
    /// first line or more than one final line break make it a quoted string instead.
    fn fits_literal_block(text: &str) -> bool {
        let body = text.strip_suffix('\n').unwrap_or(text);
        body.contains('\n')
            && !body.starts_with('\n')
            && !body.ends_with('\n')
            && body
                .chars()
                .all(|c| c == '\n' || (c != '\t' && !needs_escape(c)))
            && body
                .split('\n')
                .all(|line| !line.starts_with(' ') && !line.ends_with(' '))
    }

    /// `|` keeps one final line break, `|-` none; empty lines inside stay empty.
    fn write_literal_block(out: &mut String, text: &str, indent: usize) {
        let (header, body) = match text.strip_suffix('\n') {
            Some(body) => (" |\n", body),
            None => (" |-\n", text),
        };
        out.push_str(header);
        for line in body.split('\n') {
            if !line.is_empty() {
                pad(out, indent);
                out.push_str(line);
            }
            out.push('\n');
        }
    }

    /// A scalar, a tag or an empty collection on one line (a non-empty collection in flow
    /// style, which the block writer does not use).
    fn inline(value: &Yaml) -> String {
        match value {
            Yaml::Null => "null".to_owned(),
            Yaml::Bool(flag) => flag.to_string(),
            Yaml::Number(number) => number_text(number),
            Yaml::Str(text) => inline_str(text),
            Yaml::Seq(items) => {
                let items: Vec<String> = items.iter().map(inline).collect();
                format!("[{}]", items.join(", "))
            }
            Yaml::Map(pairs) => {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(key, value)| format!("{}: {}", inline_str(key), inline(value)))
                    .collect();
                format!("{{{}}}", pairs.join(", "))
            }
            Yaml::KeyOf(id) => format!("!KeyOf {}", inline_str(id)),
            Yaml::Find {
                model,
                field,
                value,
            } => format!(
                "!Find [{}, [{}, {}]]",
                inline_str(model),
                inline_str(field),
                inline_str(value)
            ),
            Yaml::Env(name) => format!("!Env {}", inline_str(name)),
            Yaml::File(path) => format!("!File {}", inline_str(path)),
        }
    }

    /// An integer as written; a float with a dot and no exponent, which YAML 1.1 needs to
    /// read a float (`1e3` is a string there). A whole number beyond 64 bits is written as the
    /// float it equals: YAML integers that large fail to load.
    fn number_text(number: &Number) -> String {
        if let Some(integer) = number.as_i64() {
            return integer.to_string();
        }
        let Some(float) = number.as_f64() else {
            return number.to_string();
        };
        // `Display` never uses an exponent and round-trips.
        let mut text = float.to_string();
        if !text.contains('.') {
            text.push_str(".0");
        }
        text
    }

    /// Plain when [`is_plain_safe`], double-quoted otherwise. Valid in block and flow context.
    pub(super) fn inline_str(text: &str) -> String {
        if is_plain_safe(text) {
            text.to_owned()
        } else {
            double_quoted(text)
        }
    }

    /// Whether `text` reads back as itself when written plain, in block and flow context alike.
    /// Deliberately narrow: ASCII letters, digits and `_ . / - @ +`, single inner spaces, and
    /// a letter, `_` or `/` first. Every YAML 1.1 number, date, null (`~`, empty) and special
    /// key (`<<`, `=`) starts with a digit, a sign, a dot or a symbol, or holds `:`, so the
    /// only letter-led words a reader would take for something else are the booleans and
    /// `null`; `y` and `n` (booleans in the YAML 1.1 type list, strings for PyYAML) are quoted
    /// too, so no reader takes them for one.
    pub(super) fn is_plain_safe(text: &str) -> bool {
        let Some(first) = text.chars().next() else {
            return false;
        };
        if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
            return false;
        }
        if text.ends_with(' ') || text.contains("  ") {
            return false;
        }
        if !text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '@' | '+' | ' ')
        }) {
            return false;
        }
        !matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "no" | "true" | "false" | "on" | "off" | "y" | "n" | "null"
        )
    }

    /// Characters YAML does not allow written as they are (outside its printable set), and
    /// line breaks other than `\n` that a quoted scalar would fold.
    fn needs_escape(c: char) -> bool {
        let code = u32::from(c);
        code < 0x20
            || (0x7F..=0x9F).contains(&code)
            || matches!(code, 0x2028 | 0x2029 | 0xFEFF | 0xFFFE | 0xFFFF)
    }

    fn double_quoted(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\0' => out.push_str("\\0"),
                c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

#[cfg(test)]
mod tests {
    use garrison_blueprint::{Limits, Node, NodeValue, Tag, Value as BpValue, parse};
    use serde_json::json;

    use super::emit::{Yaml, document, inline_str, is_plain_safe};
    use super::*;
    use crate::blueprints::write::{self, Prepared};

    /// A blueprint with one group entry whose attrs hold `value` under `value`.
    fn blueprint_holding(value: Yaml) -> String {
        let entry = Yaml::Map(vec![
            ("model".into(), Yaml::Str("authentik_core.group".into())),
            ("id".into(), Yaml::Str("group-x".into())),
            (
                "identifiers".into(),
                Yaml::Map(vec![("name".into(), Yaml::Str("x".into()))]),
            ),
            ("attrs".into(), Yaml::Map(vec![("value".into(), value)])),
        ]);
        document(
            &[
                (
                    "version".into(),
                    Yaml::Number(serde_json::Number::from(1_i64)),
                ),
                ("entries".into(), Yaml::Seq(vec![entry])),
            ],
            &["a comment\nwith a line break".into()],
        )
    }

    /// The `value` attr as the repository's reader reads it back.
    fn read_back(text: &str) -> Node {
        let blueprint =
            parse(text, &Limits::default()).unwrap_or_else(|error| panic!("{error}\n{text}"));
        blueprint.entries[0]
            .attrs
            .get("value")
            .cloned()
            .unwrap_or_else(|| panic!("no value in\n{text}"))
    }

    const TRICKY: &[&str] = &[
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Yes",
        "NO",
        "On",
        "OFF",
        "true",
        "False",
        "TRUE",
        "null",
        "Null",
        "NULL",
        "~",
        "",
        " ",
        " lead",
        "trail ",
        "a  b",
        "1e3",
        "1.5e3",
        "1.5e+3",
        "1.5",
        "1",
        "-1",
        "+1",
        ".5",
        "0x10",
        "0777",
        "0o17",
        "0b101",
        "1_000",
        "1:20",
        "190:20:30.15",
        ".inf",
        "-.inf",
        ".NaN",
        "2024-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "a: b",
        "a:b",
        "key:",
        "#x",
        "a #b",
        "x#",
        "- item",
        "-",
        "--- x",
        "---",
        "...",
        "[a]",
        "{a: 1}",
        "a, b",
        "a]",
        "&anchor",
        "*alias",
        "!KeyOf x",
        "!!str",
        "%YAML",
        "@at",
        "`tick",
        "|",
        ">",
        "?",
        "? x",
        "'single'",
        "it's",
        "\"double\"",
        "back\\slash",
        "<<",
        "=",
        "ünïcödé",
        "日本語",
        "emoji 🎉",
        "line\nbreak",
        "two\n\nlines\n",
        "trailing\n",
        "\nleading",
        "ends with two\n\n",
        "tab\there",
        "cr\r\nlf",
        "nul\0byte",
        "\u{85}nel",
        "\u{2028}ls",
        "\u{2029}ps",
        "\u{feff}bom",
        "del\u{7f}",
        "bell\u{7}",
        "\u{1b}[0m",
        "indented\n  second",
        "second \nline",
        "plain words",
        "/static/dist/icon.svg",
        "authentik Admins",
        "admin@example.com",
        "a+b",
        "_under",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
        "^/api/.*$\n^/static/.*$",
    ];

    #[test]
    fn strings_read_back_as_written() {
        for &text in TRICKY {
            let yaml = blueprint_holding(Yaml::Str(text.to_owned()));
            assert_eq!(
                read_back(&yaml).value,
                NodeValue::Str(text.to_owned()),
                "{text:?} was written as:\n{yaml}"
            );
        }
    }

    #[test]
    fn tricky_strings_are_quoted_and_plain_ones_are_not() {
        for text in [
            "yes", "no", "on", "1e3", "0x10", "", " lead", "a: b", "#x", "null",
        ] {
            assert!(inline_str(text).starts_with('"'), "{text:?}");
        }
        for text in [
            "admins",
            "authentik Admins",
            "group-admins",
            "authentik_core.group",
        ] {
            assert!(is_plain_safe(text), "{text:?}");
        }
    }

    #[test]
    fn strings_as_mapping_keys_read_back_as_written() {
        let long = "k".repeat(2000);
        let mut keys: Vec<&str> = TRICKY.to_vec();
        keys.push(&long);
        let pairs: Vec<(String, Yaml)> = keys
            .iter()
            .enumerate()
            .map(|(position, key)| ((*key).to_owned(), Yaml::Number(position.into())))
            .collect();
        // Repeated keys would collapse: the list has none.
        let distinct: HashSet<&str> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), keys.len());
        for value in [Yaml::Map(pairs.clone()), Yaml::Seq(vec![Yaml::Map(pairs)])] {
            let yaml = blueprint_holding(value);
            let node = read_back(&yaml);
            let map = match &node.value {
                NodeValue::Seq(items) => items[0].as_map(),
                _ => node.as_map(),
            }
            .unwrap_or_else(|| panic!("a mapping:\n{yaml}"));
            let read: Vec<&str> = map.iter().map(|(key, _)| key.as_str()).collect();
            assert_eq!(read, keys, "written as:\n{yaml}");
        }
    }

    #[test]
    fn json_values_read_back_as_written() {
        let value = json!({
            "int": 42,
            "negative": -7,
            "big": i64::MAX,
            "small": i64::MIN,
            "float": 1.5,
            "whole float": 2.0,
            "tiny": 1e-7,
            "huge": 1e300,
            "flag": false,
            "nothing": null,
            "empty map": {},
            "empty list": [],
            "nested": {"list": [1, "two", [3, [], {}], {"four": 4, "five": [5]}], "yes": "no"},
            "list of lists": [[1, 2], [], [[]]],
            "pem": "-----BEGIN X-----\nabc\n-----END X-----\n",
        });
        let yaml = blueprint_holding(Yaml::from_json(&value));
        assert_eq!(
            read_back(&yaml).to_value_untagged(),
            Some(BpValue::from_json(&value)),
            "written as:\n{yaml}"
        );
        // Beyond 64 bits: the float it equals, not an integer that fails to load.
        let yaml = blueprint_holding(Yaml::from_json(&json!(u64::MAX)));
        assert_eq!(read_back(&yaml).value, NodeValue::Float(u64::MAX as f64));
    }

    #[test]
    fn tags_read_back_as_written() {
        let value = Yaml::Seq(vec![
            Yaml::KeyOf("group-a".into()),
            Yaml::Find {
                model: "authentik_core.group".into(),
                field: "name".into(),
                value: "a, b] yes: #c".into(),
            },
            Yaml::Find {
                model: "authentik_core.user".into(),
                field: "username".into(),
                value: "no".into(),
            },
            Yaml::Env("EXPORT_TOKEN_X_KEY".into()),
            Yaml::File("keys/edge-tls.pem".into()),
        ]);
        let yaml = blueprint_holding(value);
        let node = read_back(&yaml);
        let items = node.as_seq().unwrap_or_else(|| panic!("a list:\n{yaml}"));
        let tags: Vec<&Tag> = items
            .iter()
            .map(|item| {
                &item
                    .as_tag()
                    .unwrap_or_else(|| panic!("a tag:\n{yaml}"))
                    .tag
            })
            .collect();
        assert_eq!(tags[0], &Tag::KeyOf("group-a".into()));
        for (tag, (model, field, value)) in tags[1..3].iter().zip([
            ("authentik_core.group", "name", "a, b] yes: #c"),
            ("authentik_core.user", "username", "no"),
        ]) {
            let Tag::Find { model: m, query } = tag else {
                panic!("a !Find:\n{yaml}");
            };
            assert_eq!(m.as_str(), Some(model));
            assert_eq!(query.len(), 1);
            assert_eq!(query[0].0.as_str(), Some(field));
            assert_eq!(query[0].1.as_str(), Some(value), "{yaml}");
        }
        assert!(
            matches!(tags[3], Tag::Env { name, default: None } if name == "EXPORT_TOKEN_X_KEY"),
            "{yaml}"
        );
        assert!(
            matches!(tags[4], Tag::File { path, default: None } if path == "keys/edge-tls.pem"),
            "{yaml}"
        );
    }

    #[test]
    fn every_reference_is_a_writable_field_the_object_shows() {
        for kind in Kind::ALL {
            let schema = kind.schema();
            for reference in references(kind) {
                assert!(
                    schema.writable.contains(&reference.field),
                    "{}: {} is not writable",
                    kind.qualified(),
                    reference.field
                );
                assert!(
                    schema.fields.contains(&reference.field),
                    "{}: {} is not in the serialized object",
                    kind.qualified(),
                    reference.field
                );
            }
            for field in left_out(kind) {
                assert!(
                    schema.writable.contains(field),
                    "{}: {field}",
                    kind.qualified()
                );
            }
        }
    }

    #[test]
    fn every_writable_field_and_secret_is_accounted_for() {
        for kind in Kind::ALL {
            let schema = kind.schema();
            for field in schema.writable {
                assert!(
                    schema.fields.contains(field)
                        || secret_rule(kind, field).is_some()
                        || left_out(kind).contains(field)
                        || exported_apart(kind, field),
                    "{}: `{field}` is writable but neither exported nor left out on purpose",
                    kind.qualified()
                );
            }
            for secret in schema.secrets {
                assert!(
                    secret_rule(kind, secret).is_some(),
                    "{}: secret `{secret}` has no rule",
                    kind.qualified()
                );
            }
        }
    }

    #[test]
    fn references_point_to_entries_written_before() {
        assert_eq!(EXPORT_ORDER.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            assert_eq!(
                EXPORT_ORDER.iter().filter(|k| **k == kind).count(),
                1,
                "{}",
                kind.qualified()
            );
        }
        let position = |kind: Kind| EXPORT_ORDER.iter().position(|k| *k == kind);
        for kind in EXPORT_ORDER {
            for reference in references(kind) {
                for target in reference.target.kinds() {
                    // Groups name groups: ordered parents first (`parents_first`).
                    assert!(
                        position(target) < position(kind)
                            || (kind == Kind::Group && target == Kind::Group),
                        "{} `{}` points to {}, written later",
                        kind.qualified(),
                        reference.field,
                        target.qualified()
                    );
                }
            }
        }
    }

    #[test]
    fn names_are_slugs_and_variables() {
        assert_eq!(slug("authentik Admins"), "authentik-admins");
        assert_eq!(slug("  --Ünï/../x  "), "n-x");
        assert_eq!(slug("///"), "object");
        assert_eq!(shout("edge-tls.example"), "EDGE_TLS_EXAMPLE");
        let mut taken = HashSet::new();
        assert_eq!(unique(&mut taken, "group-a".into(), '-'), "group-a");
        assert_eq!(unique(&mut taken, "group-a".into(), '-'), "group-a-2");
        assert_eq!(unique(&mut taken, "group-a".into(), '-'), "group-a-3");
        assert_eq!(
            pk_text(" 0A5F0A5F-0A5F-4A5F-8A5F-0A5F0A5F0A5F "),
            "0a5f0a5f-0a5f-4a5f-8a5f-0a5f0a5f0a5f"
        );
        assert_eq!(pk_text("007"), "7");
    }

    #[test]
    fn selections_name_models_the_engine_knows() {
        let selection = ExportSelection::Models(vec![
            ModelSelection {
                model: "authentik_core.Group".into(),
                pks: Some(vec!["1".into()]),
            },
            ModelSelection {
                model: "authentik_core.group".into(),
                pks: None,
            },
        ]);
        let wanted = wanted(&selection).expect("known models");
        assert_eq!(
            wanted.get(&Kind::Group),
            Some(&None),
            "all of the model wins"
        );
        let unknown = ExportSelection::Models(vec![ModelSelection {
            model: "authentik_flows.flow".into(),
            pks: None,
        }]);
        assert!(matches!(
            super::wanted(&unknown),
            Err(ServiceError::Validation(_))
        ));
    }

    /// What an export writes for a kubeconfig (`!Env`) gives text: the engine takes JSON text
    /// of a mapping, and still refuses anything else without repeating it.
    #[test]
    fn a_kubeconfig_may_be_given_as_json_text() {
        let data = |kubeconfig: &str| match json!({"name": "cluster", "kubeconfig": kubeconfig}) {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let prepared = write::prepare(
            Kind::KubernetesConnection,
            &data(r#"{"users": [{"name": "u", "user": {"token": "t"}}]}"#),
        )
        .expect("JSON text of a mapping");
        assert!(
            matches!(
                prepared,
                Prepared::ServiceConnection {
                    kubeconfig: Some(_),
                    ..
                }
            ),
            "{prepared:?}"
        );
        for refused in ["[1]", "token: secret-nobody-sees", "\"text\""] {
            let error = write::prepare(Kind::KubernetesConnection, &data(refused)).unwrap_err();
            assert_eq!(error, "kubeconfig: Expected a dictionary of items.");
        }
    }
}
