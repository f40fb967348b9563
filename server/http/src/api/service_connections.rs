//! `/api/v3/outposts/service_connections/`: where outposts are deployed, in authentik's shapes.
//!
//! * `all/` is authentik's `ServiceConnectionViewSet`: both kinds in the generic shape, with
//!   retrieve, destroy, `state/`, `types/` and `used_by/`, but no create or update.
//! * `docker/` and `kubernetes/` are full CRUD in each kind's own shape.
//!
//! A kubeconfig is a credential: the services keep it sealed and never hand it back, so a
//! Kubernetes connection always answers `kubeconfig: {}` (the request field is write-only).
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use garrison_model::{
    FieldErrors, ServiceConnection, ServiceConnectionChanges, ServiceConnectionKind,
    ServiceConnectionState,
};
use garrison_services::Caller;
use garrison_services::outposts::ConnectionFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::extract::{ApiCaller, JsonBody, ListParams};
use crate::api::providers::{TypeCreate, UsedBy};
use crate::api::schema::{Paginated, double_option};
use crate::{ApiError, AppState};

const DOCKER: ServiceConnectionKind = ServiceConnectionKind::Docker;
const KUBERNETES: ServiceConnectionKind = ServiceConnectionKind::Kubernetes;

/// Routes relative to `/api/v3`. Fixed segments (`all/types/`) win over `{uuid}` by
/// specificity.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outposts/service_connections/all/", get(all_list))
        .route("/outposts/service_connections/all/types/", get(all_types))
        .route(
            "/outposts/service_connections/all/{uuid}/",
            get(all_retrieve).delete(all_destroy),
        )
        .route(
            "/outposts/service_connections/all/{uuid}/state/",
            get(all_state),
        )
        .route(
            "/outposts/service_connections/all/{uuid}/used_by/",
            get(all_used_by),
        )
        .route(
            "/outposts/service_connections/docker/",
            get(docker_list).post(docker_create),
        )
        .route(
            "/outposts/service_connections/docker/{uuid}/",
            get(docker_retrieve)
                .put(docker_update)
                .patch(docker_partial_update)
                .delete(docker_destroy),
        )
        .route(
            "/outposts/service_connections/docker/{uuid}/used_by/",
            get(docker_used_by),
        )
        .route(
            "/outposts/service_connections/kubernetes/",
            get(kubernetes_list).post(kubernetes_create),
        )
        .route(
            "/outposts/service_connections/kubernetes/{uuid}/",
            get(kubernetes_retrieve)
                .put(kubernetes_update)
                .patch(kubernetes_partial_update)
                .delete(kubernetes_destroy),
        )
        .route(
            "/outposts/service_connections/kubernetes/{uuid}/used_by/",
            get(kubernetes_used_by),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        all_list,
        all_retrieve,
        all_destroy,
        all_state,
        all_types,
        all_used_by,
        docker_list,
        docker_create,
        docker_retrieve,
        docker_update,
        docker_partial_update,
        docker_destroy,
        docker_used_by,
        kubernetes_list,
        kubernetes_create,
        kubernetes_retrieve,
        kubernetes_update,
        kubernetes_partial_update,
        kubernetes_destroy,
        kubernetes_used_by,
    ),
    components(schemas(
        ServiceConnectionJson,
        ServiceConnectionStateJson,
        TypeCreate,
        UsedBy,
        DockerConnectionJson,
        DockerConnectionRequest,
        KubernetesConnectionJson,
        KubernetesConnectionRequest,
    ))
)]
struct ServiceConnectionsDoc;

/// The OpenAPI paths and schemas of this module, merged into the served document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ServiceConnectionsDoc::openapi()
}

// ---------------------------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------------------------

/// authentik's generic `ServiceConnection`: what every kind shares, with the concrete kind's
/// form tag and model names.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ServiceConnection)]
pub struct ServiceConnectionJson {
    pub pk: Uuid,
    pub name: String,
    pub local: bool,
    pub component: String,
    pub verbose_name: String,
    pub verbose_name_plural: String,
    /// `app_label.model` of the concrete kind (`authentik_outposts.dockerserviceconnection`).
    pub meta_model_name: String,
}

impl From<&ServiceConnection> for ServiceConnectionJson {
    fn from(connection: &ServiceConnection) -> Self {
        let model = connection.kind.model();
        Self {
            pk: connection.pk,
            name: connection.name.clone(),
            local: connection.local,
            component: connection.kind.component().to_owned(),
            verbose_name: model.verbose_name.to_owned(),
            verbose_name_plural: format!("{}s", model.verbose_name),
            meta_model_name: model.qualified(),
        }
    }
}

