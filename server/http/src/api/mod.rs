//! REST API under `/api/v3`, in authentik's shapes: paths, the pagination envelope, filters and
//! error bodies. Handlers translate JSON to service calls and back, nothing more.
pub(crate) mod applications;
pub(crate) mod blueprint_export;
pub(crate) mod blueprints;
pub(crate) mod brands;
pub(crate) mod core_objects;
pub(crate) mod crypto;
pub(crate) mod events;
pub(crate) mod extract;
pub(crate) mod outposts;
pub(crate) mod plugins;
pub(crate) mod providers;
pub(crate) mod rbac;
pub(crate) mod root;
pub(crate) mod schema;
pub(crate) mod service_connections;

use axum::Router;
use axum::routing::{get, post};

pub use extract::{ApiCaller, JsonBody, ListParams};
pub use schema::Paginated;

use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/root/config/", get(root::config))
        .route("/schema/", get(crate::openapi::serve))
        .route(
            "/core/users/",
            get(core_objects::users::list).post(core_objects::users::create),
        )
        .route("/core/users/me/", get(core_objects::users::me))
        .route(
            "/core/users/{id}/",
            get(core_objects::users::retrieve)
                .put(core_objects::users::update)
                .patch(core_objects::users::partial_update)
                .delete(core_objects::users::destroy),
        )
        .route(
            "/core/users/{id}/set_password/",
            post(core_objects::users::set_password),
        )
        .route(
            "/core/groups/",
            get(core_objects::groups::list).post(core_objects::groups::create),
        )
        .route(
            "/core/groups/{group_uuid}/",
            get(core_objects::groups::retrieve)
                .put(core_objects::groups::update)
                .patch(core_objects::groups::partial_update)
                .delete(core_objects::groups::destroy),
        )
        .route(
            "/core/groups/{group_uuid}/add_user/",
            post(core_objects::groups::add_user),
        )
        .route(
            "/core/groups/{group_uuid}/remove_user/",
            post(core_objects::groups::remove_user),
        )
        .route(
            "/core/tokens/",
            get(core_objects::tokens::list).post(core_objects::tokens::create),
        )
        .route(
            "/core/tokens/{identifier}/",
            get(core_objects::tokens::retrieve)
                .put(core_objects::tokens::update)
                .patch(core_objects::tokens::partial_update)
                .delete(core_objects::tokens::destroy),
        )
        .route(
            "/core/tokens/{identifier}/view_key/",
            get(core_objects::tokens::view_key),
        )
        .route(
            "/core/tokens/{identifier}/set_key/",
            post(core_objects::tokens::set_key),
        )
        .route("/rbac/roles/", get(rbac::list).post(rbac::create))
        .route(
            "/rbac/roles/{uuid}/",
            get(rbac::retrieve)
                .put(rbac::update)
                .patch(rbac::partial_update)
                .delete(rbac::destroy),
        )
        .route("/rbac/permissions/", get(rbac::permissions))
        .route(
            "/rbac/permissions/assigned_by_roles/{uuid}/assign/",
            post(rbac::assign),
        )
        .route(
            "/rbac/permissions/assigned_by_roles/{uuid}/unassign/",
            axum::routing::patch(rbac::unassign),
        )
        .route("/events/events/", get(events::list).post(events::create))
        .route("/events/events/actions/", get(events::actions))
        .route("/events/events/{event_uuid}/", get(events::retrieve))
        .route("/plugins/", get(plugins::list).post(plugins::create))
        .route("/plugins/inspect/", post(plugins::inspect))
        .route(
            "/plugins/{name}/",
            get(plugins::retrieve)
                .patch(plugins::partial_update)
                .delete(plugins::destroy),
        )
        .route("/plugins/{name}/grant/", post(plugins::grant))
        .route("/plugins/{name}/enable/", post(plugins::enable))
        .route("/plugins/{name}/disable/", post(plugins::disable))
        .merge(providers::routes())
        .merge(applications::routes())
        .merge(outposts::routes())
        .merge(service_connections::routes())
        .merge(crypto::routes())
        .merge(brands::routes())
        .merge(blueprints::routes())
        .merge(blueprint_export::routes())
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound })
}
