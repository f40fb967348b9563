//! `/api/v3/managed/blueprints/`: blueprint instances in authentik's shapes (lookup by
//! `instance_uuid`), the blueprint files of the blueprints directory (`available/`), and
//! `apply/`, which runs an instance's blueprint as the caller.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use garrison_model::{
    BlueprintFile, BlueprintFileMeta, BlueprintInstance, BlueprintInstanceChanges, BlueprintStatus,
};
use garrison_services::BlueprintInstanceFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::schema::Paginated;
use crate::api::{ApiCaller, JsonBody, ListParams};
use crate::{ApiError, AppState};

/// The routes of this module, relative to `/api/v3`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/managed/blueprints/", get(list).post(create))
        .route("/managed/blueprints/available/", get(available))
        .route("/managed/blueprints/import/", post(import))
        .route("/managed/blueprints/plan/", post(plan))
        .route(
            "/managed/blueprints/{instance_uuid}/",
            get(retrieve)
                .put(update)
                .patch(partial_update)
                .delete(destroy),
        )
        .route("/managed/blueprints/{instance_uuid}/used_by/", get(used_by))
        .route("/managed/blueprints/{instance_uuid}/apply/", post(apply))
        .route(
            "/managed/blueprints/{instance_uuid}/plan/",
            post(plan_instance),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        create,
        available,
        retrieve,
        update,
        partial_update,
        destroy,
        used_by,
        apply,
        import,
        plan,
        plan_instance
    ),
    components(schemas(
        BlueprintInstanceJson,
        BlueprintInstanceRequest,
        BlueprintStatusJson,
        BlueprintFileJson,
        MetadataJson,
        ImportRequest
    ))
)]
struct BlueprintsApi;

/// The OpenAPI description of this module's routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    BlueprintsApi::openapi()
}

/// authentik's `BlueprintInstanceStatusEnum`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = BlueprintInstanceStatusEnum)]
pub enum BlueprintStatusJson {
    Successful,
    Warning,
    Error,
    Orphaned,
    Unknown,
}

impl From<BlueprintStatus> for BlueprintStatusJson {
    fn from(status: BlueprintStatus) -> Self {
        match status {
            BlueprintStatus::Successful => Self::Successful,
            BlueprintStatus::Warning => Self::Warning,
            BlueprintStatus::Error => Self::Error,
            BlueprintStatus::Orphaned => Self::Orphaned,
            BlueprintStatus::Unknown => Self::Unknown,
        }
    }
}

/// authentik's `BlueprintInstance`, plus Garrison's `last_result` (what the last run did;
/// clients ignore keys they do not know).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BlueprintInstance)]
pub struct BlueprintInstanceJson {
    pub pk: Uuid,
    pub name: String,
    pub path: String,
    #[schema(value_type = Object)]
    pub context: Map<String, Value>,
    pub last_applied: DateTime<Utc>,
    pub last_applied_hash: String,
    pub status: BlueprintStatusJson,
    pub enabled: bool,
    pub managed_models: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub content: String,
    #[schema(value_type = Option<Object>)]
    pub last_result: Option<Value>,
}

impl From<BlueprintInstance> for BlueprintInstanceJson {
    fn from(instance: BlueprintInstance) -> Self {
        Self {
            pk: instance.pk,
            name: instance.name,
            path: instance.path,
            context: instance.context,
            last_applied: instance.last_applied,
            last_applied_hash: instance.last_applied_hash,
            status: instance.status.into(),
            enabled: instance.enabled,
            managed_models: instance.managed_models,
            metadata: instance.metadata,
            content: instance.content,
            last_result: instance.last_result,
        }
    }
}

/// authentik's `BlueprintInstanceRequest` and `PatchedBlueprintInstanceRequest`: every field
/// may be left out (the services require `name` when creating and replacing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlueprintInstanceRequest {
    pub name: Option<String>,
    pub path: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Map<String, Value>>,
    pub enabled: Option<bool>,
    pub content: Option<String>,
}

impl From<BlueprintInstanceRequest> for BlueprintInstanceChanges {
    fn from(request: BlueprintInstanceRequest) -> Self {
        Self {
            name: request.name,
            path: request.path,
            content: request.content,
            context: request.context,
            enabled: request.enabled,
        }
    }
}

/// authentik's `Metadata` of a blueprint file.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Metadata)]
pub struct MetadataJson {
    pub name: String,
    #[schema(value_type = Object)]
    pub labels: Map<String, Value>,
}

impl From<BlueprintFileMeta> for MetadataJson {
    fn from(meta: BlueprintFileMeta) -> Self {
        Self {
            name: meta.name,
            labels: meta
                .labels
                .into_iter()
                .map(|(key, value)| (key, Value::String(value)))
                .collect(),
        }
    }
}

/// authentik's `BlueprintFile` as authentik actually sends it: `last_m` is whole seconds since
/// the epoch (its schema says date-time), and `version` is there too.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BlueprintFile)]
pub struct BlueprintFileJson {
    pub path: String,
    pub last_m: i64,
    pub hash: String,
    pub meta: Option<MetadataJson>,
    pub version: i64,
}

