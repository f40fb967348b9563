//! The outposts pages: every outpost with its health at a glance (are its instances
//! connected, do they hold the current configuration, are they up to date), and one outpost's
//! page with its live instances, its token and how to deploy it, and its settings.
use std::time::Duration;

use chrono::{DateTime, Utc};
use garrison_model::{
    InstanceHealth, Outpost, OutpostConfig, ProviderKind, ServiceConnection, VERSION_SHOULD,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::{OtherFieldErrors, PagedList, badge, clock, hydrated, list_params};
use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{
    CreateOutpost, DeleteOutpost, DeployToken, InstancesNow, OutpostRow, ProviderChoice,
    RevealOutpostToken, RotateOutpostToken, UiError, UpdateOutpost, connection_choices,
    get_outpost, list_outposts, outpost_instances, provider_choices, take_revealed_token,
};

/// The fields the outpost forms show errors next to; errors about others are listed apart.
const OUTPOST_FIELDS: &[&str] = &["name", "type", "providers", "service_connection", "config"];

/// How many instances should be running: the configured replicas.
fn expected_instances(outpost: &Outpost) -> i64 {
    OutpostConfig::parse(&outpost.config)
        .map(|config| config.kubernetes_replicas)
        .unwrap_or(1)
}

fn health_badge(instances: &[InstanceHealth], expected: i64) -> impl IntoView + use<> {
    let connected = instances.iter().filter(|i| i.state.connected).count() as i64;
    let class = if connected >= expected {
        "badge ok"
    } else if connected == 0 {
        "badge bad"
    } else {
        "badge warn"
    };
    badge(
        class,
        format!("{connected} connected of {expected} expected"),
    )
}

/// Whether the instances hold the current configuration, as far as they say (authentik's
/// outposts do not; Garrison's agent does).
#[derive(Clone, Copy, Debug, PartialEq)]
enum ConfigStatus {
    Current,
    Behind(usize),
    Unknown,
}

fn config_status(instances: &[InstanceHealth]) -> ConfigStatus {
    let reported: Vec<bool> = instances.iter().filter_map(|i| i.config_current).collect();
    let behind = reported.iter().filter(|current| !**current).count();
    match (reported.is_empty(), behind) {
        (true, _) => ConfigStatus::Unknown,
        (false, 0) => ConfigStatus::Current,
        (false, k) => ConfigStatus::Behind(k),
    }
}

fn config_badge(status: ConfigStatus) -> impl IntoView {
    match status {
        ConfigStatus::Current => badge("badge ok", "current".into()),
        ConfigStatus::Behind(k) => badge("badge warn", format!("{k} behind")),
        ConfigStatus::Unknown => badge("badge muted", "unknown".into()),
    }
}

/// The versions the instances run, and whether any is not the one Garrison expects.
fn version_summary(instances: &[InstanceHealth]) -> impl IntoView + use<> {
    let mut versions: Vec<String> = instances
        .iter()
        .filter_map(|i| i.state.version.clone())
        .filter(|v| !v.is_empty())
        .collect();
    versions.sort();
    versions.dedup();
    let outdated = instances.iter().any(|i| i.version_outdated);
    let text = if versions.is_empty() {
        "–".to_owned()
    } else {
        versions.join(", ")
    };
    view! {
        {text}
        {outdated.then(|| view! {
            <span class="badge bad" title=format!("Garrison expects {VERSION_SHOULD}")>"outdated"</span>
        })}
    }
}

/// "12 s ago", relative to the server's clock when the instances were read.
fn ago(now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> String {
    let Some(then) = then else {
        return "never".into();
    };
    match (now - then).num_seconds().max(0) {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

/// What authentik calls an outpost of this type (its providers are "Proxy Provider" etc.).
fn type_label(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Proxy => "Proxy",
        ProviderKind::Ldap => "LDAP",
        ProviderKind::Radius => "RADIUS",
        ProviderKind::Rac => "RAC",
    }
}

fn short_hash(hash: &str) -> String {
    hash.chars().take(12).collect()
}

#[component]
pub fn OutpostsPage() -> impl IntoView {
    let (page, search) = list_params();
    let outposts = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_outposts(p, s),
    );
    let providers = Resource::new(|| (), |_| provider_choices());
    let connections = Resource::new(|| (), |_| connection_choices());
    let create = ServerAction::<CreateOutpost>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    // The type chosen in the form; the provider picker follows it.
    let (kind, set_kind) = signal(ProviderKind::ALL[0].as_str().to_owned());
    view! {
        <Title text="Outposts · Garrison"/>
        <div class="page-head">
            <h1>"Outposts"</h1>
        </div>
        <PagedList list=outposts base="/outposts" search table=|rows| view! { <OutpostTable rows/> }/>
        <section class="card">
            <h2>"New outpost"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-outpost">
                <CsrfField/>
                <FormError error/>
                <OtherFieldErrors error shown=OUTPOST_FIELDS/>
                <label>"Name" <input type="text" name="name" required/></label>
                <FieldError error field="name"/>
                <label>"Type"
                    <select name="outpost_type" on:change=move |ev| set_kind.set(event_target_value(&ev))>
                        {ProviderKind::ALL.into_iter().map(|k| view! {
                            <option value=k.as_str()>{k.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <FieldError error field="type"/>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || providers.get().map(|choices| view! {
                        <ProviderChecklist choices selected=Vec::new() kind=kind.into() error/>
                    })}
                    {move || connections.get().map(|choices| view! {
                        <ConnectionSelect choices selected=None error/>
                    })}
                </Suspense>
                <p class="hint">"Its configuration starts from the defaults, pointing at this server; \
                   its page then shows the token to deploy it with."</p>
                <div class="actions"><button type="submit" class="primary">"Create outpost"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
fn OutpostTable(rows: Vec<OutpostRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No outposts yet."</p>
                <p>"An outpost is a small service you run next to your applications: it serves \
                    their providers (a proxy in front of them, LDAP, RADIUS or remote access), \
                    takes its configuration from Garrison and reports back here."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="outposts">
            <thead><tr>
                <th>"Name"</th><th>"Type"</th><th>"Providers"</th><th>"Service connection"</th>
                <th>"Health"</th><th>"Configuration"</th><th>"Version"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let o = &row.outpost;
                    let expected = expected_instances(o);
                    let providers = if row.provider_names.is_empty() {
                        "–".to_owned()
                    } else {
                        row.provider_names.join(", ")
                    };
                    let connection = match row.connection_name.clone() {
                        Some(name) => view! { <span>{name}</span> }.into_any(),
                        None => view! { <span class="hint">"not deployed by Garrison"</span> }.into_any(),
                    };
                    view! {
                        <tr>
                            <td>
                                <a href=format!("/outposts/{}", o.pk)>{o.name.clone()}</a>
                                {o.managed.is_some().then(|| badge("badge muted", "embedded".into()))}
                                {o.expansion_error.clone().map(|e| view! {
                                    <span class="badge warn" title=e>"provider error"</span>
                                })}
                            </td>
                            <td>{o.outpost_type.as_str()}</td>
                            <td>{providers}</td>
                            <td>{connection}</td>
                            <td>{health_badge(&row.instances, expected)}</td>
                            <td>{config_badge(config_status(&row.instances))}</td>
                            <td>{version_summary(&row.instances)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The providers an outpost serves, as checkboxes with each one's kind: an outpost serves
/// providers of its own type only, which the service checks, naming any other. Once hydrated,
/// only providers of `kind` are offered (without JavaScript all are, with their kind shown).
/// Selected providers the list cannot show are kept as they are.
#[component]
fn ProviderChecklist(
    choices: Result<Vec<ProviderChoice>, UiError>,
    selected: Vec<i64>,
    kind: Signal<String>,
    error: Signal<Option<UiError>>,
) -> impl IntoView {
    let hydrated = hydrated();
    let listed: Vec<i64> = choices
        .as_ref()
        .map(|c| c.iter().map(|p| p.pk).collect())
        .unwrap_or_default();
    let kept = selected
        .iter()
        .filter(|pk| !listed.contains(pk))
        .map(|pk| view! { <input type="hidden" name="providers[]" value=pk.to_string()/> })
        .collect_view();
    let body = match choices {
        Err(e) => view! { <LoadError error=e/> }.into_any(),
        Ok(choices) if choices.is_empty() => view! {
            <p class="hint">"No providers yet. " <a href="/providers">"Create one"</a> " first: an outpost serves providers."</p>
        }
        .into_any(),
        Ok(choices) => choices
            .into_iter()
            .map(|p| {
                let checked = selected.contains(&p.pk);
                let own_kind = p.kind.as_str();
                view! {
                    <label class="check" hidden=move || hydrated.get() && kind.get() != own_kind>
                        <input type="checkbox" name="providers[]" value=p.pk.to_string() checked=checked/>
                        {format!(" {}", p.name)}
                        <span class="badge muted">{p.kind.as_str()}</span>
                    </label>
                }
            })
            .collect_view()
            .into_any(),
    };
    view! {
        <fieldset class="choices">
            <legend>"Providers"</legend>
            {kept}
            {body}
        </fieldset>
        <FieldError error field="providers"/>
    }
}

/// Where the outpost is deployed from, or nowhere (the operator runs it).
#[component]
fn ConnectionSelect(
    choices: Result<Vec<ServiceConnection>, UiError>,
    selected: Option<Uuid>,
    error: Signal<Option<UiError>>,
) -> impl IntoView {
    let input = match choices {
        // Without the list, keep the current choice rather than clear it.
        Err(e) => view! {
            <input type="hidden" name="service_connection" value=selected.map(|u| u.to_string()).unwrap_or_default()/>
            <LoadError error=e/>
        }
        .into_any(),
        Ok(choices) => view! {
            <label>"Service connection"
                <select name="service_connection">
                    <option value="" selected=selected.is_none()>"None: not deployed by Garrison"</option>
                    {choices.into_iter().map(|c| {
                        let chosen = selected == Some(c.pk);
                        view! {
                            <option value=c.pk.to_string() selected=chosen>{format!("{} ({})", c.name, c.kind.as_str())}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
        }
        .into_any(),
    };
    view! {
        {input}
        <FieldError error field="service_connection"/>
    }
}

#[component]
pub fn OutpostPage() -> impl IntoView {
    let params = use_params_map();
    let pk = move || params.with(|p| p.get("pk").unwrap_or_default());
    let outpost = Resource::new(pk, get_outpost);
    let instances = Resource::new(pk, outpost_instances);
    let providers = Resource::new(|| (), |_| provider_choices());
    let connections = Resource::new(|| (), |_| connection_choices());
    let handed_over = Resource::new(pk, take_revealed_token);
    let update = ServerAction::<UpdateOutpost>::new();
    let reveal = ServerAction::<RevealOutpostToken>::new();
    let rotate = ServerAction::<RotateOutpostToken>::new();
    let delete = ServerAction::<DeleteOutpost>::new();
    // Once hydrated, the instances refresh every 5 s (effects run in the browser only);
    // without JavaScript a reload shows the current state.
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || instances.refetch(), Duration::from_secs(5))
        {
            on_cleanup(move || handle.clear());
        }
    });
    Effect::new(move |_| {
        if update.value().get().is_some_and(|r| r.is_ok()) {
            outpost.refetch();
            instances.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || outpost.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(o) => {
                    let expected = expected_instances(&o);
                    view! {
                        <Title text=format!("{} · Outposts · Garrison", o.name)/>
                        <div class="page-head">
                            <h1>
                                {o.name.clone()}
                                {badge("badge", o.outpost_type.as_str().into())}
                                {o.managed.is_some().then(|| badge("badge muted", "embedded".into()))}
                            </h1>
                            <a href="/outposts">"All outposts"</a>
                        </div>
                        {o.expansion_error.clone().map(|e| view! {
                            <p class="warning" role="alert">
                                {format!("Its account lacks what a provider needs, so that provider is not fully served: {e}")}
                            </p>
                        })}
                        <div class="columns">
                            <OutpostFacts outpost=o.clone() providers connections/>
                            <DeployCard outpost=o.clone() handed_over reveal rotate/>
                        </div>
                        <InstancesCard instances expected current_hash=o.config_hash.clone()/>
                        <EditOutpost outpost=o.clone() providers connections update/>
                        <DeleteOutpostCard outpost=o.clone() delete/>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn OutpostFacts(
    outpost: Outpost,
    providers: Resource<Result<Vec<ProviderChoice>, UiError>>,
    connections: Resource<Result<Vec<ServiceConnection>, UiError>>,
) -> impl IntoView {
    let refresh = match OutpostConfig::parse(&outpost.config) {
        Ok(config) => format!(
            "{} ({} s)",
            config.refresh_interval,
            config.refresh_interval_s()
        ),
        Err(e) => format!("invalid configuration: {e}"),
    };
    let managed = if outpost.managed.is_some() {
        "yes: the embedded outpost, run by the server itself"
    } else {
        "no"
    };
    let hash = if outpost.config_hash.is_empty() {
        "not computed yet".to_owned()
    } else {
        outpost.config_hash.clone()
    };
    // What the deployment backend last reported (the seam the Docker and Kubernetes backends
    // fill); without a service connection the operator runs instances by hand.
    let deployment = match (
        &outpost.service_connection,
        outpost.deploy_state.as_object(),
    ) {
        (None, _) => "by hand: run instances with the token (see Deploy)".to_owned(),
        (Some(_), Some(state)) if !state.is_empty() => state
            .iter()
            .map(|(key, value)| match value {
                serde_json::Value::String(text) => format!("{key}: {text}"),
                other => format!("{key}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (Some(_), _) => "not reported yet by the service connection's backend".to_owned(),
    };
    let provider_pks = outpost.providers.clone();
    let no_providers = provider_pks.is_empty();
    let connection = outpost.service_connection;
    let provider_links = move || {
        let names = providers.get().and_then(Result::ok).unwrap_or_default();
        provider_pks
            .iter()
            .map(|pk| {
                let name = names
                    .iter()
                    .find(|p| p.pk == *pk)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| format!("provider {pk}"));
                view! { <li><a href=format!("/providers/{pk}")>{name}</a></li> }
            })
            .collect_view()
    };
    let connection_name = move || match connection {
        None => "none: not deployed by Garrison".to_owned(),
        Some(uuid) => connections
            .get()
            .and_then(Result::ok)
            .and_then(|list| list.into_iter().find(|c| c.pk == uuid))
            .map(|c| format!("{} ({})", c.name, c.kind.as_str()))
            .unwrap_or_else(|| uuid.to_string()),
    };
    view! {
        <section class="card">
            <h2>"Outpost"</h2>
            <dl class="facts">
                <dt>"Type"</dt><dd>{type_label(outpost.outpost_type)}</dd>
                <dt>"Managed"</dt><dd>{managed}</dd>
                <Suspense fallback=|| ()>
                    <dt>"Service connection"</dt><dd>{connection_name}</dd>
                    <dt>"Providers"</dt>
                    <dd>
                        {no_providers.then_some("none")}
                        <ul class="links">{provider_links}</ul>
                    </dd>
                </Suspense>
                <dt>"Deployment"</dt><dd data-testid="deploy-state">{deployment}</dd>
                <dt>"Refresh interval"</dt><dd>{refresh}</dd>
                <dt>"Configuration hash"</dt><dd><code class="digest">{hash}</code></dd>
            </dl>
        </section>
    }
}

/// The token is revealed only on request (audited); the commands to run an instance come
/// with it.
#[component]
fn DeployCard(
    outpost: Outpost,
    handed_over: Resource<Result<Option<DeployToken>, UiError>>,
    reveal: ServerAction<RevealOutpostToken>,
    rotate: ServerAction<RotateOutpostToken>,
) -> impl IntoView {
    let pk = outpost.pk.to_string();
    let rotate_pk = pk.clone();
    // The image the configuration names; otherwise a placeholder, since which registry an
    // operator pulls authentik's images from is theirs to say.
    let image = OutpostConfig::parse(&outpost.config)
        .ok()
        .and_then(|config| config.container_image)
        .unwrap_or_else(|| {
            format!(
                "<authentik's {} outpost image>",
                outpost.outpost_type.as_str()
            )
        });
    let reveal_error = Signal::derive(move || reveal.value().get().and_then(Result::err));
    let rotate_error = Signal::derive(move || rotate.value().get().and_then(Result::err));
    // The newest key wins: a rotation replaces what was revealed before it.
    let shown = move || {
        rotate
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| reveal.value().get().and_then(Result::ok))
            .or_else(|| handed_over.get().and_then(Result::ok).flatten())
    };
    view! {
        <section class="card" data-testid="deploy">
            <h2>"Deploy"</h2>
            <p class="hint">"Instances authenticate with the outpost's token. It is shown only when \
               asked for, and each showing is recorded in the event log."</p>
            <Suspense fallback=|| ()>
                {move || match shown() {
                    Some(token) => view! { <DeployCommands token image=image.clone()/> }.into_any(),
                    None => {
                        let pk = pk.clone();
                        view! {
                        <ActionForm action=reveal attr:class="inline">
                            <CsrfField/>
                            <input type="hidden" name="pk" value=pk/>
                            <button type="submit" class="primary">"Show token"</button>
                        </ActionForm>
                    }.into_any()
                    }
                }}
            </Suspense>
            <FormError error=reveal_error/>
            <ActionForm action=rotate attr:class="inline">
                <CsrfField/>
                <input type="hidden" name="pk" value=rotate_pk/>
                <button type="submit" class="danger">"Rotate token"</button>
            </ActionForm>
            <p class="hint">"Rotating stops the old token at once: connected instances are told to \
               reconnect, and must be given the new token to do so."</p>
            <FormError error=rotate_error/>
        </section>
    }
}

#[component]
fn DeployCommands(token: DeployToken, image: String) -> impl IntoView {
    let agent = format!(
        "garrison agent --url {} --token {}",
        token.origin, token.key
    );
    let docker = format!(
        "docker run -e AUTHENTIK_HOST={} -e AUTHENTIK_TOKEN={} {image}",
        token.origin, token.key
    );
    view! {
        <p>"Token: " <code class="token" data-testid="outpost-token">{token.key.clone()}</code></p>
        <p>"Run Garrison's reference agent:"</p>
        <pre class="command"><code>{agent}</code></pre>
        <p>"Or authentik's outpost image:"</p>
        <pre class="command"><code>{docker}</code></pre>
    }
}

/// The instances that reported in the last 15 s; refetched every 5 s once hydrated
/// (`Transition` keeps the current table on screen meanwhile).
#[component]
fn InstancesCard(
    instances: Resource<Result<InstancesNow, UiError>>,
    expected: i64,
    current_hash: String,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Instances"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || instances.get().map(|result| match result {
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                    Ok(found) => {
                        let timeline = view! {
                            <HealthTimeline found=found.clone() current_hash=current_hash.clone()/>
                        };
                        view! { <InstanceTable found expected/> {timeline} }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// The last hour as a chart: one row per instance, a bar while it was connected, a tick where
/// it took up a configuration (green: the current one; amber: an older one).
#[component]
fn HealthTimeline(found: InstancesNow, current_hash: String) -> impl IntoView {
    const LABEL: f64 = 120.0;
    const WIDTH: f64 = 600.0;
    const ROW: f64 = 22.0;
    if found.timeline.is_empty() {
        return view! {
            <p class="hint" data-testid="timeline">"Timeline: no instance was connected in the last hour."</p>
        }
        .into_any();
    }
    let span = (found.now - found.since).num_milliseconds().max(1) as f64;
    let x = move |at: DateTime<Utc>| {
        LABEL + (at - found.since).num_milliseconds() as f64 / span * (WIDTH - LABEL)
    };
    let height = found.timeline.len() as f64 * ROW + 20.0;
    let rows = found
        .timeline
        .iter()
        .enumerate()
        .map(|(row, track)| {
            let y = row as f64 * ROW;
            let bars = track
                .connected
                .iter()
                .map(|(from, to)| {
                    let (left, right) = (x(*from), x(*to));
                    view! {
                        <rect class="up" x=left y={y + 5.0} width={(right - left).max(1.0)} height={ROW - 10.0}>
                            <title>{format!("connected {} – {}", clock(*from), clock(*to))}</title>
                        </rect>
                    }
                })
                .collect_view();
            let ticks = track
                .holds
                .iter()
                .map(|(at, hash)| {
                    let class = if *hash == current_hash { "tick current" } else { "tick old" };
                    let left = x(*at);
                    view! {
                        <line class=class x1=left x2=left y1={y + 2.0} y2={y + ROW - 2.0}>
                            <title>{format!("{} took up configuration {}", clock(*at), short_hash(hash))}</title>
                        </line>
                    }
                })
                .collect_view();
            view! {
                <text class="label" x="0" y={y + ROW / 2.0 + 4.0}>{short_hash(&track.instance)}</text>
                {bars}
                {ticks}
            }
        })
        .collect_view();
    let axis_y = found.timeline.len() as f64 * ROW + 14.0;
    let axis = [60, 45, 30, 15, 0]
        .into_iter()
        .map(|minutes| {
            let left = LABEL + (60 - minutes) as f64 / 60.0 * (WIDTH - LABEL);
            let text = if minutes == 0 {
                "now".to_owned()
            } else {
                format!("−{minutes} min")
            };
            let anchor = if minutes == 0 {
                "end"
            } else if minutes == 60 {
                "start"
            } else {
                "middle"
            };
            view! { <text class="axis" x=left y=axis_y text-anchor=anchor>{text}</text> }
        })
        .collect_view();
    view! {
        <figure class="timeline" data-testid="timeline">
            <figcaption>"Last hour"</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img"
                aria-label="Connected periods of each instance in the last hour">
                {rows}
                {axis}
            </svg>
        </figure>
    }
    .into_any()
}

#[component]
fn InstanceTable(found: InstancesNow, expected: i64) -> impl IntoView {
    let now = found.now;
    let summary = view! {
        <p>
            {health_badge(&found.instances, expected)}
            " configuration: " {config_badge(config_status(&found.instances))}
        </p>
    };
    let rows = if found.instances.is_empty() {
        view! {
            <tr><td colspan="7" class="empty">"No instance has reported in the last 15 seconds. \
                Deploy one with the outpost's token."</td></tr>
        }
        .into_any()
    } else {
        found
            .instances
            .into_iter()
            .map(|i| {
                let configuration = match i.config_current {
                    Some(true) => badge("badge ok", "current".into()).into_any(),
                    Some(false) => badge("badge warn", "behind".into()).into_any(),
                    None => badge("badge muted", "unknown".into()).into_any(),
                };
                let hash = i.state.config_hash.as_deref().map(short_hash);
                let connection = if i.state.connected {
                    badge("badge ok", "connected".into())
                } else {
                    badge("badge muted", "disconnected".into())
                };
                let version = i.state.version.clone().unwrap_or_else(|| "–".into());
                view! {
                    <tr>
                        <td><code>{i.state.uid.clone()}</code></td>
                        <td>{i.state.hostname.clone()}</td>
                        <td>
                            {version}
                            {i.version_outdated.then(|| view! {
                                <span class="badge bad" title=format!("Garrison expects {VERSION_SHOULD}")>"outdated"</span>
                            })}
                        </td>
                        <td>{connection}</td>
                        <td>{ago(now, i.state.last_seen)}</td>
                        <td>{configuration} {hash.map(|h| view! { " " <code>{h}</code> })}</td>
                        <td>{i.state.config_fetched_at.map(|t| ago(now, Some(t))).unwrap_or_else(|| "–".into())}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        {summary}
        <table class="list" data-testid="instances">
            <thead><tr>
                <th>"Instance"</th><th>"Hostname"</th><th>"Version"</th><th>"Connection"</th>
                <th>"Last seen"</th><th>"Configuration"</th><th>"Fetched"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn EditOutpost(
    outpost: Outpost,
    providers: Resource<Result<Vec<ProviderChoice>, UiError>>,
    connections: Resource<Result<Vec<ServiceConnection>, UiError>>,
    update: ServerAction<UpdateOutpost>,
) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let saved = move || update.value().get().is_some_and(|r| r.is_ok());
    let config = serde_json::to_string_pretty(&outpost.config).unwrap_or_else(|_| "{}".into());
    let managed = outpost.managed.is_some();
    let selected = outpost.providers.clone();
    let kind = outpost.outpost_type.as_str().to_owned();
    let connection = outpost.service_connection;
    view! {
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:class="form" attr:data-testid="edit-outpost">
                <CsrfField/>
                <input type="hidden" name="pk" value=outpost.pk.to_string()/>
                <FormError error/>
                <OtherFieldErrors error shown=OUTPOST_FIELDS/>
                {move || saved().then(|| view! {
                    <p class="notice" role="status">"Saved. Connected instances are told to fetch the new configuration."</p>
                })}
                <label>"Name" <input type="text" name="name" required value=outpost.name.clone() readonly=managed/></label>
                {managed.then(|| view! { <p class="hint">"The embedded outpost's name is fixed."</p> })}
                <FieldError error field="name"/>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || providers.get().map(|choices| view! {
                        <ProviderChecklist choices selected=selected.clone() kind=Signal::stored(kind.clone()) error/>
                    })}
                    {move || connections.get().map(|choices| view! {
                        <ConnectionSelect choices selected=connection error/>
                    })}
                </Suspense>
                <label>"Configuration (JSON)"
                    <textarea name="config" rows="16" spellcheck="false">{config}</textarea>
                </label>
                <p class="hint">"Missing keys take their defaults; keys Garrison does not know are kept \
                   for newer outposts; a known key of the wrong type is refused by name."</p>
                <FieldError error field="config"/>
                <div class="actions"><button type="submit" class="primary">"Save"</button></div>
            </ActionForm>
        </section>
    }
}

/// The embedded outpost is the server's own: it is kept or removed by the server's
/// `embedded_outpost` setting at start, so it is not offered for deletion.
#[component]
fn DeleteOutpostCard(outpost: Outpost, delete: ServerAction<DeleteOutpost>) -> impl IntoView {
    let error = Signal::derive(move || delete.value().get().and_then(Result::err));
    if outpost.managed.is_some() {
        return view! {
            <section class="card">
                <h2>"Delete"</h2>
                <p class="hint">"This is the embedded outpost, managed by Garrison: it is not deleted \
                   here. Setting GARRISON_EMBEDDED_OUTPOST=false removes it at the next start."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <p class="hint">"Deletes the outpost with its service account and token: running \
               instances can no longer connect."</p>
            <ActionForm action=delete attr:class="inline">
                <CsrfField/>
                <input type="hidden" name="pk" value=outpost.pk.to_string()/>
                <button type="submit" class="danger">"Delete outpost"</button>
            </ActionForm>
            <FormError error/>
        </section>
    }
    .into_any()
}
