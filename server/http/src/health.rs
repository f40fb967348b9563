//! Liveness and readiness, at authentik's paths.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::AppState;

/// The process is up and serving.
pub async fn live() -> impl IntoResponse {
    StatusCode::NO_CONTENT
}

/// The store and the cache both answer; a load balancer sends traffic only then.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let (store, cache) = state.services.ready().await;
    let status = if store && cache {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "store": {"ok": store, "backend": state.services.store_backend()},
            "cache": {"ok": cache, "backend": state.services.bus().kind()},
        })),
    )
}
