//! What outposts are made of: providers (what an outpost serves), the applications that use
//! them, certificate keypairs, service connections (where outposts are deployed), brands, and
//! the outposts themselves with their configuration. Shapes and defaults are authentik's.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Timestamp;

/// A provider's kind, which is also an outpost's type: an outpost of type `ldap` serves LDAP
/// providers only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Proxy,
    Ldap,
    Radius,
    Rac,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::Proxy,
        ProviderKind::Ldap,
        ProviderKind::Radius,
        ProviderKind::Rac,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Proxy => "proxy",
            ProviderKind::Ldap => "ldap",
            ProviderKind::Radius => "radius",
            ProviderKind::Rac => "rac",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The concrete model, as authentik names it (`authentik_providers_proxy.proxyprovider`).
    pub fn model(self) -> crate::models::ModelName {
        match self {
            ProviderKind::Proxy => crate::models::PROXY_PROVIDER,
            ProviderKind::Ldap => crate::models::LDAP_PROVIDER,
            ProviderKind::Radius => crate::models::RADIUS_PROVIDER,
            ProviderKind::Rac => crate::models::RAC_PROVIDER,
        }
    }

    /// What people call one (`Proxy Provider`).
    pub fn verbose_name(self) -> &'static str {
        self.model().verbose_name
    }

    /// authentik's UI form tag for the kind, which clients display and send back.
    pub fn component(self) -> &'static str {
        match self {
            ProviderKind::Proxy => "ak-provider-proxy-form",
            ProviderKind::Ldap => "ak-provider-ldap-form",
            ProviderKind::Radius => "ak-provider-radius-form",
            ProviderKind::Rac => "ak-provider-rac-form",
        }
    }
}

/// How a proxy provider sits in front of its application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyMode {
    #[default]
    Proxy,
    ForwardSingle,
    ForwardDomain,
}

/// How an LDAP outpost answers searches and binds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapAccessMode {
    #[default]
    Direct,
    Cached,
}

fn yes() -> bool {
    true
}

/// A proxy provider's own settings (authentik's defaults). `client_secret` and
/// `cookie_secret` are secrets: kept sealed, generated when not given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySettings {
    pub internal_host: String,
    pub external_host: String,
    pub internal_host_ssl_validation: bool,
    pub skip_path_regex: String,
    pub basic_auth_enabled: bool,
    pub basic_auth_password_attribute: String,
    pub basic_auth_user_attribute: String,
    pub mode: ProxyMode,
    pub intercept_header_auth: bool,
    pub cookie_domain: String,
    pub access_token_validity: String,
    pub refresh_token_validity: String,
    pub jwt_federation_sources: Vec<Uuid>,
    pub jwt_federation_providers: Vec<i64>,
    pub client_id: String,
    pub client_secret: String,
    pub cookie_secret: String,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            internal_host: String::new(),
            external_host: String::new(),
            internal_host_ssl_validation: true,
            skip_path_regex: String::new(),
            basic_auth_enabled: false,
            basic_auth_password_attribute: String::new(),
            basic_auth_user_attribute: String::new(),
            mode: ProxyMode::Proxy,
            intercept_header_auth: true,
            cookie_domain: String::new(),
            access_token_validity: "hours=24".into(),
            refresh_token_validity: "days=30".into(),
            jwt_federation_sources: Vec::new(),
            jwt_federation_providers: Vec::new(),
            client_id: String::new(),
            client_secret: String::new(),
            cookie_secret: String::new(),
        }
    }
}

/// An LDAP provider's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LdapSettings {
    pub base_dn: String,
    pub tls_server_name: String,
    pub uid_start_number: i64,
    pub gid_start_number: i64,
    pub search_mode: LdapAccessMode,
    pub bind_mode: LdapAccessMode,
    #[serde(default = "yes")]
    pub mfa_support: bool,
}

impl Default for LdapSettings {
    fn default() -> Self {
        Self {
            base_dn: "DC=ldap,DC=goauthentik,DC=io".into(),
            tls_server_name: String::new(),
            uid_start_number: 2000,
            gid_start_number: 4000,
            search_mode: LdapAccessMode::Direct,
            bind_mode: LdapAccessMode::Direct,
            mfa_support: true,
        }
    }
}

