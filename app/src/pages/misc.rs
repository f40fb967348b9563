use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Garrison"/>
        <main class="auth">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}

/// A section whose objects this release does not manage yet, said plainly.
#[component]
pub fn Upcoming(title: &'static str) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Garrison")/>
        <h1>{title}</h1>
        <div class="card empty">
            <p>{format!("{title} are not managed by this version of Garrison yet.")}</p>
            <p>"Users, groups and the audit log are available now."</p>
        </div>
    }
}
