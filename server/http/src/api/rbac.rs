use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garrison_model::RoleChanges;
use uuid::Uuid;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::schema::{
    Paginated, PermissionAssignRequest, PermissionJson, RoleJson, RoleRequest,
};
use crate::{ApiError, AppState};

fn role_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

#[utoipa::path(get, path = "/rbac/roles/", tag = "rbac", operation_id = "rbac_roles_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query), ("ordering" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedRoleList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<RoleJson>>, ApiError> {
    let page = state.services.list_roles(&caller, &params.query).await?;
    Ok(Json(Paginated::new(page, RoleJson::from)))
}

#[utoipa::path(post, path = "/rbac/roles/", tag = "rbac", operation_id = "rbac_roles_create",
    request_body = RoleRequest, responses((status = 201, body = RoleJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<RoleRequest>,
) -> Result<(StatusCode, Json<RoleJson>), ApiError> {
    let role = state
        .services
        .create_role(&caller, RoleChanges { name: body.name })
        .await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

#[utoipa::path(get, path = "/rbac/roles/{uuid}/", tag = "rbac", operation_id = "rbac_roles_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = RoleJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<RoleJson>, ApiError> {
    Ok(Json(
        state
            .services
            .get_role(&caller, role_uuid(&pk)?)
            .await?
            .into(),
    ))
}

#[utoipa::path(put, path = "/rbac/roles/{uuid}/", tag = "rbac", operation_id = "rbac_roles_update",
    params(("uuid" = Uuid, Path)), request_body = RoleRequest, responses((status = 200, body = RoleJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<RoleRequest>,
) -> Result<Json<RoleJson>, ApiError> {
    Ok(Json(
        state
            .services
            .update_role(
                &caller,
                role_uuid(&pk)?,
                RoleChanges { name: body.name },
                false,
            )
            .await?
            .into(),
    ))
}

#[utoipa::path(patch, path = "/rbac/roles/{uuid}/", tag = "rbac", operation_id = "rbac_roles_partial_update",
    params(("uuid" = Uuid, Path)), request_body = RoleRequest, responses((status = 200, body = RoleJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<RoleRequest>,
) -> Result<Json<RoleJson>, ApiError> {
    Ok(Json(
        state
            .services
            .update_role(
                &caller,
                role_uuid(&pk)?,
                RoleChanges { name: body.name },
                true,
            )
            .await?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/rbac/roles/{uuid}/", tag = "rbac", operation_id = "rbac_roles_destroy",
    params(("uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.delete_role(&caller, role_uuid(&pk)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/rbac/permissions/", tag = "rbac", operation_id = "rbac_permissions_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedPermissionList")))]
pub async fn permissions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<PermissionJson>>, ApiError> {
    let term = params
        .query
        .search
        .clone()
        .unwrap_or_default()
        .to_lowercase();
    let all: Vec<_> = state
        .services
        .list_permissions(&caller)
        .await?
        .into_iter()
        .filter(|p| {
            term.is_empty() || p.codename.contains(&term) || p.name.to_lowercase().contains(&term)
        })
        .collect();
    let request = params.query.page;
    let count = all.len() as u64;
    let items = all
        .into_iter()
        .skip(request.offset() as usize)
        .take(request.page_size as usize)
        .collect();
    let page = garrison_model::Page {
        items,
        count,
        request,
    };
    Ok(Json(Paginated::new(page, |p| PermissionJson {
        id: p.id,
        name: p.name,
        app_label_verbose: p.app_label.clone(),
        model_verbose: p.model.clone(),
        codename: p.codename,
        model: p.model,
        app_label: p.app_label,
    })))
}

#[utoipa::path(post, path = "/rbac/permissions/assigned_by_roles/{uuid}/assign/", tag = "rbac",
    operation_id = "rbac_permissions_assigned_by_roles_assign", params(("uuid" = Uuid, Path)),
    request_body = PermissionAssignRequest, responses((status = 200)))]
pub async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<PermissionAssignRequest>,
) -> Result<Json<Vec<String>>, ApiError> {
    let permissions = body.permissions.clone();
    state
        .services
        .change_role_permissions(
            &caller,
            role_uuid(&pk)?,
            &permissions,
            body.object_pk.as_deref(),
            true,
        )
        .await?;
    Ok(Json(permissions))
}

#[utoipa::path(patch, path = "/rbac/permissions/assigned_by_roles/{uuid}/unassign/", tag = "rbac",
    operation_id = "rbac_permissions_assigned_by_roles_unassign_partial_update", params(("uuid" = Uuid, Path)),
    request_body = PermissionAssignRequest, responses((status = 204)))]
pub async fn unassign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<PermissionAssignRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .change_role_permissions(
            &caller,
            role_uuid(&pk)?,
            &body.permissions,
            body.object_pk.as_deref(),
            false,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