impl From<ServiceConnection> for ServiceConnectionJson {
    fn from(connection: ServiceConnection) -> Self {
        Self::from(&connection)
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DockerServiceConnection)]
pub struct DockerConnectionJson {
    #[serde(flatten)]
    pub base: ServiceConnectionJson,
    pub url: String,
    /// The keypair whose certificate verifies the engine; none: no verification.
    pub tls_verification: Option<Uuid>,
    /// The client certificate and key (for `ssh://`, the SSH key).
    pub tls_authentication: Option<Uuid>,
}

impl From<ServiceConnection> for DockerConnectionJson {
    fn from(connection: ServiceConnection) -> Self {
        Self {
            base: ServiceConnectionJson::from(&connection),
            url: connection.url,
            tls_verification: connection.tls_verification,
            tls_authentication: connection.tls_authentication,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = KubernetesServiceConnection)]
pub struct KubernetesConnectionJson {
    #[serde(flatten)]
    pub base: ServiceConnectionJson,
    /// Always `{}`: the kubeconfig is sealed when written and never returned (it holds
    /// credentials). Send a new one to replace it; omit it to keep the stored one.
    #[schema(value_type = Object)]
    pub kubeconfig: Map<String, Value>,
    pub verify_ssl: bool,
}

impl From<ServiceConnection> for KubernetesConnectionJson {
    fn from(connection: ServiceConnection) -> Self {
        Self {
            base: ServiceConnectionJson::from(&connection),
            kubeconfig: Map::new(),
            verify_ssl: connection.verify_ssl,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ServiceConnectionState)]
pub struct ServiceConnectionStateJson {
    pub healthy: bool,
    pub version: String,
}

impl From<ServiceConnectionState> for ServiceConnectionStateJson {
    fn from(state: ServiceConnectionState) -> Self {
        Self {
            healthy: state.healthy,
            version: state.version,
        }
    }
}

/// A kind of connection a client may create, as `all/types/` lists it.
fn connection_type(kind: ServiceConnectionKind) -> TypeCreate {
    let description = match kind {
        ServiceConnectionKind::Docker => "Service Connection to a Docker engine.",
        ServiceConnectionKind::Kubernetes => "Service Connection to a Kubernetes cluster.",
    };
    let model = kind.model();
    TypeCreate {
        name: model.verbose_name.to_owned(),
        description: description.to_owned(),
        component: kind.component().to_owned(),
        model_name: model.model.to_owned(),
        icon_url: None,
        requires_enterprise: false,
        deprecated: false,
    }
}

/// `DockerServiceConnectionRequest` (and, every field optional, its `Patched…` form).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DockerServiceConnectionRequest)]
pub struct DockerConnectionRequest {
    pub name: Option<String>,
    pub local: Option<bool>,
    pub url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub tls_verification: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub tls_authentication: Option<Option<Uuid>>,
}

impl From<DockerConnectionRequest> for ServiceConnectionChanges {
    fn from(r: DockerConnectionRequest) -> Self {
        Self {
            name: r.name,
            local: r.local,
            url: r.url,
            tls_verification: r.tls_verification,
            tls_authentication: r.tls_authentication,
            kubeconfig: None,
            verify_ssl: None,
        }
    }
}

/// `KubernetesServiceConnectionRequest` (and its `Patched…` form). `kubeconfig` is write-only:
/// `{}` means the in-cluster configuration (only with `local`), absent keeps the stored one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = KubernetesServiceConnectionRequest)]
pub struct KubernetesConnectionRequest {
    pub name: Option<String>,
    pub local: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub kubeconfig: Option<Map<String, Value>>,
    pub verify_ssl: Option<bool>,
}

impl From<KubernetesConnectionRequest> for ServiceConnectionChanges {
    fn from(r: KubernetesConnectionRequest) -> Self {
        Self {
            name: r.name,
            local: r.local,
            url: None,
            tls_verification: None,
            tls_authentication: None,
            kubeconfig: r.kubeconfig,
            verify_ssl: r.verify_ssl,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared steps (each handler below is one of these with its kind and shape)
// ---------------------------------------------------------------------------------------------

fn connection_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

/// A foreign-key filter given as a UUID; anything else is a 400 naming the parameter.
fn uuid_param(params: &ListParams, name: &str) -> Result<Option<Uuid>, ApiError> {
    params
        .text(name)
        .map(|raw| {
            Uuid::parse_str(&raw).map_err(|_| {
                ApiError::BadRequest(FieldErrors::single(
                    name,
                    format!("“{raw}” is not a valid UUID."),
                ))
            })
        })
        .transpose()
}

async fn fetch(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    kind: Option<ServiceConnectionKind>,
) -> Result<ServiceConnection, ApiError> {
    Ok(state
        .services
        .get_service_connection(caller, connection_uuid(raw)?, kind)
        .await?)
}

async fn change(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    kind: ServiceConnectionKind,
    changes: ServiceConnectionChanges,
    partial: bool,
) -> Result<ServiceConnection, ApiError> {
    Ok(state
        .services
        .update_service_connection(caller, connection_uuid(raw)?, Some(kind), changes, partial)
        .await?)
}

async fn remove(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    kind: Option<ServiceConnectionKind>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_service_connection(caller, connection_uuid(raw)?, kind)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What would be affected by deleting the connection. Outposts using it fall back to "not
/// deployed by Garrison" (authentik's `set_null`); Garrison does not list them yet, so the
/// answer is empty once the connection is known to be visible.
async fn dependants(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    kind: Option<ServiceConnectionKind>,
) -> Result<Json<Vec<UsedBy>>, ApiError> {
    fetch(state, caller, raw, kind).await?;
    Ok(Json(Vec::new()))
}

// ---------------------------------------------------------------------------------------------
// all/
// ---------------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/outposts/service_connections/all/", tag = "outposts",
    operation_id = "outposts_service_connections_all_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query)),
    responses((status = 200, description = "PaginatedServiceConnectionList")))]
pub async fn all_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<ServiceConnectionJson>>, ApiError> {
    let filter = ConnectionFilter {
        name: params.text("name"),
        ..Default::default()
    };
    let page = state
        .services
        .list_service_connections(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, ServiceConnectionJson::from)))
}

#[utoipa::path(get, path = "/outposts/service_connections/all/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_all_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = ServiceConnectionJson)))]
pub async fn all_retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<ServiceConnectionJson>, ApiError> {
    let connection = fetch(&state, &caller, &pk, None).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(delete, path = "/outposts/service_connections/all/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_all_destroy",
    params(("uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn all_destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove(&state, &caller, &pk, None).await
}

/// The connection's health as the deployment backend last saw it; "unknown" (not healthy, no
/// version) until a backend has looked.
#[utoipa::path(get, path = "/outposts/service_connections/all/{uuid}/state/", tag = "outposts",
    operation_id = "outposts_service_connections_all_state_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = ServiceConnectionStateJson)))]
pub async fn all_state(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<ServiceConnectionStateJson>, ApiError> {
    let connection_state = state
        .services
        .service_connection_state(&caller, connection_uuid(&pk)?)
        .await?;
    Ok(Json(connection_state.into()))
}

#[utoipa::path(get, path = "/outposts/service_connections/all/types/", tag = "outposts",
    operation_id = "outposts_service_connections_all_types_list",
    responses((status = 200, body = Vec<TypeCreate>)))]
pub async fn all_types(_: ApiCaller) -> Json<Vec<TypeCreate>> {
    Json(
        [DOCKER, KUBERNETES]
            .into_iter()
            .map(connection_type)
            .collect(),
    )
}

#[utoipa::path(get, path = "/outposts/service_connections/all/{uuid}/used_by/", tag = "outposts",
    operation_id = "outposts_service_connections_all_used_by_list",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = Vec<UsedBy>)))]
