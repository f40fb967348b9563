//! Garrison's admin UI: server-rendered Leptos pages that hydrate in the browser.
//!
//! Pages render data from server functions (`functions/`), which are thin: they identify
//! the caller and call `garrison-services`. Nothing here knows SQL. Every form is an
//! `ActionForm` that works without JavaScript (a plain POST, errors carried back in the URL)
//! and is enhanced when the bundle loads.
#![recursion_limit = "256"]

mod components;
pub mod functions;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::Layout;
use crate::pages::*;

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="csrf-token" content=components::csrf_token()/>
                <link rel="stylesheet" href="/static/garrison.css"/>
                <link rel="icon" href="/static/avatar.svg"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Garrison"/>
        // Every route waits for its data before the first byte (SsrMode::Async), so pages work
        // without JavaScript.
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/setup/:token") view=SetupPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("users/new") view=UserFormPage ssr=SsrMode::Async/>
                    <Route path=path!("users/:pk") view=UserFormPage ssr=SsrMode::Async/>
                    <Route path=path!("groups") view=GroupsPage ssr=SsrMode::Async/>
                    <Route path=path!("groups/new") view=GroupFormPage ssr=SsrMode::Async/>
                    <Route path=path!("groups/:pk") view=GroupFormPage ssr=SsrMode::Async/>
                    <Route path=path!("events") view=EventsPage ssr=SsrMode::Async/>
                    <Route path=path!("outposts") view=OutpostsPage ssr=SsrMode::Async/>
                    <Route path=path!("outposts/:pk") view=OutpostPage ssr=SsrMode::Async/>
                    <Route path=path!("integrations") view=IntegrationsPage ssr=SsrMode::Async/>
                    <Route path=path!("providers") view=ProvidersPage ssr=SsrMode::Async/>
                    <Route path=path!("providers/:pk") view=ProviderPage ssr=SsrMode::Async/>
                    <Route path=path!("applications") view=ApplicationsPage ssr=SsrMode::Async/>
                    <Route path=path!("applications/:slug") view=ApplicationPage ssr=SsrMode::Async/>
                    <Route path=path!("certificates") view=CertificatesPage ssr=SsrMode::Async/>
                    <Route path=path!("certificates/:pk") view=CertificatePage ssr=SsrMode::Async/>
                    <Route path=path!("brands") view=BrandsPage ssr=SsrMode::Async/>
                    <Route path=path!("brands/:pk") view=BrandPage ssr=SsrMode::Async/>
                    <Route path=path!("blueprints") view=BlueprintsPage ssr=SsrMode::Async/>
                    <Route path=path!("blueprints/new") view=NewBlueprintPage ssr=SsrMode::Async/>
                    <Route path=path!("blueprints/:uuid") view=BlueprintPage ssr=SsrMode::Async/>
                    <Route path=path!("plugins") view=PluginsPage ssr=SsrMode::Async/>
                    <Route path=path!("plugins/:name") view=PluginPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
