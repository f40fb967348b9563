//! The brands pages: what users see per domain, and the web certificate the embedded outpost
//! serves for it. Forms offer the domain, the default flag, the title and the web
//! certificate; flows, logos and the rest keep their values and are set through the API.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::{OtherFieldErrors, PagedList, badge, list_params};
use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{
    BrandRow, CertificateChoice, CreateBrand, DeleteBrand, UiError, UpdateBrand,
    certificate_choices, get_brand, list_brands,
};

/// The fields the brand forms show errors next to; errors about others are listed apart.
const BRAND_FIELDS: &[&str] = &["domain", "default", "branding_title", "web_certificate"];

/// The brand's web certificate as a link (its name when it could be read).
fn web_certificate_link(row: &BrandRow) -> impl IntoView + use<> {
    match row.brand.web_certificate {
        Some(uuid) => {
            let text = row
                .web_certificate_name
                .clone()
                .unwrap_or_else(|| uuid.to_string());
            view! { <a href=format!("/certificates/{uuid}")>{text}</a> }.into_any()
        }
        None => view! { <span class="hint">"none"</span> }.into_any(),
    }
}

#[component]
pub fn BrandsPage() -> impl IntoView {
    let (page, search) = list_params();
    let brands = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_brands(p, s),
    );
    let certificates = Resource::new(|| (), |_| certificate_choices());
    let create = ServerAction::<CreateBrand>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Title text="Brands · Garrison"/>
        <div class="page-head">
            <h1>"Brands"</h1>
        </div>
        <PagedList list=brands base="/brands" search table=|rows| view! { <BrandTable rows/> }/>
        <section class="card">
            <h2>"New brand"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-brand">
                <CsrfField/>
                <FormError error/>
                <OtherFieldErrors error shown=BRAND_FIELDS/>
                <BrandInputs brand=None certificates error/>
                <div class="actions"><button type="submit" class="primary">"Create brand"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
