mod auth;
mod dashboard;
mod events;
mod groups;
mod misc;
mod plugins;
mod users;

pub use auth::{LoginPage, SetupPage};
pub use dashboard::DashboardPage;
pub use events::EventsPage;
pub use groups::{GroupFormPage, GroupsPage};
pub use misc::{NotFound, Upcoming};
pub use plugins::{PluginPage, PluginsPage};
pub use users::{UserFormPage, UsersPage};

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `page` and `search` from the URL.
pub(crate) fn list_params() -> (Memo<u64>, Memo<String>) {
    let query = use_query_map();
    let page = Memo::new(move |_| {
        query.with(|q| q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1u64))
    });
    let search = Memo::new(move |_| query.with(|q| q.get("search").unwrap_or_default()));
    (page, search)
}

pub(crate) fn search_suffix(search: &str) -> String {
    if search.is_empty() {
        String::new()
    } else {
        let encoded: String = search
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("&search={encoded}")
    }
}
