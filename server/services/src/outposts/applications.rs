//! Applications: what users see, each served by at most one provider (plus backchannel
//! providers). An outpost lists only providers that have an application, so assigning or
//! removing one is an update for the provider's outposts.
use chrono::Utc;
use garrison_model::models::APPLICATION;
use garrison_model::{Application, ApplicationChanges, FieldErrors, ListQuery, Page};
use garrison_store::outposts::{
    applications as store, outposts as outpost_store, providers as provider_store,
};
use garrison_store::{Conn, RowRef};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx};

#[derive(Clone, Debug, Default)]
pub struct ApplicationFilter {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub group: Option<String>,
}

impl Audited for Application {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: APPLICATION,
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    fn audit_view(&self) -> Value {
        json!({
            "name": self.name,
            "slug": self.slug,
            "provider": self.provider,
            "backchannel_providers": self.backchannel_providers,
            "meta_launch_url": self.meta_launch_url,
            "group": self.group,
            "policy_engine_mode": self.policy_engine_mode.as_str(),
            "meta_hide": self.meta_hide,
        })
    }
}

fn perm(action: &str) -> String {
    APPLICATION.permission(action)
}

impl Services {
    pub async fn list_applications(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: ApplicationFilter,
    ) -> ServiceResult<Page<Application>> {
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
                name: filter.name,
                slug: filter.slug,
                group: filter.group,
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

    pub async fn get_application(&self, caller: &Caller, slug: &str) -> ServiceResult<Application> {
        let mut reader = self.read().await?;
        self.get_application_on(reader.conn(), caller, slug).await
    }

    pub async fn get_application_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        slug: &str,
    ) -> ServiceResult<Application> {
        caller.principal.visibility(&perm("view"))?;
        let app = store::get_by_slug(conn, slug)
            .await?
            .ok_or_else(|| ServiceError::not_found("application", slug))?;
        if !caller.principal.has_on(&perm("view"), &app.pk.to_string()) {
            return Err(ServiceError::not_found("application", slug));
        }
        Ok(app)
    }

    /// Validation shared by create and update; returns the providers whose outposts must
    /// hear of the change.
    async fn check_application(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        app: &Application,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if app.slug.is_empty() || !validate::is_slug(&app.slug) {
            errors.add("slug", validate::NOT_A_SLUG);
        } else if store::slug_taken(conn, &app.slug, Some(app.pk)).await? {
            errors.add("slug", "application with this slug already exists.");
        }
        let mut providers: Vec<(&str, i64)> = app
            .backchannel_providers
            .iter()
            .map(|pk| ("backchannel_providers", *pk))
            .collect();
        if let Some(pk) = app.provider {
            providers.push(("provider", pk));
        }
        let pks: Vec<i64> = providers.iter().map(|(_, pk)| *pk).collect();
        let kinds = provider_store::kinds(conn, &pks).await?;
        for (field, pk) in providers {
            let visible = kinds.get(&pk).is_some_and(|kind| {
                caller
                    .principal
                    .has_on(&kind.model().permission("view"), &pk.to_string())
            });
            if !visible {
                errors.add(field, does_not_exist(&[pk]).unwrap_or_default());
            } else if let Some(other) = store::provider_user(conn, pk, Some(app.pk)).await? {
                errors.add(
                    field,
                    format!("Provider {pk} is already used by application {other}."),
                );
            }
        }
        if app
            .provider
            .is_some_and(|pk| app.backchannel_providers.contains(&pk))
        {
            errors.add(
                "backchannel_providers",
                "The application's provider cannot also be a backchannel provider.",
            );
        }
        if !app.meta_launch_url.is_empty() && url::Url::parse(&app.meta_launch_url).is_err() {
            errors.add("meta_launch_url", "Enter a valid URL.");
        }
        Ok(())
    }

    pub async fn create_application(
        &self,
        caller: &Caller,
        changes: ApplicationChanges,
    ) -> ServiceResult<Application> {
        one_tx!(self, |tx| self
            .create_application_in(&mut tx, caller, changes))
    }

