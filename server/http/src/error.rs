use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garrison_model::FieldErrors;
use garrison_services::ServiceError;
use serde_json::json;

/// An error as the API returns it: authentik's (DRF's) status codes and bodies.
#[derive(Debug)]
pub enum ApiError {
    Service(ServiceError),
    BadRequest(FieldErrors),
    NotFound,
    MethodNotAllowed,
    Unauthenticated,
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        Self::Service(error)
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::BadRequest(errors)
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"detail": message}))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadRequest(errors) => (StatusCode::BAD_REQUEST, Json(errors)).into_response(),
            ApiError::NotFound => detail(StatusCode::NOT_FOUND, "Not found."),
            ApiError::MethodNotAllowed => {
                detail(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
            }
            ApiError::Unauthenticated => unauthenticated(),
            ApiError::Service(error) => match error {
                ServiceError::Validation(errors) => {
                    (StatusCode::BAD_REQUEST, Json(errors)).into_response()
                }
                ServiceError::NotFound { .. } => detail(StatusCode::NOT_FOUND, "Not found."),
                ServiceError::Unauthenticated => unauthenticated(),
                ServiceError::Forbidden { permission } => (
                    StatusCode::FORBIDDEN,
                    Json(json!({
                        "detail": "You do not have permission to perform this action.",
                        "permission": permission,
                    })),
                )
                    .into_response(),
                ServiceError::Escalation { reason } => detail(StatusCode::FORBIDDEN, &reason),
                ServiceError::RateLimited { retry_after_secs } => {
                    let mut response = detail(
                        StatusCode::TOO_MANY_REQUESTS,
                        &format!(
                            "Request was throttled. Expected available in {retry_after_secs} seconds."
                        ),
                    );
                    if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    response
                }
                other => {
                    // The full cause goes to the log; the client gets no internals.
                    tracing::error!(error = %other, "request failed");
                    detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
                }
            },
        }
    }
}

fn unauthenticated() -> Response {
    let mut response = detail(
        StatusCode::UNAUTHORIZED,
        "Authentication credentials were not provided.",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"api\""),
    );
    response
}
