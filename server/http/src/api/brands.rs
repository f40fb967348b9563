//! `/api/v3/core/brands/`: brands in authentik's shapes. A brand keeps its texts and its flow
//! and application references in `settings`; here they are flattened beside its columns, as
//! authentik's client reads and writes them, and a request's go back into `settings` only when
//! present, so a PATCH changes just those. `current/` answers the styling of the brand that
//! serves the request's host.
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::routing::get;
use axum::{Json, Router};
use garrison_model::listing_limits::MAX_PAGE_SIZE;
use garrison_model::{Brand, BrandChanges, FieldErrors, ListQuery, PageRequest};
use garrison_services::outposts::BrandFilter;
use garrison_services::{Caller, ServiceResult, Services};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::schema::{Paginated, double_option};
use crate::api::{ApiCaller, JsonBody, ListParams};
use crate::{ApiError, AppState};

/// The routes of this module, relative to `/api/v3`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/core/brands/", get(list).post(create))
        .route("/core/brands/current/", get(current))
        .route(
            "/core/brands/{brand_uuid}/",
            get(retrieve)
                .put(update)
                .patch(partial_update)
                .delete(destroy),
        )
        .route("/core/brands/{brand_uuid}/used_by/", get(used_by))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        create,
        current,
        retrieve,
        update,
        partial_update,
        destroy,
        used_by
    ),
    components(schemas(
        BrandJson,
        BrandRequest,
        CurrentBrand,
        CurrentBrandFlags,
        ThemedUrls,
        UiTheme
    ))
)]
struct BrandsApi;

/// The OpenAPI description of this module's routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    BrandsApi::openapi()
}

/// Declares, once, the brand fields kept in `settings` (the services' `TEXT_FIELDS`, with
/// authentik's defaults, and `REFERENCE_FIELDS`), and generates from that list the response
/// shape, the request shape and the conversions between them and the model, so a field's JSON
/// name and its settings key cannot drift apart.
macro_rules! brand_shapes {
    (
        texts { $($text:ident = $default:literal),* $(,)? }
        references { $($reference:ident),* $(,)? }
    ) => {
        /// authentik's `Brand`: the columns, with the settings flattened beside them.
        #[derive(Debug, Serialize, ToSchema)]
        #[schema(as = Brand)]
        pub struct BrandJson {
            pub brand_uuid: Uuid,
            pub domain: String,
            pub default: bool,
            $(pub $text: String,)*
            $(pub $reference: Option<Uuid>,)*
            pub web_certificate: Option<Uuid>,
            pub client_certificates: Vec<Uuid>,
            #[schema(value_type = Object)]
            pub attributes: Map<String, Value>,
        }

        impl From<Brand> for BrandJson {
            /// A text missing from `settings` reads as authentik's default.
            fn from(brand: Brand) -> Self {
                Self {
                    $($text: text_setting(&brand.settings, stringify!($text))
                        .unwrap_or($default)
                        .to_owned(),)*
                    $($reference: reference_setting(&brand.settings, stringify!($reference)),)*
                    brand_uuid: brand.pk,
                    domain: brand.domain,
                    default: brand.default,
                    web_certificate: brand.web_certificate,
                    client_certificates: brand.client_certificates,
                    attributes: brand.attributes,
                }
            }
        }

        /// authentik's `BrandRequest` and `PatchedBrandRequest`: every field may be left out
        /// (the services require `domain` when creating and replacing). A text or reference
        /// given, even as `null`, goes into `settings` for the services to check; `null`
        /// clears a reference and is refused for a text, as authentik does.
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct BrandRequest {
            pub domain: Option<String>,
            pub default: Option<bool>,
            $(
                #[serde(default, deserialize_with = "double_option")]
                pub $text: Option<Option<String>>,
            )*
            $(
                #[serde(default, deserialize_with = "double_option")]
                pub $reference: Option<Option<Uuid>>,
            )*
            #[serde(default, deserialize_with = "double_option")]
            pub web_certificate: Option<Option<Uuid>>,
            pub client_certificates: Option<Vec<Uuid>>,
            #[schema(value_type = Option<Object>)]
            pub attributes: Option<Map<String, Value>>,
        }

        impl From<BrandRequest> for BrandChanges {
            fn from(request: BrandRequest) -> Self {
                let mut settings = Map::new();
                $(put_setting(&mut settings, stringify!($text), request.$text);)*
                $(put_setting(
                    &mut settings,
                    stringify!($reference),
                    request.$reference.map(|reference| reference.map(|uuid| uuid.to_string())),
                );)*
                Self {
                    domain: request.domain,
                    default: request.default,
                    settings,
                    web_certificate: request.web_certificate,
                    client_certificates: request.client_certificates,
                    attributes: request.attributes,
                }
            }
        }
    };
}

