//! `/api/v3/providers/`: the four kinds an outpost serves (`proxy`, `ldap`, `radius`, `rac`),
//! each with list, create, retrieve, update, partial update, destroy and `used_by`, and
//! `/providers/all/` over every kind in the generic `Provider` shape, with `types/`.
//!
//! Requests carry exactly the fields of the client's `…ProviderRequest`: the fields every kind
//! shares map onto [`ProviderChanges`], the kind's own fields travel in its `settings` and only
//! when the request names them, so a PATCH changes just those. Flows are opaque references:
//! Garrison is not a login engine, so it accepts and returns them but never requires one.
//! Responses are the client's full shapes (`ProxyProvider`, `LDAPProvider`, …) without the
//! secrets, except those authentik's serializers return as well (a RADIUS shared secret).
use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use garrison_model::models::{APPLICATION, OUTPOST};
use garrison_model::{
    LdapAccessMode, Page, Provider, ProviderChanges, ProviderKind, ProviderSettings, ProxyMode,
};
use garrison_services::outposts::ProviderFilter;
use garrison_services::{Caller, ServiceError, ServiceResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::schema::{Paginated, double_option};
use crate::{ApiError, AppState};

/// Every provider route, relative to `/api/v3`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(all::routes())
        .merge(proxy::routes())
        .merge(ldap::routes())
        .merge(radius::routes())
        .merge(rac::routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        all::list,
        all::retrieve,
        all::destroy,
        all::types,
        all::used_by,
        proxy::list,
        proxy::create,
        proxy::retrieve,
        proxy::update,
        proxy::partial_update,
        proxy::destroy,
        proxy::used_by,
        ldap::list,
        ldap::create,
        ldap::retrieve,
        ldap::update,
        ldap::partial_update,
        ldap::destroy,
        ldap::used_by,
        radius::list,
        radius::create,
        radius::retrieve,
        radius::update,
        radius::partial_update,
        radius::destroy,
        radius::used_by,
        rac::list,
        rac::create,
        rac::retrieve,
        rac::update,
        rac::partial_update,
        rac::destroy,
        rac::used_by,
    ),
    components(schemas(
        ProviderJson,
        TypeCreate,
        UsedBy,
        UsedByAction,
        ProxyProviderRequest,
        LdapProviderRequest,
        RadiusProviderRequest,
        RacProviderRequest,
    ))
)]
pub struct ProvidersApi;

/// The OpenAPI description of every provider route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ProvidersApi::openapi()
}

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

/// A provider in the generic shape (`/providers/all/`, an application's `provider_obj`).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Provider)]
pub struct ProviderJson {
    pub pk: i64,
    pub name: String,
    pub authentication_flow: Option<Uuid>,
    pub authorization_flow: Option<Uuid>,
    /// Left out of the shape of a kind whose serializer has none (RAC); `Some(None)` is null.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Uuid>)]
    pub invalidation_flow: Option<Option<Uuid>>,
    pub property_mappings: Vec<Uuid>,
    pub component: String,
    pub assigned_application_slug: Option<String>,
    pub assigned_application_name: Option<String>,
    pub assigned_backchannel_application_slug: Option<String>,
    pub assigned_backchannel_application_name: Option<String>,
    pub verbose_name: String,
    pub verbose_name_plural: String,
    pub meta_model_name: String,
}

impl ProviderJson {
    pub fn new(provider: &Provider) -> Self {
        let model = provider.kind.model();
        let app_slug = |app: &Option<(String, String)>| app.as_ref().map(|(slug, _)| slug.clone());
        let app_name = |app: &Option<(String, String)>| app.as_ref().map(|(_, name)| name.clone());
        Self {
            pk: provider.pk,
            name: provider.name.clone(),
            authentication_flow: provider.authentication_flow,
            authorization_flow: provider.authorization_flow,
            invalidation_flow: Some(provider.invalidation_flow),
            property_mappings: provider.property_mappings.clone(),
            component: provider.kind.component().to_owned(),
            assigned_application_slug: app_slug(&provider.application),
            assigned_application_name: app_name(&provider.application),
            assigned_backchannel_application_slug: app_slug(&provider.backchannel_application),
            assigned_backchannel_application_name: app_name(&provider.backchannel_application),
            verbose_name: model.verbose_name.to_owned(),
            verbose_name_plural: format!("{}s", model.verbose_name),
            meta_model_name: model.qualified(),
        }
    }
}

