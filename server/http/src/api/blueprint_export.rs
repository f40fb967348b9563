//! `GET /api/v3/managed/blueprints/export/`: what the caller may view, as a blueprint that
//! applies to another Garrison. authentik has no such endpoint (its exporter is the
//! `ak export_blueprint` command and the flow export); the answer is the YAML file itself, whose
//! header comment lists the secrets it refers to and what it left out.
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use garrison_model::FieldErrors;
use garrison_services::blueprints::{ExportSelection, ModelSelection};
use utoipa::OpenApi;

use crate::api::ApiCaller;
use crate::{ApiError, AppState};

/// The routes of this module, relative to `/api/v3`. A static segment wins over the instances'
/// `{instance_uuid}` in the router, as `available/` does.
pub fn routes() -> Router<AppState> {
    Router::new().route("/managed/blueprints/export/", get(export))
}

#[derive(OpenApi)]
#[openapi(paths(export))]
struct BlueprintExportApi;

/// The OpenAPI description of this module's route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    BlueprintExportApi::openapi()
}

const YAML: &str = "text/yaml; charset=utf-8";
const ATTACHMENT: &str = "attachment; filename=\"garrison-export.yaml\"";

/// Every model, or those named by `model` (repeatable, `app_label.model`).
#[utoipa::path(get, path = "/managed/blueprints/export/", tag = "managed", operation_id = "managed_blueprints_export_retrieve",
    params(("model" = Option<Vec<String>>, Query, description = "Only this model (`app_label.model`); repeat for several. Default: every model.")),
    responses((status = 200, description = "The blueprint (YAML)", content_type = "text/yaml", body = String)))]
pub async fn export(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    uri: Uri,
) -> Result<Response, ApiError> {
    // A list of pairs keeps every `model=` (a map would keep one); other parameters are
    // ignored, as DRF ignores unknown ones.
    let Query(params) = Query::<Vec<(String, String)>>::try_from_uri(&uri).map_err(|error| {
        ApiError::BadRequest(FieldErrors::single(
            FieldErrors::NON_FIELD,
            error.body_text(),
        ))
    })?;
    let models: Vec<ModelSelection> = params
        .into_iter()
        .filter(|(key, _)| key == "model")
        .map(|(_, model)| ModelSelection { model, pks: None })
        .collect();
    let selection = if models.is_empty() {
        ExportSelection::Everything
    } else {
        ExportSelection::Models(models)
    };
    let export = state.services.export_blueprint(&caller, &selection).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(YAML)),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(ATTACHMENT),
        ),
    ];
    Ok((headers, export.yaml).into_response())
}
