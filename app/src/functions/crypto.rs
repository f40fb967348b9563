//! Server functions for certificate keypairs and brands (the "Keypairs" and "Brands" pages).
//! Each identifies the caller and makes one service call; a list or page that names what a
//! row refers to (a brand's web certificate, what uses a keypair) adds those reads, so the page
//! renders from one request.
//!
//! A keypair's private key never leaves the server through these functions except on the
//! operator's explicit, audited request (`show_private_key`), and, when that request was a
//! plain form post, once more to the page the browser is sent back to
//! (`take_shown_private_key`): results of these functions are embedded in pages for hydration.
use garrison_model::{Brand, CertificateKeyPair, Page};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::UiError;

#[cfg(feature = "ssr")]
use {
    super::{list_query, parse_checkbox, ssr},
    chrono::{DateTime, Utc},
    garrison_model::{BrandChanges, CertificateKeyPairChanges, FieldErrors, ListQuery},
    garrison_services::outposts::{BrandFilter, CertificateFilter, ConnectionFilter},
    serde_json::{Map, Value},
};

/// How close a certificate is to its expiry, as of when the server read it (so the page
/// renders the same on the server and once hydrated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    Valid,
    /// Less than [`EXPIRY_WARNING_DAYS`] left.
    Soon,
    Expired,
}

/// Below this many days left a certificate is flagged: time enough to replace it.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// One keypair as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub keypair: CertificateKeyPair,
    pub expiry: Expiry,
}

/// What refers to a keypair, among the objects the caller may see.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateUses {
    /// `(pk, name)`.
    pub providers: Vec<(i64, String)>,
    /// `(pk, name)`; for TLS verification or client authentication.
    pub connections: Vec<(Uuid, String)>,
    /// `(pk, domain)`; as their web certificate.
    pub brands: Vec<(Uuid, String)>,
}

impl CertificateUses {
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty() && self.connections.is_empty() && self.brands.is_empty()
    }
}

/// One keypair as its page shows it: never its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateInfo {
    pub keypair: CertificateKeyPair,
    pub expiry: Expiry,
    /// Whole days until expiry; negative once expired.
    pub days_left: i64,
    pub uses: CertificateUses,
}

/// A keypair a brand form can pick as web certificate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateChoice {
    pub pk: Uuid,
    pub name: String,
}

/// A brand with the name of its web certificate (`None` when it has none, or the name could
/// not be read: the page then shows the reference).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrandRow {
    pub brand: Brand,
    pub web_certificate_name: Option<String>,
}

impl BrandRow {
    /// The brand's title as users see it on its login pages.
    pub fn title(&self) -> String {
        self.brand
            .settings
            .get("branding_title")
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers (server only)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "ssr")]
impl Expiry {
    fn at(expires: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if expires <= now {
            Expiry::Expired
        } else if expires - now < chrono::TimeDelta::days(EXPIRY_WARNING_DAYS) {
            Expiry::Soon
        } else {
            Expiry::Valid
        }
    }
}

#[cfg(feature = "ssr")]
fn invalid(field: &str, message: impl Into<String>) -> UiError {
    UiError::Invalid(FieldErrors::single(field, message))
}

/// A path's UUID; anything else names no object.
#[cfg(feature = "ssr")]
fn uuid_of(text: &str, what: &str) -> Result<Uuid, UiError> {
    Uuid::parse_str(text.trim()).map_err(|_| UiError::Message(format!("No {what} {text}.")))
}

/// Every row a caller may see, for names and choices.
#[cfg(feature = "ssr")]
fn all_rows() -> ListQuery {
    ListQuery {
        page: garrison_model::PageRequest {
            page: 1,
            page_size: garrison_model::listing_limits::MAX_PAGE_SIZE,
        },
        search: None,
        ordering: None,
    }
}

/// The services' PEM and generation errors start with the API field they are about
/// ("key_data: the private key does not match the certificate"); next to that field's input
/// the prefix only repeats the field's internal name.
#[cfg(feature = "ssr")]
fn pki_error(error: garrison_services::ServiceError) -> UiError {
    match UiError::from(error) {
        UiError::Invalid(mut errors) => {
            for (field, messages) in errors.0.iter_mut() {
                let prefix = format!("{field}: ");
                for message in messages.iter_mut() {
                    if let Some(rest) = message.strip_prefix(&prefix) {
                        *message = capitalised(rest);
                    }
                }
            }
            UiError::Invalid(errors)
        }
        other => other,
    }
}

