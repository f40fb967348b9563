//! `/api/v3/core/applications/`: list, create, retrieve, update, partial update, destroy and
//! `used_by`, by slug, in authentik's `Application` shape. `provider_obj` and
//! `backchannel_providers_obj` show the providers the caller may see (null or left out
//! otherwise); icons are not served, so `meta_icon_url` and `meta_icon_themed_urls` are null.
use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use garrison_model::{
    Application, ApplicationChanges, PolicyEngineMode, Provider, ProviderSettings,
};
use garrison_services::Caller;
use garrison_services::outposts::ApplicationFilter;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::providers::{ProviderJson, UsedBy, if_visible};
use crate::api::schema::{Paginated, double_option};
use crate::{ApiError, AppState};

/// Every application route, relative to `/api/v3`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/core/applications/", get(list).post(create))
        .route(
            "/core/applications/{slug}/",
            get(retrieve)
                .put(update)
                .patch(partial_update)
                .delete(destroy),
        )
        .route("/core/applications/{slug}/used_by/", get(used_by))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, retrieve, update, partial_update, destroy, used_by),
    components(schemas(ApplicationJson, ApplicationRequest, ProviderJson, UsedBy))
)]
pub struct ApplicationsApi;

/// The OpenAPI description of every application route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApplicationsApi::openapi()
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Application)]
pub struct ApplicationJson {
    pub pk: Uuid,
    pub pbm_uuid: Uuid,
    pub name: String,
    pub slug: String,
    pub provider: Option<i64>,
    pub provider_obj: Option<ProviderJson>,
    pub backchannel_providers: Vec<i64>,
    pub backchannel_providers_obj: Vec<ProviderJson>,
    pub launch_url: Option<String>,
    pub open_in_new_tab: bool,
    pub meta_launch_url: String,
    pub meta_icon: String,
    pub meta_icon_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta_icon_themed_urls: Option<Value>,
    pub meta_description: String,
    pub meta_publisher: String,
    /// `all` or `any`.
    #[schema(value_type = String)]
    pub policy_engine_mode: PolicyEngineMode,
    pub group: String,
    pub meta_hide: bool,
}

impl ApplicationJson {
    /// `providers`: those of the application's providers the caller may see.
    pub fn new(app: Application, providers: &HashMap<i64, Provider>) -> Self {
        let provider = app.provider.and_then(|pk| providers.get(&pk));
        Self {
            pk: app.pk,
            pbm_uuid: app.pk,
            launch_url: launch_url(&app, provider),
            provider_obj: provider.map(ProviderJson::new),
            backchannel_providers_obj: app
                .backchannel_providers
                .iter()
                .filter_map(|pk| providers.get(pk))
                .map(ProviderJson::new)
                .collect(),
            name: app.name,
            slug: app.slug,
            provider: app.provider,
            backchannel_providers: app.backchannel_providers,
            open_in_new_tab: app.open_in_new_tab,
            meta_launch_url: app.meta_launch_url,
            meta_icon: app.meta_icon,
            meta_icon_url: None,
            meta_icon_themed_urls: None,
            meta_description: app.meta_description,
            meta_publisher: app.meta_publisher,
            policy_engine_mode: app.policy_engine_mode,
            group: app.group,
            meta_hide: app.meta_hide,
        }
    }
}