impl From<BlueprintFile> for BlueprintFileJson {
    fn from(file: BlueprintFile) -> Self {
        Self {
            path: file.path,
            last_m: file.last_m,
            hash: file.hash,
            meta: file.meta.map(MetadataJson::from),
            version: file.version,
        }
    }
}

/// An instance's UUID from the path; anything else names no instance.
fn instance_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

#[utoipa::path(get, path = "/managed/blueprints/", tag = "managed", operation_id = "managed_blueprints_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query), ("path" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedBlueprintInstanceList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<BlueprintInstanceJson>>, ApiError> {
    let filter = BlueprintInstanceFilter {
        name: params.text("name"),
        path: params.text("path"),
    };
    let page = state
        .services
        .list_blueprint_instances(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, BlueprintInstanceJson::from)))
}

/// Creates an instance without applying it, as authentik does. Non-empty `content` is
/// validated by a dry run as the caller.
#[utoipa::path(post, path = "/managed/blueprints/", tag = "managed", operation_id = "managed_blueprints_create",
    request_body = BlueprintInstanceRequest, responses((status = 201, body = BlueprintInstanceJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<BlueprintInstanceRequest>,
) -> Result<(StatusCode, Json<BlueprintInstanceJson>), ApiError> {
    let instance = state
        .services
        .create_blueprint_instance(&caller, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(instance.into())))
}

/// The blueprint files of the blueprints directory (not paginated).
#[utoipa::path(get, path = "/managed/blueprints/available/", tag = "managed", operation_id = "managed_blueprints_available_list",
    responses((status = 200, body = Vec<BlueprintFileJson>)))]
pub async fn available(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<BlueprintFileJson>>, ApiError> {
    let files = state.services.available_blueprints(&caller).await?;
    Ok(Json(
        files.into_iter().map(BlueprintFileJson::from).collect(),
    ))
}

#[utoipa::path(get, path = "/managed/blueprints/{instance_uuid}/", tag = "managed", operation_id = "managed_blueprints_retrieve",
    params(("instance_uuid" = Uuid, Path)), responses((status = 200, body = BlueprintInstanceJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<BlueprintInstanceJson>, ApiError> {
    let instance = state
        .services
        .get_blueprint_instance(&caller, instance_uuid(&pk)?)
        .await?;
    Ok(Json(instance.into()))
}

#[utoipa::path(put, path = "/managed/blueprints/{instance_uuid}/", tag = "managed", operation_id = "managed_blueprints_update",
    params(("instance_uuid" = Uuid, Path)), request_body = BlueprintInstanceRequest,
    responses((status = 200, body = BlueprintInstanceJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<BlueprintInstanceRequest>,
) -> Result<Json<BlueprintInstanceJson>, ApiError> {
    let instance = state
        .services
        .update_blueprint_instance(&caller, instance_uuid(&pk)?, body.into(), false)
        .await?;
    Ok(Json(instance.into()))
}

#[utoipa::path(patch, path = "/managed/blueprints/{instance_uuid}/", tag = "managed", operation_id = "managed_blueprints_partial_update",
    params(("instance_uuid" = Uuid, Path)), request_body = BlueprintInstanceRequest,
    responses((status = 200, body = BlueprintInstanceJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<BlueprintInstanceRequest>,
) -> Result<Json<BlueprintInstanceJson>, ApiError> {
    let instance = state
        .services
        .update_blueprint_instance(&caller, instance_uuid(&pk)?, body.into(), true)
        .await?;
    Ok(Json(instance.into()))
}

/// Deletes the instance; the objects its blueprint wrote stay.
#[utoipa::path(delete, path = "/managed/blueprints/{instance_uuid}/", tag = "managed", operation_id = "managed_blueprints_destroy",
    params(("instance_uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_blueprint_instance(&caller, instance_uuid(&pk)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What refers to the instance: nothing is reported yet. The instance itself must be one the
/// caller may see.
#[utoipa::path(get, path = "/managed/blueprints/{instance_uuid}/used_by/", tag = "managed", operation_id = "managed_blueprints_used_by_list",
    params(("instance_uuid" = Uuid, Path)), responses((status = 200, description = "List of UsedBy")))]
pub async fn used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    state
        .services
        .get_blueprint_instance(&caller, instance_uuid(&pk)?)
        .await?;
    Ok(Json(Vec::new()))
}

/// Applies the instance's blueprint and answers the instance as recorded after the run.
///
/// authentik queues a task and answers at once with the instance as it was before; Garrison
/// applies synchronously, so the answer already carries the run's `status`,
/// `last_applied_hash` and `last_result`. A failed run is still 200 (the failure is in the
/// instance, as authentik records it); a disabled instance is 400. Viewing the instance is all
/// it takes to ask, as in authentik, but the blueprint runs **as the caller**, with the
/// caller's permissions, never as the system.
#[utoipa::path(post, path = "/managed/blueprints/{instance_uuid}/apply/", tag = "managed", operation_id = "managed_blueprints_apply_create",
    params(("instance_uuid" = Uuid, Path)), responses((status = 200, body = BlueprintInstanceJson)))]
pub async fn apply(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<BlueprintInstanceJson>, ApiError> {
    let instance = state
        .services
        .apply_blueprint_instance(&caller, instance_uuid(&pk)?)
        .await?;
    Ok(Json(instance.into()))
}

/// `import/` as JSON (Garrison's addition; authentik's client sends multipart with the same
/// field names, `file` for the text).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The blueprint's text.
    #[serde(alias = "file")]
    pub content: Option<String>,
    /// A file of the blueprints directory, as `available/` lists it.
    pub path: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Map<String, Value>>,
}

fn import_field_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(garrison_model::FieldErrors::single(field, message))
}

/// The multipart form authentik's client sends: `file` (the text), or `path`, and `context`
/// (JSON text).
async fn read_import_form(request: axum::extract::Request) -> Result<ImportRequest, ApiError> {
    let parts = crate::api::extract::multipart_parts(request, "file (or path) and context").await?;
    let mut form = ImportRequest::default();
    for part in parts {
        let text = String::from_utf8(part.bytes)
            .map_err(|_| import_field_error(&part.name, "must be UTF-8 text"))?;
        match part.name.as_str() {
            "file" | "content" if !text.is_empty() => form.content = Some(text),
            "path" if !text.is_empty() => form.path = Some(text),
            "context" if !text.trim().is_empty() => {
                form.context = Some(serde_json::from_str(&text).map_err(|error| {
                    import_field_error("context", format!("must be a JSON object: {error}"))
                })?);
            }
            _ => {}
        }
    }
    Ok(form)
}

/// Validates and applies a blueprint once, without an instance, as the caller: `file` (or
/// `content`) with the text, or `path` naming a file of the blueprints directory. Always 200
/// with `{logs, success}` once the request is understood, as authentik answers.
#[utoipa::path(post, path = "/managed/blueprints/import/", tag = "managed", operation_id = "managed_blueprints_import_create",
    request_body(content = ImportRequest, description = "JSON, or multipart/form-data with file (or path) and context"),
    responses((status = 200, description = "BlueprintImportResult: logs and success")))]
