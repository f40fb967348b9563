//! The applications pages: what users reach, each with the provider that serves it (an
//! outpost lists only providers that have an application), and one application's settings.
use garrison_model::Application;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{OtherFieldErrors, PagedList, list_params};
use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{
    CreateApplication, DeleteApplication, ProviderChoice, UiError, UpdateApplication,
    get_application, list_applications, provider_choices,
};

/// The fields the application forms show errors next to; errors about others are listed apart.
const APPLICATION_FIELDS: &[&str] = &["name", "slug", "provider", "meta_launch_url"];

/// The provider's name, from the choices the page loaded (a number when it is not among them).
fn provider_name(choices: &[ProviderChoice], pk: i64) -> String {
    choices
        .iter()
        .find(|p| p.pk == pk)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| format!("provider {pk}"))
}

/// The launch URL as a link when it is a web address; anything else (the service accepts any
/// URL, `javascript:` included) is shown as text, never followed.
fn launch_link(url: String) -> impl IntoView {
    if url.starts_with("https://") || url.starts_with("http://") {
        let text = url.clone();
        view! { <a href=url rel="noopener noreferrer">{text}</a> }.into_any()
    } else {
        view! { <span>{url}</span> }.into_any()
    }
}

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let (page, search) = list_params();
    let applications = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_applications(p, s),
    );
    let providers = Resource::new(|| (), |_| provider_choices());
    let create = ServerAction::<CreateApplication>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Title text="Applications · Garrison"/>
        <div class="page-head">
            <h1>"Applications"</h1>
        </div>
        <PagedList list=applications base="/applications" search table=move |applications| {
            let providers = providers.get().and_then(Result::ok).unwrap_or_default();
            view! { <ApplicationTable applications providers/> }
        }/>
        <section class="card">
            <h2>"New application"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-application">
                <CsrfField/>
                <FormError error/>
                <OtherFieldErrors error shown=APPLICATION_FIELDS/>
                <ApplicationInputs application=None providers error/>
                <div class="actions"><button type="submit" class="primary">"Create application"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
fn ApplicationTable(
    applications: Vec<Application>,
    providers: Vec<ProviderChoice>,
) -> impl IntoView {
    if applications.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No applications yet."</p>
                <p>"An application is what users reach. Its provider says how (a proxy, LDAP, \
                    RADIUS or remote access), and outposts serve providers that have one."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="applications">
            <thead><tr><th>"Name"</th><th>"Slug"</th><th>"Provider"</th><th>"Launch URL"</th></tr></thead>
            <tbody>
                {applications.into_iter().map(|a| {
                    let provider = match a.provider {
                        Some(pk) => view! {
                            <a href=format!("/providers/{pk}")>{provider_name(&providers, pk)}</a>
                        }.into_any(),
                        None => view! { <span class="hint">"none"</span> }.into_any(),
                    };
                    let launch = launch_link(a.meta_launch_url.clone());
                    view! {
                        <tr>
                            <td><a href=format!("/applications/{}", a.slug)>{a.name.clone()}</a></td>
                            <td><code>{a.slug.clone()}</code></td>
                            <td>{provider}</td>
                            <td>{launch}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Name, slug, provider and launch URL: what both application forms offer.
#[component]
fn ApplicationInputs(
    application: Option<Application>,
    providers: Resource<Result<Vec<ProviderChoice>, UiError>>,
    error: Signal<Option<UiError>>,
) -> impl IntoView {
    let field = |f: fn(&Application) -> String| application.as_ref().map(f).unwrap_or_default();
    let name = field(|a| a.name.clone());
    let slug = field(|a| a.slug.clone());
    let launch = field(|a| a.meta_launch_url.clone());
    let selected = application.as_ref().and_then(|a| a.provider);
    view! {
        <label>"Name" <input type="text" name="name" required value=name/></label>
        <FieldError error field="name"/>
        <label>"Slug" <input type="text" name="slug" required value=slug/></label>
        <p class="hint">"Letters, digits, - and _: it names the application in URLs."</p>
        <FieldError error field="slug"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || providers.get().map(|choices| view! { <ProviderSelect choices selected/> })}
        </Suspense>
        <FieldError error field="provider"/>
        <label>"Launch URL (optional)"
            <input type="text" name="meta_launch_url" value=launch placeholder="https://app.example.com"/>
        </label>
        <FieldError error field="meta_launch_url"/>
    }
}

/// The provider serving the application, or none.
#[component]
fn ProviderSelect(
    choices: Result<Vec<ProviderChoice>, UiError>,
    selected: Option<i64>,
) -> impl IntoView {
    match choices {
        // Without the list, keep the current provider rather than clear it.
        Err(e) => view! {
            <input type="hidden" name="provider" value=selected.map(|pk| pk.to_string()).unwrap_or_default()/>
            <LoadError error=e/>
        }
        .into_any(),
        Ok(choices) => view! {
            <label>"Provider"
                <select name="provider">
                    <option value="" selected=selected.is_none()>"None"</option>
                    {choices.into_iter().map(|p| {
                        let chosen = selected == Some(p.pk);
                        view! {
                            <option value=p.pk.to_string() selected=chosen>{format!("{} ({})", p.name, p.kind.as_str())}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
        }
        .into_any(),
    }
}

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let application = Resource::new(slug, get_application);
    let providers = Resource::new(|| (), |_| provider_choices());
    let update = ServerAction::<UpdateApplication>::new();
    let delete = ServerAction::<DeleteApplication>::new();
    // Saving redirects to the application's page; when the slug stayed, that is this page, so
    // it loads the application again itself.
    Effect::new(move |_| {
        if update.value().get().is_some_and(|r| r.is_ok()) {
            application.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || application.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(a) => view! { <ApplicationDetail application=a providers update delete/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn ApplicationDetail(
    application: Application,
    providers: Resource<Result<Vec<ProviderChoice>, UiError>>,
    update: ServerAction<UpdateApplication>,
    delete: ServerAction<DeleteApplication>,
) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let title = format!("{} · Applications · Garrison", application.name);
    let name = application.name.clone();
    let slug = application.slug.clone();
    let delete_slug = application.slug.clone();
    let current = Some(application);
    view! {
        <Title text=title/>
        <div class="page-head">
            <h1>{name}</h1>
            <a href="/applications">"All applications"</a>
        </div>
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:class="form" attr:data-testid="edit-application">
                <CsrfField/>
                <input type="hidden" name="current_slug" value=slug/>
                <FormError error/>
                <OtherFieldErrors error shown=APPLICATION_FIELDS/>
                <ApplicationInputs application=current providers error/>
                <div class="actions"><button type="submit" class="primary">"Save"</button></div>
            </ActionForm>
        </section>
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <p class="hint">"Its provider is left without an application, so outposts stop serving it."</p>
            <ActionForm action=delete attr:class="inline">
                <CsrfField/>
                <input type="hidden" name="slug" value=delete_slug/>
                <button type="submit" class="danger">"Delete application"</button>
            </ActionForm>
            <FormError error=delete_error/>
        </section>
    }
}
