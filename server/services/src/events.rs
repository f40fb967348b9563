use chrono::Utc;
use garrison_model::{DashboardCounts, Event, ListQuery, Page};
use garrison_store::events as store;
use uuid::Uuid;

use crate::authz::{Caller, Visibility};
use crate::validate;
use crate::{ServiceError, ServiceResult, Services};

pub(crate) const VIEW: &str = "authentik_events.view_event";
const ADD: &str = "authentik_events.add_event";

/// An event a client records (outposts report what they see, as authentik's do).
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub action: String,
    pub app: String,
    pub context: serde_json::Map<String, serde_json::Value>,
    pub client_ip: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub action: Option<String>,
    pub username: Option<String>,
    pub client_ip: Option<String>,
}

impl Services {
    /// Events are visible with the global view permission only: an event is about other
    /// objects, and object grants on events would leak those.
    pub async fn list_events(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: EventFilter,
    ) -> ServiceResult<Page<Event>> {
        let ordering = validate::ordering(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        if caller.principal.visibility(VIEW)? != Some(Visibility::All) {
            return Ok(Page::empty(query.page));
        }
        let store_filter = store::EventFilter {
            search: query.search.clone(),
            action: filter.action,
            username: filter.username,
            client_ip: filter.client_ip,
            since: None,
        };
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
            &store_filter,
            ordering,
            query.page.page_size,
            query.page.offset(),
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_event(&self, caller: &Caller, pk: Uuid) -> ServiceResult<Event> {
        caller.principal.require(VIEW)?;
        let mut reader = self.read().await?;
        store::get(reader.conn(), pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("event", pk))
    }

    /// Records an event a client reports: with `authentik_events.add_event`, under the
    /// caller's name and address (a client cannot claim to be someone else), in the action
    /// vocabulary authentik uses.
    pub async fn create_event(&self, caller: &Caller, new: NewEvent) -> ServiceResult<Event> {
        caller.principal.require(ADD)?;
        let mut errors = garrison_model::FieldErrors::new();
        // authentik's actions, or a custom one (`custom_…`) as its clients record them.
        let action = garrison_model::EventAction::parse(&new.action);
        let custom = new.action.starts_with("custom_")
            && new.action.len() <= 100
            && new
                .action
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if action.is_none() && !custom {
            errors.add(
                "action",
                format!("\"{}\" is not a valid choice.", new.action),
            );
        }
        if new.app.trim().is_empty() || new.app.len() > 255 {
            errors.add("app", crate::validate::BLANK);
        }
        if serde_json::Value::Object(new.context.clone())
            .to_string()
            .len()
            > 64 * 1024
        {
            errors.add("context", "Keep the context under 64 KiB.");
        }
        errors.into_result()?;
        let mut tx = self.begin().await?;
        let mut event = crate::audit::event(
            caller,
            action.unwrap_or(garrison_model::EventAction::Custom),
            new.context,
        );
        event.app = new.app;
        event.action = new.action;
        store::insert(&mut tx, &event).await?;
        self.commit(tx).await?;
        Ok(event)
    }

    /// Counts for the dashboard; a count the caller may not see stays zero.
    pub async fn dashboard_counts(&self, caller: &Caller) -> ServiceResult<DashboardCounts> {
        let p = &caller.principal;
        let mut reader = self.read().await?;
        let conn = reader.conn();
        let mut counts = DashboardCounts::default();
        if p.has(crate::users::VIEW) {
            counts.users = garrison_store::users::count(conn).await?;
        }
        if p.has(crate::groups::VIEW) {
            counts.groups = garrison_store::groups::count(conn).await?;
        }
        if p.has("authentik_rbac.view_role") {
            counts.roles = garrison_store::roles::count(conn).await?;
        }
        if p.has("authentik_core.view_token") {
            counts.tokens = garrison_store::tokens::count(conn).await?;
        }
        if p.has(VIEW) {
            let since = Utc::now() - chrono::Duration::hours(24);
            counts.events_24h = store::count(
                conn,
                &store::EventFilter {
                    since: Some(since),
                    ..Default::default()
                },
            )
            .await?;
        }
        Ok(counts)
    }
}