/// Where authentik's serializer for a kind departs from the shared fields.
struct KindShape {
    /// Whether the kind's shape has `invalidation_flow` (RAC's has not).
    invalidation_flow: bool,
    /// Whether the kind's shape has `certificate` (RAC's has not).
    certificate: bool,
    /// Secret fields the kind's serializer returns all the same: a RADIUS client has to be
    /// configured with the shared secret.
    shown_secrets: &'static [&'static str],
    /// Fields authentik computes from objects Garrison does not have: always empty lists.
    empty_lists: &'static [&'static str],
}

fn shape(kind: ProviderKind) -> KindShape {
    match kind {
        ProviderKind::Proxy => KindShape {
            invalidation_flow: true,
            certificate: true,
            shown_secrets: &[],
            empty_lists: &["redirect_uris"],
        },
        ProviderKind::Ldap => KindShape {
            invalidation_flow: true,
            certificate: true,
            shown_secrets: &[],
            empty_lists: &[],
        },
        ProviderKind::Radius => KindShape {
            invalidation_flow: true,
            certificate: true,
            shown_secrets: &["shared_secret"],
            empty_lists: &[],
        },
        ProviderKind::Rac => KindShape {
            invalidation_flow: false,
            certificate: false,
            shown_secrets: &[],
            empty_lists: &[],
        },
    }
}

/// A provider in its kind's full shape (`ProxyProvider`, `LDAPProvider`, `RadiusProvider`,
/// `RACProvider`): the shared fields, the outposts serving it and the kind's own fields.
#[derive(Debug, Serialize)]
pub struct KindProviderJson {
    #[serde(flatten)]
    pub provider: ProviderJson,
    pub outpost_set: Vec<String>,
    /// `certificate` where the kind has one, then the kind's settings without its secrets.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl KindProviderJson {
    pub fn new(provider: &Provider) -> Self {
        let kind_shape = shape(provider.kind);
        let mut json = ProviderJson::new(provider);
        if !kind_shape.invalidation_flow {
            json.invalidation_flow = None;
        }
        let mut fields = provider.settings.to_map();
        for secret in ProviderSettings::secret_fields(provider.kind) {
            if !kind_shape.shown_secrets.contains(secret) {
                fields.remove(*secret);
            }
        }
        if kind_shape.certificate {
            let certificate = provider
                .certificate
                .map_or(Value::Null, |pk| Value::String(pk.to_string()));
            fields.insert("certificate".to_owned(), certificate);
        }
        for list in kind_shape.empty_lists {
            fields.insert((*list).to_owned(), Value::Array(Vec::new()));
        }
        Self {
            provider: json,
            outpost_set: provider.outposts.iter().map(Uuid::to_string).collect(),
            fields,
        }
    }
}

/// One object that refers to the one asked about, and what deleting the latter does to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsedBy {
    pub app: String,
    pub model_name: String,
    pub pk: String,
    pub name: String,
    pub action: UsedByAction,
}

/// The delete actions of the relations Garrison has (authentik's enum also names `cascade`,
/// `set_default` and `left_dangling`).
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = UsedByActionEnum)]
pub enum UsedByAction {
    /// The reference is cleared (an application loses its provider).
    SetNull,
    /// The link of a many-to-many relation goes (an outpost stops serving the provider).
    CascadeMany,
}

/// A kind a client may create, as authentik's `types/` endpoints list them.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeCreate {
    pub name: String,
    pub description: String,
    pub component: String,
    pub model_name: String,
    pub icon_url: Option<String>,
    pub requires_enterprise: bool,
    pub deprecated: bool,
}

