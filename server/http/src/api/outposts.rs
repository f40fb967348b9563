//! `/api/v3/outposts/`: outpost instances (authentik's `OutpostViewSet`) and the
//! configurations outposts fetch for their providers (`/outposts/proxy|ldap|radius/`), in
//! authentik's shapes so that its client and its outposts work unchanged.
//!
//! Garrison's own additions, which authentik does not have, are kept apart at the end of the
//! file: reading and rotating an outpost's token (`{uuid}/token/`, `{uuid}/token/rotate/`).
use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use garrison_model::{
    FieldErrors, LdapAccessMode, LdapSettings, Outpost, OutpostChanges, OutpostConfig, Provider,
    ProviderKind, ProviderSettings, ProxyMode, ProxySettings, RadiusSettings,
    refresh_interval_seconds,
};
use garrison_services::Caller;
use garrison_services::outposts::{OutpostFilter, ProviderFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::service_connections::ServiceConnectionJson;
use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::providers::{ProviderJson, UsedBy};
use crate::api::schema::{Paginated, TokenView, double_option};
use crate::{ApiError, AppState};

/// Routes relative to `/api/v3`. `instances/default_settings/` is a fixed segment, so it wins
/// over `instances/{uuid}/` by specificity.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outposts/instances/", get(list).post(create))
        .route(
            "/outposts/instances/default_settings/",
            get(default_settings),
        )
        .route(
            "/outposts/instances/{uuid}/",
            get(retrieve)
                .put(update)
                .patch(partial_update)
                .delete(destroy),
        )
        .route("/outposts/instances/{uuid}/health/", get(health))
        .route("/outposts/instances/{uuid}/used_by/", get(used_by))
        .route("/outposts/proxy/", get(proxy_list))
        .route("/outposts/ldap/", get(ldap_list))
        .route("/outposts/ldap/{id}/check_access/", get(ldap_check_access))
        .route("/outposts/radius/", get(radius_list))
        .route(
            "/outposts/radius/{id}/check_access/",
            get(radius_check_access),
        )
        // Garrison's additions.
        .route("/outposts/instances/{uuid}/token/", get(token))
        .route(
            "/outposts/instances/{uuid}/token/rotate/",
            post(rotate_token),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        create,
        retrieve,
        update,
        partial_update,
        destroy,
        health,
        default_settings,
        used_by,
        proxy_list,
        ldap_list,
        ldap_check_access,
        radius_list,
        radius_check_access,
        token,
        rotate_token,
    ),
    components(schemas(
        OutpostJson,
        OutpostRequest,
        OutpostType,
        OutpostHealthJson,
        OutpostDefaultConfigJson,
        ProviderJson,
        UsedBy,
        ProxyOutpostConfigJson,
        OpenIdConfigurationJson,
        LdapOutpostConfigJson,
        RadiusOutpostConfigJson,
        LdapCheckAccessJson,
        RadiusCheckAccessJson,
        PolicyTestResultJson,
        TokenView,
    ))
)]
struct OutpostsDoc;

/// The OpenAPI paths and schemas of this module, merged into the served document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    OutpostsDoc::openapi()
}

// ---------------------------------------------------------------------------------------------
// Outpost instances: JSON shapes
// ---------------------------------------------------------------------------------------------

/// authentik's `OutpostTypeEnum`: the kind of provider an outpost serves.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = OutpostTypeEnum)]
pub enum OutpostType {
    Proxy,
    Ldap,
    Radius,
    Rac,
}

impl From<OutpostType> for ProviderKind {
    fn from(kind: OutpostType) -> Self {
        match kind {
            OutpostType::Proxy => ProviderKind::Proxy,
            OutpostType::Ldap => ProviderKind::Ldap,
            OutpostType::Radius => ProviderKind::Radius,
            OutpostType::Rac => ProviderKind::Rac,
        }
    }
}

impl From<ProviderKind> for OutpostType {
    fn from(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::Proxy => OutpostType::Proxy,
            ProviderKind::Ldap => OutpostType::Ldap,
            ProviderKind::Radius => OutpostType::Radius,
            ProviderKind::Rac => OutpostType::Rac,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Outpost)]
