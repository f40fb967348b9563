//! The plugins pages: every plugin with its state and call figures at a glance, and one
//! plugin's review screen (what it requests, what is granted, enable/disable, latency).
use garrison_model::{MAX_DEADLINE_MS, MAX_MEMORY_MIB, Plugin, PluginCallStats, PluginState};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{InstallOciPlugin, PluginAction, SetPluginLimits, get_plugin, list_plugins};

fn state_badge(state: &PluginState) -> impl IntoView + use<> {
    let (class, text) = match state {
        PluginState::Running => ("badge ok", "running".to_owned()),
        PluginState::Disabled => ("badge muted", "disabled".to_owned()),
        PluginState::Failed(_) => ("badge bad", "failed".to_owned()),
    };
    view! { <span class=class>{text}</span> }
}

fn micros(us: u64) -> String {
    match us {
        0 => "–".into(),
        us if us < 1_000 => format!("{us} µs"),
        us if us < 1_000_000 => format!("{:.1} ms", us as f64 / 1_000.0),
        us => format!("{:.2} s", us as f64 / 1_000_000.0),
    }
}

fn bound_label(bound: u64) -> String {
    if bound == u64::MAX {
        "more".into()
    } else {
        format!("≤{}", micros(bound))
    }
}

/// The latency histogram as SVG bars: one bar per bucket, height relative to the fullest.
/// Rendered on the server, so it needs no JavaScript.
#[component]
fn LatencyChart(stats: PluginCallStats, #[prop(default = false)] large: bool) -> impl IntoView {
    let (width, height) = if large { (560.0, 140.0) } else { (120.0, 24.0) };
    let buckets = stats.latency_buckets.clone();
    let most = buckets.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let slot = width / buckets.len().max(1) as f64;
    let label_space = if large { 18.0 } else { 0.0 };
    let plot = height - label_space;
    let title = format!(
        "{} calls; p50 {}, p99 {}",
        stats.calls,
        micros(stats.p50_us),
        micros(stats.p99_us)
    );
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, (bound, count))| {
            let h = if *count == 0 { 0.0 } else { (*count as f64 / most * plot).max(1.5) };
            let x = i as f64 * slot;
            let tip = format!("{}: {count} calls", bound_label(*bound));
            view! {
                <rect x=format!("{:.1}", x + 1.0) y=format!("{:.1}", plot - h) width=format!("{:.1}", (slot - 2.0).max(1.0)) height=format!("{h:.1}")>
                    <title>{tip}</title>
                </rect>
            }
        })
        .collect_view();
    let labels = large.then(|| {
        buckets
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(i, (bound, _))| {
                view! {
                    <text x=format!("{:.1}", i as f64 * slot + slot / 2.0) y=format!("{:.1}", height - 4.0) text-anchor="middle">{bound_label(*bound)}</text>
                }
            })
            .collect_view()
    });
    let label = title.clone();
    let class = if large { "latency large" } else { "latency" };
    view! {
        <svg class=class viewBox=format!("0 0 {width} {height}") width=width height=height role="img" aria-label=label>
            <title>{title}</title>
            {bars}
            {labels}
        </svg>
    }
}