fn description(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Proxy => {
            "Puts authentication in front of web applications, as a reverse proxy or for forward auth."
        }
        ProviderKind::Ldap => {
            "Serves users and groups over LDAP and lets them bind with their credentials."
        }
        ProviderKind::Radius => "Lets users authenticate to network equipment over RADIUS.",
        ProviderKind::Rac => "Gives browser access to remote machines over RDP, SSH and VNC.",
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// The kind's own fields a request carried; absent ones stay out, so a PATCH changes only those.
#[derive(Default)]
struct KindFields(Map<String, Value>);

impl KindFields {
    fn with<T: Serialize>(mut self, field: &str, value: Option<T>) -> Self {
        // Strings, numbers, flags, UUIDs, enums and JSON objects always serialize.
        if let Some(value) = value.and_then(|v| serde_json::to_value(v).ok()) {
            self.0.insert(field.to_owned(), value);
        }
        self
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyProviderRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub authentication_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub authorization_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub invalidation_flow: Option<Option<Uuid>>,
    pub property_mappings: Option<Vec<Uuid>>,
    pub internal_host: Option<String>,
    pub external_host: Option<String>,
    pub internal_host_ssl_validation: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub certificate: Option<Option<Uuid>>,
    pub skip_path_regex: Option<String>,
    pub basic_auth_enabled: Option<bool>,
    pub basic_auth_password_attribute: Option<String>,
    pub basic_auth_user_attribute: Option<String>,
    /// `proxy`, `forward_single` or `forward_domain`.
    #[schema(value_type = Option<String>)]
    pub mode: Option<ProxyMode>,
    pub intercept_header_auth: Option<bool>,
    pub cookie_domain: Option<String>,
    pub jwt_federation_sources: Option<Vec<Uuid>>,
    pub jwt_federation_providers: Option<Vec<i64>>,
    pub access_token_validity: Option<String>,
    pub refresh_token_validity: Option<String>,
}

impl From<ProxyProviderRequest> for ProviderChanges {
    fn from(r: ProxyProviderRequest) -> Self {
        let settings = KindFields::default()
            .with("internal_host", r.internal_host)
            .with("external_host", r.external_host)
            .with(
                "internal_host_ssl_validation",
                r.internal_host_ssl_validation,
            )
            .with("skip_path_regex", r.skip_path_regex)
            .with("basic_auth_enabled", r.basic_auth_enabled)
            .with(
                "basic_auth_password_attribute",
                r.basic_auth_password_attribute,
            )
            .with("basic_auth_user_attribute", r.basic_auth_user_attribute)
            .with("mode", r.mode)
            .with("intercept_header_auth", r.intercept_header_auth)
            .with("cookie_domain", r.cookie_domain)
            .with("jwt_federation_sources", r.jwt_federation_sources)
            .with("jwt_federation_providers", r.jwt_federation_providers)
            .with("access_token_validity", r.access_token_validity)
            .with("refresh_token_validity", r.refresh_token_validity);
        Self {
            name: r.name,
            authentication_flow: r.authentication_flow,
            authorization_flow: r.authorization_flow,
            invalidation_flow: r.invalidation_flow,
            property_mappings: r.property_mappings,
            certificate: r.certificate,
            settings: settings.0,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LDAPProviderRequest)]
pub struct LdapProviderRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub authentication_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub authorization_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub invalidation_flow: Option<Option<Uuid>>,
    pub property_mappings: Option<Vec<Uuid>>,
    pub base_dn: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub certificate: Option<Option<Uuid>>,
    pub tls_server_name: Option<String>,
    pub uid_start_number: Option<i64>,
    pub gid_start_number: Option<i64>,
    /// `direct` or `cached`.
    #[schema(value_type = Option<String>)]
    pub search_mode: Option<LdapAccessMode>,
    /// `direct` or `cached`.
    #[schema(value_type = Option<String>)]
    pub bind_mode: Option<LdapAccessMode>,
    pub mfa_support: Option<bool>,
}

impl From<LdapProviderRequest> for ProviderChanges {
    fn from(r: LdapProviderRequest) -> Self {
        let settings = KindFields::default()
            .with("base_dn", r.base_dn)
            .with("tls_server_name", r.tls_server_name)
            .with("uid_start_number", r.uid_start_number)
            .with("gid_start_number", r.gid_start_number)
            .with("search_mode", r.search_mode)
            .with("bind_mode", r.bind_mode)
            .with("mfa_support", r.mfa_support);
        Self {
            name: r.name,
            authentication_flow: r.authentication_flow,
            authorization_flow: r.authorization_flow,
            invalidation_flow: r.invalidation_flow,
            property_mappings: r.property_mappings,
            certificate: r.certificate,
            settings: settings.0,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RadiusProviderRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub authentication_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub authorization_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub invalidation_flow: Option<Option<Uuid>>,
    pub property_mappings: Option<Vec<Uuid>>,
    pub client_networks: Option<String>,
    pub shared_secret: Option<String>,
    pub mfa_support: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub certificate: Option<Option<Uuid>>,
}

impl From<RadiusProviderRequest> for ProviderChanges {
    fn from(r: RadiusProviderRequest) -> Self {
        let settings = KindFields::default()
            .with("client_networks", r.client_networks)
            .with("shared_secret", r.shared_secret)
            .with("mfa_support", r.mfa_support);
        Self {
            name: r.name,
            authentication_flow: r.authentication_flow,
            authorization_flow: r.authorization_flow,
            invalidation_flow: r.invalidation_flow,
            property_mappings: r.property_mappings,
            certificate: r.certificate,
            settings: settings.0,
        }
    }
}

/// A RAC provider has neither an invalidation flow nor a certificate in authentik's request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RACProviderRequest)]
pub struct RacProviderRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub authentication_flow: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub authorization_flow: Option<Option<Uuid>>,
    pub property_mappings: Option<Vec<Uuid>>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
    pub connection_expiry: Option<String>,
    pub delete_token_on_disconnect: Option<bool>,
}

impl From<RacProviderRequest> for ProviderChanges {
    fn from(r: RacProviderRequest) -> Self {
        let settings = KindFields::default()
            .with("settings", r.settings)
            .with("connection_expiry", r.connection_expiry)
            .with("delete_token_on_disconnect", r.delete_token_on_disconnect);
        Self {
            name: r.name,
            authentication_flow: r.authentication_flow,
            authorization_flow: r.authorization_flow,
            invalidation_flow: None,
            property_mappings: r.property_mappings,
            certificate: None,
            settings: settings.0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the handlers share
// ---------------------------------------------------------------------------------------------

/// A provider's `{id}`: anything but a number names no provider.
fn provider_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// `Ok(None)` when the caller may not see the object: lists and `used_by` leave it out, as
/// authentik does. Any other failure stays an error.
pub(crate) fn if_visible<T>(result: ServiceResult<T>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(ServiceError::NotFound { .. } | ServiceError::Forbidden { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// One page of providers of `kind` (all kinds when `None`). `name__iexact` (or `name`) and
/// `application__isnull` filter; `backchannel` too on `/providers/all/`. The client's other
/// `*__iexact` filters are accepted and ignored.
async fn list_page(
    state: &AppState,
    caller: &Caller,
    params: &ListParams,
    kind: Option<ProviderKind>,
) -> Result<Page<Provider>, ApiError> {
    let filter = ProviderFilter {
        kind,
        name: params.text("name__iexact").or_else(|| params.text("name")),
        application_isnull: params.flag("application__isnull")?,
        backchannel: match kind {
            None => params.flag("backchannel")?,
            Some(_) => None,
        },
        outpost: None,
    };
    Ok(state
        .services
        .list_providers(caller, &params.query, filter)
        .await?)
}

/// What refers to `provider`, among what the caller may see: its application (which loses its
/// provider on delete) and the outposts serving it (which stop serving it).
async fn used_by_of(
    state: &AppState,
    caller: &Caller,
    provider: &Provider,
) -> Result<Vec<UsedBy>, ApiError> {
    let mut used_by = Vec::new();
    let application = match &provider.application {
        Some((slug, _)) => if_visible(state.services.get_application(caller, slug).await)?,
        None => None,
    };
    if let Some(app) = application {
        used_by.push(UsedBy {
            app: APPLICATION.app_label.to_owned(),
            model_name: APPLICATION.model.to_owned(),
            pk: app.pk.to_string(),
            name: app.name,
            action: UsedByAction::SetNull,
        });
    }
    let outposts: BTreeSet<Uuid> = provider.outposts.iter().copied().collect();
    for pk in outposts {
        if let Some(outpost) = if_visible(state.services.get_outpost(caller, pk).await)? {
            used_by.push(UsedBy {
                app: OUTPOST.app_label.to_owned(),
                model_name: OUTPOST.model.to_owned(),
                pk: outpost.pk.to_string(),
                name: outpost.name,
                action: UsedByAction::CascadeMany,
            });
        }
    }
    Ok(used_by)
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// `/providers/all/`: every kind in the generic shape; read and delete only.
pub mod all {
    use super::*;

    pub fn routes() -> Router<AppState> {
        Router::new()
            .route("/providers/all/", get(list))
            .route("/providers/all/types/", get(types))
            .route("/providers/all/{id}/", get(retrieve).delete(destroy))
            .route("/providers/all/{id}/used_by/", get(used_by))
    }

    #[utoipa::path(get, path = "/providers/all/", tag = "providers", operation_id = "providers_all_list",
        params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
               ("ordering" = Option<String>, Query), ("application__isnull" = Option<bool>, Query),
               ("backchannel" = Option<bool>, Query)),
        responses((status = 200, description = "PaginatedProviderList")))]
    pub async fn list(
        State(state): State<AppState>,
        ApiCaller(caller): ApiCaller,
        params: ListParams,
    ) -> Result<Json<Paginated<ProviderJson>>, ApiError> {
        let page = list_page(&state, &caller, &params, None).await?;
        Ok(Json(Paginated::new(page, |p| ProviderJson::new(&p))))
    }

    #[utoipa::path(get, path = "/providers/all/{id}/", tag = "providers", operation_id = "providers_all_retrieve",
        params(("id" = i64, Path)), responses((status = 200, body = ProviderJson)))]
    pub async fn retrieve(
        State(state): State<AppState>,
        ApiCaller(caller): ApiCaller,
        Path(id): Path<String>,
    ) -> Result<Json<ProviderJson>, ApiError> {
        let provider = state
            .services
            .get_provider(&caller, provider_id(&id)?, None)
            .await?;
        Ok(Json(ProviderJson::new(&provider)))
    }

    #[utoipa::path(delete, path = "/providers/all/{id}/", tag = "providers", operation_id = "providers_all_destroy",
        params(("id" = i64, Path)), responses((status = 204)))]
    pub async fn destroy(
        State(state): State<AppState>,
        ApiCaller(caller): ApiCaller,
        Path(id): Path<String>,
    ) -> Result<StatusCode, ApiError> {
        state
            .services
            .delete_provider(&caller, provider_id(&id)?, None)
            .await?;
        Ok(StatusCode::NO_CONTENT)
    }

    #[utoipa::path(get, path = "/providers/all/types/", tag = "providers", operation_id = "providers_all_types_list",
        responses((status = 200, body = Vec<TypeCreate>)))]
    pub async fn types(ApiCaller(_caller): ApiCaller) -> Json<Vec<TypeCreate>> {
        Json(
            ProviderKind::ALL
                .into_iter()
                .map(|kind| TypeCreate {
                    name: kind.verbose_name().to_owned(),
                    description: description(kind).to_owned(),
                    component: kind.component().to_owned(),
                    model_name: kind.model().model.to_owned(),
                    icon_url: None,
                    requires_enterprise: false,
                    deprecated: false,
                })
                .collect(),
        )
    }

    #[utoipa::path(get, path = "/providers/all/{id}/used_by/", tag = "providers", operation_id = "providers_all_used_by_list",
        params(("id" = i64, Path)), responses((status = 200, body = Vec<UsedBy>)))]
    pub async fn used_by(
        State(state): State<AppState>,
        ApiCaller(caller): ApiCaller,
        Path(id): Path<String>,
    ) -> Result<Json<Vec<UsedBy>>, ApiError> {
        let provider = state
            .services
            .get_provider(&caller, provider_id(&id)?, None)
            .await?;
        Ok(Json(used_by_of(&state, &caller, &provider).await?))
    }
}

