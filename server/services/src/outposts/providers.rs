//! Providers of the four kinds an outpost serves. Fields every kind shares are columns; a
//! kind's own fields are validated as a whole (defaults for what is missing, a field the kind
//! does not have or of the wrong type named) and its secrets kept sealed.
use chrono::Utc;
use garrison_model::{
    FieldErrors, ListQuery, Page, Provider, ProviderChanges, ProviderKind, ProviderSettings,
    ProxyMode,
};
use garrison_store::outposts::providers::{self as store, ProviderRecord};
use garrison_store::outposts::{certificates as cert_store, outposts as outpost_store};
use garrison_store::{Conn, RowRef};
use serde_json::{Map, Value, json};

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx, crypto};

/// Filters a provider list accepts besides search and ordering.
#[derive(Clone, Debug, Default)]
pub struct ProviderFilter {
    /// One kind (`/providers/proxy/`), or every kind (`/providers/all/`).
    pub kind: Option<ProviderKind>,
    pub name: Option<String>,
    pub application_isnull: Option<bool>,
    pub backchannel: Option<bool>,
    /// Only providers an outpost serves (`/outposts/proxy/` and friends).
    pub outpost: Option<uuid::Uuid>,
}

impl Audited for Provider {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: self.kind.model(),
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// Never the secrets.
    fn audit_view(&self) -> Value {
        let mut settings = self.settings.to_map();
        for secret in ProviderSettings::secret_fields(self.kind) {
            settings.remove(*secret);
        }
        json!({
            "name": self.name,
            "authentication_flow": self.authentication_flow,
            "authorization_flow": self.authorization_flow,
            "invalidation_flow": self.invalidation_flow,
            "property_mappings": self.property_mappings,
            "certificate": self.certificate,
            "settings": settings,
        })
    }
}

fn permission(kind: ProviderKind, action: &str) -> String {
    kind.model().permission(action)
}

/// Whether `text` is an absolute http(s) URL with a host.
fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The kind's own fields, merged from `current` and `changes`, with per-field errors.
fn merge_settings(
    kind: ProviderKind,
    current: &ProviderSettings,
    changes: &Map<String, Value>,
    errors: &mut FieldErrors,
) -> Option<ProviderSettings> {
    let mut merged = current.to_map();
    let known = ProviderSettings::defaults(kind).to_map();
    for (key, value) in changes {
        if !known.contains_key(key) {
            errors.add(
                key,
                format!("{} providers have no field {key:?}.", kind.verbose_name()),
            );
            continue;
        }
        let mut probe = known.clone();
        probe.insert(key.clone(), value.clone());
        if let Err(message) = ProviderSettings::from_map(kind, probe) {
            errors.add(key, message);
            continue;
        }
        merged.insert(key.clone(), value.clone());
    }
    match ProviderSettings::from_map(kind, merged) {
        Ok(settings) => Some(settings),
        Err(message) => {
            errors.add(FieldErrors::NON_FIELD, message);
            None
        }
    }
}