brand_shapes! {
    texts {
        branding_title = "authentik",
        branding_logo = "/static/dist/assets/icons/icon_left_brand.svg",
        branding_favicon = "/static/dist/assets/icons/icon.png",
        branding_custom_css = "",
        branding_default_flow_background = "/static/dist/assets/images/flow_background.jpg",
        branding_map_tiles = "",
    }
    references {
        flow_authentication,
        flow_user_switch,
        flow_invalidation,
        flow_recovery,
        flow_unenrollment,
        flow_user_settings,
        flow_device_code,
        flow_lockdown,
        flow_request,
        default_application,
    }
}

/// A text from a brand's settings, if it is there and is text.
fn text_setting<'a>(settings: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    settings.get(key).and_then(Value::as_str)
}

/// A reference from a brand's settings; absent, `null` or not a UUID reads as none.
fn reference_setting(settings: &Map<String, Value>, key: &str) -> Option<Uuid> {
    text_setting(settings, key).and_then(|text| Uuid::parse_str(text).ok())
}

/// Puts a field the request gave (`Some`, its value possibly `null`) into `settings`.
fn put_setting(settings: &mut Map<String, Value>, key: &str, value: Option<Option<String>>) {
    if let Some(value) = value {
        settings.insert(key.to_owned(), Value::from(value));
    }
}

/// The text at `path` inside a JSON object (`attributes.settings.theme.base`).
fn nested_text<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(object.get(*first)?, |value, key| value.get(*key))?
        .as_str()
}

/// Where a themed URL names the theme.
const THEME_PLACEHOLDER: &str = "%(theme)s";

/// authentik's `ThemedUrls`: a URL with the theme placeholder, for each theme.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThemedUrls {
    pub light: Option<String>,
    pub dark: Option<String>,
}

impl ThemedUrls {
    /// The themed variants of `url`; none when it has no placeholder.
    fn of(url: &str) -> Option<Self> {
        url.contains(THEME_PLACEHOLDER).then(|| Self {
            light: Some(url.replace(THEME_PLACEHOLDER, "light")),
            dark: Some(url.replace(THEME_PLACEHOLDER, "dark")),
        })
    }
}

/// authentik's `UiThemeEnum`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = UiThemeEnum)]
pub enum UiTheme {
    Automatic,
    Light,
    Dark,
}

impl UiTheme {
    /// The brand's `attributes.settings.theme.base`, automatic when unset or unknown.
    fn of(attributes: &Map<String, Value>) -> Self {
        match nested_text(attributes, &["settings", "theme", "base"]) {
            Some("light") => Self::Light,
            Some("dark") => Self::Dark,
            _ => Self::Automatic,
        }
    }
}

/// authentik's `CurrentBrandFlags`: Garrison runs no flows, so both are off.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentBrandFlags {
    pub flows_continuous_login: bool,
    pub flows_refresh_others: bool,
}

/// authentik's `CurrentBrand`: what a page needs to style itself for the brand serving its host.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentBrand {
    /// Garrison's addition: the brand that matched; the nil UUID for authentik's fallback.
    pub brand_uuid: Uuid,
    pub matched_domain: String,
    pub branding_title: String,
    pub branding_logo: String,
    pub branding_logo_themed_urls: Option<ThemedUrls>,
    pub branding_favicon: String,
    pub branding_favicon_themed_urls: Option<ThemedUrls>,
    pub branding_custom_css: String,
    pub branding_map_tiles: String,
    /// Garrison configures no footer links.
    #[schema(value_type = Vec<Object>)]
    pub ui_footer_links: Vec<Value>,
    pub ui_theme: UiTheme,
    /// Flows live outside Garrison: these are the brand's references where authentik gives
    /// the flows' slugs.
    pub flow_authentication: Option<String>,
    pub flow_user_switch: Option<String>,
    pub flow_invalidation: Option<String>,
    pub flow_recovery: Option<String>,
    pub flow_unenrollment: Option<String>,
    pub flow_user_settings: Option<String>,
    pub flow_device_code: Option<String>,
    pub flow_lockdown: Option<String>,
    pub flow_request: Option<String>,
    pub default_locale: String,
    pub flags: CurrentBrandFlags,
}

