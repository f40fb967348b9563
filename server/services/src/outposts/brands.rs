//! Brands: per-domain branding, flows (opaque references) and the web certificate the
//! embedded outpost serves. A brand's web certificate is something the embedded outpost sees,
//! so changing one is an update for it.
use chrono::Utc;
use garrison_model::models::{BRAND, CERTIFICATE_KEYPAIR};
use garrison_model::{Brand, BrandChanges, FieldErrors, ListQuery, Page};
use garrison_store::outposts::{
    brands as store, certificates as cert_store, outposts as outpost_store,
};
use garrison_store::{Conn, RowRef};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx};

#[derive(Clone, Debug, Default)]
pub struct BrandFilter {
    pub domain: Option<String>,
    pub default: Option<bool>,
    pub web_certificate: Option<Uuid>,
}

/// The brand fields kept in `settings`: texts, and flows and an application by reference.
pub const TEXT_FIELDS: &[&str] = &[
    "branding_title",
    "branding_logo",
    "branding_favicon",
    "branding_custom_css",
    "branding_default_flow_background",
    "branding_map_tiles",
];
pub const REFERENCE_FIELDS: &[&str] = &[
    "flow_authentication",
    "flow_user_switch",
    "flow_invalidation",
    "flow_recovery",
    "flow_unenrollment",
    "flow_user_settings",
    "flow_device_code",
    "flow_lockdown",
    "flow_request",
    "default_application",
];

impl Audited for Brand {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: BRAND,
            pk: self.pk.to_string(),
            name: &self.domain,
        }
    }

    fn audit_view(&self) -> Value {
        json!({
            "domain": self.domain,
            "default": self.default,
            "settings": self.settings,
            "web_certificate": self.web_certificate,
            "client_certificates": self.client_certificates,
            "attributes": self.attributes,
        })
    }
}

fn perm(action: &str) -> String {
    BRAND.permission(action)
}

/// authentik's defaults for the brand texts.
fn default_settings() -> Map<String, Value> {
    let mut settings = Map::new();
    settings.insert("branding_title".into(), json!("authentik"));
    settings.insert(
        "branding_logo".into(),
        json!("/static/dist/assets/icons/icon_left_brand.svg"),
    );
    settings.insert(
        "branding_favicon".into(),
        json!("/static/dist/assets/icons/icon.png"),
    );
    settings.insert("branding_custom_css".into(), json!(""));
    settings.insert(
        "branding_default_flow_background".into(),
        json!("/static/dist/assets/images/flow_background.jpg"),
    );
    settings.insert("branding_map_tiles".into(), json!(""));
    for field in REFERENCE_FIELDS {
        settings.insert((*field).into(), Value::Null);
    }
    settings
}

fn merge_settings(
    base: &mut Map<String, Value>,
    changes: &Map<String, Value>,
    errors: &mut FieldErrors,
) {
    for (key, value) in changes {
        if TEXT_FIELDS.contains(&key.as_str()) {
            match value {
                Value::String(_) => {
                    base.insert(key.clone(), value.clone());
                }
                _ => errors.add(key, "Not a valid string."),
            }
        } else if REFERENCE_FIELDS.contains(&key.as_str()) {
            match value {
                Value::Null => {
                    base.insert(key.clone(), Value::Null);
                }
                Value::String(text) if Uuid::parse_str(text).is_ok() => {
                    base.insert(key.clone(), value.clone());
                }
                _ => errors.add(key, "Must be a valid UUID."),
            }
        } else {
            errors.add(key, format!("Brands have no field {key:?}."));
        }
    }
}