/// Rules beyond types, and secrets generated when missing.
fn check_settings(settings: &mut ProviderSettings, errors: &mut FieldErrors, creating: bool) {
    match settings {
        ProviderSettings::Proxy(proxy) => {
            if proxy.external_host.trim().is_empty() {
                errors.add("external_host", validate::REQUIRED);
            } else if !is_http_url(&proxy.external_host) {
                errors.add("external_host", "Enter a valid URL (http:// or https://).");
            }
            if proxy.mode == ProxyMode::Proxy {
                if proxy.internal_host.trim().is_empty() {
                    errors.add(
                        "internal_host",
                        "Internal host cannot be empty when forward auth is disabled.",
                    );
                } else if !is_http_url(&proxy.internal_host) {
                    errors.add("internal_host", "Enter a valid URL (http:// or https://).");
                }
            }
            if !proxy.skip_path_regex.is_empty() {
                for (line, pattern) in proxy.skip_path_regex.lines().enumerate() {
                    if let Err(error) = regex::Regex::new(pattern) {
                        errors.add("skip_path_regex", format!("line {}: {error}", line + 1));
                    }
                }
            }
            for (field, value) in [
                ("access_token_validity", &proxy.access_token_validity),
                ("refresh_token_validity", &proxy.refresh_token_validity),
            ] {
                if let Err(message) = garrison_model::refresh_interval_seconds(value) {
                    errors.add(field, message);
                }
            }
            if proxy.client_id.is_empty() {
                proxy.client_id = crypto::random_alphanumeric(40);
            }
            if proxy.client_secret.is_empty() {
                proxy.client_secret = crypto::random_alphanumeric(128);
            }
            if proxy.cookie_secret.is_empty() {
                proxy.cookie_secret = crypto::random_alphanumeric(40);
            }
        }
        ProviderSettings::Ldap(ldap) => {
            if ldap.base_dn.trim().is_empty() {
                errors.add("base_dn", validate::BLANK);
            }
            if ldap.uid_start_number < 0 {
                errors.add(
                    "uid_start_number",
                    "Ensure this value is greater than or equal to 0.",
                );
            }
            if ldap.gid_start_number < 0 {
                errors.add(
                    "gid_start_number",
                    "Ensure this value is greater than or equal to 0.",
                );
            }
        }
        ProviderSettings::Radius(radius) => {
            for network in radius
                .client_networks
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                if network.parse::<ipnet::IpNet>().is_err()
                    && network.parse::<std::net::IpAddr>().is_err()
                {
                    errors.add(
                        "client_networks",
                        format!("{network:?} is not a network (e.g. 10.0.0.0/8) or an address."),
                    );
                }
            }
            if radius.shared_secret.is_empty() && creating {
                radius.shared_secret = crypto::random_alphanumeric(128);
            } else if radius.shared_secret.is_empty() {
                errors.add("shared_secret", validate::BLANK);
            }
        }
        ProviderSettings::Rac(rac) => {
            if let Err(message) = garrison_model::refresh_interval_seconds(&rac.connection_expiry) {
                errors.add("connection_expiry", message);
            }
        }
    }
}

impl Services {
    /// Seals a provider's secret fields; the rest is stored as JSON.
    fn provider_record(&self, provider: &Provider) -> ServiceResult<ProviderRecord> {
        let mut settings = provider.settings.to_map();
        let mut secrets = Map::new();
        for field in ProviderSettings::secret_fields(provider.kind) {
            if let Some(value) = settings.remove(*field) {
                secrets.insert((*field).to_owned(), value);
            }
        }
        let secrets_sealed = if secrets.is_empty() {
            None
        } else {
            Some(self.secrets().seal(&Value::Object(secrets).to_string())?)
        };
        Ok(ProviderRecord {
            pk: provider.pk,
            name: provider.name.clone(),
            kind: provider.kind,
            authentication_flow: provider.authentication_flow,
            authorization_flow: provider.authorization_flow,
            invalidation_flow: provider.invalidation_flow,
            property_mappings: provider.property_mappings.clone(),
            certificate: provider.certificate,
            settings,
            secrets_sealed,
            application: provider.application.clone(),
            backchannel_application: provider.backchannel_application.clone(),
            outposts: provider.outposts.clone(),
        })
    }

    /// Opens a stored provider (its secrets unsealed).
    pub(crate) fn provider_of(&self, record: ProviderRecord) -> ServiceResult<Provider> {
        let mut settings = record.settings;
        if let Some(sealed) = &record.secrets_sealed {
            let opened = self.secrets().open(sealed)?;
            if let Ok(Value::Object(secrets)) = serde_json::from_str::<Value>(&opened) {
                settings.extend(secrets);
            }
        }
        let settings = ProviderSettings::from_map(record.kind, settings).map_err(|e| {
            ServiceError::Internal(format!("stored provider {} is invalid: {e}", record.pk))
        })?;
        Ok(Provider {
            pk: record.pk,
            name: record.name,
            kind: record.kind,
            authentication_flow: record.authentication_flow,
            authorization_flow: record.authorization_flow,
            invalidation_flow: record.invalidation_flow,
            property_mappings: record.property_mappings,
            certificate: record.certificate,
            settings,
            application: record.application,
            backchannel_application: record.backchannel_application,
            outposts: record.outposts,
        })
    }

