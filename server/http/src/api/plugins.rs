//! `/api/v3/plugins/`: list, retrieve, inspect (review without installing), install (upload or
//! OCI), grant, enable, disable, remove. Garrison's own API (authentik has no plugins), in the
//! same envelope and error shapes as the rest.
use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use garrison_model::{FieldErrors, Page, PageRequest, Plugin};
use garrison_registry::{InstallSource, Review};
use garrison_services::PluginChanges;
use serde::Deserialize;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::schema::Paginated;
use crate::plugin_upload::read_upload;
use crate::{ApiError, AppState};

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(FieldErrors::single(field, message))
}

#[utoipa::path(get, path = "/plugins/", tag = "plugins", operation_id = "plugins_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
        ("kind" = Option<String>, Query), ("enabled" = Option<bool>, Query)),
    responses((status = 200, description = "PaginatedPluginList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<Plugin>>, ApiError> {
    let enabled = params.flag("enabled")?;
    let kind = params.text("kind");
    let search = params
        .query
        .search
        .clone()
        .unwrap_or_default()
        .to_lowercase();
    let matching: Vec<Plugin> = state
        .registry
        .list(&caller)
        .await?
        .into_iter()
        .filter(|p| enabled.is_none_or(|e| p.enabled == e))
        .filter(|p| kind.as_deref().is_none_or(|k| p.kind == k))
        .filter(|p| search.is_empty() || p.name.contains(&search) || p.kind.contains(&search))
        .collect();
    Ok(Json(Paginated::new(
        page_of(matching, params.query.page),
        |p| p,
    )))
}

fn page_of<T>(items: Vec<T>, request: PageRequest) -> Page<T> {
    let count = items.len() as u64;
    let items = items
        .into_iter()
        .skip(request.offset() as usize)
        .take(request.page_size as usize)
        .collect();
    Page {
        items,
        count,
        request,
    }
}

#[utoipa::path(get, path = "/plugins/{name}/", tag = "plugins", operation_id = "plugins_retrieve",
    params(("name" = String, Path)), responses((status = 200, description = "Plugin")))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Plugin>, ApiError> {
    Ok(Json(state.registry.get(&caller, &name).await?))
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

#[utoipa::path(post, path = "/plugins/inspect/", tag = "plugins", operation_id = "plugins_inspect",
    request_body(content_type = "multipart/form-data", description = "component (file), manifest (optional, TOML or JSON)"),
    responses((status = 200, description = "Review: world, version, imports, exports, requested capabilities, problems")))]
pub async fn inspect(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    request: Request,
) -> Result<Json<Review>, ApiError> {
    let upload = read_upload(request).await?;
    let (_, bytes) = upload
        .component
        .ok_or_else(|| bad("component", "This field is required."))?;
    Ok(Json(
        state
            .registry
            .review(&caller, upload.manifest.as_deref(), &bytes)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OciInstallRequest {
    /// `[http://]registry/repository@sha256:…`
    pub oci_reference: String,
    /// Overrides the artifact's manifest layer.
    #[serde(default)]
    pub manifest: Option<String>,
}

#[utoipa::path(post, path = "/plugins/", tag = "plugins", operation_id = "plugins_create",
    request_body(content = OciInstallRequest, description = "JSON for an OCI artifact, or multipart/form-data with component and manifest for an upload"),
    responses((status = 201, description = "Plugin, installed disabled with nothing granted")))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    request: Request,
) -> Response {
    let installed = if is_multipart(&request) {
        install_upload(&state, &caller, request).await
    } else {
        let body = match JsonBody::<OciInstallRequest>::from_request(request, &()).await {
            Ok(JsonBody(body)) => body,
            Err(rejection) => return rejection,
        };
        state
            .registry
            .install_oci(&caller, &body.oci_reference, body.manifest.as_deref())
            .await
            .map_err(ApiError::from)
    };
    match installed {
        Ok(plugin) => (StatusCode::CREATED, Json(plugin)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn install_upload(
    state: &AppState,
    caller: &garrison_services::Caller,
    request: Request,
) -> Result<Plugin, ApiError> {
    let upload = read_upload(request).await?;
    let (filename, bytes) = upload
        .component
        .ok_or_else(|| bad("component", "This field is required."))?;
    let manifest = upload
        .manifest
        .ok_or_else(|| bad("manifest", "This field is required."))?;
    Ok(state
        .registry
        .install(
            caller,
            &manifest,
            &bytes,
            InstallSource::Upload { filename },
        )
        .await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The full set of granted capabilities (replaces the current grant).
    pub granted: Vec<String>,
}

#[utoipa::path(post, path = "/plugins/{name}/grant/", tag = "plugins", operation_id = "plugins_grant",
    params(("name" = String, Path)), request_body = GrantRequest, responses((status = 200, description = "Plugin")))]
pub async fn grant(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<GrantRequest>,
) -> Result<Json<Plugin>, ApiError> {
    let changes = PluginChanges {
        granted: Some(body.granted),
        ..PluginChanges::default()
    };
    Ok(Json(state.registry.change(&caller, &name, changes).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsRequest {
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
}

#[utoipa::path(patch, path = "/plugins/{name}/", tag = "plugins", operation_id = "plugins_partial_update",
    params(("name" = String, Path)), request_body = LimitsRequest, responses((status = 200, description = "Plugin")))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<LimitsRequest>,
) -> Result<Json<Plugin>, ApiError> {
    let changes = PluginChanges {
        deadline_ms: body.deadline_ms,
        memory_mib: body.memory_mib,
        ..PluginChanges::default()
    };
    Ok(Json(state.registry.change(&caller, &name, changes).await?))
}

async fn set_enabled(
    state: AppState,
    caller: garrison_services::Caller,
    name: String,
    enabled: bool,
) -> Result<Json<Plugin>, ApiError> {
    let changes = PluginChanges {
        enabled: Some(enabled),
        ..PluginChanges::default()
    };
    Ok(Json(state.registry.change(&caller, &name, changes).await?))
}

#[utoipa::path(post, path = "/plugins/{name}/enable/", tag = "plugins", operation_id = "plugins_enable",
    params(("name" = String, Path)), responses((status = 200, description = "Plugin, loaded"), (status = 400, description = "It does not load with its grants; the message says why")))]
pub async fn enable(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Plugin>, ApiError> {
    set_enabled(state, caller, name, true).await
}

#[utoipa::path(post, path = "/plugins/{name}/disable/", tag = "plugins", operation_id = "plugins_disable",
    params(("name" = String, Path)), responses((status = 200, description = "Plugin")))]
pub async fn disable(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(name): Path<String>,
) -> Result<Json<Plugin>, ApiError> {
    set_enabled(state, caller, name, false).await
}

#[utoipa::path(delete, path = "/plugins/{name}/", tag = "plugins", operation_id = "plugins_destroy",
    params(("name" = String, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.remove(&caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
