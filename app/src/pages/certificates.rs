//! The keypairs pages: certificates with, optionally, their private keys (what proxy outposts
//! serve TLS with, LDAP providers present and brands serve as web certificate), and one
//! keypair's facts, what uses it, its certificate and, on request only, its private key.
use garrison_model::CertificateKeyPair;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{OtherFieldErrors, PagedList, badge, list_params};
use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{
    CertificateInfo, CertificateRow, CertificateUses, DeleteCertificate, EXPIRY_WARNING_DAYS,
    Expiry, GenerateCertificate, RenameCertificate, ShowPrivateKey, UiError, UploadCertificate,
    certificate_pem, get_certificate, list_certificates, take_shown_private_key,
};

/// The fields each form shows errors next to; errors about others are listed apart.
const GENERATE_FIELDS: &[&str] = &["common_name", "subject_alt_name", "validity_days", "alg"];
const UPLOAD_FIELDS: &[&str] = &["name", "certificate_data", "key_data"];
const RENAME_FIELDS: &[&str] = &["name"];

/// Enough of a fingerprint to tell pairs apart at a glance: its first 8 bytes.
fn short_fingerprint(fingerprint: &str) -> String {
    const SHOWN: usize = 8 * 3 - 1;
    if fingerprint.chars().count() > SHOWN {
        format!("{}…", fingerprint.chars().take(SHOWN).collect::<String>())
    } else {
        fingerprint.to_owned()
    }
}

fn expiry_date(keypair: &CertificateKeyPair) -> String {
    super::utc_time(keypair.cert_expiry, false)
}

fn expiry_badge(expiry: Expiry) -> Option<impl IntoView> {
    match expiry {
        Expiry::Valid => None,
        Expiry::Soon => Some(badge(
            "badge warn",
            format!("expires soon (<{EXPIRY_WARNING_DAYS} days)"),
        )),
        Expiry::Expired => Some(badge("badge bad", "expired".into())),
    }
}

/// `days` whole days from the server's now, as the expiry fact says it.
fn days_from_now(days: i64, expiry: Expiry) -> String {
    match (expiry, days) {
        (Expiry::Expired, 0) => "expired today".into(),
        (Expiry::Expired, -1) => "1 day ago".into(),
        (Expiry::Expired, days) => format!("{} days ago", days.saturating_neg()),
        (_, 0) => "within a day".into(),
        (_, 1) => "in 1 day".into(),
        (_, days) => format!("in {days} days"),
    }
}

fn managed_label(managed: &Option<String>) -> impl IntoView + use<> {
    match managed {
        Some(by) => {
            view! { <span class="badge muted" title=by.clone()>"managed"</span> }.into_any()
        }
        None => view! { <span class="hint">"no"</span> }.into_any(),
    }
}

