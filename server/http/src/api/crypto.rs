//! `/api/v3/crypto/certificatekeypairs/`: certificate keypairs in authentik's shapes. Lists and
//! retrievals carry what a certificate says about itself, never its PEM or its key: those leave
//! only through `view_certificate` and `view_private_key`, each behind its own permission (the
//! key's view is also recorded), as JSON or, asked to, as a file to download.
use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use garrison_model::{CertificateKeyPair, CertificateKeyPairChanges, FieldErrors};
use garrison_services::outposts::{CertificateFilter, GenerateCertificate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::schema::Paginated;
use crate::api::{ApiCaller, JsonBody, ListParams};
use crate::{ApiError, AppState};

/// The routes of this module, relative to `/api/v3`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/crypto/certificatekeypairs/", get(list).post(create))
        .route("/crypto/certificatekeypairs/generate/", post(generate))
        .route(
            "/crypto/certificatekeypairs/{kp_uuid}/",
            get(retrieve)
                .put(update)
                .patch(partial_update)
                .delete(destroy),
        )
        .route(
            "/crypto/certificatekeypairs/{kp_uuid}/view_certificate/",
            get(view_certificate),
        )
        .route(
            "/crypto/certificatekeypairs/{kp_uuid}/view_private_key/",
            get(view_private_key),
        )
        .route(
            "/crypto/certificatekeypairs/{kp_uuid}/used_by/",
            get(used_by),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        create,
        retrieve,
        update,
        partial_update,
        destroy,
        view_certificate,
        view_private_key,
        generate,
        used_by,
    ),
    components(schemas(
        CertificateKeyPairJson,
        CertificateKeyPairRequest,
        CertificateGenerationRequest,
        CertificateData,
    ))
)]
struct CryptoApi;

/// The OpenAPI description of this module's routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    CryptoApi::openapi()
}

/// authentik's `CertificateKeyPair`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CertificateKeyPair)]
pub struct CertificateKeyPairJson {
    pub pk: Uuid,
    pub name: String,
    pub fingerprint_sha256: String,
    pub fingerprint_sha1: String,
    pub cert_expiry: DateTime<Utc>,
    pub cert_subject: String,
    pub private_key_available: bool,
    /// `rsa`, `ec`, `dsa`, `ed25519` or `ed448`.
    pub key_type: Option<String>,
    pub certificate_download_url: String,
    pub private_key_download_url: String,
    pub managed: Option<String>,
}

impl From<CertificateKeyPair> for CertificateKeyPairJson {
    fn from(pair: CertificateKeyPair) -> Self {
        // authentik's links: the view actions with a bare `?download`.
        let base = format!("/api/v3/crypto/certificatekeypairs/{}", pair.pk);
        Self {
            certificate_download_url: format!("{base}/view_certificate/?download"),
            private_key_download_url: format!("{base}/view_private_key/?download"),
            pk: pair.pk,
            name: pair.name,
            fingerprint_sha256: pair.fingerprint_sha256,
            fingerprint_sha1: pair.fingerprint_sha1,
            cert_expiry: pair.cert_expiry,
            cert_subject: pair.cert_subject,
            private_key_available: pair.private_key_available,
            key_type: pair.key_type,
            managed: pair.managed,
        }
    }
}

/// authentik's `CertificateKeyPairRequest` (and its patched form: every field may be left out;
/// the services require `name` and `certificate_data` when creating and replacing).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateKeyPairRequest {
    pub name: Option<String>,
    /// PEM.
    pub certificate_data: Option<String>,
    /// PEM; empty or left out keeps the current key (unless the certificate changes).
    pub key_data: Option<String>,
}

impl From<CertificateKeyPairRequest> for CertificateKeyPairChanges {
    fn from(request: CertificateKeyPairRequest) -> Self {
        Self {
            name: request.name,
            certificate_data: request.certificate_data,
            key_data: request.key_data,
        }
    }
}

/// authentik's `CertificateGenerationRequest`: a new self-signed pair.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateGenerationRequest {
    /// Required.
    pub common_name: Option<String>,
    /// Comma-separated names.
    pub subject_alt_name: Option<String>,
    /// Required.
    pub validity_days: Option<i64>,
    /// `rsa` (the default) or `ecdsa`.
    pub alg: Option<String>,
}

