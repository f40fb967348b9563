use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garrison_model::UserType;
use garrison_services::UserFilter;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::schema::{
    AVATAR, Paginated, SessionUser, UserJson, UserPasswordSetRequest, UserRequest, UserSelf,
    UserSelfGroup, uid_for,
};
use crate::{ApiError, AppState};

fn parse_type(params: &ListParams) -> Result<Option<UserType>, ApiError> {
    match params.text("type") {
        None => Ok(None),
        Some(raw) => UserType::parse(&raw).map(Some).ok_or_else(|| {
            ApiError::BadRequest(garrison_model::FieldErrors::single(
                "type",
                format!("Select a valid choice. {raw} is not one of the available choices."),
            ))
        }),
    }
}

#[utoipa::path(get, path = "/core/users/", tag = "core", operation_id = "core_users_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("username" = Option<String>, Query), ("type" = Option<String>, Query),
           ("is_active" = Option<bool>, Query), ("path_startswith" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedUserList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<UserJson>>, ApiError> {
    let filter = UserFilter {
        username: params.text("username"),
        user_type: parse_type(&params)?,
        is_active: params.flag("is_active")?,
        path_startswith: params.text("path_startswith"),
    };
    let page = state
        .services
        .list_users(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, UserJson::from)))
}

#[utoipa::path(post, path = "/core/users/", tag = "core", operation_id = "core_users_create",
    request_body = UserRequest, responses((status = 201, body = UserJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<UserRequest>,
) -> Result<(StatusCode, Json<UserJson>), ApiError> {
    let user = state.services.create_user(&caller, body.into()).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(get, path = "/core/users/{id}/", tag = "core", operation_id = "core_users_retrieve",
    params(("id" = i64, Path)), responses((status = 200, body = UserJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<UserJson>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(Json(state.services.get_user(&caller, id).await?.into()))
}

#[utoipa::path(put, path = "/core/users/{id}/", tag = "core", operation_id = "core_users_update",
    params(("id" = i64, Path)), request_body = UserRequest, responses((status = 200, body = UserJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UserRequest>,
) -> Result<Json<UserJson>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(Json(
        state
            .services
            .update_user(&caller, id, body.into(), false)
            .await?
            .into(),
    ))
}

#[utoipa::path(patch, path = "/core/users/{id}/", tag = "core", operation_id = "core_users_partial_update",
    params(("id" = i64, Path)), request_body = UserRequest, responses((status = 200, body = UserJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UserRequest>,
) -> Result<Json<UserJson>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(Json(
        state
            .services
            .update_user(&caller, id, body.into(), true)
            .await?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/core/users/{id}/", tag = "core", operation_id = "core_users_destroy",
    params(("id" = i64, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    state.services.delete_user(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/core/users/{id}/set_password/", tag = "core", operation_id = "core_users_set_password_create",
    params(("id" = i64, Path)), request_body = UserPasswordSetRequest, responses((status = 204)))]
pub async fn set_password(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UserPasswordSetRequest>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    state
        .services
        .set_user_password(
            &caller,
            id,
            garrison_services::PasswordChange {
                new_password: &body.password,
                current_password: body.current_password.as_deref(),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller itself, as authentik's `/core/users/me/` returns it.
#[utoipa::path(get, path = "/core/users/me/", tag = "core", operation_id = "core_users_me_retrieve",
    responses((status = 200, body = SessionUser)))]
pub async fn me(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<SessionUser>, ApiError> {
    let Some(user) = caller.principal.user().cloned() else {
        return Err(ApiError::Unauthenticated);
    };
    let (groups, roles) = state.services.own_memberships(&caller).await?;
    let named = |items: Vec<(uuid::Uuid, String)>| {
        items
            .into_iter()
            .map(|(pk, name)| UserSelfGroup {
                name,
                pk: pk.to_string(),
            })
            .collect::<Vec<_>>()
    };
    let (groups, roles) = (named(groups), named(roles));
    let mut system_permissions: Vec<String> =
        caller.principal.permissions().global().cloned().collect();
    system_permissions.sort();
    let make = |groups, roles, system_permissions| UserSelf {
        pk: user.pk,
        username: user.username.clone(),
        name: user.name.clone(),
        is_active: user.is_active,
        is_superuser: caller.principal.is_superuser(),
        is_current: true,
        groups,
        roles,
        email: user.email.clone(),
        avatar: AVATAR.into(),
        uid: uid_for(&user.uuid),
        settings: Default::default(),
        user_type: user.user_type,
        system_permissions,
    };
    let this = make(groups, roles, system_permissions);
    let listed = make(Vec::new(), Vec::new(), Vec::new());
    Ok(Json(SessionUser {
        user: this,
        users: vec![listed],
    }))
}