/// One kind's module of endpoints: its routes and seven handlers, each a call into the
/// services with the kind fixed, annotated with the client's operation ids. Each path is
/// written once and serves both the router and the OpenAPI document.
macro_rules! kind_endpoints {
    (
        $(#[$doc:meta])*
        mod $module:ident {
            kind: $kind:ident,
            request: $request:ident,
            shape: $shape:tt,
            page_shape: $page_shape:tt,
            collection: $collection:tt,
            item: $item:tt,
            used_by: $used_by_path:tt,
            operation_ids: [
                $list_id:tt, $create_id:tt, $retrieve_id:tt, $update_id:tt,
                $partial_update_id:tt, $destroy_id:tt, $used_by_id:tt $(,)?
            ] $(,)?
        }
    ) => {
        $(#[$doc])*
        pub mod $module {
            use super::*;

            const KIND: ProviderKind = ProviderKind::$kind;

            pub fn routes() -> Router<AppState> {
                Router::new()
                    .route($collection, get(list).post(create))
                    .route(
                        $item,
                        get(retrieve)
                            .put(update)
                            .patch(partial_update)
                            .delete(destroy),
                    )
                    .route($used_by_path, get(used_by))
            }

            #[utoipa::path(get, path = $collection, tag = "providers", operation_id = $list_id,
                params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
                       ("ordering" = Option<String>, Query), ("name__iexact" = Option<String>, Query),
                       ("application__isnull" = Option<bool>, Query)),
                responses((status = 200, description = $page_shape)))]
            pub async fn list(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                params: ListParams,
            ) -> Result<Json<Paginated<KindProviderJson>>, ApiError> {
                let page = list_page(&state, &caller, &params, Some(KIND)).await?;
                Ok(Json(Paginated::new(page, |p| KindProviderJson::new(&p))))
            }

            #[utoipa::path(post, path = $collection, tag = "providers", operation_id = $create_id,
                request_body = $request, responses((status = 201, description = $shape)))]
            pub async fn create(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                JsonBody(body): JsonBody<$request>,
            ) -> Result<(StatusCode, Json<KindProviderJson>), ApiError> {
                let provider = state
                    .services
                    .create_provider(&caller, KIND, body.into())
                    .await?;
                Ok((StatusCode::CREATED, Json(KindProviderJson::new(&provider))))
            }

            #[utoipa::path(get, path = $item, tag = "providers", operation_id = $retrieve_id,
                params(("id" = i64, Path)), responses((status = 200, description = $shape)))]
            pub async fn retrieve(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                Path(id): Path<String>,
            ) -> Result<Json<KindProviderJson>, ApiError> {
                let provider = state
                    .services
                    .get_provider(&caller, provider_id(&id)?, Some(KIND))
                    .await?;
                Ok(Json(KindProviderJson::new(&provider)))
            }

            #[utoipa::path(put, path = $item, tag = "providers", operation_id = $update_id,
                params(("id" = i64, Path)), request_body = $request,
                responses((status = 200, description = $shape)))]
            pub async fn update(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                Path(id): Path<String>,
                JsonBody(body): JsonBody<$request>,
            ) -> Result<Json<KindProviderJson>, ApiError> {
                let provider = state
                    .services
                    .update_provider(&caller, provider_id(&id)?, Some(KIND), body.into(), false)
                    .await?;
                Ok(Json(KindProviderJson::new(&provider)))
            }

            #[utoipa::path(patch, path = $item, tag = "providers", operation_id = $partial_update_id,
                params(("id" = i64, Path)), request_body = $request,
                responses((status = 200, description = $shape)))]
            pub async fn partial_update(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                Path(id): Path<String>,
                JsonBody(body): JsonBody<$request>,
            ) -> Result<Json<KindProviderJson>, ApiError> {
                let provider = state
                    .services
                    .update_provider(&caller, provider_id(&id)?, Some(KIND), body.into(), true)
                    .await?;
                Ok(Json(KindProviderJson::new(&provider)))
            }

            #[utoipa::path(delete, path = $item, tag = "providers", operation_id = $destroy_id,
                params(("id" = i64, Path)), responses((status = 204)))]
            pub async fn destroy(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                Path(id): Path<String>,
            ) -> Result<StatusCode, ApiError> {
                state
                    .services
                    .delete_provider(&caller, provider_id(&id)?, Some(KIND))
                    .await?;
                Ok(StatusCode::NO_CONTENT)
            }

            #[utoipa::path(get, path = $used_by_path, tag = "providers", operation_id = $used_by_id,
                params(("id" = i64, Path)), responses((status = 200, body = Vec<UsedBy>)))]
            pub async fn used_by(
                State(state): State<AppState>,
                ApiCaller(caller): ApiCaller,
                Path(id): Path<String>,
            ) -> Result<Json<Vec<UsedBy>>, ApiError> {
                let provider = state
                    .services
                    .get_provider(&caller, provider_id(&id)?, Some(KIND))
                    .await?;
                Ok(Json(used_by_of(&state, &caller, &provider).await?))
            }
        }
    };
}