/// The PEM as a `data:` link, so the browser saves it without another request (or JavaScript).
fn pem_data_url(pem: &str) -> String {
    let mut url = String::from("data:application/x-pem-file;charset=utf-8,");
    for byte in pem.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_') {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// A file name from the pair's name: what a file system accepts everywhere.
fn pem_file_name(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_matches('.');
    if stem.is_empty() {
        "certificate.pem".into()
    } else {
        format!("{stem}.pem")
    }
}

#[component]
pub fn CertificatesPage() -> impl IntoView {
    let (page, search) = list_params();
    let certificates = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_certificates(p, s),
    );
    let generate = ServerAction::<GenerateCertificate>::new();
    let upload = ServerAction::<UploadCertificate>::new();
    let generate_error = Signal::derive(move || generate.value().get().and_then(Result::err));
    let upload_error = Signal::derive(move || upload.value().get().and_then(Result::err));
    view! {
        <Title text="Keypairs · Garrison"/>
        <div class="page-head">
            <h1>"Certificate keypairs"</h1>
        </div>
        <PagedList list=certificates base="/certificates" search table=|rows| view! { <CertificateTable rows/> }/>
        <div class="columns">
            <ActionForm action=generate attr:class="card form" attr:data-testid="generate-certificate">
                <h2>"Generate"</h2>
                <p class="hint">"A self-signed certificate and its private key, named after the common name."</p>
                <CsrfField/>
                <FormError error=generate_error/>
                <OtherFieldErrors error=generate_error shown=GENERATE_FIELDS/>
                <label>"Common name"
                    <input type="text" name="common_name" required placeholder="auth.example.com"/>
                </label>
                <FieldError error=generate_error field="common_name"/>
                <label>"Subject alt names (optional)"
                    <input type="text" name="subject_alt_name" placeholder="auth.example.com, 192.0.2.10"/>
                </label>
                <p class="hint">"Comma-separated DNS names or IP addresses."</p>
                <FieldError error=generate_error field="subject_alt_name"/>
                <label>"Validity (days)"
                    <input type="number" name="validity_days" min="1" required value="365"/>
                </label>
                <FieldError error=generate_error field="validity_days"/>
                <label>"Key algorithm"
                    <select name="alg">
                        <option value="rsa">"RSA (2048 bits)"</option>
                        <option value="ecdsa">"ECDSA (P-256)"</option>
                    </select>
                </label>
                <FieldError error=generate_error field="alg"/>
                <div class="actions"><button type="submit" class="primary">"Generate keypair"</button></div>
            </ActionForm>
            <ActionForm action=upload attr:class="card form" attr:data-testid="upload-certificate">
                <h2>"Upload"</h2>
                <p class="hint">"A certificate you already have, with its private key if this server is to serve it."</p>
                <CsrfField/>
                <FormError error=upload_error/>
                <OtherFieldErrors error=upload_error shown=UPLOAD_FIELDS/>
                <label>"Name" <input type="text" name="name" required/></label>
                <FieldError error=upload_error field="name"/>
                <label>"Certificate (PEM)"
                    <textarea name="certificate_data" rows="8" spellcheck="false" required placeholder="-----BEGIN CERTIFICATE-----"></textarea>
                </label>
                <p class="hint">"The certificate first, then its chain, if any."</p>
                <FieldError error=upload_error field="certificate_data"/>
                <label>"Private key (PEM, optional)"
                    <textarea name="key_data" rows="6" spellcheck="false" autocomplete="off" placeholder="-----BEGIN PRIVATE KEY-----"></textarea>
                </label>
                <p class="hint">"Without a passphrase. It is stored sealed and shown again only on \
                   request, and each showing is recorded in the event log."</p>
                <FieldError error=upload_error field="key_data"/>
                <div class="actions"><button type="submit" class="primary">"Upload keypair"</button></div>
            </ActionForm>
        </div>
    }
}