pub async fn all_used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<UsedBy>>, ApiError> {
    dependants(&state, &caller, &pk, None).await
}

// ---------------------------------------------------------------------------------------------
// docker/
// ---------------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/outposts/service_connections/docker/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query), ("local" = Option<bool>, Query),
           ("url" = Option<String>, Query), ("tls_verification" = Option<Uuid>, Query),
           ("tls_authentication" = Option<Uuid>, Query)),
    responses((status = 200, description = "PaginatedDockerServiceConnectionList")))]
pub async fn docker_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<DockerConnectionJson>>, ApiError> {
    let filter = ConnectionFilter {
        kind: Some(DOCKER),
        name: params.text("name"),
        local: params.flag("local")?,
        url: params.text("url"),
        tls_verification: uuid_param(&params, "tls_verification")?,
        tls_authentication: uuid_param(&params, "tls_authentication")?,
    };
    let page = state
        .services
        .list_service_connections(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, DockerConnectionJson::from)))
}

#[utoipa::path(post, path = "/outposts/service_connections/docker/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_create",
    request_body = DockerConnectionRequest, responses((status = 201, body = DockerConnectionJson)))]
pub async fn docker_create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<DockerConnectionRequest>,
) -> Result<(StatusCode, Json<DockerConnectionJson>), ApiError> {
    let connection = state
        .services
        .create_service_connection(&caller, DOCKER, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(connection.into())))
}

