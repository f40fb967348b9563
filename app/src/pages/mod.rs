mod applications;
mod auth;
mod blueprints;
mod brands;
mod certificates;
mod dashboard;
mod events;
mod groups;
mod integrations;
mod misc;
mod outposts;
mod plugins;
mod providers;
mod users;

pub use applications::{ApplicationPage, ApplicationsPage};
pub use auth::{LoginPage, SetupPage};
pub use blueprints::{BlueprintPage, BlueprintsPage, NewBlueprintPage};
pub use brands::{BrandPage, BrandsPage};
pub use certificates::{CertificatePage, CertificatesPage};
pub use dashboard::DashboardPage;
pub use events::EventsPage;
pub use groups::{GroupFormPage, GroupsPage};
pub use integrations::IntegrationsPage;
pub use misc::NotFound;
pub use outposts::{OutpostPage, OutpostsPage};
pub use plugins::{PluginPage, PluginsPage};
pub use providers::{ProviderPage, ProvidersPage};
pub use users::{UserFormPage, UsersPage};

use garrison_model::FieldErrors;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{LoadError, Pager, SearchBox};
use crate::functions::UiError;

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

/// A small label; `class` is one of the badge classes (`badge ok`, `badge warn`, …).
/// `2026-12-01 13:05 UTC` (with `seconds`, `…13:05:09 UTC`). Written out by hand: chrono's
/// `format` brings its whole strftime machinery into the browser bundle.
pub(crate) fn utc_time(at: chrono::DateTime<chrono::Utc>, seconds: bool) -> String {
    use chrono::{Datelike, Timelike};
    let date = format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day());
    match seconds {
        true => format!("{date} {} UTC", clock(at)),
        false => format!("{date} {:02}:{:02} UTC", at.hour(), at.minute()),
    }
}

/// `13:05:09`.
pub(crate) fn clock(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

pub(crate) fn badge(class: &'static str, text: String) -> impl IntoView {
    view! { <span class=class>{text}</span> }
}

/// True once the page has hydrated. What only makes sense with JavaScript (hiding inputs
/// that do not apply to the chosen kind) waits for it, so without JavaScript everything shows.
pub(crate) fn hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}

/// Field errors about fields the form does not show (a kind's setting left at its default,
/// say), so that no refusal goes unexplained.
#[component]
pub(crate) fn OtherFieldErrors(
    error: Signal<Option<UiError>>,
    shown: &'static [&'static str],
) -> impl IntoView {
    move || {
        let Some(UiError::Invalid(errors)) = error.get() else {
            return None;
        };
        let messages: Vec<String> = errors
            .0
            .iter()
            .filter(|(field, _)| {
                field.as_str() != FieldErrors::NON_FIELD && !shown.contains(&field.as_str())
            })
            .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
            .collect();
        (!messages.is_empty())
            .then(|| view! { <p class="form-error" role="alert">{messages.join(" ")}</p> })
    }
}

/// A list page's body: the search box, then the current page drawn by `table` with its pager,
/// or why the page could not be read.
#[component]
pub(crate) fn PagedList<T, F, V>(
    list: Resource<Result<garrison_model::Page<T>, UiError>>,
    base: &'static str,
    search: Memo<String>,
    table: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(Vec<T>) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <SearchBox value=search.get_untracked()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let table = table.clone();
                list.get().map(move |result| match result {
                    Ok(p) => {
                        let total = p.total_pages();
                        view! {
                            {table(p.items)}
                            <Pager base=base page=p.request.page total_pages=total count=p.count query=search_suffix(&search.get_untracked())/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })
            }}
        </Suspense>
    }
}
