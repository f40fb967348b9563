//! Outposts: authentik's validation (provider kinds match the type, a non-empty provider
//! list except for the embedded outpost, a typed config, the embedded outpost's name locked),
//! a service account and token each, and the embedded outpost reconciled at start.
use chrono::Utc;
use garrison_model::models::OUTPOST;
use garrison_model::{
    EMBEDDED_OUTPOST_MANAGED, EMBEDDED_OUTPOST_NAME, FieldErrors, ListQuery, Outpost,
    OutpostChanges, OutpostConfig, Page, ProviderKind, ServiceConnectionKind,
};
use garrison_store::outposts::{
    outposts as store, providers as provider_store, service_connections as connection_store,
};
use garrison_store::{Conn, RowRef, users as user_store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx};

/// authentik's `OutpostFilter`.
#[derive(Clone, Debug, Default)]
pub struct OutpostFilter {
    pub name_iexact: Option<String>,
    pub name_icontains: Option<String>,
    pub managed_iexact: Option<String>,
    pub managed_icontains: Option<String>,
    pub service_connection_name_iexact: Option<String>,
    pub service_connection_name_icontains: Option<String>,
    pub providers_isnull: Option<bool>,
    pub providers_by_pk: Vec<i64>,
}

impl Audited for Outpost {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: OUTPOST,
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    fn audit_view(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.outpost_type.as_str(),
            "providers": self.providers,
            "service_connection": self.service_connection,
            "config": self.config,
            "managed": self.managed,
        })
    }
}

/// The store's filter for what the caller asked and may see; `None` when the caller may see
/// no outpost at all.
fn outpost_filter(
    caller: &Caller,
    query: &ListQuery,
    filter: OutpostFilter,
) -> ServiceResult<Option<store::Filter>> {
    let Some(only) = super::visible(caller, &perm("view"))? else {
        return Ok(None);
    };
    Ok(Some(store::Filter {
        search: query.search.clone(),
        only,
        name_iexact: filter.name_iexact,
        name_icontains: filter.name_icontains,
        managed_iexact: filter.managed_iexact,
        managed_icontains: filter.managed_icontains,
        service_connection_name_iexact: filter.service_connection_name_iexact,
        service_connection_name_icontains: filter.service_connection_name_icontains,
        providers_isnull: filter.providers_isnull,
        providers_by_pk: filter.providers_by_pk,
        provider: None,
        service_connection: None,
    }))
}

pub(super) fn perm(action: &str) -> String {
    OUTPOST.permission(action)
}