/// A RADIUS provider's own settings. `shared_secret` is a secret: kept sealed, generated when
/// not given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusSettings {
    pub client_networks: String,
    pub shared_secret: String,
    pub mfa_support: bool,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        Self {
            client_networks: "0.0.0.0/0, ::/0".into(),
            shared_secret: String::new(),
            mfa_support: true,
        }
    }
}

/// A RAC (remote access) provider's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RacSettings {
    pub settings: Map<String, Value>,
    pub connection_expiry: String,
    pub delete_token_on_disconnect: bool,
}

impl Default for RacSettings {
    fn default() -> Self {
        Self {
            settings: Map::new(),
            connection_expiry: "hours=8".into(),
            delete_token_on_disconnect: false,
        }
    }
}

/// The settings of one provider, by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProviderSettings {
    Proxy(ProxySettings),
    Ldap(LdapSettings),
    Radius(RadiusSettings),
    Rac(RacSettings),
}

impl ProviderSettings {
    /// The defaults of `kind`.
    pub fn defaults(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::Proxy => ProviderSettings::Proxy(ProxySettings::default()),
            ProviderKind::Ldap => ProviderSettings::Ldap(LdapSettings::default()),
            ProviderKind::Radius => ProviderSettings::Radius(RadiusSettings::default()),
            ProviderKind::Rac => ProviderSettings::Rac(RacSettings::default()),
        }
    }

    /// The names of the fields that are secrets: stored sealed, never in events.
    pub fn secret_fields(kind: ProviderKind) -> &'static [&'static str] {
        match kind {
            ProviderKind::Proxy => &["client_secret", "cookie_secret"],
            ProviderKind::Radius => &["shared_secret"],
            ProviderKind::Ldap | ProviderKind::Rac => &[],
        }
    }

    /// The settings of `kind` from a JSON object, with defaults for missing fields; a field
    /// the kind does not have, or of the wrong type, is an error naming it.
    pub fn from_map(kind: ProviderKind, map: Map<String, Value>) -> Result<Self, String> {
        let value = Value::Object(map);
        fn read<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
            serde_json::from_value(value).map_err(|e| e.to_string())
        }
        Ok(match kind {
            ProviderKind::Proxy => ProviderSettings::Proxy(read(value)?),
            ProviderKind::Ldap => ProviderSettings::Ldap(read(value)?),
            ProviderKind::Radius => ProviderSettings::Radius(read(value)?),
            ProviderKind::Rac => ProviderSettings::Rac(read(value)?),
        })
    }

    /// The settings as a JSON object (secrets included).
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// A provider: what an outpost serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub pk: i64,
    pub name: String,
    pub kind: ProviderKind,
    /// Flows stay outside Garrison: opaque references, kept for the official client.
    pub authentication_flow: Option<Uuid>,
    pub authorization_flow: Option<Uuid>,
    pub invalidation_flow: Option<Uuid>,
    pub property_mappings: Vec<Uuid>,
    pub certificate: Option<Uuid>,
    pub settings: ProviderSettings,
    /// The application it serves: (slug, name).
    pub application: Option<(String, String)>,
    /// The application it serves as a backchannel provider: (slug, name).
    pub backchannel_application: Option<(String, String)>,
    /// The outposts serving it, by UUID.
    pub outposts: Vec<Uuid>,
}

/// Fields a caller may set on a provider; `None` leaves a field as it is. Kind-specific
/// fields travel in `settings`, merged over the current ones and validated as a whole.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderChanges {
    pub name: Option<String>,
    pub authentication_flow: Option<Option<Uuid>>,
    pub authorization_flow: Option<Option<Uuid>>,
    pub invalidation_flow: Option<Option<Uuid>>,
    pub property_mappings: Option<Vec<Uuid>>,
    pub certificate: Option<Option<Uuid>>,
    pub settings: Map<String, Value>,
}

/// Whether an application's policies must all pass or any one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyEngineMode {
    All,
    #[default]
    Any,
}