pub struct OutpostJson {
    pub pk: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub outpost_type: OutpostType,
    pub providers: Vec<i64>,
    /// The providers the caller may see, in the order of `providers`.
    /// Shared with every other outpost of the page serving the same provider: a page of
    /// outposts behind one provider clones a pointer per row, not the provider.
    #[schema(value_type = Vec<ProviderJson>)]
    pub providers_obj: Vec<std::sync::Arc<ProviderJson>>,
    pub service_connection: Option<Uuid>,
    /// Null without a connection, or when the caller may not see it.
    pub service_connection_obj: Option<ServiceConnectionJson>,
    pub refresh_interval_s: i64,
    /// The identifier of the outpost's API token (`ak-outpost-<uuid>-api`).
    pub token_identifier: String,
    /// As stored: unknown keys kept, missing ones not filled in.
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    pub managed: Option<String>,
    /// Garrison's: the hash of everything this outpost fetches, as of the last change. The
    /// reference agent reports the one it holds, so the health shows a stale instance.
    pub config_hash: String,
    /// Garrison's: why a provider could not be expanded into the outpost's permissions.
    pub expansion_error: Option<String>,
}

/// `OutpostRequest` (and, every field optional, `PatchedOutpostRequest`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OutpostRequest)]
pub struct OutpostRequest {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub outpost_type: Option<OutpostType>,
    pub providers: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub service_connection: Option<Option<Uuid>>,
    /// Any JSON value: the services refuse anything but an object, naming `config`.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    #[serde(default, deserialize_with = "double_option")]
    pub managed: Option<Option<String>>,
}

impl From<OutpostRequest> for OutpostChanges {
    fn from(r: OutpostRequest) -> Self {
        Self {
            name: r.name,
            outpost_type: r.outpost_type.map(ProviderKind::from),
            providers: r.providers,
            service_connection: r.service_connection,
            config: r.config,
            managed: r.managed,
        }
    }
}

/// authentik's `OutpostHealth`: one connected instance of an outpost.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OutpostHealth)]
pub struct OutpostHealthJson {
    pub uid: String,
    pub last_seen: DateTime<Utc>,
    pub version: String,
    pub golang_version: String,
    pub openssl_enabled: bool,
    pub openssl_version: String,
    pub fips_enabled: Option<bool>,
    pub version_should: String,
    pub version_outdated: bool,
    pub build_hash: String,
    pub build_hash_should: String,
    pub hostname: String,
    /// Garrison's: whether the instance's websocket is open right now.
    pub connected: bool,
    /// Garrison's: the configuration hash the instance holds, when it says (the reference
    /// agent does; authentik's outposts do not).
    pub config_hash: Option<String>,
    /// Garrison's: whether that is the current configuration (null: unknown).
    pub config_current: Option<bool>,
    /// Garrison's: when the instance last fetched its configuration, when it says.
    pub config_fetched_at: Option<DateTime<Utc>>,
}

impl From<garrison_model::InstanceHealth> for OutpostHealthJson {
    fn from(health: garrison_model::InstanceHealth) -> Self {
        let state = health.state;
        Self {
            uid: state.uid,
            last_seen: state.last_seen.unwrap_or_else(Utc::now),
            version: state.version.unwrap_or_default(),
            golang_version: state.golang_version,
            openssl_enabled: state.openssl_enabled,
            openssl_version: state.openssl_version,
            // authentik reports FIPS only under an enterprise licence.
            fips_enabled: None,
            version_should: garrison_model::VERSION_SHOULD.into(),
            version_outdated: health.version_outdated,
            build_hash: state.build_hash,
            build_hash_should: String::new(),
            hostname: state.hostname,
            connected: state.connected,
            config_hash: state.config_hash,
            config_current: health.config_current,
            config_fetched_at: state.config_fetched_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OutpostDefaultConfig)]
pub struct OutpostDefaultConfigJson {
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

/// What outposts' JSON refers to, loaded once per response: the providers and service
/// connections the caller may see (`None`: refused, so left out).
struct Related {
    providers: HashMap<i64, Option<std::sync::Arc<ProviderJson>>>,
    connections: HashMap<Uuid, Option<ServiceConnectionJson>>,
}

impl Related {
    /// What `outposts` show of their providers and integrations, read in one query each.
    async fn load(
        state: &AppState,
        caller: &Caller,
        outposts: &[Outpost],
    ) -> Result<Self, ApiError> {
        // A provider the caller may not view is left out.
        let mut pks: Vec<i64> = outposts
            .iter()
            .flat_map(|o| o.providers.iter().copied())
            .collect();
        pks.sort_unstable();
        pks.dedup();
        let providers = state.services.provider_summaries(caller, &pks).await?;
        Self::with_providers(state, caller, outposts, providers).await
    }