pub async fn import(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let import = match read_import(request).await {
        Ok(import) => import,
        Err(rejection) => return rejection,
    };
    let result = state.services.import_blueprint(&caller, import).await;
    result.map(Json).map_err(ApiError::from).into_response()
}

/// What to plan without an instance: the same body as `import/` (JSON, or multipart with
/// `file` or `path`, and `context`).
#[utoipa::path(post, path = "/managed/blueprints/plan/", tag = "managed", operation_id = "managed_blueprints_plan_create",
    request_body(content = ImportRequest, description = "JSON, or multipart/form-data with file (or path) and context"),
    responses((status = 200, description = "BlueprintPlan: success, stage, entries (each with its action and fields old → new), failure, changed, outposts, warnings")))]
pub async fn plan(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let import = match read_import(request).await {
        Ok(import) => import,
        Err(rejection) => return rejection,
    };
    let plan = state.services.plan_blueprint_import(&caller, import).await;
    plan.map(Json).map_err(ApiError::from).into_response()
}

/// What applying the instance now would do, as the caller: its text read as an apply reads it,
/// planned with its context. Writes and records nothing (Garrison's addition).
#[utoipa::path(post, path = "/managed/blueprints/{instance_uuid}/plan/", tag = "managed", operation_id = "managed_blueprints_plan_instance_create",
    params(("instance_uuid" = Uuid, Path)),
    responses((status = 200, description = "BlueprintPlan, as for plan/")))]
pub async fn plan_instance(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<garrison_services::BlueprintPlan>, ApiError> {
    let plan = state
        .services
        .plan_blueprint_instance(&caller, instance_uuid(&pk)?)
        .await?;
    Ok(Json(plan))
}

/// An `import/` or `plan/` body, JSON or multipart, as the blueprint and context it names;
/// the response to send instead when it cannot be read.
async fn read_import(
    request: axum::extract::Request,
) -> Result<garrison_services::BlueprintImport, axum::response::Response> {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let body = if multipart {
        read_import_form(request)
            .await
            .map_err(IntoResponse::into_response)?
    } else {
        let JsonBody(body) = JsonBody::<ImportRequest>::from_request(request, &()).await?;
        body
    };
    let source = match (body.content, body.path) {
        (Some(text), None) => garrison_services::ImportSource::Text(text),
        (None, Some(path)) => garrison_services::ImportSource::Path(path),
        _ => {
            return Err(import_field_error(
                "non_field_errors",
                "Give either file (the blueprint's text) or path, not both.",
            )
            .into_response());
        }
    };
    Ok(garrison_services::BlueprintImport {
        source,
        context: body.context.unwrap_or_default(),
    })
}