impl PolicyEngineMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyEngineMode::All => "all",
            PolicyEngineMode::Any => "any",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [PolicyEngineMode::All, PolicyEngineMode::Any]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub pk: Uuid,
    pub name: String,
    pub slug: String,
    pub provider: Option<i64>,
    pub backchannel_providers: Vec<i64>,
    pub open_in_new_tab: bool,
    pub meta_launch_url: String,
    pub meta_icon: String,
    pub meta_description: String,
    pub meta_publisher: String,
    pub policy_engine_mode: PolicyEngineMode,
    pub group: String,
    pub meta_hide: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicationChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub provider: Option<Option<i64>>,
    pub backchannel_providers: Option<Vec<i64>>,
    pub open_in_new_tab: Option<bool>,
    pub meta_launch_url: Option<String>,
    pub meta_icon: Option<String>,
    pub meta_description: Option<String>,
    pub meta_publisher: Option<String>,
    pub policy_engine_mode: Option<PolicyEngineMode>,
    pub group: Option<String>,
    pub meta_hide: Option<bool>,
}

/// A certificate with, optionally, its private key. The key itself never leaves the services
/// except on an explicit, audited request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateKeyPair {
    pub pk: Uuid,
    pub name: String,
    pub fingerprint_sha256: String,
    pub fingerprint_sha1: String,
    pub cert_expiry: Timestamp,
    pub cert_subject: String,
    pub private_key_available: bool,
    /// "rsa", "ecdsa" or "ed25519".
    pub key_type: Option<String>,
    pub managed: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateKeyPairChanges {
    pub name: Option<String>,
    /// PEM.
    pub certificate_data: Option<String>,
    /// PEM; `Some("")` leaves the key as it is, as authentik's form does.
    pub key_data: Option<String>,
}

/// Where outposts are deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceConnectionKind {
    Docker,
    Kubernetes,
}