    /// Like [`Related::load`], with the providers already read (those the caller may view).
    async fn with_providers(
        state: &AppState,
        caller: &Caller,
        outposts: &[Outpost],
        providers: Vec<garrison_model::Provider>,
    ) -> Result<Self, ApiError> {
        let mut related = Related {
            providers: providers
                .iter()
                .map(|p| (p.pk, Some(std::sync::Arc::new(ProviderJson::new(p)))))
                .collect(),
            connections: HashMap::new(),
        };
        // Every integration of the page in one query; one the caller may not view shows as
        // none.
        let mut uuids: Vec<Uuid> = outposts
            .iter()
            .filter_map(|o| o.service_connection)
            .collect();
        uuids.sort_unstable();
        uuids.dedup();
        for connection in state
            .services
            .service_connection_summaries(caller, &uuids)
            .await?
        {
            related
                .connections
                .insert(connection.pk, Some(ServiceConnectionJson::from(connection)));
        }
        Ok(related)
    }

    fn outpost(&self, outpost: Outpost) -> OutpostJson {
        let providers_obj = outpost
            .providers
            .iter()
            .filter_map(|pk| self.providers.get(pk).cloned().flatten())
            .collect();
        let service_connection_obj = outpost
            .service_connection
            .and_then(|uuid| self.connections.get(&uuid).cloned().flatten());
        // Only the one key is read: parsing the whole configuration for it cost a list of
        // outposts a deserialisation per row.
        let refresh_interval_s = outpost
            .config
            .get("refresh_interval")
            .and_then(Value::as_str)
            .map_or(Ok(300), garrison_model::refresh_interval_seconds)
            .unwrap_or(300);
        OutpostJson {
            pk: outpost.pk,
            token_identifier: outpost.token_identifier(),
            name: outpost.name,
            outpost_type: outpost.outpost_type.into(),
            providers: outpost.providers,
            providers_obj,
            service_connection: outpost.service_connection,
            service_connection_obj,
            refresh_interval_s,
            config: outpost.config,
            managed: outpost.managed,
            config_hash: outpost.config_hash,
            expansion_error: outpost.expansion_error,
        }
    }
}

async fn respond(
    state: &AppState,
    caller: &Caller,
    outpost: Outpost,
) -> Result<Json<OutpostJson>, ApiError> {
    let related = Related::load(state, caller, std::slice::from_ref(&outpost)).await?;
    Ok(Json(related.outpost(outpost)))
}

// ---------------------------------------------------------------------------------------------
// Outpost instances: request parsing
// ---------------------------------------------------------------------------------------------

fn outpost_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

/// `providers_by_pk`, which repeats (`?providers_by_pk=1&providers_by_pk=2`; `providers_by_pk[]`
/// is accepted too). `ListParams` keeps one value per key, so the query string is read again
/// here for every value. An empty value is no filter; a value that is not an integer is a 400.
fn providers_by_pk(uri: &Uri) -> Result<Vec<i64>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|error| {
        ApiError::BadRequest(FieldErrors::single(
            FieldErrors::NON_FIELD,
            error.body_text(),
        ))
    })?;
    let mut pks = Vec::new();
    for (key, value) in pairs {
        if !matches!(key.as_str(), "providers_by_pk" | "providers_by_pk[]") || value.is_empty() {
            continue;
        }
        let pk = value.parse::<i64>().map_err(|_| {
            ApiError::BadRequest(FieldErrors::single(
                "providers_by_pk",
                format!("“{value}” is not a valid value."),
            ))
        })?;
        pks.push(pk);
    }
    Ok(pks)
}