    pub async fn create_application_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: ApplicationChanges,
    ) -> ServiceResult<Application> {
        caller.principal.require(&perm("add"))?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 250);
        validate::text(&mut errors, "slug", changes.slug.as_ref(), true, false, 50);
        let mut app = Application {
            pk: Uuid::new_v4(),
            name: name.unwrap_or_default().to_owned(),
            slug: changes.slug.clone().unwrap_or_default(),
            provider: None,
            backchannel_providers: Vec::new(),
            open_in_new_tab: false,
            meta_launch_url: String::new(),
            meta_icon: String::new(),
            meta_description: String::new(),
            meta_publisher: String::new(),
            policy_engine_mode: Default::default(),
            group: String::new(),
            meta_hide: false,
        };
        apply(&mut app, &changes);
        self.check_application(tx.conn(), caller, &app, &mut errors)
            .await?;
        errors.into_result()?;
        store::upsert(tx, &app, Utc::now()).await?;
        audit::created(tx, caller, &app).await?;
        let affected = outpost_store::serving(tx.conn(), &providers_of(&app)).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(app)
    }

    pub async fn update_application(
        &self,
        caller: &Caller,
        slug: &str,
        changes: ApplicationChanges,
        partial: bool,
    ) -> ServiceResult<Application> {
        one_tx!(self, |tx| self
            .update_application_in(&mut tx, caller, slug, changes, partial))
    }

    pub async fn update_application_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        slug: &str,
        changes: ApplicationChanges,
        partial: bool,
    ) -> ServiceResult<Application> {
        let found = self.get_application_on(tx.conn(), caller, slug).await?;
        tx.lock_row(RowRef::Application(found.pk)).await?;
        let before = self.get_application_on(tx.conn(), caller, slug).await?;
        caller
            .principal
            .require_on(&perm("change"), &before.pk.to_string())?;
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            250,
        );
        validate::text(
            &mut errors,
            "slug",
            changes.slug.as_ref(),
            !partial,
            false,
            50,
        );
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name.to_owned();
        }
        if let Some(slug) = &changes.slug {
            after.slug = slug.clone();
        }
        apply(&mut after, &changes);
        self.check_application(tx.conn(), caller, &after, &mut errors)
            .await?;
        errors.into_result()?;
        store::upsert(tx, &after, Utc::now()).await?;
        audit::updated(tx, caller, &before, &after).await?;
        let mut providers = providers_of(&before);
        providers.extend(providers_of(&after));
        let affected = outpost_store::serving(tx.conn(), &providers).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(after)
    }

    pub async fn delete_application(&self, caller: &Caller, slug: &str) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_application_in(&mut tx, caller, slug))
    }

    pub async fn delete_application_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        slug: &str,
    ) -> ServiceResult<()> {
        let before = self.get_application_on(tx.conn(), caller, slug).await?;
        tx.lock_row(RowRef::Application(before.pk)).await?;
        caller
            .principal
            .require_on(&perm("delete"), &before.pk.to_string())?;
        store::delete(tx, before.pk).await?;
        audit::deleted(tx, caller, &before).await?;
        let affected = outpost_store::serving(tx.conn(), &providers_of(&before)).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(())
    }
}

fn providers_of(app: &Application) -> Vec<i64> {
    app.provider
        .into_iter()
        .chain(app.backchannel_providers.iter().copied())
        .collect()
}

fn apply(app: &mut Application, changes: &ApplicationChanges) {
    if let Some(v) = changes.provider {
        app.provider = v;
    }
    if let Some(v) = &changes.backchannel_providers {
        let mut v = v.clone();
        v.sort_unstable();
        v.dedup();
        app.backchannel_providers = v;
    }
    if let Some(v) = changes.open_in_new_tab {
        app.open_in_new_tab = v;
    }
    if let Some(v) = &changes.meta_launch_url {
        app.meta_launch_url = v.clone();
    }
    if let Some(v) = &changes.meta_icon {
        app.meta_icon = v.clone();
    }
    if let Some(v) = &changes.meta_description {
        app.meta_description = v.clone();
    }
    if let Some(v) = &changes.meta_publisher {
        app.meta_publisher = v.clone();
    }
    if let Some(v) = changes.policy_engine_mode {
        app.policy_engine_mode = v;
    }
    if let Some(v) = &changes.group {
        app.group = v.clone();
    }
    if let Some(v) = changes.meta_hide {
        app.meta_hide = v;
    }
}
