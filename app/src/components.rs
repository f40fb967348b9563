//! Pieces every page uses: the layout, CSRF field, field errors, pager and search box.
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

use crate::functions::{UiError, current_user};

/// The CSRF token of this browser: from the request on the server, from the page's
/// `<meta name="csrf-token">` in the browser, so both render the same value.
pub fn csrf_token() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .extensions
                    .get::<garrison_web::csrf::CsrfToken>()
                    .map(|t| t.0.clone())
            })
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        document()
            .query_selector("meta[name=csrf-token]")
            .ok()
            .flatten()
            .and_then(|element| element.get_attribute("content"))
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// The hidden field every state-changing form carries.
#[component]
pub fn CsrfField() -> impl IntoView {
    view! { <input type="hidden" name="csrf_token" value=csrf_token()/> }
}

const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/outposts", "Outposts"),
    ("/integrations", "Integrations"),
    ("/providers", "Providers"),
    ("/applications", "Applications"),
    ("/certificates", "Keypairs"),
    ("/brands", "Brands"),
    ("/blueprints", "Blueprints"),
    ("/plugins", "Plugins"),
    ("/events", "Events"),
    ("/users", "Users"),
    ("/groups", "Groups"),
];

#[component]
pub fn Layout() -> impl IntoView {
    let who = Resource::new(|| (), |_| current_user());
    view! {
        <div class="shell">
            <aside class="sidebar">
                <a class="brand" href="/">"Garrison"</a>
                <nav aria-label="Main">
                    {NAV.iter().map(|(href, label)| view! { <A href=*href exact=true>{*label}</A> }).collect_view()}
                </nav>
            </aside>
            <div class="main">
                <header class="topbar">
                    <Suspense fallback=|| ()>
                        {move || who.get().and_then(|r| r.ok()).flatten().map(|m| view! {
                            <span class="who" data-testid="current-user">
                                {m.username}
                                {m.is_superuser.then(|| view! { <span class="badge">"admin"</span> })}
                            </span>
                        })}
                    </Suspense>
                    // A plain form, not an ActionForm: logging out is a full page load, so the
                    // next page carries a CSRF token for the browser's new (anonymous) state.
                    <form method="post" action="/ui-fn/logout" class="logout">
                        <CsrfField/>
                        <button type="submit" class="link">"Log out"</button>
                    </form>
                </header>
                <main class="content">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

/// Messages for one field, shown under its input.
#[component]
pub fn FieldError(error: Signal<Option<UiError>>, field: &'static str) -> impl IntoView {
    move || {
        let messages = error.get().map(|e| e.field(field)).unwrap_or_default();
        (!messages.is_empty())
            .then(|| view! { <p class="field-error" role="alert">{messages.join(" ")}</p> })
    }
}

/// The message for a form as a whole.
#[component]
pub fn FormError(error: Signal<Option<UiError>>) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|e| e.general())
            .map(|m| view! { <p class="form-error" role="alert">{m}</p> })
    }
}

/// Previous/next links that keep the current search.
#[component]
pub fn Pager(
    base: &'static str,
    page: u64,
    total_pages: u64,
    count: u64,
    query: String,
) -> impl IntoView {
    let link = move |p: u64| {
        let mut href = format!("{base}?page={p}");
        if !query.is_empty() {
            href.push_str(&query);
        }
        href
    };
    view! {
        <nav class="pager" aria-label="Pages">
            <span>{format!("{count} in all · page {page} of {total_pages}")}</span>
            {(page > 1).then(|| view! { <a href=link(page - 1)>"← Previous"</a> })}
            {(page < total_pages).then(|| view! { <a href=link(page + 1)>"Next →"</a> })}
        </nav>
    }
}

/// A GET search form: works the same with or without JavaScript.
#[component]
pub fn SearchBox(value: String) -> impl IntoView {
    view! {
        <form method="get" class="search" role="search">
            <input type="search" name="search" value=value placeholder="Search" aria-label="Search"/>
            <button type="submit">"Search"</button>
        </form>
    }
}

/// An error loading a page's data.
#[component]
pub fn LoadError(error: UiError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error.general().unwrap_or_else(|| error.to_string())}</p> }
}