/// authentik's `OutpostFilter`.
fn outpost_filter(params: &ListParams, uri: &Uri) -> Result<OutpostFilter, ApiError> {
    Ok(OutpostFilter {
        name_iexact: params.text("name__iexact"),
        name_icontains: params.text("name__icontains"),
        managed_iexact: params.text("managed__iexact"),
        managed_icontains: params.text("managed__icontains"),
        service_connection_name_iexact: params.text("service_connection__name__iexact"),
        service_connection_name_icontains: params.text("service_connection__name__icontains"),
        providers_isnull: params.flag("providers__isnull")?,
        providers_by_pk: providers_by_pk(uri)?,
    })
}

/// The request's absolute `/`, as Django's `build_absolute_uri("/")` gives it: `https` when a
/// proxy says so in `X-Forwarded-Proto` (its first entry), else `http`; the host from `Host`,
/// or from the request line under HTTP/2. Empty (authentik's default) when neither names a
/// valid host.
fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    crate::origin(headers, uri)
        .map(|origin| origin + "/")
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Outpost instances: handlers
// ---------------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/outposts/instances/", tag = "outposts", operation_id = "outposts_instances_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query),
           ("name__iexact" = Option<String>, Query), ("name__icontains" = Option<String>, Query),
           ("managed__iexact" = Option<String>, Query), ("managed__icontains" = Option<String>, Query),
           ("service_connection__name__iexact" = Option<String>, Query),
           ("service_connection__name__icontains" = Option<String>, Query),
           ("providers__isnull" = Option<bool>, Query), ("providers_by_pk" = Option<Vec<i64>>, Query)),
    responses((status = 200, description = "PaginatedOutpostList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    uri: Uri,
    params: ListParams,
) -> Result<Json<Paginated<OutpostJson>>, ApiError> {
    let filter = outpost_filter(&params, &uri)?;
    let (page, providers) = state
        .services
        .list_outposts_with_providers(&caller, &params.query, filter)
        .await?;
    let related = Related::with_providers(&state, &caller, &page.items, providers).await?;
    Ok(Json(Paginated::new(page, |o| related.outpost(o))))
}

#[utoipa::path(post, path = "/outposts/instances/", tag = "outposts", operation_id = "outposts_instances_create",
    request_body = OutpostRequest, responses((status = 201, body = OutpostJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<OutpostRequest>,
) -> Result<(StatusCode, Json<OutpostJson>), ApiError> {
    let outpost = state.services.create_outpost(&caller, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        respond(&state, &caller, outpost).await?,
    ))
}

#[utoipa::path(get, path = "/outposts/instances/{uuid}/", tag = "outposts", operation_id = "outposts_instances_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = OutpostJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<OutpostJson>, ApiError> {
    let outpost = state
        .services
        .get_outpost(&caller, outpost_uuid(&pk)?)
        .await?;
    respond(&state, &caller, outpost).await
}