impl Services {
    pub async fn list_brands(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: BrandFilter,
    ) -> ServiceResult<Page<Brand>> {
        let paging = super::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let Some(only) = super::visible(caller, &perm("view"))? else {
            return Ok(Page::empty(query.page));
        };
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
            &store::Filter {
                search: query.search.clone(),
                only,
                domain: filter.domain,
                default: filter.default,
                web_certificate: filter.web_certificate,
            },
            paging,
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_brand(&self, caller: &Caller, pk: Uuid) -> ServiceResult<Brand> {
        let mut reader = self.read().await?;
        self.get_brand_on(reader.conn(), caller, pk).await
    }

    async fn get_brand_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<Brand> {
        caller.principal.visibility(&perm("view"))?;
        if !caller.principal.has_on(&perm("view"), &pk.to_string()) {
            return Err(ServiceError::not_found("brand", pk));
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("brand", pk))
    }

    async fn check_brand(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        brand: &Brand,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if store::domain_taken(conn, &brand.domain, Some(brand.pk)).await? {
            errors.add("domain", "brand with this domain already exists.");
        }
        if brand.default {
            if let Some(other) = store::other_default(conn, Some(brand.pk)).await? {
                errors.add(
                    "default",
                    format!("Only one brand can be the default; {other} is."),
                );
            }
        }
        let view = CERTIFICATE_KEYPAIR.permission("view");
        let mut certificates: Vec<(&str, Uuid)> = brand
            .client_certificates
            .iter()
            .map(|c| ("client_certificates", *c))
            .collect();
        if let Some(web) = brand.web_certificate {
            certificates.push(("web_certificate", web));
        }
        for (field, uuid) in certificates {
            if !caller.principal.has_on(&view, &uuid.to_string())
                || cert_store::existing(conn, &[uuid]).await?.is_empty()
            {
                errors.add(field, does_not_exist(&[uuid]).unwrap_or_default());
            }
        }
        Ok(())
    }

    pub async fn create_brand(
        &self,
        caller: &Caller,
        changes: BrandChanges,
    ) -> ServiceResult<Brand> {
        one_tx!(self, |tx| self.create_brand_in(&mut tx, caller, changes))
    }

    pub async fn create_brand_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: BrandChanges,
    ) -> ServiceResult<Brand> {
        caller.principal.require(&perm("add"))?;
        let mut errors = FieldErrors::new();
        let domain = validate::text(
            &mut errors,
            "domain",
            changes.domain.as_ref(),
            true,
            false,
            255,
        );
        let mut settings = default_settings();
        merge_settings(&mut settings, &changes.settings, &mut errors);
        let brand = Brand {
            pk: Uuid::new_v4(),
            domain: domain.unwrap_or_default().to_owned(),
            default: changes.default.unwrap_or(false),
            settings,
            web_certificate: changes.web_certificate.flatten(),
            client_certificates: changes.client_certificates.clone().unwrap_or_default(),
            attributes: changes.attributes.clone().unwrap_or_default(),
        };
        self.check_brand(tx.conn(), caller, &brand, &mut errors)
            .await?;
        errors.into_result()?;
        store::upsert(tx, &brand, Utc::now()).await?;
        audit::created(tx, caller, &brand).await?;
        if brand.web_certificate.is_some() {
            let managed = outpost_store::managed(tx.conn()).await?;
            self.outposts_changed_in(tx, caller, &managed).await?;
        }
        Ok(brand)
    }

    pub async fn update_brand(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: BrandChanges,
        partial: bool,
    ) -> ServiceResult<Brand> {
        one_tx!(self, |tx| self
            .update_brand_in(&mut tx, caller, pk, changes, partial))
    }

    pub async fn update_brand_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        changes: BrandChanges,
        partial: bool,
    ) -> ServiceResult<Brand> {
        tx.lock_row(RowRef::Brand(pk)).await?;
        let before = self.get_brand_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(&perm("change"), &pk.to_string())?;
        let mut errors = FieldErrors::new();
        let domain = validate::text(
            &mut errors,
            "domain",
            changes.domain.as_ref(),
            !partial,
            false,
            255,
        );
        let mut after = before.clone();
        if let Some(domain) = domain {
            after.domain = domain.to_owned();
        }
        if let Some(v) = changes.default {
            after.default = v;
        }
        if !partial {
            after.settings = default_settings();
        }
        merge_settings(&mut after.settings, &changes.settings, &mut errors);
        if let Some(v) = changes.web_certificate {
            after.web_certificate = v;
        }
        if let Some(v) = &changes.client_certificates {
            after.client_certificates = v.clone();
        }
        if let Some(v) = &changes.attributes {
            after.attributes = v.clone();
        }
        self.check_brand(tx.conn(), caller, &after, &mut errors)
            .await?;
        errors.into_result()?;
        store::upsert(tx, &after, Utc::now()).await?;
        audit::updated(tx, caller, &before, &after).await?;
        if before.web_certificate.is_some() || after.web_certificate.is_some() {
            let managed = outpost_store::managed(tx.conn()).await?;
            self.outposts_changed_in(tx, caller, &managed).await?;
        }
        Ok(after)
    }

    pub async fn delete_brand(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_brand_in(&mut tx, caller, pk))
    }

    pub async fn delete_brand_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::Brand(pk)).await?;
        let before = self.get_brand_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(&perm("delete"), &pk.to_string())?;
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before).await?;
        if before.web_certificate.is_some() {
            let managed = outpost_store::managed(tx.conn()).await?;
            self.outposts_changed_in(tx, caller, &managed).await?;
        }
        Ok(())
    }
}