impl From<BrandJson> for CurrentBrand {
    fn from(brand: BrandJson) -> Self {
        let flow = |reference: Option<Uuid>| reference.map(|uuid| uuid.to_string());
        Self {
            brand_uuid: brand.brand_uuid,
            branding_logo_themed_urls: ThemedUrls::of(&brand.branding_logo),
            branding_favicon_themed_urls: ThemedUrls::of(&brand.branding_favicon),
            ui_theme: UiTheme::of(&brand.attributes),
            default_locale: nested_text(&brand.attributes, &["settings", "locale"])
                .unwrap_or_default()
                .to_owned(),
            matched_domain: brand.domain,
            branding_title: brand.branding_title,
            branding_logo: brand.branding_logo,
            branding_favicon: brand.branding_favicon,
            branding_custom_css: brand.branding_custom_css,
            branding_map_tiles: brand.branding_map_tiles,
            ui_footer_links: Vec::new(),
            flow_authentication: flow(brand.flow_authentication),
            flow_user_switch: flow(brand.flow_user_switch),
            flow_invalidation: flow(brand.flow_invalidation),
            flow_recovery: flow(brand.flow_recovery),
            flow_unenrollment: flow(brand.flow_unenrollment),
            flow_user_settings: flow(brand.flow_user_settings),
            flow_device_code: flow(brand.flow_device_code),
            flow_lockdown: flow(brand.flow_lockdown),
            flow_request: flow(brand.flow_request),
            flags: CurrentBrandFlags {
                flows_continuous_login: false,
                flows_refresh_others: false,
            },
        }
    }
}

/// authentik's fallback brand, served when no brand matches and none is the default: domain
/// `fallback`, every setting at its default, and (Garrison's) the nil UUID.
fn fallback_brand() -> Brand {
    Brand {
        pk: Uuid::nil(),
        domain: "fallback".to_owned(),
        default: false,
        settings: Map::new(),
        web_certificate: None,
        client_certificates: Vec::new(),
        attributes: Map::new(),
    }
}

/// The host name the request was sent to, lower-cased and without its port: the `Host` header,
/// or the URI's authority (where HTTP/2 carries it).
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = match headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        Some(value) => without_port(value.trim()),
        None => uri.host()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// `example.com:9000` is `example.com`; an IPv6 literal keeps its brackets (`[::1]:9000` is
/// `[::1]`).
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.split_once(':').map_or(host, |(name, _)| name)
}

/// authentik's rule: a brand serves every host name that ends with its domain, ignoring case
/// (its documentation: `a.b` serves `aa.b` and `ba.b`).
fn serves(domain: &str, host: &str) -> bool {
    let domain = domain.trim().to_ascii_lowercase();
    !domain.is_empty() && host.ends_with(&domain)
}

/// The brand for `host`: among those serving it, the one with the longest (most specific)
/// domain; else the default brand.
fn choose(brands: impl IntoIterator<Item = Brand>, host: Option<&str>) -> Option<Brand> {
    let mut matched: Option<Brand> = None;
    let mut default: Option<Brand> = None;
    for brand in brands {
        let serving = host.is_some_and(|host| serves(&brand.domain, host));
        if serving
            && matched
                .as_ref()
                .is_none_or(|m| brand.domain.len() > m.domain.len())
        {
            matched = Some(brand);
        } else if brand.default {
            default = Some(brand);
        }
    }
    matched.or(default)
}

/// The brand serving `host`, if any. A brand's styling is public in authentik (every login page
/// shows it), so the brands are read as the server itself rather than as the caller; only
/// `CurrentBrand`'s fields leave, which carry no certificates and, of the attributes, only the
/// theme and the locale.
async fn brand_for_host(services: &Services, host: Option<&str>) -> ServiceResult<Option<Brand>> {
    let server = Caller::system();
    let mut brands = Vec::new();
    let mut page = 1;
    loop {
        let query = ListQuery {
            page: PageRequest {
                page,
                page_size: MAX_PAGE_SIZE,
            },
            ..Default::default()
        };
        let found = services
            .list_brands(&server, &query, BrandFilter::default())
            .await?;
        let last = page >= found.total_pages();
        brands.extend(found.items);
        if last {
            break;
        }
        page += 1;
    }
    Ok(choose(brands, host))
}

/// A brand's UUID from the path; anything else names no brand.
fn brand_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

/// An optional UUID query filter; an unparsable one is refused naming it.
fn uuid_filter(params: &ListParams, name: &str) -> Result<Option<Uuid>, ApiError> {
    params
        .text(name)
        .map(|raw| {
            Uuid::parse_str(&raw).map_err(|_| {
                ApiError::BadRequest(FieldErrors::single(name, "Must be a valid UUID."))
            })
        })
        .transpose()
}