#[utoipa::path(put, path = "/outposts/instances/{uuid}/", tag = "outposts", operation_id = "outposts_instances_update",
    params(("uuid" = Uuid, Path)), request_body = OutpostRequest, responses((status = 200, body = OutpostJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<OutpostRequest>,
) -> Result<Json<OutpostJson>, ApiError> {
    let outpost = state
        .services
        .update_outpost(&caller, outpost_uuid(&pk)?, body.into(), false)
        .await?;
    respond(&state, &caller, outpost).await
}

#[utoipa::path(patch, path = "/outposts/instances/{uuid}/", tag = "outposts", operation_id = "outposts_instances_partial_update",
    params(("uuid" = Uuid, Path)), request_body = OutpostRequest, responses((status = 200, body = OutpostJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<OutpostRequest>,
) -> Result<Json<OutpostJson>, ApiError> {
    let outpost = state
        .services
        .update_outpost(&caller, outpost_uuid(&pk)?, body.into(), true)
        .await?;
    respond(&state, &caller, outpost).await
}

#[utoipa::path(delete, path = "/outposts/instances/{uuid}/", tag = "outposts", operation_id = "outposts_instances_destroy",
    params(("uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_outpost(&caller, outpost_uuid(&pk)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The outpost's connected instances (unpaginated). The list filters are accepted, as
/// authentik's schema declares them, and ignored.
///
/// Instances report their state over the outpost websocket, which arrives in a later change;
/// until then no instance is known, so the answer is `[]` once the outpost is known to be
/// visible to the caller (404 otherwise).
#[utoipa::path(get, path = "/outposts/instances/{uuid}/health/", tag = "outposts", operation_id = "outposts_instances_health_list",
    params(("uuid" = Uuid, Path), ("search" = Option<String>, Query), ("ordering" = Option<String>, Query),
           ("name__iexact" = Option<String>, Query), ("name__icontains" = Option<String>, Query),
           ("managed__iexact" = Option<String>, Query), ("managed__icontains" = Option<String>, Query),
           ("service_connection__name__iexact" = Option<String>, Query),
           ("service_connection__name__icontains" = Option<String>, Query),
           ("providers__isnull" = Option<bool>, Query), ("providers_by_pk" = Option<Vec<i64>>, Query)),
    responses((status = 200, body = Vec<OutpostHealthJson>)))]
pub async fn health(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<OutpostHealthJson>>, ApiError> {
    let health = state
        .services
        .outpost_health(&caller, outpost_uuid(&pk)?)
        .await?;
    Ok(Json(
        health.into_iter().map(OutpostHealthJson::from).collect(),
    ))
}

/// The default configuration for a new outpost, with `authentik_host` set to the absolute
/// base URL the request reached.
#[utoipa::path(get, path = "/outposts/instances/default_settings/", tag = "outposts",
    operation_id = "outposts_instances_default_settings_retrieve",
    responses((status = 200, body = OutpostDefaultConfigJson)))]
pub async fn default_settings(
    _: ApiCaller,
    headers: HeaderMap,
    uri: Uri,
) -> Json<OutpostDefaultConfigJson> {
    Json(OutpostDefaultConfigJson {
        config: OutpostConfig::defaults_map(&base_url(&headers, &uri)),
    })
}

/// What deleting the outpost would affect: nothing refers to an outpost (its service account
/// and token go with it), so the answer is `[]` once the outpost is known to be visible.
#[utoipa::path(get, path = "/outposts/instances/{uuid}/used_by/", tag = "outposts", operation_id = "outposts_instances_used_by_list",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = Vec<UsedBy>)))]
pub async fn used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<UsedBy>>, ApiError> {
    state
        .services
        .get_outpost(&caller, outpost_uuid(&pk)?)
        .await?;
    Ok(Json(Vec::new()))
}

// ---------------------------------------------------------------------------------------------
// Outpost-facing provider configurations: JSON shapes
// ---------------------------------------------------------------------------------------------

/// The application an outpost serves the provider for, as (slug, name), or empty strings.
/// LDAP prefers the application using the provider as a backchannel (as authentik does); the
/// others prefer the direct one.
fn served_application(provider: &Provider, backchannel_first: bool) -> (String, String) {
    let (first, second) = if backchannel_first {
        (&provider.backchannel_application, &provider.application)
    } else {
        (&provider.application, &provider.backchannel_application)
    };
    first
        .as_ref()
        .or(second.as_ref())
        .cloned()
        .unwrap_or_default()
}

/// authentik's `OpenIDConnectConfiguration`. Garrison serves no OAuth2/OpenID endpoints, so
/// every field is empty; the shape is kept so that the client and the proxy outpost parse it.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = OpenIDConnectConfiguration)]
pub struct OpenIdConfigurationJson {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub introspection_endpoint: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// authentik's `ProxyOutpostConfig`: what a proxy outpost needs, secrets included (its
/// client secret and cookie secret), so only for callers who may view the provider.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProxyOutpostConfig)]
pub struct ProxyOutpostConfigJson {
    pub pk: i64,
    pub name: String,
    pub internal_host: String,
    pub external_host: String,
    pub internal_host_ssl_validation: bool,
    pub client_id: String,
    pub client_secret: String,
    /// Empty: Garrison serves no OAuth2/OpenID endpoints.
    pub oidc_configuration: OpenIdConfigurationJson,
    pub cookie_secret: String,
    pub certificate: Option<Uuid>,
    pub skip_path_regex: String,
    pub basic_auth_enabled: bool,
    pub basic_auth_password_attribute: String,
    pub basic_auth_user_attribute: String,
    #[schema(value_type = String)]
    pub mode: ProxyMode,
    pub cookie_domain: String,
    /// Seconds; null when the stored duration does not parse.
    pub access_token_validity: Option<f64>,
    pub intercept_header_auth: bool,
    /// Scope mappings are not Garrison's: always empty.
    pub scopes_to_request: Vec<String>,
    pub assigned_application_slug: String,
    pub assigned_application_name: String,
}

impl From<Provider> for ProxyOutpostConfigJson {
    fn from(provider: Provider) -> Self {
        let (slug, application_name) = served_application(&provider, false);
        let settings = match provider.settings {
            ProviderSettings::Proxy(settings) => settings,
            _ => ProxySettings::default(),
        };
        Self {
            pk: provider.pk,
            name: provider.name,
            internal_host: settings.internal_host,
            external_host: settings.external_host,
            internal_host_ssl_validation: settings.internal_host_ssl_validation,
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            oidc_configuration: OpenIdConfigurationJson::default(),
            cookie_secret: settings.cookie_secret,
            certificate: provider.certificate,
            skip_path_regex: settings.skip_path_regex,
            basic_auth_enabled: settings.basic_auth_enabled,
            basic_auth_password_attribute: settings.basic_auth_password_attribute,
            basic_auth_user_attribute: settings.basic_auth_user_attribute,
            mode: settings.mode,
            cookie_domain: settings.cookie_domain,
            access_token_validity: refresh_interval_seconds(&settings.access_token_validity)
                .ok()
                .map(|seconds| seconds as f64),
            intercept_header_auth: settings.intercept_header_auth,
            scopes_to_request: Vec::new(),
            assigned_application_slug: slug,
            assigned_application_name: application_name,
        }
    }
}

/// authentik's `LDAPOutpostConfig`. Flows stay outside Garrison (opaque references), so there
/// is no flow slug to give: `bind_flow_slug` is empty (the client requires a string) and
/// `unbind_flow_slug` null.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LDAPOutpostConfig)]
pub struct LdapOutpostConfigJson {
    pub pk: i64,
    pub name: String,
    pub base_dn: String,
    pub bind_flow_slug: String,
    pub unbind_flow_slug: Option<String>,
    /// The application using the provider as a backchannel, else the direct one.
    pub application_slug: String,
    pub certificate: Option<Uuid>,
    pub tls_server_name: String,
    pub uid_start_number: i64,
    pub gid_start_number: i64,
    #[schema(value_type = String)]
    pub search_mode: LdapAccessMode,
    #[schema(value_type = String)]
    pub bind_mode: LdapAccessMode,
    pub mfa_support: bool,
}

impl From<Provider> for LdapOutpostConfigJson {
    fn from(provider: Provider) -> Self {
        let (application_slug, _) = served_application(&provider, true);
        let settings = match provider.settings {
            ProviderSettings::Ldap(settings) => settings,
            _ => LdapSettings::default(),
        };
        Self {
            pk: provider.pk,
            name: provider.name,
            base_dn: settings.base_dn,
            bind_flow_slug: String::new(),
            unbind_flow_slug: None,
            application_slug,
            certificate: provider.certificate,
            tls_server_name: settings.tls_server_name,
            uid_start_number: settings.uid_start_number,
            gid_start_number: settings.gid_start_number,
            search_mode: settings.search_mode,
            bind_mode: settings.bind_mode,
            mfa_support: settings.mfa_support,
        }
    }
}

/// authentik's `RadiusOutpostConfig`, the shared secret included. `auth_flow_slug` is empty
/// for the same reason as LDAP's bind flow.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RadiusOutpostConfig)]
pub struct RadiusOutpostConfigJson {
    pub pk: i64,
    pub name: String,
    pub application_slug: String,
    pub auth_flow_slug: String,
    pub client_networks: String,
    pub shared_secret: String,
    pub mfa_support: bool,
    pub certificate: Option<Uuid>,
}

impl From<Provider> for RadiusOutpostConfigJson {
    fn from(provider: Provider) -> Self {
        let (application_slug, _) = served_application(&provider, false);
        let settings = match provider.settings {
            ProviderSettings::Radius(settings) => settings,
            _ => RadiusSettings::default(),
        };
        Self {
            pk: provider.pk,
            name: provider.name,
            application_slug,
            auth_flow_slug: String::new(),
            client_networks: settings.client_networks,
            shared_secret: settings.shared_secret,
            mfa_support: settings.mfa_support,
            certificate: provider.certificate,
        }
    }
}

/// authentik's `PolicyTestResult`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PolicyTestResult)]
pub struct PolicyTestResultJson {
    pub passing: bool,
    pub messages: Vec<String>,
    /// authentik's `LogEvent`s.
    #[schema(value_type = Vec<Object>)]
    pub log_messages: Vec<Value>,
}

impl PolicyTestResultJson {
    /// Garrison runs no policies: access is always granted, with nothing to report.
    fn passing() -> Self {
        Self {
            passing: true,
            messages: Vec::new(),
            log_messages: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LDAPCheckAccess)]
pub struct LdapCheckAccessJson {
    pub has_search_permission: bool,
    pub access: PolicyTestResultJson,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RadiusCheckAccess)]
pub struct RadiusCheckAccessJson {
    /// The base64 RADIUS attributes to send with the Access-Accept; Garrison has no property
    /// mappings to build them from.
    pub attributes: Option<String>,
    pub access: PolicyTestResultJson,
}

// ---------------------------------------------------------------------------------------------
// Outpost-facing provider configurations: handlers
// ---------------------------------------------------------------------------------------------

/// Providers of `kind` the caller may view and that an application uses (directly or as a
/// backchannel): a provider without an application is invisible to outposts.
async fn outpost_configs<T>(
    state: &AppState,
    caller: &Caller,
    params: &ListParams,
    kind: ProviderKind,
    shape: fn(Provider) -> T,
) -> Result<Json<Paginated<T>>, ApiError> {
    let filter = ProviderFilter {
        kind: Some(kind),
        name: params.text("name"),
        application_isnull: Some(false),
        ..Default::default()
    };
    let page = state
        .services
        .list_providers(caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, shape)))
}