impl TryFrom<CertificateGenerationRequest> for GenerateCertificate {
    type Error = FieldErrors;

    /// Refuses a missing or blank field by name, as authentik does.
    fn try_from(request: CertificateGenerationRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let common_name = match request.common_name {
            None => {
                errors.add("common_name", "This field is required.");
                None
            }
            Some(name) if name.trim().is_empty() => {
                errors.add("common_name", "This field may not be blank.");
                None
            }
            Some(name) => Some(name),
        };
        if request.validity_days.is_none() {
            errors.add("validity_days", "This field is required.");
        }
        match (common_name, request.validity_days) {
            (Some(common_name), Some(validity_days)) => Ok(Self {
                common_name,
                subject_alt_name: request.subject_alt_name,
                validity_days,
                alg: request.alg,
            }),
            _ => Err(errors),
        }
    }
}

/// authentik's `CertificateData`: one PEM.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateData {
    pub data: String,
}

/// `?download`: answer the PEM as a file instead of JSON. authentik's download links carry the
/// parameter bare, its client sends `download=true` or `download=false`.
pub struct Download(bool);

impl<S: Send + Sync> FromRequestParts<S> for Download {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) =
            Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map_err(|e| {
                ApiError::BadRequest(FieldErrors::single(FieldErrors::NON_FIELD, e.body_text()))
            })?;
        match params.get("download").map(String::as_str) {
            None | Some("false" | "False" | "0") => Ok(Download(false)),
            Some("" | "true" | "True" | "1") => Ok(Download(true)),
            Some(_) => Err(ApiError::BadRequest(FieldErrors::single(
                "download",
                "Must be a valid boolean.",
            ))),
        }
    }
}

const CERTIFICATE_FILE: &str = "attachment; filename=\"certificate.pem\"";
const PRIVATE_KEY_FILE: &str = "attachment; filename=\"private_key.pem\"";

/// A PEM as `{"data": …}`, or as the attachment `disposition` names when asked to download.
fn pem(data: String, Download(download): Download, disposition: &'static str) -> Response {
    if download {
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static(disposition),
            ),
        ];
        (headers, data).into_response()
    } else {
        Json(CertificateData { data }).into_response()
    }
}

/// A keypair's UUID from the path; anything else names no keypair.
fn kp_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

#[utoipa::path(get, path = "/crypto/certificatekeypairs/", tag = "crypto", operation_id = "crypto_certificatekeypairs_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query), ("has_key" = Option<bool>, Query),
           ("managed" = Option<String>, Query),
           ("key_type" = Option<String>, Query, description = "Accepted for authentik's client; not applied."),
           ("include_details" = Option<bool>, Query, description = "Accepted for authentik's client; details are always included.")),
    responses((status = 200, description = "PaginatedCertificateKeyPairList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<CertificateKeyPairJson>>, ApiError> {
    let filter = CertificateFilter {
        name: params.text("name"),
        has_key: params.flag("has_key")?,
        managed: params.text("managed"),
    };
    let page = state
        .services
        .list_certificates(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, CertificateKeyPairJson::from)))
}

#[utoipa::path(post, path = "/crypto/certificatekeypairs/", tag = "crypto", operation_id = "crypto_certificatekeypairs_create",
    request_body = CertificateKeyPairRequest, responses((status = 201, body = CertificateKeyPairJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<CertificateKeyPairRequest>,
) -> Result<(StatusCode, Json<CertificateKeyPairJson>), ApiError> {
    let pair = state
        .services
        .create_certificate(&caller, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(pair.into())))
}

