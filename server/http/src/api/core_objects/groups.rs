use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garrison_model::{Group, ListQuery, PageRequest};
use garrison_services::{Caller, GroupFilter, Services};
use uuid::Uuid;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::schema::{GroupJson, GroupRequest, Paginated, UserAccountRequest};
use crate::{ApiError, AppState};

/// Role names for `roles_obj`, loaded once per request; empty when the caller may not see roles.
async fn role_names(
    services: &Services,
    caller: &Caller,
    groups: &[Group],
) -> HashMap<Uuid, String> {
    if groups.iter().all(|g| g.roles.is_empty()) {
        return HashMap::new();
    }
    let query = ListQuery {
        page: PageRequest {
            page: 1,
            page_size: garrison_model::listing_limits::MAX_PAGE_SIZE,
        },
        ..Default::default()
    };
    match services.list_roles(caller, &query).await {
        Ok(page) => page.items.into_iter().map(|r| (r.pk, r.name)).collect(),
        Err(_) => HashMap::new(),
    }
}

fn group_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

#[utoipa::path(get, path = "/core/groups/", tag = "core", operation_id = "core_groups_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query), ("is_superuser" = Option<bool>, Query)),
    responses((status = 200, description = "PaginatedGroupList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<GroupJson>>, ApiError> {
    let filter = GroupFilter {
        name: params.text("name"),
        is_superuser: params.flag("is_superuser")?,
    };
    let page = state
        .services
        .list_groups(&caller, &params.query, filter)
        .await?;
    let roles = role_names(&state.services, &caller, &page.items).await;
    Ok(Json(Paginated::new(page, |g| GroupJson::new(g, &roles))))
}

async fn respond(state: &AppState, caller: &Caller, group: Group) -> Json<GroupJson> {
    let roles = role_names(&state.services, caller, std::slice::from_ref(&group)).await;
    Json(GroupJson::new(group, &roles))
}

#[utoipa::path(post, path = "/core/groups/", tag = "core", operation_id = "core_groups_create",
    request_body = GroupRequest, responses((status = 201, body = GroupJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<GroupRequest>,
) -> Result<(StatusCode, Json<GroupJson>), ApiError> {
    let group = state.services.create_group(&caller, body.into()).await?;
    Ok((StatusCode::CREATED, respond(&state, &caller, group).await))
}

#[utoipa::path(get, path = "/core/groups/{group_uuid}/", tag = "core", operation_id = "core_groups_retrieve",
    params(("group_uuid" = Uuid, Path)), responses((status = 200, body = GroupJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<GroupJson>, ApiError> {
    let group = state.services.get_group(&caller, group_uuid(&pk)?).await?;
    Ok(respond(&state, &caller, group).await)
}

#[utoipa::path(put, path = "/core/groups/{group_uuid}/", tag = "core", operation_id = "core_groups_update",
    params(("group_uuid" = Uuid, Path)), request_body = GroupRequest, responses((status = 200, body = GroupJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<GroupRequest>,
) -> Result<Json<GroupJson>, ApiError> {
    let group = state
        .services
        .update_group(&caller, group_uuid(&pk)?, body.into(), false)
        .await?;
    Ok(respond(&state, &caller, group).await)
}

#[utoipa::path(patch, path = "/core/groups/{group_uuid}/", tag = "core", operation_id = "core_groups_partial_update",
    params(("group_uuid" = Uuid, Path)), request_body = GroupRequest, responses((status = 200, body = GroupJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<GroupRequest>,
) -> Result<Json<GroupJson>, ApiError> {
    let group = state
        .services
        .update_group(&caller, group_uuid(&pk)?, body.into(), true)
        .await?;
    Ok(respond(&state, &caller, group).await)
}

#[utoipa::path(delete, path = "/core/groups/{group_uuid}/", tag = "core", operation_id = "core_groups_destroy",
    params(("group_uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_group(&caller, group_uuid(&pk)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/core/groups/{group_uuid}/add_user/", tag = "core", operation_id = "core_groups_add_user_create",
    params(("group_uuid" = Uuid, Path)), request_body = UserAccountRequest, responses((status = 204)))]
pub async fn add_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<UserAccountRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .change_group_member(&caller, group_uuid(&pk)?, body.pk, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/core/groups/{group_uuid}/remove_user/", tag = "core", operation_id = "core_groups_remove_user_create",
    params(("group_uuid" = Uuid, Path)), request_body = UserAccountRequest, responses((status = 204)))]
pub async fn remove_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<UserAccountRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .change_group_member(&caller, group_uuid(&pk)?, body.pk, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