/// The provider behind a `check_access` call, if the caller may view it and an application
/// uses it (as for the lists); 404 otherwise (403 for a person who may view none of its kind,
/// as every retrieve answers).
async fn served_provider(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    kind: ProviderKind,
) -> Result<Provider, ApiError> {
    let pk = raw.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let provider = state.services.get_provider(caller, pk, Some(kind)).await?;
    if provider.application.is_none() && provider.backchannel_application.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(provider)
}

#[utoipa::path(get, path = "/outposts/proxy/", tag = "outposts", operation_id = "outposts_proxy_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedProxyOutpostConfigList")))]
pub async fn proxy_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<ProxyOutpostConfigJson>>, ApiError> {
    outpost_configs(
        &state,
        &caller,
        &params,
        ProviderKind::Proxy,
        ProxyOutpostConfigJson::from,
    )
    .await
}

#[utoipa::path(get, path = "/outposts/ldap/", tag = "outposts", operation_id = "outposts_ldap_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedLDAPOutpostConfigList")))]
pub async fn ldap_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<LdapOutpostConfigJson>>, ApiError> {
    outpost_configs(
        &state,
        &caller,
        &params,
        ProviderKind::Ldap,
        LdapOutpostConfigJson::from,
    )
    .await
}

#[utoipa::path(get, path = "/outposts/radius/", tag = "outposts", operation_id = "outposts_radius_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedRadiusOutpostConfigList")))]
pub async fn radius_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<RadiusOutpostConfigJson>>, ApiError> {
    outpost_configs(
        &state,
        &caller,
        &params,
        ProviderKind::Radius,
        RadiusOutpostConfigJson::from,
    )
    .await
}