#[cfg(feature = "ssr")]
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Under which label a shown key waits for the page a plain form post is sent back to.
#[cfg(feature = "ssr")]
fn private_key_label(pk: Uuid) -> String {
    format!("certificate-key/{}", pk.simple())
}

/// What refers to keypair `pk`. Each read is a convenience: one the caller may not make
/// leaves its part empty rather than hide the page.
#[cfg(feature = "ssr")]
async fn certificate_uses(
    services: &garrison_services::Services,
    caller: &garrison_services::Caller,
    pk: Uuid,
) -> CertificateUses {
    // The provider filter has no certificate field: read them all and pick.
    let providers = services
        .list_providers(caller, &all_rows(), Default::default())
        .await
        .map(|page| {
            page.items
                .into_iter()
                .filter(|p| p.certificate == Some(pk))
                .map(|p| (p.pk, p.name))
                .collect()
        })
        .unwrap_or_default();
    let mut connections: Vec<(Uuid, String)> = Vec::new();
    for filter in [
        ConnectionFilter {
            tls_verification: Some(pk),
            ..Default::default()
        },
        ConnectionFilter {
            tls_authentication: Some(pk),
            ..Default::default()
        },
    ] {
        if let Ok(page) = services
            .list_service_connections(caller, &all_rows(), filter)
            .await
        {
            for connection in page.items {
                // One connection may use the pair both ways.
                if !connections.iter().any(|(uuid, _)| *uuid == connection.pk) {
                    connections.push((connection.pk, connection.name));
                }
            }
        }
    }
    let brands = services
        .list_brands(
            caller,
            &all_rows(),
            BrandFilter {
                web_certificate: Some(pk),
                ..Default::default()
            },
        )
        .await
        .map(|page| page.items.into_iter().map(|b| (b.pk, b.domain)).collect())
        .unwrap_or_default();
    CertificateUses {
        providers,
        connections,
        brands,
    }
}

// ---------------------------------------------------------------------------------------------
// Certificate keypairs
// ---------------------------------------------------------------------------------------------

#[server(prefix = "/ui-fn", endpoint = "list_certificates", input = GetUrl)]
pub async fn list_certificates(page: u64, search: String) -> Result<Page<CertificateRow>, UiError> {
    let (services, caller) = ssr::caller("/certificates")?;
    let now = Utc::now();
    Ok(services
        .list_certificates(&caller, &list_query(page, search), Default::default())
        .await?
        .map(|keypair| CertificateRow {
            expiry: Expiry::at(keypair.cert_expiry, now),
            keypair,
        }))
}

#[server(prefix = "/ui-fn", endpoint = "get_certificate", input = GetUrl)]
pub async fn get_certificate(pk: String) -> Result<CertificateInfo, UiError> {
    let (services, caller) = ssr::caller("/certificates")?;
    let pk = uuid_of(&pk, "certificate keypair")?;
    let keypair = services.get_certificate(&caller, pk).await?;
    let now = Utc::now();
    let uses = certificate_uses(&services, &caller, pk).await;
    Ok(CertificateInfo {
        expiry: Expiry::at(keypair.cert_expiry, now),
        days_left: (keypair.cert_expiry - now).num_days(),
        uses,
        keypair,
    })
}

/// The certificate's PEM (public, but behind a permission of its own).
#[server(prefix = "/ui-fn", endpoint = "certificate_pem", input = GetUrl)]
pub async fn certificate_pem(pk: String) -> Result<String, UiError> {
    let (services, caller) = ssr::caller("/certificates")?;
    Ok(services
        .view_certificate_data(&caller, uuid_of(&pk, "certificate keypair")?)
        .await?)
}

/// Keypairs with a private key, which a brand can serve as its web certificate.
#[server(prefix = "/ui-fn", endpoint = "certificate_choices", input = GetUrl)]
pub async fn certificate_choices() -> Result<Vec<CertificateChoice>, UiError> {
    let (services, caller) = ssr::caller("/brands")?;
    let filter = CertificateFilter {
        has_key: Some(true),
        ..Default::default()
    };
    Ok(services
        .list_certificates(&caller, &all_rows(), filter)
        .await?
        .items
        .into_iter()
        .map(|keypair| CertificateChoice {
            pk: keypair.pk,
            name: keypair.name,
        })
        .collect())
}

