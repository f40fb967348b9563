use garrison_model::{Event, EventAction};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{list_params, search_suffix};
use crate::components::{LoadError, Pager};
use crate::functions::list_events;

/// "group admins (authentik_core.group)" from an event's context, when it is about a model.
fn subject(event: &Event) -> String {
    let model = event
        .context
        .get("model")
        .or_else(|| event.context.get("secret"));
    match model {
        Some(m) => format!(
            "{} ({}.{})",
            m.get("name").and_then(|v| v.as_str()).unwrap_or(""),
            m.get("app").and_then(|v| v.as_str()).unwrap_or(""),
            m.get("model_name").and_then(|v| v.as_str()).unwrap_or("")
        ),
        None => String::new(),
    }
}

fn changed_fields(event: &Event) -> String {
    event
        .context
        .get("diff")
        .and_then(|d| d.as_object())
        .map(|d| d.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

#[component]
pub fn EventsPage() -> impl IntoView {
    let (page, search) = list_params();
    let query = use_query_map();
    let action = Memo::new(move |_| query.with(|q| q.get("action").unwrap_or_default()));
    let events = Resource::new(
        move || (page.get(), search.get(), action.get()),
        |(p, s, a)| list_events(p, s, a),
    );
    view! {
        <Title text="Events · Garrison"/>
        <h1>"Events"</h1>
        <form method="get" class="search" role="search">
            <input type="search" name="search" value=search.get_untracked() placeholder="Search" aria-label="Search"/>
            <select name="action" aria-label="Action">
                <option value="">"All actions"</option>
                {EventAction::ALL.into_iter().map(|a| view! {
                    <option value=a.as_str() selected=action.get_untracked() == a.as_str()>{a.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || events.get().map(|result| match result {
                Ok(p) => {
                    let total = p.total_pages();
                    let mut suffix = search_suffix(&search.get_untracked());
                    if !action.get_untracked().is_empty() {
                        suffix.push_str(&format!("&action={}", action.get_untracked()));
                    }
                    view! {
                        <table class="list" data-testid="events">
                            <thead><tr><th>"When"</th><th>"Action"</th><th>"User"</th><th>"Object"</th><th>"Changed"</th><th>"Client"</th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|e| view! {
                                    <tr>
                                        <td>{super::utc_time(e.created, true)}</td>
                                        <td><span class=format!("action {}", e.action)>{e.action.clone()}</span></td>
                                        <td>{e.user.get("username").and_then(|v| v.as_str()).unwrap_or("").to_owned()}</td>
                                        <td>{subject(&e)}</td>
                                        <td>{changed_fields(&e)}</td>
                                        <td>{e.client_ip.clone().unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager base="/events" page=p.request.page total_pages=total count=p.count query=suffix/>
                    }.into_any()
                }
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
    }
}
