use chrono::Utc;
use garrison_model::{DashboardCounts, Event, ListQuery, Page};
use garrison_store::events as store;
use uuid::Uuid;

use crate::authz::{Caller, Visibility};
use crate::validate;
use crate::{ServiceError, ServiceResult, Services};

pub(crate) const VIEW: &str = "authentik_events.view_event";

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