    pub async fn list_providers(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: ProviderFilter,
    ) -> ServiceResult<Page<Provider>> {
        let paging = super::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let kinds: Vec<ProviderKind> = match filter.kind {
            Some(kind) => vec![kind],
            None => ProviderKind::ALL.to_vec(),
        };
        // Per kind: everything, or the objects granted; a caller who may see nothing of any
        // kind is refused (or, an outpost, sees an empty list).
        let mut all_of = Vec::new();
        let mut objects = Vec::new();
        let mut refused = None;
        for kind in &kinds {
            match super::visible(caller, &permission(*kind, "view")) {
                Ok(Some(None)) => all_of.push(*kind),
                Ok(Some(Some(pks))) => {
                    objects.extend(pks.iter().filter_map(|pk| pk.parse::<i64>().ok()))
                }
                Ok(None) => {}
                Err(error) => refused = Some(error),
            }
        }
        if all_of.is_empty() && objects.is_empty() {
            return match refused {
                Some(error)
                    if caller
                        .principal
                        .user()
                        .is_some_and(|u| !u.user_type.is_service_account()) =>
                {
                    Err(error)
                }
                _ => Ok(Page::empty(query.page)),
            };
        }
        let mut reader = self.read().await?;
        let store_filter = store::Filter {
            search: query.search.clone(),
            kind: filter.kind,
            visible: Some((all_of, objects)),
            name: filter.name,
            application_isnull: filter.application_isnull,
            backchannel: filter.backchannel,
            outpost: filter.outpost,
        };
        let (records, count) = store::list(reader.conn(), &store_filter, paging).await?;
        let items = records
            .into_iter()
            .map(|r| self.provider_of(r))
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_provider(
        &self,
        caller: &Caller,
        pk: i64,
        kind: Option<ProviderKind>,
    ) -> ServiceResult<Provider> {
        let mut reader = self.read().await?;
        self.get_provider_on(reader.conn(), caller, pk, kind).await
    }

    /// The providers among `pks` the caller may view, in one query and without the outposts
    /// serving each (`outposts` is left empty): what an outpost's summary shows of them.
    pub async fn provider_summaries(
        &self,
        caller: &Caller,
        pks: &[i64],
    ) -> ServiceResult<Vec<Provider>> {
        if pks.is_empty() {
            return Ok(Vec::new());
        }
        let mut reader = self.read().await?;
        let records = store::summaries(reader.conn(), pks).await?;
        self.visible_provider_summaries(caller, records)
    }

    /// Of `records`, those the caller may view, as providers.
    pub(crate) fn visible_provider_summaries(
        &self,
        caller: &Caller,
        records: Vec<store::ProviderRecord>,
    ) -> ServiceResult<Vec<Provider>> {
        records
            .into_iter()
            .filter(|record| {
                caller
                    .principal
                    .has_on(&permission(record.kind, "view"), &record.pk.to_string())
            })
            .map(|record| self.provider_of(record))
            .collect()
    }

    /// A provider the caller may view; with `kind`, only one of that kind (else not found).
    pub async fn get_provider_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: i64,
        kind: Option<ProviderKind>,
    ) -> ServiceResult<Provider> {
        let record = store::get(conn, pk)
            .await?
            .filter(|r| kind.is_none_or(|k| k == r.kind))
            .ok_or_else(|| ServiceError::not_found("provider", pk))?;
        let view = permission(record.kind, "view");
        caller.principal.visibility(&view)?;
        if !caller.principal.has_on(&view, &pk.to_string()) {
            return Err(ServiceError::not_found("provider", pk));
        }
        self.provider_of(record)
    }

    pub async fn create_provider(
        &self,
        caller: &Caller,
        kind: ProviderKind,
        changes: ProviderChanges,
    ) -> ServiceResult<Provider> {
        one_tx!(self, |tx| self
            .create_provider_in(&mut tx, caller, kind, changes))
    }