#[component]
fn CertificateTable(rows: Vec<CertificateRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No keypairs yet."</p>
                <p>"A keypair is a certificate with, optionally, its private key. Proxy outposts \
                    serve TLS with their providers' keypairs, LDAP providers present one to their \
                    clients, and a brand's web certificate is what the embedded outpost serves for \
                    its domain. Generate a self-signed one or upload your own below."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="certificates">
            <thead>
                <tr>
                    <th>"Name"</th><th>"Subject"</th><th>"Fingerprint (SHA-256)"</th>
                    <th>"Expires"</th><th>"Private key"</th><th>"Managed"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let k = row.keypair;
                    view! {
                        <tr>
                            <td><a href=format!("/certificates/{}", k.pk)>{k.name.clone()}</a></td>
                            <td><code>{k.cert_subject.clone()}</code></td>
                            <td>
                                <code class="digest" title=k.fingerprint_sha256.clone()>
                                    {short_fingerprint(&k.fingerprint_sha256)}
                                </code>
                            </td>
                            <td>{expiry_date(&k)} " " {expiry_badge(row.expiry)}</td>
                            <td>{if k.private_key_available { "yes" } else { "no" }}</td>
                            <td>{managed_label(&k.managed)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn CertificatePage() -> impl IntoView {
    let params = use_params_map();
    let pk = move || params.with(|p| p.get("pk").unwrap_or_default());
    let certificate = Resource::new(pk, get_certificate);
    let pem = Resource::new(pk, certificate_pem);
    let shown_key = Resource::new(pk, take_shown_private_key);
    let rename = ServerAction::<RenameCertificate>::new();
    let show_key = ServerAction::<ShowPrivateKey>::new();
    let delete = ServerAction::<DeleteCertificate>::new();
    Effect::new(move |_| {
        if rename.value().get().is_some_and(|r| r.is_ok()) {
            certificate.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || certificate.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(info) => view! {
                    <CertificateDetail info pem shown_key show_key rename delete/>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn CertificateDetail(
    info: CertificateInfo,
    pem: Resource<Result<String, UiError>>,
    shown_key: Resource<Result<Option<String>, UiError>>,
    show_key: ServerAction<ShowPrivateKey>,
    rename: ServerAction<RenameCertificate>,
    delete: ServerAction<DeleteCertificate>,
) -> impl IntoView {
    let rename_error = Signal::derive(move || rename.value().get().and_then(Result::err));
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let saved = move || rename.value().get().is_some_and(|r| r.is_ok());
    let k = info.keypair;
    let key_pk = k.pk.to_string();
    let rename_pk = key_pk.clone();
    let delete_pk = key_pk.clone();
    let private_key = if k.private_key_available {
        "stored, sealed"
    } else {
        "none: this pair can be trusted, not served"
    };
    view! {
        <Title text=format!("{} · Keypairs · Garrison", k.name)/>
        <div class="page-head">
            <h1>
                {k.name.clone()}
                {expiry_badge(info.expiry)}
                {k.managed.is_some().then(|| badge("badge muted", "managed".into()))}
            </h1>
            <a href="/certificates">"All keypairs"</a>
        </div>
        <div class="columns">
            <section class="card">
                <h2>"Certificate"</h2>
                <dl class="facts" data-testid="certificate-facts">
                    <dt>"Subject"</dt><dd><code>{k.cert_subject.clone()}</code></dd>
                    <dt>"Expires"</dt>
                    <dd>{expiry_date(&k)} " (" {days_from_now(info.days_left, info.expiry)} ")"</dd>
                    <dt>"Key type"</dt><dd>{k.key_type.clone().unwrap_or_else(|| "unknown".into())}</dd>
                    <dt>"Private key"</dt><dd>{private_key}</dd>
                    <dt>"SHA-256 fingerprint"</dt><dd><code class="digest">{k.fingerprint_sha256.clone()}</code></dd>
                    <dt>"SHA-1 fingerprint"</dt><dd><code class="digest">{k.fingerprint_sha1.clone()}</code></dd>
                    <dt>"Managed"</dt><dd>{managed_label(&k.managed)}</dd>
                </dl>
            </section>
            <UsesCard uses=info.uses/>
        </div>
        <PemCard name=k.name.clone() pem/>
        {k.private_key_available.then(|| view! { <PrivateKeyCard pk=key_pk shown_key show_key/> })}
        <section class="card">
            <h2>"Name"</h2>
            <ActionForm action=rename attr:class="form" attr:data-testid="edit-certificate">
                <CsrfField/>
                <input type="hidden" name="pk" value=rename_pk/>
                <FormError error=rename_error/>
                <OtherFieldErrors error=rename_error shown=RENAME_FIELDS/>
                {move || saved().then(|| view! {
                    <p class="notice" role="status">"Saved."</p>
                })}
                <label>"Name" <input type="text" name="name" required value=k.name.clone()/></label>
                <FieldError error=rename_error field="name"/>
                {k.managed.is_some().then(|| view! {
                    <p class="hint">"Garrison manages this pair: only a superuser can change it."</p>
                })}
                <div class="actions"><button type="submit" class="primary">"Save"</button></div>
            </ActionForm>
        </section>
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <p class="hint">"Providers, service connections and brands that use it are left without \
               it, and the outposts relying on it are updated."</p>
            <ActionForm action=delete attr:class="inline">
                <CsrfField/>
                <input type="hidden" name="pk" value=delete_pk/>
                <button type="submit" class="danger">"Delete keypair"</button>
            </ActionForm>
            <FormError error=delete_error/>
        </section>
    }
}

/// Links to what uses the pair, among what the caller may see.
#[component]
fn UsesCard(uses: CertificateUses) -> impl IntoView {
    let body = if uses.is_empty() {
        view! { <p class="hint">"Nothing you may see uses it."</p> }.into_any()
    } else {
        let providers = uses
            .providers
            .into_iter()
            .map(|(pk, name)| (format!("/providers/{pk}"), name))
            .collect();
        // Service connections have no page of their own.
        let connections = uses
            .connections
            .into_iter()
            .map(|(_, name)| ("/integrations".to_owned(), name))
            .collect();
        let brands = uses
            .brands
            .into_iter()
            .map(|(pk, domain)| (format!("/brands/{pk}"), domain))
            .collect();
        view! {
            <dl class="facts">
                {use_links("Providers", providers)}
                {use_links("Service connections", connections)}
                {use_links("Brands (web certificate)", brands)}
            </dl>
        }
        .into_any()
    };
    view! {
        <section class="card" data-testid="certificate-uses">
            <h2>"Used by"</h2>
            {body}
        </section>
    }
}

/// One kind of user of the pair, `(href, text)` each; nothing when there are none.
fn use_links(label: &'static str, links: Vec<(String, String)>) -> impl IntoView {
    (!links.is_empty()).then(move || {
        view! {
            <dt>{label}</dt>
            <dd>
                <ul class="links">
                    {links.into_iter().map(|(href, text)| view! {
                        <li><a href=href>{text}</a></li>
                    }).collect_view()}
                </ul>
            </dd>
        }
    })
}

/// The certificate itself is public: a download link and the PEM, folded away.
#[component]
fn PemCard(name: String, pem: Resource<Result<String, UiError>>) -> impl IntoView {
    let file_name = pem_file_name(&name);
    view! {
        <section class="card" data-testid="certificate-pem">
            <h2>"Download certificate"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || pem.get().map(|result| match result {
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                    Ok(pem) => {
                        let href = pem_data_url(&pem);
                        view! {
                            <p>
                                <a class="button" href=href download=file_name.clone()>
                                    {format!("Download {file_name}")}
                                </a>
                            </p>
                            <details>
                                <summary>"Show the PEM"</summary>
                                <pre class="command"><code>{pem}</code></pre>
                            </details>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The private key, only once asked for: the button's request is recorded in the event log.
/// After a plain form post the key comes back through `shown_key`, once.
#[component]
fn PrivateKeyCard(
    pk: String,
    shown_key: Resource<Result<Option<String>, UiError>>,
    show_key: ServerAction<ShowPrivateKey>,
) -> impl IntoView {
    let error = Signal::derive(move || show_key.value().get().and_then(Result::err));
    view! {
        <section class="card" data-testid="private-key">
            <h2>"Private key"</h2>
            <p class="hint">"Shown only when asked for, and each showing is recorded in the event log."</p>
            <Suspense fallback=|| ()>
                {move || match show_key.value().get() {
                    Some(Ok(Some(key))) => private_key_view(key),
                    // Removed since the page loaded.
                    Some(Ok(None)) => view! {
                        <p class="hint">"No private key is stored for this pair."</p>
                    }.into_any(),
                    _ => match shown_key.get().and_then(Result::ok).flatten() {
                        Some(key) => private_key_view(key),
                        None => {
                            let pk = pk.clone();
                            view! {
                                <ActionForm action=show_key attr:class="inline" attr:data-testid="show-private-key">
                                    <CsrfField/>
                                    <input type="hidden" name="pk" value=pk/>
                                    <button type="submit" class="danger">"Show private key"</button>
                                </ActionForm>
                            }.into_any()
                        }
                    },
                }}
            </Suspense>
            <FormError error/>
        </section>
    }
}

fn private_key_view(key: String) -> AnyView {
    view! {
        <pre class="command" data-testid="private-key-pem"><code>{key}</code></pre>
        <p class="hint">"Keep it where only what serves this certificate can read it. Reload the \
           page to hide it."</p>
    }
    .into_any()
}