#[component]
pub fn PluginsPage() -> impl IntoView {
    let plugins = Resource::new(|| (), |_| list_plugins());
    let query = use_query_map();
    let upload_error = move || query.with(|q| q.get("error"));
    let install = ServerAction::<InstallOciPlugin>::new();
    let install_error = Signal::derive(move || install.value().get().and_then(Result::err));
    view! {
        <Title text="Plugins · Garrison"/>
        <div class="page-head">
            <h1>"Plugins"</h1>
        </div>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || plugins.get().map(|result| match result {
                Ok(list) => view! { <PluginTable plugins=list/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
        <div class="columns">
            <form class="card form" method="post" action="/plugins/upload" enctype="multipart/form-data" data-testid="upload">
                <h2>"Upload a plugin"</h2>
                <CsrfField/>
                {move || upload_error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                <label>"Component (.wasm)" <input type="file" name="component" accept=".wasm,application/wasm" required/></label>
                <label>"Manifest (plugin.toml)" <input type="file" name="manifest" accept=".toml,.json" required/></label>
                <p class="hint">"It is installed disabled. Its page then shows what it asks for before anything runs."</p>
                <div class="actions"><button type="submit" class="primary">"Upload and review"</button></div>
            </form>
            <ActionForm action=install attr:class="card form">
                <h2>"Install from a registry"</h2>
                <CsrfField/>
                <FormError error=install_error/>
                <label>"OCI reference, pinned by digest"
                    <input type="text" name="oci_reference" required placeholder="registry.example.com/team/hook@sha256:…"/>
                </label>
                {move || install_error.get().map(|e| e.field("oci_reference")).unwrap_or_default().into_iter().map(|m| view! { <p class="field-error">{m}</p> }).collect_view()}
                <p class="hint">"The artifact carries a component layer and a Garrison manifest layer."</p>
                <div class="actions"><button type="submit" class="primary">"Pull and review"</button></div>
            </ActionForm>
        </div>
    }
}

#[component]
fn PluginTable(plugins: Vec<Plugin>) -> impl IntoView {
    if plugins.is_empty() {
        return view! { <div class="card empty"><p>"No plugins are installed."</p></div> }
            .into_any();
    }
    view! {
        <table class="list" data-testid="plugins">
            <thead><tr>
                <th>"Name"</th><th>"Kind"</th><th>"Version"</th><th>"Source"</th><th>"State"</th>
                <th>"Grants"</th><th class="num">"Calls"</th><th class="num">"Errors"</th>
                <th class="num">"p50"</th><th class="num">"p99"</th><th>"Latency"</th>
            </tr></thead>
            <tbody>
                {plugins.into_iter().map(|p| {
                    let pending = p.pending().len();
                    let grants = if p.requested.is_empty() {
                        "none needed".to_owned()
                    } else if pending == 0 {
                        format!("{} granted", p.granted.len())
                    } else {
                        format!("{pending} to review")
                    };
                    let grants_class = if pending > 0 { "attention" } else { "" };
                    view! {
                        <tr>
                            <td><a href=format!("/plugins/{}", p.name)>{p.name.clone()}</a></td>
                            <td>{p.kind.clone()}</td>
                            <td>{p.version.clone()}</td>
                            <td>{p.source.as_str()}</td>
                            <td>{state_badge(&p.state)}</td>
                            <td class=grants_class>{grants}</td>
                            <td class="num">{p.stats.calls}</td>
                            <td class="num">{p.stats.errors}</td>
                            <td class="num">{micros(p.stats.p50_us)}</td>
                            <td class="num">{micros(p.stats.p99_us)}</td>
                            <td><LatencyChart stats=p.stats.clone()/></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn PluginPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let plugin = Resource::new(name, get_plugin);
    let act = ServerAction::<PluginAction>::new();
    let limits = ServerAction::<SetPluginLimits>::new();
    let error = Signal::derive(move || act.value().get().and_then(Result::err));
    let limits_error = Signal::derive(move || limits.value().get().and_then(Result::err));
    Effect::new(move |_| {
        let acted = act.value().get().is_some_and(|r| r.is_ok());
        let limited = limits.value().get().is_some_and(|r| r.is_ok());
        if acted || limited {
            plugin.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || plugin.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(p) => view! { <PluginDetail plugin=p act error limits limits_error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn PluginDetail(
    plugin: Plugin,
    act: ServerAction<PluginAction>,
    error: Signal<Option<crate::functions::UiError>>,
    limits: ServerAction<SetPluginLimits>,
    limits_error: Signal<Option<crate::functions::UiError>>,
) -> impl IntoView {
    let p = plugin;
    let button =
        move |action: &'static str, label: &'static str, class: &'static str, name: String| {
            view! {
                <ActionForm action=act attr:class="inline">
                    <CsrfField/>
                    <input type="hidden" name="name" value=name/>
                    <input type="hidden" name="action" value=action/>
                    <button type="submit" class=class>{label}</button>
                </ActionForm>
            }
        };
    let pending = p.pending();
    let actions = match (p.enabled, pending.is_empty()) {
        (true, _) => button("disable", "Disable", "", p.name.clone()).into_any(),
        (false, true) => button("enable", "Enable", "primary", p.name.clone()).into_any(),
        (false, false) => button(
            "grant-and-enable",
            "Grant what it requests and enable",
            "primary",
            p.name.clone(),
        )
        .into_any(),
    };
    let revoke = (!p.granted.is_empty())
        .then(|| button("revoke", "Revoke all grants", "danger", p.name.clone()));
    let failure = match &p.state {
        PluginState::Failed(message) => Some(
            view! { <p class="form-error" role="alert">{format!("It does not load: {message}")}</p> },
        ),
        _ => None,
    };
    view! {
        <Title text=format!("{} · Plugins · Garrison", p.name)/>
        <div class="page-head">
            <h1>{p.name.clone()} " " {state_badge(&p.state)}</h1>
            <a href="/plugins">"All plugins"</a>
        </div>
        {failure}
        <FormError error/>
        // A reload the registry refuses (a grant, enable or limit it cannot load under) is
        // reported against `enabled`.
        <FieldError error field="enabled"/>
        <div class="columns">
            <section class="card">
                <h2>"Component"</h2>
                <dl class="facts">
                    <dt>"Kind"</dt><dd>{p.kind.clone()}</dd>
                    <dt>"Version"</dt><dd>{p.version.clone()}</dd>
                    <dt>"WIT"</dt><dd>{format!("garrison:plugin@{}", p.wit_version)}</dd>
                    <dt>"Source"</dt><dd>{format!("{} · {}", p.source.as_str(), p.source_ref)}</dd>
                    <dt>"Digest"</dt><dd><code class="digest">{p.digest.clone()}</code></dd>
                </dl>
            </section>
            <section class="card" data-testid="review">
                <h2>"Capabilities"</h2>
                {if p.capabilities.is_empty() {
                    view! { <p>"It requests nothing: it can only compute on what it is given."</p> }.into_any()
                } else {
                    view! {
                        <ul class="capabilities">
                            {p.capabilities.iter().map(|c| view! {
                                <li class=if c.granted { "granted" } else { "pending" }>
                                    <code>{c.capability.clone()}</code>
                                    " — " {c.description.clone()}
                                    <span class=if c.granted { "badge ok" } else { "badge warn" }>{if c.granted { "granted" } else { "not granted" }}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                <div class="actions">{actions}{revoke}</div>
            </section>
        </div>
        <section class="card" data-testid="limits">
            <h2>"Limits per call"</h2>
            <p class="hint">"Each call runs in a fresh instance. One that runs past its deadline or \
               grows past its memory is stopped and counted as an error; the server is unaffected."</p>
            <ActionForm action=limits attr:class="limits">
                <CsrfField/>
                <input type="hidden" name="name" value=p.name.clone()/>
                <label>"Deadline (ms)"
                    <input type="number" name="deadline_ms" min="1" max=MAX_DEADLINE_MS.to_string() required value=p.deadline_ms.to_string()/>
                </label>
                <label>"Memory (MiB)"
                    <input type="number" name="memory_mib" min="1" max=MAX_MEMORY_MIB.to_string() required value=p.memory_mib.to_string()/>
                </label>
                <button type="submit">"Save limits"</button>
            </ActionForm>
            <FormError error=limits_error/>
            <FieldError error=limits_error field="enabled"/>
            <FieldError error=limits_error field="deadline_ms"/>
            <FieldError error=limits_error field="memory_mib"/>
        </section>
        <section class="card">
            <h2>"Calls since start"</h2>
            <dl class="facts inline">
                <dt>"Calls"</dt><dd>{p.stats.calls}</dd>
                <dt>"Errors"</dt><dd>{p.stats.errors}</dd>
                <dt>"Timeouts"</dt><dd>{p.stats.timeouts}</dd>
                <dt>"Out of memory"</dt><dd>{p.stats.memory_exhausted}</dd>
                <dt>"Traps"</dt><dd>{p.stats.traps}</dd>
                <dt>"p50"</dt><dd>{micros(p.stats.p50_us)}</dd>
                <dt>"p99"</dt><dd>{micros(p.stats.p99_us)}</dd>
            </dl>
            <LatencyChart stats=p.stats.clone() large=true/>
        </section>
    }
}
