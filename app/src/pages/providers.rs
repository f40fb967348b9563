//! The providers pages: what outposts serve, which application uses each and how many
//! outposts serve it, and one provider's settings. Forms offer the fields an operator needs
//! to get a provider working; the rest keep authentik's defaults and are set through the API.
use garrison_model::{Provider, ProviderKind, ProviderSettings};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{OtherFieldErrors, PagedList, hydrated, list_params};
use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{
    CreateProvider, DeleteProvider, UiError, UpdateProvider, get_provider, list_providers,
};

/// The fields the provider forms show errors next to; errors about others are listed apart.
const PROVIDER_FIELDS: &[&str] = &[
    "name",
    "kind",
    "authorization_flow",
    "external_host",
    "internal_host",
    "mode",
    "base_dn",
    "client_networks",
];

/// A proxy provider's modes as authentik names them, with what they mean.
const PROXY_MODES: [(&str, &str); 3] = [
    (
        "proxy",
        "Proxy: the outpost sits in front of the application",
    ),
    ("forward_single", "Forward auth for one application"),
    ("forward_domain", "Forward auth for a whole domain"),
];

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let (page, search) = list_params();
    let providers = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_providers(p, s),
    );
    let create = ServerAction::<CreateProvider>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let hydrated = hydrated();
    let (kind, set_kind) = signal(ProviderKind::Proxy.as_str().to_owned());
    view! {
        <Title text="Providers · Garrison"/>
        <div class="page-head">
            <h1>"Providers"</h1>
        </div>
        <PagedList list=providers base="/providers" search table=|providers| view! { <ProviderTable providers/> }/>
        <section class="card">
            <h2>"New provider"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-provider">
                <CsrfField/>
                <FormError error/>
                <OtherFieldErrors error shown=PROVIDER_FIELDS/>
                <label>"Name" <input type="text" name="name" required/></label>
                <FieldError error field="name"/>
                <label>"Kind"
                    <select name="kind" on:change=move |ev| set_kind.set(event_target_value(&ev))>
                        {ProviderKind::ALL.into_iter().map(|k| view! {
                            <option value=k.as_str()>{k.verbose_name()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <FieldError error field="kind"/>
                <AuthorizationFlowInput value=String::new() error/>
                {move || (!hydrated.get()).then(|| view! {
                    <p class="hint">"Fill in the fields of the kind you chose; the others are ignored."</p>
                })}
                {ProviderKind::ALL.into_iter().map(|k| view! {
                    <fieldset class="choices" hidden=move || hydrated.get() && kind.get() != k.as_str()>
                        <legend>{k.verbose_name()}</legend>
                        <KindInputs settings=ProviderSettings::defaults(k) error/>
                    </fieldset>
                }).collect_view()}
                <div class="actions"><button type="submit" class="primary">"Create provider"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
fn ProviderTable(providers: Vec<Provider>) -> impl IntoView {
    if providers.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No providers yet."</p>
                <p>"A provider describes what an outpost serves: a proxy in front of an \
                    application, an LDAP directory, a RADIUS server or remote access. Create one \
                    below, then an application that uses it and an outpost that serves it."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="providers">
            <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Application"</th><th class="num">"Outposts"</th></tr></thead>
            <tbody>
                {providers.into_iter().map(|p| view! {
                    <tr>
                        <td><a href=format!("/providers/{}", p.pk)>{p.name.clone()}</a></td>
                        <td>{p.kind.verbose_name()}</td>
                        <td><ApplicationLink application=p.application.clone()/></td>
                        <td class="num">{p.outposts.len()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The application a provider serves, `(slug, name)`, as a link.
#[component]
fn ApplicationLink(application: Option<(String, String)>) -> impl IntoView {
    match application {
        Some((slug, name)) => {
            view! { <a href=format!("/applications/{slug}")>{name}</a> }.into_any()
        }
        None => view! { <span class="hint">"none"</span> }.into_any(),
    }
}

/// Flows stay with the identity provider: a provider only keeps the reference, for outposts
/// and authentik's clients.
#[component]
fn AuthorizationFlowInput(value: String, error: Signal<Option<UiError>>) -> impl IntoView {
    view! {
        <label>"Authorization flow (optional)"
            <input type="text" name="authorization_flow" value=value placeholder="UUID of the flow"/>
        </label>
        <FieldError error field="authorization_flow"/>
    }
}

/// The kind's own settings the forms offer, filled from `settings`; the rest keep their
/// values (or authentik's defaults) and are set through the API.
#[component]
fn KindInputs(settings: ProviderSettings, error: Signal<Option<UiError>>) -> impl IntoView {
    match settings {
        ProviderSettings::Proxy(proxy) => {
            let mode = serde_json::to_value(proxy.mode)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default();
            view! {
                <label>"External host"
                    <input type="text" name="external_host" value=proxy.external_host placeholder="https://app.example.com"/>
                </label>
                <FieldError error field="external_host"/>
                <label>"Internal host"
                    <input type="text" name="internal_host" value=proxy.internal_host placeholder="http://app.internal:8080"/>
                </label>
                <p class="hint">"Where the outpost sends requests; forward auth does not need it."</p>
                <FieldError error field="internal_host"/>
                <label>"Mode"
                    <select name="mode">
                        {PROXY_MODES.into_iter().map(|(value, label)| {
                            let chosen = value == mode;
                            view! { <option value=value selected=chosen>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <FieldError error field="mode"/>
            }
            .into_any()
        }
        ProviderSettings::Ldap(ldap) => view! {
            <label>"Base DN" <input type="text" name="base_dn" value=ldap.base_dn/></label>
            <FieldError error field="base_dn"/>
        }
        .into_any(),
        ProviderSettings::Radius(radius) => view! {
            <label>"Client networks"
                <input type="text" name="client_networks" value=radius.client_networks/>
            </label>
            <p class="hint">"Comma-separated networks or addresses that may send requests. The shared secret is generated."</p>
            <FieldError error field="client_networks"/>
        }
        .into_any(),
        ProviderSettings::Rac(_) => view! {
            <p class="hint">"Nothing more to set here: connection settings are set through the API."</p>
        }
        .into_any(),
    }
}

#[component]
pub fn ProviderPage() -> impl IntoView {
    let params = use_params_map();
    let pk = move || params.with(|p| p.get("pk").unwrap_or_default());
    let provider = Resource::new(pk, get_provider);
    let update = ServerAction::<UpdateProvider>::new();
    let delete = ServerAction::<DeleteProvider>::new();
    Effect::new(move |_| {
        if update.value().get().is_some_and(|r| r.is_ok()) {
            provider.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || provider.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(p) => view! { <ProviderDetail provider=p update delete/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn ProviderDetail(
    provider: Provider,
    update: ServerAction<UpdateProvider>,
    delete: ServerAction<DeleteProvider>,
) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let saved = move || update.value().get().is_some_and(|r| r.is_ok());
    let p = provider;
    let flow = p
        .authorization_flow
        .map(|uuid| uuid.to_string())
        .unwrap_or_default();
    let outposts = if p.outposts.is_empty() {
        view! { <span class="hint">"none"</span> }.into_any()
    } else {
        view! {
            <ul class="links">
                {p.outposts.iter().map(|uuid| view! {
                    <li><a href=format!("/outposts/{uuid}")><code>{uuid.to_string()}</code></a></li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <Title text=format!("{} · Providers · Garrison", p.name)/>
        <div class="page-head">
            <h1>{p.name.clone()} <span class="badge">{p.kind.as_str()}</span></h1>
            <a href="/providers">"All providers"</a>
        </div>
        <section class="card">
            <h2>"Provider"</h2>
            <dl class="facts">
                <dt>"Kind"</dt><dd>{p.kind.verbose_name()}</dd>
                <dt>"Application"</dt><dd><ApplicationLink application=p.application.clone()/></dd>
                <dt>"Served by"</dt><dd>{outposts}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:class="form" attr:data-testid="edit-provider">
                <CsrfField/>
                <input type="hidden" name="pk" value=p.pk.to_string()/>
                <input type="hidden" name="kind" value=p.kind.as_str()/>
                <FormError error/>
                <OtherFieldErrors error shown=PROVIDER_FIELDS/>
                {move || saved().then(|| view! {
                    <p class="notice" role="status">"Saved. Outposts serving it are told to fetch it again."</p>
                })}
                <label>"Name" <input type="text" name="name" required value=p.name.clone()/></label>
                <FieldError error field="name"/>
                <AuthorizationFlowInput value=flow error/>
                <KindInputs settings=p.settings.clone() error/>
                <div class="actions"><button type="submit" class="primary">"Save"</button></div>
            </ActionForm>
        </section>
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <p class="hint">"Outposts serving it stop serving it, and its application is left without a provider."</p>
            <ActionForm action=delete attr:class="inline">
                <CsrfField/>
                <input type="hidden" name="pk" value=p.pk.to_string()/>
                <button type="submit" class="danger">"Delete provider"</button>
            </ActionForm>
            <FormError error=delete_error/>
        </section>
    }
}