/// Whether the user bound through the LDAP outpost may use the provider's application.
///
/// Garrison runs no policies and has no "search the full directory" permission, so the answer
/// is fixed: access passes, with no messages, and `has_search_permission` is false (bound users
/// see only themselves). It is given only to callers who may view the provider (the outpost's
/// own account may); `app_slug` is accepted and not consulted, since nothing depends on it.
#[utoipa::path(get, path = "/outposts/ldap/{id}/check_access/", tag = "outposts", operation_id = "outposts_ldap_access_check",
    params(("id" = i64, Path), ("app_slug" = Option<String>, Query)),
    responses((status = 200, body = LdapCheckAccessJson)))]
pub async fn ldap_check_access(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<LdapCheckAccessJson>, ApiError> {
    served_provider(&state, &caller, &id, ProviderKind::Ldap).await?;
    Ok(Json(LdapCheckAccessJson {
        has_search_permission: false,
        access: PolicyTestResultJson::passing(),
    }))
}

/// Whether the user authenticating through the RADIUS outpost may use the provider's
/// application.
///
/// Garrison runs no policies and has no RADIUS property mappings, so the answer is fixed:
/// access passes, with no messages, and no extra attributes (`null`). It is given only to
/// callers who may view the provider (the outpost's own account may); `app_slug` is accepted
/// and not consulted.
#[utoipa::path(get, path = "/outposts/radius/{id}/check_access/", tag = "outposts", operation_id = "outposts_radius_access_check",
    params(("id" = i64, Path), ("app_slug" = Option<String>, Query)),
    responses((status = 200, body = RadiusCheckAccessJson)))]
