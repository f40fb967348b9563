//! The OpenAPI 3 document, generated from the handlers' annotations.
use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api::schema;

#[derive(OpenApi)]
#[openapi(
    info(title = "Garrison", description = "Control plane for identity-provider outposts and blueprints; authentik-compatible /api/v3."),
    servers((url = "/api/v3")),
    paths(
        crate::api::root::config,
        crate::api::core_objects::users::list, crate::api::core_objects::users::create, crate::api::core_objects::users::retrieve,
        crate::api::core_objects::users::update, crate::api::core_objects::users::partial_update, crate::api::core_objects::users::destroy,
        crate::api::core_objects::users::set_password, crate::api::core_objects::users::me,
        crate::api::core_objects::groups::list, crate::api::core_objects::groups::create, crate::api::core_objects::groups::retrieve,
        crate::api::core_objects::groups::update, crate::api::core_objects::groups::partial_update, crate::api::core_objects::groups::destroy,
        crate::api::core_objects::groups::add_user, crate::api::core_objects::groups::remove_user,
        crate::api::core_objects::tokens::list, crate::api::core_objects::tokens::create, crate::api::core_objects::tokens::retrieve,
        crate::api::core_objects::tokens::update, crate::api::core_objects::tokens::partial_update, crate::api::core_objects::tokens::destroy,
        crate::api::core_objects::tokens::view_key, crate::api::core_objects::tokens::set_key,
        crate::api::rbac::list, crate::api::rbac::create, crate::api::rbac::retrieve, crate::api::rbac::update,
        crate::api::rbac::partial_update, crate::api::rbac::destroy, crate::api::rbac::permissions,
        crate::api::rbac::assign, crate::api::rbac::unassign,
        crate::api::events::list, crate::api::events::create, crate::api::events::retrieve, crate::api::events::actions,
        crate::api::plugins::list, crate::api::plugins::retrieve, crate::api::plugins::inspect,
        crate::api::plugins::create, crate::api::plugins::grant, crate::api::plugins::partial_update,
        crate::api::plugins::enable, crate::api::plugins::disable, crate::api::plugins::destroy,
    ),
    components(schemas(
        schema::Pagination, schema::UserJson, schema::UserRequest, schema::SessionUser, schema::UserSelf,
        schema::UserSelfGroup, schema::GroupJson, schema::GroupRequest, schema::RoleJson, schema::RoleRequest,
        schema::TokenJson, schema::TokenRequest, schema::TokenView, schema::TokenSetKeyRequest,
        schema::UserPasswordSetRequest, schema::UserAccountRequest, schema::PermissionAssignRequest,
        schema::EventJson, schema::PermissionJson,
        crate::api::plugins::OciInstallRequest, crate::api::plugins::GrantRequest, crate::api::plugins::LimitsRequest,
    )),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "authentik",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole document: the core paths above and each outpost-related (and the blueprint
/// instances') module's own part.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        crate::api::providers::openapi(),
        crate::api::applications::openapi(),
        crate::api::outposts::openapi(),
        crate::api::service_connections::openapi(),
        crate::api::crypto::openapi(),
        crate::api::brands::openapi(),
        crate::api::blueprints::openapi(),
        crate::api::blueprint_export::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