/// Generates a self-signed pair (named after its common name) and opens its page.
#[server(prefix = "/ui-fn", endpoint = "generate_certificate")]
pub async fn generate_certificate(
    csrf_token: String,
    common_name: String,
    subject_alt_name: String,
    validity_days: String,
    alg: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/certificates")?;
    let validity_days = validity_days.trim().parse::<i64>().map_err(|_| {
        invalid(
            "validity_days",
            format!("{validity_days:?} is not a whole number of days."),
        )
    })?;
    let request = garrison_services::outposts::GenerateCertificate {
        common_name: common_name.trim().to_owned(),
        subject_alt_name: Some(subject_alt_name).filter(|s| !s.trim().is_empty()),
        validity_days,
        alg: Some(alg.trim().to_owned()).filter(|a| !a.is_empty()),
    };
    let keypair = services
        .generate_certificate(&caller, request)
        .await
        .map_err(pki_error)?;
    leptos_axum::redirect(&format!("/certificates/{}", keypair.pk));
    Ok(())
}

/// Stores an uploaded certificate, with its private key when one is given, and opens its page.
#[server(prefix = "/ui-fn", endpoint = "upload_certificate")]
pub async fn upload_certificate(
    csrf_token: String,
    name: String,
    certificate_data: String,
    key_data: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/certificates")?;
    let changes = CertificateKeyPairChanges {
        name: Some(name),
        certificate_data: Some(certificate_data),
        key_data: key_data.filter(|key| !key.trim().is_empty()),
    };
    let keypair = services
        .create_certificate(&caller, changes)
        .await
        .map_err(pki_error)?;
    leptos_axum::redirect(&format!("/certificates/{}", keypair.pk));
    Ok(())
}

/// Renames the pair; its certificate and key stay as they are.
#[server(prefix = "/ui-fn", endpoint = "rename_certificate")]
pub async fn rename_certificate(
    csrf_token: String,
    pk: String,
    name: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/certificates")?;
    let changes = CertificateKeyPairChanges {
        name: Some(name),
        ..Default::default()
    };
    services
        .update_certificate(&caller, uuid_of(&pk, "certificate keypair")?, changes, true)
        .await?;
    Ok(())
}

/// Deletes the pair; whatever used it is left without one.
#[server(prefix = "/ui-fn", endpoint = "delete_certificate")]
pub async fn delete_certificate(csrf_token: String, pk: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/certificates")?;
    services
        .delete_certificate(&caller, uuid_of(&pk, "certificate keypair")?)
        .await?;
    leptos_axum::redirect("/certificates");
    Ok(())
}

/// The pair's private key PEM, on the operator's request (recorded in the event log); `None`
/// when the pair has none. A plain form post cannot receive it, so the key then waits, once,
/// for the page the browser is sent back to.
#[server(prefix = "/ui-fn", endpoint = "show_private_key")]
pub async fn show_private_key(csrf_token: String, pk: String) -> Result<Option<String>, UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/certificates")?;
    let pk = uuid_of(&pk, "certificate keypair")?;
    let key = services.view_private_key(&caller, pk).await?;
    // Only for a plain form post: a hydrated page has the key from this result, and a copy
    // left behind would show again, unrecorded, on the next visit.
    if let Some(key) = &key {
        if ssr::posted_without_javascript() {
            services
                .hand_over(&caller, &private_key_label(pk), key)
                .await?;
        }
    }
    Ok(key)
}