fn BrandTable(rows: Vec<BrandRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No brands yet."</p>
                <p>"A brand sets what users see on a domain (its title, logo and flows) and the \
                    web certificate the embedded outpost serves there. The default brand applies \
                    where no other matches."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="brands">
            <thead><tr><th>"Domain"</th><th>"Title"</th><th>"Default"</th><th>"Web certificate"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let title = row.title();
                    let certificate = web_certificate_link(&row);
                    let default = if row.brand.default {
                        view! { <span class="badge ok">"default"</span> }.into_any()
                    } else {
                        view! { <span class="hint">"no"</span> }.into_any()
                    };
                    view! {
                        <tr>
                            <td><a href=format!("/brands/{}", row.brand.pk)>{row.brand.domain.clone()}</a></td>
                            <td>{title}</td>
                            <td>{default}</td>
                            <td>{certificate}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Domain, default flag, title and web certificate: what both brand forms offer.
#[component]
fn BrandInputs(
    brand: Option<BrandRow>,
    certificates: Resource<Result<Vec<CertificateChoice>, UiError>>,
    error: Signal<Option<UiError>>,
) -> impl IntoView {
    let domain = brand
        .as_ref()
        .map(|b| b.brand.domain.clone())
        .unwrap_or_default();
    let is_default = brand.as_ref().is_some_and(|b| b.brand.default);
    // authentik's default title for a new brand.
    let title = brand
        .as_ref()
        .map(BrandRow::title)
        .unwrap_or_else(|| "authentik".into());
    let selected = brand.as_ref().and_then(|b| b.brand.web_certificate);
    let selected_name = brand.and_then(|b| b.web_certificate_name);
    view! {
        <label>"Domain"
            <input type="text" name="domain" required value=domain placeholder="auth.example.com"/>
        </label>
        <p class="hint">"Hosts ending with this domain get this brand."</p>
        <FieldError error field="domain"/>
        <label class="check">
            <input type="checkbox" name="is_default" checked=is_default/>
            " Default: for hosts no other brand matches"
        </label>
        <FieldError error field="default"/>
        <label>"Title" <input type="text" name="branding_title" required value=title/></label>
        <FieldError error field="branding_title"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || certificates.get().map(|choices| view! {
                <WebCertificateSelect choices selected selected_name=selected_name.clone()/>
            })}
        </Suspense>
        <p class="hint">"What the embedded outpost serves for this domain. Only keypairs with a \
           private key are offered."</p>
        <FieldError error field="web_certificate"/>
    }
}

/// The brand's web certificate, or none.
#[component]
fn WebCertificateSelect(
    choices: Result<Vec<CertificateChoice>, UiError>,
    selected: Option<Uuid>,
    selected_name: Option<String>,
) -> impl IntoView {
    match choices {
        // Without the list, keep the current certificate rather than clear it.
        Err(e) => view! {
            <input type="hidden" name="web_certificate" value=selected.map(|pk| pk.to_string()).unwrap_or_default()/>
            <LoadError error=e/>
        }
        .into_any(),
        Ok(choices) => {
            // The current certificate stays selectable when it is not offered (it has no key,
            // or the caller may not list it): saving the form must not drop it unasked.
            let unlisted = selected
                .filter(|pk| !choices.iter().any(|c| c.pk == *pk))
                .map(|pk| {
                    let text = selected_name.unwrap_or_else(|| pk.to_string());
                    view! { <option value=pk.to_string() selected=true>{text}</option> }
                });
            view! {
                <label>"Web certificate"
                    <select name="web_certificate">
                        <option value="" selected=selected.is_none()>"None"</option>
                        {unlisted}
                        {choices.into_iter().map(|c| {
                            let chosen = selected == Some(c.pk);
                            view! { <option value=c.pk.to_string() selected=chosen>{c.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }
            .into_any()
        }
    }
}

#[component]
pub fn BrandPage() -> impl IntoView {
    let params = use_params_map();
    let pk = move || params.with(|p| p.get("pk").unwrap_or_default());
    let brand = Resource::new(pk, get_brand);
    let certificates = Resource::new(|| (), |_| certificate_choices());
    let update = ServerAction::<UpdateBrand>::new();
    let delete = ServerAction::<DeleteBrand>::new();
    Effect::new(move |_| {
        if update.value().get().is_some_and(|r| r.is_ok()) {
            brand.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || brand.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(row) => view! { <BrandDetail row certificates update delete/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn BrandDetail(
    row: BrandRow,
    certificates: Resource<Result<Vec<CertificateChoice>, UiError>>,
    update: ServerAction<UpdateBrand>,
    delete: ServerAction<DeleteBrand>,
) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let saved = move || update.value().get().is_some_and(|r| r.is_ok());
    let pk = row.brand.pk.to_string();
    let delete_pk = pk.clone();
    let domain = row.brand.domain.clone();
    let page_title = format!("{} · Brands · Garrison", row.brand.domain);
    let title = row.title();
    let default_text = if row.brand.default {
        "yes: for hosts no other brand matches"
    } else {
        "no"
    };
    let default_badge = row
        .brand
        .default
        .then(|| badge("badge ok", "default".into()));
    let certificate = web_certificate_link(&row);
    let client_certificates = if row.brand.client_certificates.is_empty() {
        view! { <span class="hint">"none"</span> }.into_any()
    } else {
        view! {
            <ul class="links">
                {row.brand.client_certificates.iter().map(|uuid| view! {
                    <li><a href=format!("/certificates/{uuid}")><code>{uuid.to_string()}</code></a></li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let current = Some(row);
    view! {
        <Title text=page_title/>
        <div class="page-head">
            <h1>{domain} {default_badge}</h1>
            <a href="/brands">"All brands"</a>
        </div>
        <section class="card">
            <h2>"Brand"</h2>
            <dl class="facts">
                <dt>"Title"</dt><dd>{title}</dd>
                <dt>"Default"</dt><dd>{default_text}</dd>
                <dt>"Web certificate"</dt><dd>{certificate}</dd>
                <dt>"Client certificates"</dt><dd>{client_certificates}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:class="form" attr:data-testid="edit-brand">
                <CsrfField/>
                <input type="hidden" name="pk" value=pk/>
                <FormError error/>
                <OtherFieldErrors error shown=BRAND_FIELDS/>
                {move || saved().then(|| view! {
                    <p class="notice" role="status">"Saved."</p>
                })}
                <BrandInputs brand=current certificates error/>
                <div class="actions"><button type="submit" class="primary">"Save"</button></div>
            </ActionForm>
        </section>
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <p class="hint">"Its hosts get the default brand, and the embedded outpost stops serving its \
               web certificate for them."</p>
            <ActionForm action=delete attr:class="inline">
                <CsrfField/>
                <input type="hidden" name="pk" value=delete_pk/>
                <button type="submit" class="danger">"Delete brand"</button>
            </ActionForm>
            <FormError error=delete_error/>
        </section>
    }
}