pub async fn radius_check_access(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RadiusCheckAccessJson>, ApiError> {
    served_provider(&state, &caller, &id, ProviderKind::Radius).await?;
    Ok(Json(RadiusCheckAccessJson {
        attributes: None,
        access: PolicyTestResultJson::passing(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Garrison's additions (authentik reaches the token through `/core/tokens/{identifier}/`)
// ---------------------------------------------------------------------------------------------

/// Garrison's addition: the outpost's API token key, to deploy the outpost with. Audited;
/// needs `authentik_outposts.view_outpost_token` on the outpost and holding everything its
/// service account holds. Creates the token if it went missing.
#[utoipa::path(get, path = "/outposts/instances/{uuid}/token/", tag = "outposts", operation_id = "outposts_instances_token_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = TokenView)))]
pub async fn token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let key = state
        .services
        .view_outpost_token(&caller, outpost_uuid(&pk)?)
        .await?;
    Ok(Json(TokenView { key }))
}

/// Garrison's addition: replaces the outpost's API token key and returns the new one. The old
/// key stops working at once and connected instances are told to reconnect. Same permissions
/// as reading the key.
#[utoipa::path(post, path = "/outposts/instances/{uuid}/token/rotate/", tag = "outposts", operation_id = "outposts_instances_token_rotate_create",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = TokenView)))]
pub async fn rotate_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let key = state
        .services
        .rotate_outpost_token(&caller, outpost_uuid(&pk)?)
        .await?;
    Ok(Json(TokenView { key }))
}