impl ServiceConnectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceConnectionKind::Docker => "docker",
            ServiceConnectionKind::Kubernetes => "kubernetes",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ServiceConnectionKind::Docker,
            ServiceConnectionKind::Kubernetes,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    pub fn model(self) -> crate::models::ModelName {
        match self {
            ServiceConnectionKind::Docker => crate::models::DOCKER_SERVICE_CONNECTION,
            ServiceConnectionKind::Kubernetes => crate::models::KUBERNETES_SERVICE_CONNECTION,
        }
    }

    pub fn component(self) -> &'static str {
        match self {
            ServiceConnectionKind::Docker => "ak-service-connection-docker-form",
            ServiceConnectionKind::Kubernetes => "ak-service-connection-kubernetes-form",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceConnection {
    pub pk: Uuid,
    pub name: String,
    pub kind: ServiceConnectionKind,
    pub local: bool,
    /// Docker: the engine's URL.
    pub url: String,
    pub tls_verification: Option<Uuid>,
    pub tls_authentication: Option<Uuid>,
    /// Kubernetes: whether a kubeconfig is stored (it is never returned).
    pub has_kubeconfig: bool,
    pub verify_ssl: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceConnectionChanges {
    pub name: Option<String>,
    pub local: Option<bool>,
    pub url: Option<String>,
    pub tls_verification: Option<Option<Uuid>>,
    pub tls_authentication: Option<Option<Uuid>>,
    pub kubeconfig: Option<Map<String, Value>>,
    pub verify_ssl: Option<bool>,
}

/// What the deployment backend last learnt about a connection: "unknown" until one looks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConnectionState {
    pub healthy: bool,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outpost {
    pub pk: Uuid,
    pub name: String,
    pub outpost_type: ProviderKind,
    pub providers: Vec<i64>,
    pub service_connection: Option<Uuid>,
    /// As stored: every key the operator gave, defaults filled in on read by [`OutpostConfig`].
    pub config: Map<String, Value>,
    pub managed: Option<String>,
    /// What the deployment backend reported; `{}` until one does.
    pub deploy_state: Value,
    /// Why the last permission rebuild could not expand a provider, if it could not.
    pub expansion_error: Option<String>,
    /// SHA-256 (hex) over everything the outpost fetches, as of the last change.
    pub config_hash: String,
}

impl Outpost {
    /// The service account's username: `ak-outpost-<uuid hex>`.
    pub fn service_account_username(&self) -> String {
        format!("ak-outpost-{}", self.pk.simple())
    }

    /// The API token's identifier: `ak-outpost-<dashed uuid>-api`.
    pub fn token_identifier(&self) -> String {
        format!("ak-outpost-{}-api", self.pk)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutpostChanges {
    pub name: Option<String>,
    pub outpost_type: Option<ProviderKind>,
    pub providers: Option<Vec<i64>>,
    pub service_connection: Option<Option<Uuid>>,
    pub config: Option<Value>,
    pub managed: Option<Option<String>>,
}

/// The embedded outpost's marker and name, as authentik's.
pub const EMBEDDED_OUTPOST_MANAGED: &str = "goauthentik.io/outposts/embedded";
pub const EMBEDDED_OUTPOST_NAME: &str = "authentik Embedded Outpost";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Brand {
    pub pk: Uuid,
    pub domain: String,
    pub default: bool,
    /// branding_* texts and flow references, as authentik names them.
    pub settings: Map<String, Value>,
    pub web_certificate: Option<Uuid>,
    pub client_certificates: Vec<Uuid>,
    pub attributes: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BrandChanges {
    pub domain: Option<String>,
    pub default: Option<bool>,
    pub settings: Map<String, Value>,
    pub web_certificate: Option<Option<Uuid>>,
    pub client_certificates: Option<Vec<Uuid>>,
    pub attributes: Option<Map<String, Value>>,
}

/// An outpost's configuration with every field authentik defines, and its default. Stored as
/// given (unknown keys kept, for newer outposts); read through this type, which fills in
/// defaults and refuses a known key of the wrong type, naming it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutpostConfig {
    pub authentik_host: String,
    pub authentik_host_insecure: bool,
    pub authentik_host_browser: String,
    pub log_level: String,
    pub object_naming_template: String,
    pub refresh_interval: String,
    pub container_image: Option<String>,
    pub docker_network: Option<String>,
    pub docker_map_ports: bool,
    pub docker_labels: Option<std::collections::BTreeMap<String, String>>,
    pub kubernetes_replicas: i64,
    pub kubernetes_namespace: String,
    pub kubernetes_ingress_annotations: std::collections::BTreeMap<String, String>,
    pub kubernetes_ingress_secret_name: String,
    pub kubernetes_ingress_class_name: Option<String>,
    pub kubernetes_ingress_path_type: Option<String>,
    pub kubernetes_httproute_annotations: std::collections::BTreeMap<String, String>,
    pub kubernetes_httproute_parent_refs: Vec<Map<String, Value>>,
    pub kubernetes_service_type: String,
    pub kubernetes_disabled_components: Vec<String>,
    pub kubernetes_image_pull_secrets: Vec<String>,
    pub kubernetes_json_patches: Option<Map<String, Value>>,
    pub kubernetes_disable_x509_strict: bool,
}

impl Default for OutpostConfig {
    fn default() -> Self {
        Self {
            authentik_host: String::new(),
            authentik_host_insecure: false,
            authentik_host_browser: String::new(),
            log_level: "info".into(),
            object_naming_template: "ak-outpost-%(name)s".into(),
            refresh_interval: "minutes=5".into(),
            container_image: None,
            docker_network: None,
            docker_map_ports: true,
            docker_labels: None,
            kubernetes_replicas: 1,
            kubernetes_namespace: "default".into(),
            kubernetes_ingress_annotations: Default::default(),
            kubernetes_ingress_secret_name: "authentik-outpost-tls".into(),
            kubernetes_ingress_class_name: None,
            kubernetes_ingress_path_type: None,
            kubernetes_httproute_annotations: Default::default(),
            kubernetes_httproute_parent_refs: Vec::new(),
            kubernetes_service_type: "ClusterIP".into(),
            kubernetes_disabled_components: Vec::new(),
            kubernetes_image_pull_secrets: Vec::new(),
            kubernetes_json_patches: None,
            kubernetes_disable_x509_strict: false,
        }
    }
}

/// Why a configuration was refused: the key and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl OutpostConfig {
    /// The defaults as a JSON object, with `authentik_host` set (`default_settings`).
    pub fn defaults_map(authentik_host: &str) -> Map<String, Value> {
        let config = OutpostConfig {
            authentik_host: authentik_host.to_owned(),
            ..OutpostConfig::default()
        };
        match serde_json::to_value(config) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Reads a stored or submitted configuration: defaults for missing keys, unknown keys
    /// ignored here (and kept in storage), a known key of the wrong type refused by name, and
    /// `refresh_interval` parsed as authentik does.
    pub fn parse(map: &Map<String, Value>) -> Result<OutpostConfig, ConfigError> {
        let defaults = OutpostConfig::defaults_map("");
        for (key, value) in map {
            if !defaults.contains_key(key) {
                continue;
            }
            let mut probe = defaults.clone();
            probe.insert(key.clone(), value.clone());
            if let Err(error) = serde_json::from_value::<OutpostConfig>(Value::Object(probe)) {
                return Err(ConfigError {
                    key: key.clone(),
                    message: error.to_string(),
                });
            }
        }
        let config: OutpostConfig =
            serde_json::from_value(Value::Object(map.clone())).map_err(|error| ConfigError {
                key: "config".into(),
                message: error.to_string(),
            })?;
        refresh_interval_seconds(&config.refresh_interval).map_err(|message| ConfigError {
            key: "refresh_interval".into(),
            message,
        })?;
        Ok(config)
    }

    /// `refresh_interval` in whole seconds.
    pub fn refresh_interval_s(&self) -> i64 {
        refresh_interval_seconds(&self.refresh_interval).unwrap_or(300)
    }
}

/// authentik's `timedelta_from_string`: `;`-separated `key=value` pairs, keys microseconds,
/// milliseconds, seconds, minutes, hours, days and weeks, values floats; unknown keys are
/// ignored, and at least one known key is required. Returns whole seconds.
pub fn refresh_interval_seconds(text: &str) -> Result<i64, String> {
    let mut seconds = 0f64;
    let mut known = false;
    for part in text.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let factor = match key.trim() {
            "microseconds" => 1e-6,
            "milliseconds" => 1e-3,
            "seconds" => 1.0,
            "minutes" => 60.0,
            "hours" => 3600.0,
            "days" => 86_400.0,
            "weeks" => 604_800.0,
            _ => continue,
        };
        let amount: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{value:?} is not a number (in {part:?})"))?;
        if !amount.is_finite() {
            return Err(format!("{value:?} is not a finite number"));
        }
        seconds += amount * factor;
        known = true;
    }
    if !known {
        return Err(format!(
            "{text:?} names no duration; write e.g. minutes=5 or hours=1;minutes=30"
        ));
    }
    Ok(seconds.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refresh_intervals_parse_as_authentik_does() {
        assert_eq!(refresh_interval_seconds("minutes=5"), Ok(300));
        assert_eq!(
            refresh_interval_seconds("hours=1;minutes=2;seconds=3"),
            Ok(3723)
        );
        assert_eq!(refresh_interval_seconds("seconds=1.5;fortnights=2"), Ok(1));
        assert!(refresh_interval_seconds("").is_err());
        assert!(refresh_interval_seconds("fortnights=2").is_err());
        assert!(refresh_interval_seconds("minutes=five").is_err());
    }

    #[test]
    fn configs_get_defaults_keep_unknown_keys_and_name_a_wrong_type() {
        let map = json!({"authentik_host": "https://id.example", "future_key": 1})
            .as_object()
            .cloned()
            .unwrap();
        let config = OutpostConfig::parse(&map).unwrap();
        assert_eq!(config.authentik_host, "https://id.example");
        assert_eq!(config.kubernetes_replicas, 1);
        assert_eq!(config.refresh_interval_s(), 300);
        let wrong = json!({"kubernetes_replicas": "three"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            OutpostConfig::parse(&wrong).unwrap_err().key,
            "kubernetes_replicas"
        );
        let bad_interval = json!({"refresh_interval": "soon"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            OutpostConfig::parse(&bad_interval).unwrap_err().key,
            "refresh_interval"
        );
        let defaults = OutpostConfig::defaults_map("http://h/");
        assert_eq!(
            defaults.len(),
            23,
            "every field of authentik's OutpostConfig"
        );
        assert_eq!(defaults["authentik_host"], "http://h/");
    }
}
