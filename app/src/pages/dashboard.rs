use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::LoadError;
use crate::functions::dashboard;

/// How often the counts refresh in the browser.
const REFRESH_MS: u64 = 10_000;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let counts = Resource::new(|| (), |_| dashboard());
    // Live counts: refetch on an interval once hydrated (the server render is a snapshot).
    Effect::new(move |_| {
        let _ = set_interval_with_handle(
            move || counts.refetch(),
            std::time::Duration::from_millis(REFRESH_MS),
        );
    });
    view! {
        <Title text="Dashboard · Garrison"/>
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || counts.get().map(|result| match result {
                Ok(c) => view! {
                    <section class="cards" data-testid="dashboard-counts">
                        <a class="card stat" href="/users"><span class="value">{c.users}</span><span class="label">"Users"</span></a>
                        <a class="card stat" href="/groups"><span class="value">{c.groups}</span><span class="label">"Groups"</span></a>
                        <div class="card stat"><span class="value">{c.roles}</span><span class="label">"Roles"</span></div>
                        <div class="card stat"><span class="value">{c.tokens}</span><span class="label">"API tokens"</span></div>
                        <a class="card stat" href="/events"><span class="value">{c.events_24h}</span><span class="label">"Events, last 24 h"</span></a>
                    </section>
                }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
    }
}
