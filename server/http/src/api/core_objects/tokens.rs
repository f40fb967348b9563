use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garrison_model::Token;
use garrison_services::Caller;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::schema::{
    Paginated, TokenJson, TokenRequest, TokenSetKeyRequest, TokenView, UserJson,
};
use crate::{ApiError, AppState};

/// `user_obj` for each distinct owner the caller may see.
async fn owners(state: &AppState, caller: &Caller, tokens: &[Token]) -> HashMap<i64, UserJson> {
    let mut out = HashMap::new();
    for token in tokens {
        if !out.contains_key(&token.user) {
            if let Ok(user) = state.services.get_user(caller, token.user).await {
                out.insert(token.user, UserJson::from(user));
            }
        }
    }
    out
}

async fn respond(state: &AppState, caller: &Caller, token: Token) -> Json<TokenJson> {
    let mut users = owners(state, caller, std::slice::from_ref(&token)).await;
    let user = users.remove(&token.user);
    Json(TokenJson::new(token, user))
}

#[utoipa::path(get, path = "/core/tokens/", tag = "core", operation_id = "core_tokens_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query), ("ordering" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedTokenList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<TokenJson>>, ApiError> {
    let page = state.services.list_tokens(&caller, &params.query).await?;
    let users = owners(&state, &caller, &page.items).await;
    Ok(Json(Paginated::new(page, |t| {
        let user = users.get(&t.user).cloned();
        TokenJson::new(t, user)
    })))
}

#[utoipa::path(post, path = "/core/tokens/", tag = "core", operation_id = "core_tokens_create",
    request_body = TokenRequest, responses((status = 201, body = TokenJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<(StatusCode, Json<TokenJson>), ApiError> {
    let created = state.services.create_token(&caller, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        respond(&state, &caller, created.token).await,
    ))
}

#[utoipa::path(get, path = "/core/tokens/{identifier}/", tag = "core", operation_id = "core_tokens_retrieve",
    params(("identifier" = String, Path)), responses((status = 200, body = TokenJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(identifier): Path<String>,
) -> Result<Json<TokenJson>, ApiError> {
    let token = state.services.get_token(&caller, &identifier).await?;
    Ok(respond(&state, &caller, token).await)
}

#[utoipa::path(put, path = "/core/tokens/{identifier}/", tag = "core", operation_id = "core_tokens_update",
    params(("identifier" = String, Path)), request_body = TokenRequest, responses((status = 200, body = TokenJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(identifier): Path<String>,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<Json<TokenJson>, ApiError> {
    let token = state
        .services
        .update_token(&caller, &identifier, body.into(), false)
        .await?;
    Ok(respond(&state, &caller, token).await)
}

#[utoipa::path(patch, path = "/core/tokens/{identifier}/", tag = "core", operation_id = "core_tokens_partial_update",
    params(("identifier" = String, Path)), request_body = TokenRequest, responses((status = 200, body = TokenJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(identifier): Path<String>,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<Json<TokenJson>, ApiError> {
    let token = state
        .services
        .update_token(&caller, &identifier, body.into(), true)
        .await?;
    Ok(respond(&state, &caller, token).await)
}

#[utoipa::path(delete, path = "/core/tokens/{identifier}/", tag = "core", operation_id = "core_tokens_destroy",
    params(("identifier" = String, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(identifier): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.services.delete_token(&caller, &identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/core/tokens/{identifier}/view_key/", tag = "core", operation_id = "core_tokens_view_key_retrieve",
    params(("identifier" = String, Path)), responses((status = 200, body = TokenView)))]
pub async fn view_key(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(identifier): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let key = state.services.view_token_key(&caller, &identifier).await?;
    Ok(Json(TokenView { key }))
}

#[utoipa::path(post, path = "/core/tokens/{identifier}/set_key/", tag = "core", operation_id = "core_tokens_set_key_create",
    params(("identifier" = String, Path)), request_body = TokenSetKeyRequest, responses((status = 204)))]
pub async fn set_key(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(identifier): Path<String>,
    JsonBody(body): JsonBody<TokenSetKeyRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .set_token_key(&caller, &identifier, &body.key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
