use axum::Json;
use axum::extract::{Path, State};
use garrison_model::EventAction;
use garrison_services::EventFilter;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::extract::{ApiCaller, ListParams};
use crate::api::schema::{EventJson, Paginated};
use crate::{ApiError, AppState};

#[utoipa::path(get, path = "/events/events/", tag = "events", operation_id = "events_events_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("action" = Option<String>, Query), ("username" = Option<String>, Query),
           ("client_ip" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedEventList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<EventJson>>, ApiError> {
    let filter = EventFilter {
        action: params.text("action"),
        username: params.text("username"),
        client_ip: params.text("client_ip"),
    };
    let page = state
        .services
        .list_events(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, EventJson::from)))
}

#[utoipa::path(get, path = "/events/events/{event_uuid}/", tag = "events", operation_id = "events_events_retrieve",
    params(("event_uuid" = Uuid, Path)), responses((status = 200, body = EventJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<EventJson>, ApiError> {
    let pk = Uuid::parse_str(&pk).map_err(|_| ApiError::NotFound)?;
    Ok(Json(state.services.get_event(&caller, pk).await?.into()))
}

#[utoipa::path(get, path = "/events/events/actions/", tag = "events", operation_id = "events_events_actions_list",
    responses((status = 200, description = "List of TypeCreate")))]
pub async fn actions(ApiCaller(_caller): ApiCaller) -> Json<Vec<Value>> {
    Json(
        EventAction::ALL
            .iter()
            .map(|a| json!({"name": a.label(), "description": a.label(), "component": a.as_str(), "model_name": ""}))
            .collect(),
    )
}

/// What a client records: authentik's `EventRequest` fields. The user and address are the
/// caller's own; a body naming another `user` is refused.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    pub action: String,
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub client_ip: Option<String>,
    /// Accepted for the client's sake; Garrison sets expiry itself.
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted so the official client's requests are not refused"
    )]
    pub expires: Option<String>,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted so the official client's requests are not refused"
    )]
    pub brand: Option<Value>,
}

#[utoipa::path(post, path = "/events/events/", tag = "events", operation_id = "events_events_create",
    request_body = EventRequest, responses((status = 201, body = EventJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    crate::api::extract::JsonBody(body): crate::api::extract::JsonBody<EventRequest>,
) -> Result<(axum::http::StatusCode, Json<EventJson>), ApiError> {
    let event = state
        .services
        .create_event(
            &caller,
            garrison_services::NewEvent {
                action: body.action,
                app: body.app.unwrap_or_else(|| "garrison".into()),
                context: body.context.unwrap_or_default(),
                client_ip: body.client_ip,
            },
        )
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(EventJson::from(event)),
    ))
}