#[utoipa::path(get, path = "/outposts/service_connections/docker/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = DockerConnectionJson)))]
pub async fn docker_retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<DockerConnectionJson>, ApiError> {
    let connection = fetch(&state, &caller, &pk, Some(DOCKER)).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(put, path = "/outposts/service_connections/docker/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_update",
    params(("uuid" = Uuid, Path)), request_body = DockerConnectionRequest,
    responses((status = 200, body = DockerConnectionJson)))]
pub async fn docker_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<DockerConnectionRequest>,
) -> Result<Json<DockerConnectionJson>, ApiError> {
    let connection = change(&state, &caller, &pk, DOCKER, body.into(), false).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(patch, path = "/outposts/service_connections/docker/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_partial_update",
    params(("uuid" = Uuid, Path)), request_body = DockerConnectionRequest,
    responses((status = 200, body = DockerConnectionJson)))]
pub async fn docker_partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<DockerConnectionRequest>,
) -> Result<Json<DockerConnectionJson>, ApiError> {
    let connection = change(&state, &caller, &pk, DOCKER, body.into(), true).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(delete, path = "/outposts/service_connections/docker/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_destroy",
    params(("uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn docker_destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove(&state, &caller, &pk, Some(DOCKER)).await
}

#[utoipa::path(get, path = "/outposts/service_connections/docker/{uuid}/used_by/", tag = "outposts",
    operation_id = "outposts_service_connections_docker_used_by_list",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = Vec<UsedBy>)))]
pub async fn docker_used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<UsedBy>>, ApiError> {
    dependants(&state, &caller, &pk, Some(DOCKER)).await
}

// ---------------------------------------------------------------------------------------------
// kubernetes/
// ---------------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/outposts/service_connections/kubernetes/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("name" = Option<String>, Query), ("local" = Option<bool>, Query)),
    responses((status = 200, description = "PaginatedKubernetesServiceConnectionList")))]
pub async fn kubernetes_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<KubernetesConnectionJson>>, ApiError> {
    let filter = ConnectionFilter {
        kind: Some(KUBERNETES),
        name: params.text("name"),
        local: params.flag("local")?,
        ..Default::default()
    };
    let page = state
        .services
        .list_service_connections(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, KubernetesConnectionJson::from)))
}

#[utoipa::path(post, path = "/outposts/service_connections/kubernetes/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_create",
    request_body = KubernetesConnectionRequest, responses((status = 201, body = KubernetesConnectionJson)))]
pub async fn kubernetes_create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<KubernetesConnectionRequest>,
) -> Result<(StatusCode, Json<KubernetesConnectionJson>), ApiError> {
    let connection = state
        .services
        .create_service_connection(&caller, KUBERNETES, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(connection.into())))
}

#[utoipa::path(get, path = "/outposts/service_connections/kubernetes/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_retrieve",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = KubernetesConnectionJson)))]
pub async fn kubernetes_retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<KubernetesConnectionJson>, ApiError> {
    let connection = fetch(&state, &caller, &pk, Some(KUBERNETES)).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(put, path = "/outposts/service_connections/kubernetes/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_update",
    params(("uuid" = Uuid, Path)), request_body = KubernetesConnectionRequest,
    responses((status = 200, body = KubernetesConnectionJson)))]
pub async fn kubernetes_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<KubernetesConnectionRequest>,
) -> Result<Json<KubernetesConnectionJson>, ApiError> {
    let connection = change(&state, &caller, &pk, KUBERNETES, body.into(), false).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(patch, path = "/outposts/service_connections/kubernetes/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_partial_update",
    params(("uuid" = Uuid, Path)), request_body = KubernetesConnectionRequest,
    responses((status = 200, body = KubernetesConnectionJson)))]
pub async fn kubernetes_partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<KubernetesConnectionRequest>,
) -> Result<Json<KubernetesConnectionJson>, ApiError> {
    let connection = change(&state, &caller, &pk, KUBERNETES, body.into(), true).await?;
    Ok(Json(connection.into()))
}

#[utoipa::path(delete, path = "/outposts/service_connections/kubernetes/{uuid}/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_destroy",
    params(("uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn kubernetes_destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove(&state, &caller, &pk, Some(KUBERNETES)).await
}

#[utoipa::path(get, path = "/outposts/service_connections/kubernetes/{uuid}/used_by/", tag = "outposts",
    operation_id = "outposts_service_connections_kubernetes_used_by_list",
    params(("uuid" = Uuid, Path)), responses((status = 200, body = Vec<UsedBy>)))]
pub async fn kubernetes_used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<UsedBy>>, ApiError> {
    dependants(&state, &caller, &pk, Some(KUBERNETES)).await
}
