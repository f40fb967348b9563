//! Extractors that turn a request into service inputs, with authentik-shaped 400s.
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use garrison_model::{FieldErrors, ListQuery, PageRequest};
use garrison_model::{listing_limits::DEFAULT_PAGE_SIZE, listing_limits::MAX_PAGE_SIZE};
use garrison_services::{Caller, Via};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::ApiError;
use crate::identity::RequestIdentity;

/// The authenticated caller of an API request; 401 when there is none.
pub struct ApiCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let identity = parts
            .extensions
            .get::<RequestIdentity>()
            .ok_or(ApiError::Unauthenticated)?;
        let via = Via::Api {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        };
        identity
            .caller(via)
            .map(ApiCaller)
            .ok_or(ApiError::Unauthenticated)
    }
}

/// A JSON body. Type errors name the field (`{"is_active": ["invalid type: …"]}`); a body that
/// is not JSON at all gets `{"detail": "JSON parse error - …"}`, as authentik answers.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = axum::response::Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Ok(value) => Ok(JsonBody(value)),
            Err(error) => {
                let inner = error.inner();
                let message = inner.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                if inner.is_syntax() || inner.is_eof() {
                    let body = json!({"detail": format!("JSON parse error - {message}")});
                    return Err(
                        (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
                    );
                }
                let path = error.path().to_string();
                let field = if path == "." || path.is_empty() {
                    FieldErrors::NON_FIELD.to_owned()
                } else {
                    path
                };
                Err(ApiError::BadRequest(FieldErrors::single(field, message)).into_response())
            }
        }
    }
}

/// `page`, `page_size`, `search`, `ordering` and every other query parameter, validated.
pub struct ListParams {
    pub query: ListQuery,
    pub rest: HashMap<String, String>,
}

impl ListParams {
    /// A boolean filter (`true`/`false`, as DRF's BooleanFilter accepts).
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.rest.get(name).map(String::as_str) {
            None | Some("") => Ok(None),
            Some("true" | "True" | "1") => Ok(Some(true)),
            Some("false" | "False" | "0") => Ok(Some(false)),
            Some(_) => Err(ApiError::BadRequest(FieldErrors::single(
                name,
                "Must be a valid boolean.",
            ))),
        }
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.rest.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

fn positive(
    errors: &mut FieldErrors,
    params: &HashMap<String, String>,
    name: &str,
    default: u64,
) -> u64 {
    match params.get(name).map(String::as_str) {
        None | Some("") => default,
        Some(raw) => match raw.parse::<u64>() {
            Ok(0) | Err(_) => {
                errors.add(name, "A valid positive integer is required.");
                default
            }
            Ok(n) => n,
        },
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(mut params) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::BadRequest(FieldErrors::single(FieldErrors::NON_FIELD, e.body_text()))
            })?;
        let mut errors = FieldErrors::new();
        let page = positive(&mut errors, &params, "page", 1);
        // Larger pages are clamped rather than refused, as DRF's paginator does.
        let page_size =
            positive(&mut errors, &params, "page_size", DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE);
        if !errors.is_empty() {
            return Err(ApiError::BadRequest(errors));
        }
        let query = ListQuery {
            page: PageRequest { page, page_size },
            search: params.remove("search").filter(|s| !s.is_empty()),
            ordering: params.remove("ordering").filter(|s| !s.is_empty()),
        };
        params.remove("page");
        params.remove("page_size");
        Ok(ListParams {
            query,
            rest: params,
        })
    }
}

/// One part of a multipart/form-data body.
pub(crate) struct FormPart {
    pub name: String,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// Every part of a multipart/form-data body, in order; `expected` says what the form should
/// hold, for the error when the body is not multipart.
pub(crate) async fn multipart_parts(
    request: axum::extract::Request,
    expected: &str,
) -> Result<Vec<FormPart>, ApiError> {
    let bad = |field: &str, message: String| {
        ApiError::BadRequest(garrison_model::FieldErrors::single(field, message))
    };
    let boundary = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            bad(
                "non_field_errors",
                format!("expected multipart/form-data with {expected}"),
            )
        })?;
    let mut multipart = multer::Multipart::new(request.into_body().into_data_stream(), boundary);
    let mut parts = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                return Err(bad(
                    "non_field_errors",
                    format!("malformed upload: {error}"),
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| bad(&name, format!("cannot read: {e}")))?;
        parts.push(FormPart {
            name,
            filename,
            bytes: bytes.to_vec(),
        });
    }
    Ok(parts)
}