#[utoipa::path(get, path = "/crypto/certificatekeypairs/{kp_uuid}/", tag = "crypto", operation_id = "crypto_certificatekeypairs_retrieve",
    params(("kp_uuid" = Uuid, Path)), responses((status = 200, body = CertificateKeyPairJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<CertificateKeyPairJson>, ApiError> {
    let pair = state
        .services
        .get_certificate(&caller, kp_uuid(&pk)?)
        .await?;
    Ok(Json(pair.into()))
}

#[utoipa::path(put, path = "/crypto/certificatekeypairs/{kp_uuid}/", tag = "crypto", operation_id = "crypto_certificatekeypairs_update",
    params(("kp_uuid" = Uuid, Path)), request_body = CertificateKeyPairRequest,
    responses((status = 200, body = CertificateKeyPairJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<CertificateKeyPairRequest>,
) -> Result<Json<CertificateKeyPairJson>, ApiError> {
    let pair = state
        .services
        .update_certificate(&caller, kp_uuid(&pk)?, body.into(), false)
        .await?;
    Ok(Json(pair.into()))
}

#[utoipa::path(patch, path = "/crypto/certificatekeypairs/{kp_uuid}/", tag = "crypto", operation_id = "crypto_certificatekeypairs_partial_update",
    params(("kp_uuid" = Uuid, Path)), request_body = CertificateKeyPairRequest,
    responses((status = 200, body = CertificateKeyPairJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<CertificateKeyPairRequest>,
) -> Result<Json<CertificateKeyPairJson>, ApiError> {
    let pair = state
        .services
        .update_certificate(&caller, kp_uuid(&pk)?, body.into(), true)
        .await?;
    Ok(Json(pair.into()))
}

#[utoipa::path(delete, path = "/crypto/certificatekeypairs/{kp_uuid}/", tag = "crypto", operation_id = "crypto_certificatekeypairs_destroy",
    params(("kp_uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_certificate(&caller, kp_uuid(&pk)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/crypto/certificatekeypairs/{kp_uuid}/view_certificate/", tag = "crypto",
    operation_id = "crypto_certificatekeypairs_view_certificate_retrieve",
    params(("kp_uuid" = Uuid, Path), ("download" = Option<bool>, Query, description = "Answer the PEM as the file certificate.pem.")),
    responses((status = 200, body = CertificateData)))]
pub async fn view_certificate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    download: Download,
) -> Result<Response, ApiError> {
    let data = state
        .services
        .view_certificate_data(&caller, kp_uuid(&pk)?)
        .await?;
    Ok(pem(data, download, CERTIFICATE_FILE))
}

/// The private key, on explicit request (recorded by the services); `""` when the pair has none.
/// Never cached along the way.
#[utoipa::path(get, path = "/crypto/certificatekeypairs/{kp_uuid}/view_private_key/", tag = "crypto",
    operation_id = "crypto_certificatekeypairs_view_private_key_retrieve",
    params(("kp_uuid" = Uuid, Path), ("download" = Option<bool>, Query, description = "Answer the PEM as the file private_key.pem.")),
    responses((status = 200, body = CertificateData)))]
pub async fn view_private_key(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    download: Download,
) -> Result<Response, ApiError> {
    let key = state
        .services
        .view_private_key(&caller, kp_uuid(&pk)?)
        .await?;
    let mut response = pem(key.unwrap_or_default(), download, PRIVATE_KEY_FILE);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(post, path = "/crypto/certificatekeypairs/generate/", tag = "crypto", operation_id = "crypto_certificatekeypairs_generate_create",
    request_body = CertificateGenerationRequest, responses((status = 200, body = CertificateKeyPairJson)))]
pub async fn generate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<CertificateGenerationRequest>,
) -> Result<Json<CertificateKeyPairJson>, ApiError> {
    let request = GenerateCertificate::try_from(body)?;
    let pair = state
        .services
        .generate_certificate(&caller, request)
        .await?;
    Ok(Json(pair.into()))
}

/// What refers to the keypair: nothing is reported yet (authentik lists what a deletion would
/// cascade to). The keypair itself must be one the caller may see.
#[utoipa::path(get, path = "/crypto/certificatekeypairs/{kp_uuid}/used_by/", tag = "crypto", operation_id = "crypto_certificatekeypairs_used_by_list",
    params(("kp_uuid" = Uuid, Path)), responses((status = 200, description = "List of UsedBy")))]
pub async fn used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    state
        .services
        .get_certificate(&caller, kp_uuid(&pk)?)
        .await?;
    Ok(Json(Vec::new()))
}