    pub async fn create_provider_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        kind: ProviderKind,
        changes: ProviderChanges,
    ) -> ServiceResult<Provider> {
        caller.principal.require(&permission(kind, "add"))?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 255);
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, None).await? {
                errors.add("name", "provider with this name already exists.");
            }
        }
        let settings = merge_settings(
            kind,
            &ProviderSettings::defaults(kind),
            &changes.settings,
            &mut errors,
        );
        let mut provider = Provider {
            pk: 0,
            name: name.unwrap_or_default().to_owned(),
            kind,
            authentication_flow: changes.authentication_flow.flatten(),
            authorization_flow: changes.authorization_flow.flatten(),
            invalidation_flow: changes.invalidation_flow.flatten(),
            property_mappings: changes.property_mappings.clone().unwrap_or_default(),
            certificate: changes.certificate.flatten(),
            settings: settings.unwrap_or_else(|| ProviderSettings::defaults(kind)),
            application: None,
            backchannel_application: None,
            outposts: Vec::new(),
        };
        check_settings(&mut provider.settings, &mut errors, true);
        self.check_certificate(tx.conn(), caller, provider.certificate, &mut errors)
            .await?;
        errors.into_result()?;
        let record = self.provider_record(&provider)?;
        provider.pk = store::insert(tx, &record, Utc::now()).await?;
        audit::created(tx, caller, &provider).await?;
        Ok(provider)
    }

    /// The certificate a provider names must exist and be one the caller may see.
    async fn check_certificate(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        certificate: Option<uuid::Uuid>,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if let Some(uuid) = certificate {
            let exists = !cert_store::existing(conn, &[uuid]).await?.is_empty();
            let visible = caller.principal.has_on(
                &garrison_model::models::CERTIFICATE_KEYPAIR.permission("view"),
                &uuid.to_string(),
            );
            if !exists || !visible {
                errors.add("certificate", does_not_exist(&[uuid]).unwrap_or_default());
            }
        }
        Ok(())
    }

    pub async fn update_provider(
        &self,
        caller: &Caller,
        pk: i64,
        kind: Option<ProviderKind>,
        changes: ProviderChanges,
        partial: bool,
    ) -> ServiceResult<Provider> {
        one_tx!(self, |tx| self
            .update_provider_in(&mut tx, caller, pk, kind, changes, partial))
    }

    pub async fn update_provider_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: i64,
        kind: Option<ProviderKind>,
        changes: ProviderChanges,
        partial: bool,
    ) -> ServiceResult<Provider> {
        tx.lock_row(RowRef::Provider(pk)).await?;
        let before = self.get_provider_on(tx.conn(), caller, pk, kind).await?;
        caller
            .principal
            .require_on(&permission(before.kind, "change"), &pk.to_string())?;
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            255,
        );
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, Some(pk)).await? {
                errors.add("name", "provider with this name already exists.");
            }
        }
        // A full update starts from the kind's defaults, as a PUT replaces the object (its
        // secrets stay unless given: they are never sent back to be echoed).
        let base = if partial {
            before.settings.clone()
        } else {
            let mut defaults = ProviderSettings::defaults(before.kind).to_map();
            let current = before.settings.to_map();
            for secret in ProviderSettings::secret_fields(before.kind)
                .iter()
                .chain(["client_id"].iter())
            {
                if let Some(value) = current.get(*secret) {
                    defaults.insert((*secret).to_owned(), value.clone());
                }
            }
            ProviderSettings::from_map(before.kind, defaults)
                .unwrap_or_else(|_| ProviderSettings::defaults(before.kind))
        };
        let settings = merge_settings(before.kind, &base, &changes.settings, &mut errors);
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name.to_owned();
        }
        if let Some(v) = changes.authentication_flow {
            after.authentication_flow = v;
        }
        if let Some(v) = changes.authorization_flow {
            after.authorization_flow = v;
        }
        if let Some(v) = changes.invalidation_flow {
            after.invalidation_flow = v;
        }
        if let Some(v) = changes.property_mappings.clone() {
            after.property_mappings = v;
        }
        if let Some(v) = changes.certificate {
            after.certificate = v;
        }
        if let Some(settings) = settings {
            after.settings = settings;
        }
        check_settings(&mut after.settings, &mut errors, false);
        if after.certificate != before.certificate {
            self.check_certificate(tx.conn(), caller, after.certificate, &mut errors)
                .await?;
        }
        errors.into_result()?;
        let record = self.provider_record(&after)?;
        store::update(tx, &record, Utc::now()).await?;
        audit::updated(tx, caller, &before, &after).await?;
        let affected = outpost_store::serving(tx.conn(), &[pk]).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(after)
    }

    pub async fn delete_provider(
        &self,
        caller: &Caller,
        pk: i64,
        kind: Option<ProviderKind>,
    ) -> ServiceResult<()> {
        one_tx!(self, |tx| self
            .delete_provider_in(&mut tx, caller, pk, kind))
    }

    pub async fn delete_provider_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: i64,
        kind: Option<ProviderKind>,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::Provider(pk)).await?;
        let before = self.get_provider_on(tx.conn(), caller, pk, kind).await?;
        caller
            .principal
            .require_on(&permission(before.kind, "delete"), &pk.to_string())?;
        let affected = outpost_store::serving(tx.conn(), &[pk]).await?;
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before).await?;
        // Its outposts lose the provider (the links went with it): their accounts lose its
        // permissions now.
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(())
    }
}