kind_endpoints! {
    /// `/providers/proxy/`
    mod proxy {
        kind: Proxy,
        request: ProxyProviderRequest,
        shape: "ProxyProvider",
        page_shape: "PaginatedProxyProviderList",
        collection: "/providers/proxy/",
        item: "/providers/proxy/{id}/",
        used_by: "/providers/proxy/{id}/used_by/",
        operation_ids: [
            "providers_proxy_list", "providers_proxy_create", "providers_proxy_retrieve",
            "providers_proxy_update", "providers_proxy_partial_update", "providers_proxy_destroy",
            "providers_proxy_used_by_list",
        ],
    }
}

kind_endpoints! {
    /// `/providers/ldap/`
    mod ldap {
        kind: Ldap,
        request: LdapProviderRequest,
        shape: "LDAPProvider",
        page_shape: "PaginatedLDAPProviderList",
        collection: "/providers/ldap/",
        item: "/providers/ldap/{id}/",
        used_by: "/providers/ldap/{id}/used_by/",
        operation_ids: [
            "providers_ldap_list", "providers_ldap_create", "providers_ldap_retrieve",
            "providers_ldap_update", "providers_ldap_partial_update", "providers_ldap_destroy",
            "providers_ldap_used_by_list",
        ],
    }
}

kind_endpoints! {
    /// `/providers/radius/`
    mod radius {
        kind: Radius,
        request: RadiusProviderRequest,
        shape: "RadiusProvider",
        page_shape: "PaginatedRadiusProviderList",
        collection: "/providers/radius/",
        item: "/providers/radius/{id}/",
        used_by: "/providers/radius/{id}/used_by/",
        operation_ids: [
            "providers_radius_list", "providers_radius_create", "providers_radius_retrieve",
            "providers_radius_update", "providers_radius_partial_update", "providers_radius_destroy",
            "providers_radius_used_by_list",
        ],
    }
}

kind_endpoints! {
    /// `/providers/rac/`
    mod rac {
        kind: Rac,
        request: RacProviderRequest,
        shape: "RACProvider",
        page_shape: "PaginatedRACProviderList",
        collection: "/providers/rac/",
        item: "/providers/rac/{id}/",
        used_by: "/providers/rac/{id}/used_by/",
        operation_ids: [
            "providers_rac_list", "providers_rac_create", "providers_rac_retrieve",
            "providers_rac_update", "providers_rac_partial_update", "providers_rac_destroy",
            "providers_rac_used_by_list",
        ],
    }
}