/// authentik's other filters (`branding_title`, the flows, `client_certificates`, …) are
/// accepted and not applied.
#[utoipa::path(get, path = "/core/brands/", tag = "core", operation_id = "core_brands_list",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query), ("search" = Option<String>, Query),
           ("ordering" = Option<String>, Query), ("domain" = Option<String>, Query), ("default" = Option<bool>, Query),
           ("web_certificate" = Option<Uuid>, Query)),
    responses((status = 200, description = "PaginatedBrandList")))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    params: ListParams,
) -> Result<Json<Paginated<BrandJson>>, ApiError> {
    let filter = BrandFilter {
        domain: params.text("domain"),
        default: params.flag("default")?,
        web_certificate: uuid_filter(&params, "web_certificate")?,
    };
    let page = state
        .services
        .list_brands(&caller, &params.query, filter)
        .await?;
    Ok(Json(Paginated::new(page, BrandJson::from)))
}

#[utoipa::path(post, path = "/core/brands/", tag = "core", operation_id = "core_brands_create",
    request_body = BrandRequest, responses((status = 201, body = BrandJson)))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(body): JsonBody<BrandRequest>,
) -> Result<(StatusCode, Json<BrandJson>), ApiError> {
    let brand = state.services.create_brand(&caller, body.into()).await?;
    Ok((StatusCode::CREATED, Json(brand.into())))
}

/// The brand serving the request's host (authentik's rule), else the default brand, else
/// authentik's defaults. Any authenticated caller may ask; a failed lookup is logged and
/// answered with the defaults rather than an error, since pages depend on it.
#[utoipa::path(get, path = "/core/brands/current/", tag = "core", operation_id = "core_brands_current_retrieve",
    responses((status = 200, body = CurrentBrand)))]
pub async fn current(
    State(state): State<AppState>,
    _authenticated: ApiCaller,
    headers: HeaderMap,
    uri: Uri,
) -> Json<CurrentBrand> {
    let host = request_host(&headers, &uri);
    let brand = brand_for_host(&state.services, host.as_deref())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "looking up the current brand failed; answering the defaults");
            None
        })
        .unwrap_or_else(fallback_brand);
    Json(BrandJson::from(brand).into())
}

#[utoipa::path(get, path = "/core/brands/{brand_uuid}/", tag = "core", operation_id = "core_brands_retrieve",
    params(("brand_uuid" = Uuid, Path)), responses((status = 200, body = BrandJson)))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<BrandJson>, ApiError> {
    let brand = state.services.get_brand(&caller, brand_uuid(&pk)?).await?;
    Ok(Json(brand.into()))
}

#[utoipa::path(put, path = "/core/brands/{brand_uuid}/", tag = "core", operation_id = "core_brands_update",
    params(("brand_uuid" = Uuid, Path)), request_body = BrandRequest, responses((status = 200, body = BrandJson)))]
pub async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<BrandRequest>,
) -> Result<Json<BrandJson>, ApiError> {
    let brand = state
        .services
        .update_brand(&caller, brand_uuid(&pk)?, body.into(), false)
        .await?;
    Ok(Json(brand.into()))
}

#[utoipa::path(patch, path = "/core/brands/{brand_uuid}/", tag = "core", operation_id = "core_brands_partial_update",
    params(("brand_uuid" = Uuid, Path)), request_body = BrandRequest, responses((status = 200, body = BrandJson)))]
pub async fn partial_update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
    JsonBody(body): JsonBody<BrandRequest>,
) -> Result<Json<BrandJson>, ApiError> {
    let brand = state
        .services
        .update_brand(&caller, brand_uuid(&pk)?, body.into(), true)
        .await?;
    Ok(Json(brand.into()))
}

#[utoipa::path(delete, path = "/core/brands/{brand_uuid}/", tag = "core", operation_id = "core_brands_destroy",
    params(("brand_uuid" = Uuid, Path)), responses((status = 204)))]
pub async fn destroy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .delete_brand(&caller, brand_uuid(&pk)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What refers to the brand: nothing is reported yet (authentik lists what a deletion would
/// cascade to). The brand itself must be one the caller may see.
#[utoipa::path(get, path = "/core/brands/{brand_uuid}/used_by/", tag = "core", operation_id = "core_brands_used_by_list",
    params(("brand_uuid" = Uuid, Path)), responses((status = 200, description = "List of UsedBy")))]
pub async fn used_by(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(pk): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    state.services.get_brand(&caller, brand_uuid(&pk)?).await?;
    Ok(Json(Vec::new()))
}