/// Where the application opens, as authentik's `get_launch_url`: its own launch URL, else its
/// provider's (a proxy provider's external host), else none.
fn launch_url(app: &Application, provider: Option<&Provider>) -> Option<String> {
    if !app.meta_launch_url.is_empty() {
        return Some(app.meta_launch_url.clone());
    }
    match provider.map(|p| &p.settings) {
        Some(ProviderSettings::Proxy(proxy)) if !proxy.external_host.is_empty() => {
            Some(proxy.external_host.clone())
        }
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    pub name: Option<String>,
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub provider: Option<Option<i64>>,
    pub backchannel_providers: Option<Vec<i64>>,
    pub open_in_new_tab: Option<bool>,
    pub meta_launch_url: Option<String>,
    pub meta_icon: Option<String>,
    pub meta_description: Option<String>,
    pub meta_publisher: Option<String>,
    /// `all` or `any`.
    #[schema(value_type = Option<String>)]
    pub policy_engine_mode: Option<PolicyEngineMode>,
    pub group: Option<String>,
    pub meta_hide: Option<bool>,
}

impl From<ApplicationRequest> for ApplicationChanges {
    fn from(r: ApplicationRequest) -> Self {
        Self {
            name: r.name,
            slug: r.slug,
            provider: r.provider,
            backchannel_providers: r.backchannel_providers,
            open_in_new_tab: r.open_in_new_tab,
            meta_launch_url: r.meta_launch_url,
            meta_icon: r.meta_icon,
            meta_description: r.meta_description,
            meta_publisher: r.meta_publisher,
            policy_engine_mode: r.policy_engine_mode,
            group: r.group,
            meta_hide: r.meta_hide,
        }
    }
}

/// An application's `{slug}`: anything that is not a slug names no application.
fn slug_of(raw: String) -> Result<String, ApiError> {
    let is_slug = !raw.is_empty()
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if is_slug {
        Ok(raw)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The providers of `apps` the caller may see, each fetched once.
async fn visible_providers(
    state: &AppState,
    caller: &Caller,
    apps: &[Application],
) -> Result<HashMap<i64, Provider>, ApiError> {
    let pks: BTreeSet<i64> = apps
        .iter()
        .flat_map(|app| app.provider.iter().chain(&app.backchannel_providers))
        .copied()
        .collect();
    let mut providers = HashMap::new();
    for pk in pks {
        if let Some(provider) = if_visible(state.services.get_provider(caller, pk, None).await)? {
            providers.insert(pk, provider);
        }
    }
    Ok(providers)
}

async fn respond(
    state: &AppState,
    caller: &Caller,
    app: Application,
) -> Result<Json<ApplicationJson>, ApiError> {
    let providers = visible_providers(state, caller, std::slice::from_ref(&app)).await?;
    Ok(Json(ApplicationJson::new(app, &providers)))
}

/// `name`, `slug` and `group` filter; the client's other parameters (`for_user`,
/// `meta_description`, `meta_launch_url`, `meta_publisher`, `only_with_launch_url`,
/// `superuser_full_list`) are accepted and ignored.
#[utoipa::path(get, path = "/core/applications/", tag = "core", operation_id = "core_applications_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query), ("slug" = Option<String>, Query),
           ("group" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedApplicationList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<ApplicationJson>>, ApiError> {
    let filter = ApplicationFilter {
        name: params.text("name"),
        slug: params.text("slug"),
        group: params.text("group"),
    };
    let page = state
        .services
        .list_applications(&caller, &params.query, filter)
        .await?;
    let providers = visible_providers(&state, &caller, &page.items).await?;
    Ok(Json(Paginated::new(page, |app| {
        ApplicationJson::new(app, &providers)
    })))
}

#[utoipa::path(post, path = "/core/applications/", tag = "core", operation_id = "core_applications_create",
    request_body = ApplicationRequest, responses((status = 201, body = ApplicationJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<ApplicationRequest>,
) -> Result<(StatusCode, Json<ApplicationJson>), ApiError> {
    let app = state
        .services
        .create_application(&caller, body.into())
        .await?;
    Ok((StatusCode::CREATED, respond(&state, &caller, app).await?))
}

#[utoipa::path(get, path = "/core/applications/{slug}/", tag = "core", operation_id = "core_applications_retrieve",
    params(("slug" = String, Path)), responses((status = 200, body = ApplicationJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(slug): Path<String>,
) -> Result<Json<ApplicationJson>, ApiError> {
    let app = state
        .services
        .get_application(&caller, &slug_of(slug)?)
        .await?;
    respond(&state, &caller, app).await
}

#[utoipa::path(put, path = "/core/applications/{slug}/", tag = "core", operation_id = "core_applications_update",
    params(("slug" = String, Path)), request_body = ApplicationRequest, responses((status = 200, body = ApplicationJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<ApplicationRequest>,
) -> Result<Json<ApplicationJson>, ApiError> {
    let app = state
        .services
        .update_application(&caller, &slug_of(slug)?, body.into(), false)
        .await?;
    respond(&state, &caller, app).await
}

#[utoipa::path(patch, path = "/core/applications/{slug}/", tag = "core", operation_id = "core_applications_partial_update",
    params(("slug" = String, Path)), request_body = ApplicationRequest, responses((status = 200, body = ApplicationJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<ApplicationRequest>,
) -> Result<Json<ApplicationJson>, ApiError> {
    let app = state
        .services
        .update_application(&caller, &slug_of(slug)?, body.into(), true)
        .await?;
    respond(&state, &caller, app).await
}

#[utoipa::path(delete, path = "/core/applications/{slug}/", tag = "core", operation_id = "core_applications_destroy",
    params(("slug" = String, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_application(&caller, &slug_of(slug)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Empty once the application is found: Garrison has no policy bindings or entitlements, and
/// a brand's `default_application` is an opaque reference, which a delete leaves as it is.
#[utoipa::path(get, path = "/core/applications/{slug}/used_by/", tag = "core", operation_id = "core_applications_used_by_list",
    params(("slug" = String, Path)), responses((status = 200, body = Vec<UsedBy>)))]
pub async fn used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(slug): Path<String>,
) -> Result<Json<Vec<UsedBy>>, ApiError> {
    state
        .services
        .get_application(&caller, &slug_of(slug)?)
        .await?;
    Ok(Json(Vec::new()))
}