/// The key `show_private_key` just left for this session after a plain form post, once; it
/// was recorded as shown when it was asked for.
#[server(prefix = "/ui-fn", endpoint = "take_shown_private_key", input = GetUrl)]
pub async fn take_shown_private_key(pk: String) -> Result<Option<String>, UiError> {
    let (services, caller) = ssr::caller("/certificates")?;
    let Ok(pk) = uuid_of(&pk, "certificate keypair") else {
        return Ok(None);
    };
    Ok(services
        .take_handed_over(&caller, &private_key_label(pk))
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Brands
// ---------------------------------------------------------------------------------------------

/// The brand fields the forms offer. `partial` updates keep the brand's other settings.
#[cfg(feature = "ssr")]
fn brand_changes(
    domain: String,
    is_default: &Option<String>,
    branding_title: String,
    web_certificate: &str,
) -> Result<BrandChanges, UiError> {
    let mut errors = FieldErrors::new();
    let web_certificate = match web_certificate.trim() {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(uuid) => Some(uuid),
            Err(_) => {
                errors.add("web_certificate", format!("{text:?} is not a keypair."));
                None
            }
        },
    };
    let branding_title = branding_title.trim().to_owned();
    if branding_title.is_empty() {
        errors.add("branding_title", "This field may not be blank.");
    }
    errors.into_result().map_err(UiError::Invalid)?;
    let mut settings = Map::new();
    settings.insert("branding_title".into(), Value::String(branding_title));
    Ok(BrandChanges {
        domain: Some(domain.trim().to_owned()),
        default: Some(parse_checkbox(is_default)),
        settings,
        web_certificate: Some(web_certificate),
        ..Default::default()
    })
}

/// The brand with its web certificate's name, when the caller may read it.
#[cfg(feature = "ssr")]
fn brand_row(brand: Brand, names: &std::collections::BTreeMap<Uuid, String>) -> BrandRow {
    BrandRow {
        web_certificate_name: brand
            .web_certificate
            .and_then(|uuid| names.get(&uuid).cloned()),
        brand,
    }
}

#[server(prefix = "/ui-fn", endpoint = "list_brands", input = GetUrl)]
pub async fn list_brands(page: u64, search: String) -> Result<Page<BrandRow>, UiError> {
    let (services, caller) = ssr::caller("/brands")?;
    let brands = services
        .list_brands(&caller, &list_query(page, search), Default::default())
        .await?;
    // Names are a convenience: a caller who may see brands but not keypairs still gets the
    // list, with references by UUID.
    let names: std::collections::BTreeMap<Uuid, String> = services
        .list_certificates(&caller, &all_rows(), Default::default())
        .await
        .map(|page| page.items.into_iter().map(|c| (c.pk, c.name)).collect())
        .unwrap_or_default();
    Ok(brands.map(|brand| brand_row(brand, &names)))
}

#[server(prefix = "/ui-fn", endpoint = "get_brand", input = GetUrl)]
pub async fn get_brand(pk: String) -> Result<BrandRow, UiError> {
    let (services, caller) = ssr::caller("/brands")?;
    let brand = services.get_brand(&caller, uuid_of(&pk, "brand")?).await?;
    let web_certificate_name = match brand.web_certificate {
        Some(uuid) => services
            .get_certificate(&caller, uuid)
            .await
            .ok()
            .map(|keypair| keypair.name),
        None => None,
    };
    Ok(BrandRow {
        brand,
        web_certificate_name,
    })
}

#[server(prefix = "/ui-fn", endpoint = "create_brand")]
pub async fn create_brand(
    csrf_token: String,
    domain: String,
    is_default: Option<String>,
    branding_title: String,
    web_certificate: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/brands")?;
    let changes = brand_changes(domain, &is_default, branding_title, &web_certificate)?;
    let brand = services.create_brand(&caller, changes).await?;
    leptos_axum::redirect(&format!("/brands/{}", brand.pk));
    Ok(())
}

/// Saves what the brand form shows; its flows, logo and other settings stay as they are.
#[server(prefix = "/ui-fn", endpoint = "update_brand")]
pub async fn update_brand(
    csrf_token: String,
    pk: String,
    domain: String,
    is_default: Option<String>,
    branding_title: String,
    web_certificate: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/brands")?;
    let pk = uuid_of(&pk, "brand")?;
    let changes = brand_changes(domain, &is_default, branding_title, &web_certificate)?;
    services.update_brand(&caller, pk, changes, true).await?;
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "delete_brand")]
pub async fn delete_brand(csrf_token: String, pk: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/brands")?;
    services
        .delete_brand(&caller, uuid_of(&pk, "brand")?)
        .await?;
    leptos_axum::redirect("/brands");
    Ok(())
}