impl Services {
    pub async fn list_outposts(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: OutpostFilter,
    ) -> ServiceResult<Page<Outpost>> {
        let paging = super::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let Some(store_filter) = outpost_filter(caller, query, filter)? else {
            return Ok(Page::empty(query.page));
        };
        let looked_up = self.counts().look_up("outposts", &store_filter);
        let mut reader = self.read().await?;
        let (items, count) =
            store::list(reader.conn(), &store_filter, paging, looked_up.known).await?;
        self.counts().keep(looked_up, count);
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    /// A page of outposts and the providers they serve that the caller may view (summaries,
    /// as [`Services::provider_summaries`] gives them), read together: what a list of
    /// outposts shows.
    pub async fn list_outposts_with_providers(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: OutpostFilter,
    ) -> ServiceResult<(Page<Outpost>, Vec<garrison_model::Provider>)> {
        let paging = super::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let Some(store_filter) = outpost_filter(caller, query, filter)? else {
            return Ok((Page::empty(query.page), Vec::new()));
        };
        let looked_up = self.counts().look_up("outposts", &store_filter);
        let mut reader = self.read().await?;
        let (items, count, providers) =
            store::list_with_providers(reader.conn(), &store_filter, paging, looked_up.known)
                .await?;
        self.counts().keep(looked_up, count);
        let providers = self.visible_provider_summaries(caller, providers)?;
        Ok((
            Page {
                items,
                count,
                request: query.page,
            },
            providers,
        ))
    }

    pub async fn get_outpost(&self, caller: &Caller, pk: Uuid) -> ServiceResult<Outpost> {
        let mut reader = self.read().await?;
        self.get_outpost_on(reader.conn(), caller, pk).await
    }

    pub async fn get_outpost_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<Outpost> {
        caller.principal.visibility(&perm("view"))?;
        if !caller.principal.has_on(&perm("view"), &pk.to_string()) {
            return Err(ServiceError::not_found("outpost", pk));
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("outpost", pk))
    }

    /// authentik's serializer validation, on the outpost as it would be after the change.
    async fn check_outpost(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        after: &mut Outpost,
        before: Option<&Outpost>,
        changes: &OutpostChanges,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if let Some(before) = before {
            // Renaming another outpost to the embedded name re-tags it as managed (authentik
            // repairs embedded outposts whose marker was blanked this way).
            if before.name == EMBEDDED_OUTPOST_NAME && after.managed.is_none() {
                after.managed = Some(EMBEDDED_OUTPOST_MANAGED.into());
            }
            if before.managed.as_deref() == Some(EMBEDDED_OUTPOST_MANAGED)
                && after.name != EMBEDDED_OUTPOST_NAME
            {
                errors.add("name", "Embedded outpost's name cannot be changed");
            }
        }
        if store::name_taken(conn, &after.name, before.map(|b| b.pk)).await? {
            errors.add("name", "outpost with this name already exists.");
        }
        if let Some(providers) = &changes.providers {
            let kinds = provider_store::kinds(conn, providers).await?;
            let missing: Vec<i64> = providers
                .iter()
                .copied()
                .filter(|pk| !kinds.contains_key(pk))
                .collect();
            if let Some(message) = does_not_exist(&missing) {
                errors.add("providers", message);
            }
            // On a PATCH without a type, authentik's mapping accepts any provider; the kind
            // must still match the outpost's (stored) type to be served, so check that.
            let expected = changes.outpost_type.unwrap_or(after.outpost_type);
            for (pk, kind) in &kinds {
                if *kind != expected {
                    errors.add(
                        "providers",
                        format!(
                            "Outpost type {} can't be used with {} providers (provider {pk}).",
                            expected.as_str(),
                            kind.verbose_name()
                        ),
                    );
                }
                let view = kind.model().permission("view");
                if !caller.principal.has_on(&view, &pk.to_string()) {
                    errors.add("providers", does_not_exist(&[*pk]).unwrap_or_default());
                }
            }
        }
        if after.providers.is_empty() && after.managed.is_none() {
            errors.add("providers", "This list may not be empty.");
        }
        if let Some(connection) = after.service_connection {
            let exists = connection_store::get(conn, connection).await?.is_some();
            let visible = [
                ServiceConnectionKind::Docker,
                ServiceConnectionKind::Kubernetes,
            ]
            .into_iter()
            .any(|k| {
                caller
                    .principal
                    .has_on(&k.model().permission("view"), &connection.to_string())
            });
            if !exists || !visible {
                errors.add(
                    "service_connection",
                    does_not_exist(&[connection]).unwrap_or_default(),
                );
            }
        }
        if let Err(error) = OutpostConfig::parse(&after.config) {
            errors.add(
                "config",
                format!(
                    "Failed to validate config: {}: {}",
                    error.key, error.message
                ),
            );
        }
        Ok(())
    }

    pub async fn create_outpost(
        &self,
        caller: &Caller,
        changes: OutpostChanges,
    ) -> ServiceResult<Outpost> {
        one_tx!(self, |tx| self.create_outpost_in(&mut tx, caller, changes))
    }

    pub async fn create_outpost_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: OutpostChanges,
    ) -> ServiceResult<Outpost> {
        caller.principal.require(&perm("add"))?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 255);
        if changes.outpost_type.is_none() {
            errors.add("type", validate::REQUIRED);
        }
        let config = match &changes.config {
            None => {
                errors.add("config", validate::REQUIRED);
                Default::default()
            }
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                errors.add("config", "Expected a dictionary of items.");
                Default::default()
            }
        };
        if changes.providers.is_none() {
            errors.add("providers", validate::REQUIRED);
        }
        let mut outpost = Outpost {
            pk: Uuid::new_v4(),
            name: name.unwrap_or_default().to_owned(),
            outpost_type: changes.outpost_type.unwrap_or(ProviderKind::Proxy),
            providers: dedup(changes.providers.clone().unwrap_or_default()),
            service_connection: changes.service_connection.flatten(),
            config,
            managed: changes.managed.clone().flatten().filter(|m| !m.is_empty()),
            deploy_state: json!({}),
            expansion_error: None,
            config_hash: String::new(),
        };
        if outpost.managed.is_some() && !caller.principal.is_superuser() {
            errors.add("managed", "Only the server marks outposts as managed.");
        }
        self.check_outpost(tx.conn(), caller, &mut outpost, None, &changes, &mut errors)
            .await?;
        errors.into_result()?;
        store::upsert(tx, &outpost, Utc::now()).await?;
        audit::created(tx, caller, &outpost).await?;
        self.outposts_changed_in(tx, caller, &[outpost.pk]).await?;
        let outpost = store::get(tx.conn(), outpost.pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("outpost", outpost.pk))?;
        tracing::info!(outpost = %outpost.name, by = caller.principal.username(), "outpost created");
        Ok(outpost)
    }

    pub async fn update_outpost(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: OutpostChanges,
        partial: bool,
    ) -> ServiceResult<Outpost> {
        one_tx!(self, |tx| self
            .update_outpost_in(&mut tx, caller, pk, changes, partial))
    }

    pub async fn update_outpost_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        changes: OutpostChanges,
        partial: bool,
    ) -> ServiceResult<Outpost> {
        tx.lock_row(RowRef::Outpost(pk)).await?;
        let before = self.get_outpost_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(&perm("change"), &pk.to_string())?;
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            255,
        );
        if !partial {
            if changes.outpost_type.is_none() {
                errors.add("type", validate::REQUIRED);
            }
            if changes.providers.is_none() {
                errors.add("providers", validate::REQUIRED);
            }
            if changes.config.is_none() {
                errors.add("config", validate::REQUIRED);
            }
        }
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name.to_owned();
        }
        if let Some(kind) = changes.outpost_type {
            after.outpost_type = kind;
        }
        if let Some(providers) = &changes.providers {
            after.providers = dedup(providers.clone());
        }
        if let Some(connection) = changes.service_connection {
            after.service_connection = connection;
        }
        match &changes.config {
            Some(Value::Object(map)) => after.config = map.clone(),
            Some(_) => errors.add("config", "Expected a dictionary of items."),
            None => {}
        }
        if let Some(managed) = &changes.managed {
            let managed = managed.clone().filter(|m| !m.is_empty());
            if managed != before.managed && !caller.principal.is_superuser() {
                errors.add("managed", "Only the server marks outposts as managed.");
            }
            after.managed = managed;
        }
        self.check_outpost(
            tx.conn(),
            caller,
            &mut after,
            Some(&before),
            &changes,
            &mut errors,
        )
        .await?;
        errors.into_result()?;
        store::upsert(tx, &after, Utc::now()).await?;
        audit::updated(tx, caller, &before, &after).await?;
        self.outposts_changed_in(tx, caller, &[pk]).await?;
        store::get(tx.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("outpost", pk))
    }

    pub async fn delete_outpost(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_outpost_in(&mut tx, caller, pk))
    }

    /// Deletes the outpost with its service account (and so its token).
    pub async fn delete_outpost_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::Outpost(pk)).await?;
        let before = self.get_outpost_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(&perm("delete"), &pk.to_string())?;
        if let Some(account) =
            user_store::get_by_username(tx.conn(), &before.service_account_username()).await?
        {
            user_store::delete(tx, account.pk).await?;
        }
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before).await?;
        tx.after_commit(garrison_bus::Message::OutpostChanged { outpost: pk });
        Ok(())
    }

    /// Run at start: the embedded outpost exists (adopting a legacy row by its name, and
    /// taking the first Kubernetes, else Docker, connection when created), or, when disabled,
    /// does not.
    pub async fn reconcile_embedded_outpost(
        &self,
        enabled: bool,
    ) -> ServiceResult<Option<Outpost>> {
        let system = Caller::system();
        let mut tx = self.begin().await?;
        let existing = store::get_managed(tx.conn(), EMBEDDED_OUTPOST_MANAGED).await?;
        let result = match (enabled, existing) {
            (false, Some(outpost)) => {
                self.delete_outpost_in(&mut tx, &system, outpost.pk).await?;
                None
            }
            (false, None) => None,
            (true, Some(outpost)) => {
                self.outposts_changed_in(&mut tx, &system, &[outpost.pk])
                    .await?;
                Some(outpost)
            }
            (true, None) => match store::get_by_name(tx.conn(), EMBEDDED_OUTPOST_NAME).await? {
                Some(legacy) => Some(
                    self.update_outpost_in(
                        &mut tx,
                        &system,
                        legacy.pk,
                        OutpostChanges {
                            managed: Some(Some(EMBEDDED_OUTPOST_MANAGED.into())),
                            ..Default::default()
                        },
                        true,
                    )
                    .await?,
                ),
                None => {
                    let connection = match connection_store::first_of(
                        tx.conn(),
                        ServiceConnectionKind::Kubernetes,
                    )
                    .await?
                    {
                        Some(uuid) => Some(uuid),
                        None => {
                            connection_store::first_of(tx.conn(), ServiceConnectionKind::Docker)
                                .await?
                        }
                    };
                    Some(
                        self.create_outpost_in(
                            &mut tx,
                            &system,
                            OutpostChanges {
                                name: Some(EMBEDDED_OUTPOST_NAME.into()),
                                outpost_type: Some(ProviderKind::Proxy),
                                providers: Some(Vec::new()),
                                service_connection: Some(connection),
                                config: Some(Value::Object(OutpostConfig::defaults_map(""))),
                                managed: Some(Some(EMBEDDED_OUTPOST_MANAGED.into())),
                            },
                        )
                        .await?,
                    )
                }
            },
        };
        self.commit(tx).await?;
        Ok(result)
    }
}

fn dedup(mut pks: Vec<i64>) -> Vec<i64> {
    pks.sort_unstable();
    pks.dedup();
    pks
}
