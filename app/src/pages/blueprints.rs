//! The blueprints pages: every blueprint instance with how its last run went, a form for a new
//! one (its YAML kept in the database, or a file of the blueprints directory), and one
//! instance's page, where it is planned (what applying would do, entry by entry, written
//! nowhere), applied once planned, edited and deleted.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{OtherFieldErrors, PagedList, badge, hydrated, list_params};
use crate::components::{CsrfField, FieldError, FormError, LoadError};
use crate::functions::{
    BlueprintInstanceInfo, BlueprintInstanceRow, CreateBlueprintInstance, DeleteBlueprintInstance,
    PlanRow, RunBlueprintInstance, RunFailure, RunReport, UiError, UpdateBlueprintInstance,
    blueprint_files, get_blueprint_instance, list_blueprint_instances, take_blueprint_plan,
};

/// The fields each form shows errors next to; errors about others are listed apart.
const CREATE_FIELDS: &[&str] = &["name", "source", "content", "path", "context", "enabled"];
const EDIT_FIELDS: &[&str] = &["name", "content", "context", "enabled"];

/// Loads the chosen file into the form's `content` textarea. Inline, so the picker costs the
/// wasm bundle nothing and works as soon as the page is shown; without JavaScript the
/// textarea is there to paste into.
const LOAD_FILE_INTO_CONTENT: &str = "const file = this.files && this.files[0]; \
     if (file) file.text().then(text => { this.form.elements.namedItem('content').value = text; });";

/// authentik sets `successful`, `error` and `unknown`; the other two are coloured for
/// completeness.
fn status_badge(status: &str) -> impl IntoView + use<> {
    let class = match status {
        "successful" => "badge ok",
        "error" => "badge bad",
        "warning" | "orphaned" => "badge warn",
        _ => "badge muted",
    };
    badge(class, status.to_owned())
}

fn warnings_view(warnings: Vec<String>) -> impl IntoView {
    (!warnings.is_empty()).then(move || {
        view! {
            <div class="warning" role="status">
                <ul class="links">
                    {warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                </ul>
            </div>
        }
    })
}

#[component]
pub fn BlueprintsPage() -> impl IntoView {
    let (page, search) = list_params();
    let instances = Resource::new(
        move || (page.get(), search.get()),
        |(p, s)| list_blueprint_instances(p, s),
    );
    view! {
        <Title text="Blueprints · Garrison"/>
        <div class="page-head">
            <h1>"Blueprints"</h1>
            <a class="button primary" href="/blueprints/new">"New instance"</a>
        </div>
        <PagedList list=instances base="/blueprints" search table=|rows| view! { <InstanceTable rows/> }/>
    }
}

#[component]
fn InstanceTable(rows: Vec<BlueprintInstanceRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="card empty">
                <p>"No blueprint instances yet."</p>
                <p>"A blueprint is a YAML file in authentik's format that declares objects \
                    (groups, users, providers, applications, outposts, keypairs…) and the state \
                    they should be in. Planning one shows what it would create, change or delete; \
                    applying it does that in one transaction, all or nothing. What you apply here \
                    runs as you, with your permissions."</p>
                <p>"To add one, drop a " <code>"*.yaml"</code> " file in the blueprints directory \
                    (GARRISON_BLUEPRINTS_DIR; by default " <code>"blueprints/"</code> " in the data \
                    directory): the server finds it, creates an instance for it and applies it, \
                    and applies it again whenever it changes. Or " <a href="/blueprints/new">"create an \
                    instance"</a> " with its YAML pasted in, then plan and apply it here."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <table class="list" data-testid="blueprints">
            <thead><tr>
                <th>"Name"</th><th>"Source"</th><th>"Status"</th><th>"Enabled"</th>
                <th>"Last applied"</th><th>"Last result"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let href = format!("/blueprints/{}", row.pk);
                    let source = if row.is_database() {
                        view! { <span class="badge muted">"database"</span> }.into_any()
                    } else {
                        view! { <code>{row.path.clone()}</code> }.into_any()
                    };
                    let enabled = if row.enabled { "yes" } else { "no" };
                    view! {
                        <tr>
                            <td><a href=href>{row.name}</a></td>
                            <td>{source}</td>
                            <td>{status_badge(&row.status)}</td>
                            <td>{enabled}</td>
                            <td>{row.last_applied}</td>
                            <td>{row.summary}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Name, then what `children` shows (the blueprint's source), then context and the enabled
/// flag: what the new and the edit forms share.
#[component]
fn InstanceInputs(
    name: String,
    context: String,
    enabled: bool,
    error: Signal<Option<UiError>>,
    children: Children,
) -> impl IntoView {
    view! {
        <label>"Name" <input type="text" name="name" required value=name/></label>
        <FieldError error field="name"/>
        {children()}
        <label>"Context (JSON)"
            <textarea name="context" rows="4" spellcheck="false">{context}</textarea>
        </label>
        <p class="hint">"Merged over the blueprint's own context: what its " <code>"!Context"</code>
            " tags read. Empty means none."</p>
        <FieldError error field="context"/>
        <label class="check">
            <input type="checkbox" name="enabled" checked=enabled/>
            " Enabled: it may be applied"
        </label>
        <FieldError error field="enabled"/>
    }
}

/// The blueprint's YAML in a monospace editor, and a file picker that loads a file into it.
#[component]
fn ContentEditor(content: String, error: Signal<Option<UiError>>) -> impl IntoView {
    view! {
        <label>"Blueprint (YAML)"
            <textarea name="content" class="editor" rows="18" spellcheck="false" autocomplete="off"
                placeholder="version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: example">
                {content}
            </textarea>
        </label>
        <FieldError error field="content"/>
        // No name: the file itself is never sent, only what it put in the textarea.
        <label class="upload">"Load from a file"
            <input type="file" accept=".yaml,.yml,application/yaml,text/yaml" onchange=LOAD_FILE_INTO_CONTENT/>
        </label>
        <p class="hint">"Loading a file replaces the text above (it needs JavaScript; otherwise \
           paste the file's content). Saving dry-runs the blueprint as you first."</p>
    }
}

/// The files a new instance can name.
#[component]
fn FileSelect(files: Result<Vec<String>, UiError>) -> impl IntoView {
    match files {
        Err(e) => view! { <LoadError error=e/> }.into_any(),
        Ok(files) if files.is_empty() => view! {
            <p class="hint">"No blueprint files in the blueprints directory yet. Drop a " <code>"*.yaml"</code>
                " file there (GARRISON_BLUEPRINTS_DIR) and reload this page."</p>
        }
        .into_any(),
        Ok(files) => view! {
            <label>"File"
                <select name="path">
                    {files.into_iter().map(|path| {
                        let label = path.clone();
                        view! { <option value=path>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
        .into_any(),
    }
}

#[component]
pub fn NewBlueprintPage() -> impl IntoView {
    let files = Resource::new(|| (), |_| blueprint_files());
    let create = ServerAction::<CreateBlueprintInstance>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    // Once hydrated, only the chosen source's inputs show; without JavaScript both do, and
    // the server takes the chosen one.
    let hydrated = hydrated();
    let (source, set_source) = signal("database");
    view! {
        <Title text="New blueprint instance · Garrison"/>
        <div class="page-head">
            <h1>"New blueprint instance"</h1>
            <a href="/blueprints">"All blueprint instances"</a>
        </div>
        <ActionForm action=create attr:class="card form wide" attr:data-testid="create-blueprint">
            <CsrfField/>
            <FormError error/>
            <OtherFieldErrors error shown=CREATE_FIELDS/>
            <InstanceInputs name=String::new() context=String::new() enabled=true error>
                <fieldset class="choices">
                    <legend>"Source"</legend>
                    <label class="check">
                        <input type="radio" name="source" value="database" checked=true
                            on:change=move |_| set_source.set("database")/>
                        " Kept in the database: paste or load the YAML"
                    </label>
                    <label class="check">
                        <input type="radio" name="source" value="file"
                            on:change=move |_| set_source.set("file")/>
                        " A file in the blueprints directory, applied by the server whenever it \
                          changes (superusers only)"
                    </label>
                </fieldset>
                <FieldError error field="source"/>
                <div class="source-inputs" hidden=move || hydrated.get() && source.get() != "database">
                    <ContentEditor content=String::new() error/>
                </div>
                <div class="source-inputs" hidden=move || hydrated.get() && source.get() != "file">
                    <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                        {move || files.get().map(|files| view! { <FileSelect files/> })}
                    </Suspense>
                    <FieldError error field="path"/>
                </div>
            </InstanceInputs>
            <p class="hint">"The instance is not applied when it is created: its page plans it, \
               then applies it."</p>
            <div class="actions">
                <button type="submit" class="primary">"Create instance"</button>
                <a href="/blueprints">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn BlueprintPage() -> impl IntoView {
    let params = use_params_map();
    // Built afresh for each instance: the router keeps this view when only the instance
    // changes, and a plan (with its Apply button) or a form's answer belongs to the instance
    // it was made on.
    move || {
        let uuid = params.with(|p| p.get("uuid").unwrap_or_default());
        view! { <InstancePage uuid/> }
    }
}

#[component]
fn InstancePage(uuid: String) -> impl IntoView {
    let instance = Resource::new(
        {
            let uuid = uuid.clone();
            move || uuid.clone()
        },
        get_blueprint_instance,
    );
    let handed_over = Resource::new(move || uuid.clone(), take_blueprint_plan);
    let run = ServerAction::<RunBlueprintInstance>::new();
    let update = ServerAction::<UpdateBlueprintInstance>::new();
    let delete = ServerAction::<DeleteBlueprintInstance>::new();
    // An apply answers `None` (a plan answers its report): the page then shows what was
    // recorded.
    Effect::new(move |_| {
        if matches!(run.value().get(), Some(Ok(None))) {
            instance.refetch();
        }
    });
    Effect::new(move |_| {
        if update.value().get().is_some_and(|r| r.is_ok()) {
            instance.refetch();
        }
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || instance.get().map(|result| match result {
                Err(e) => view! { <LoadError error=e/> }.into_any(),
                Ok(info) => view! { <BlueprintDetail info handed_over run update delete/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn BlueprintDetail(
    info: BlueprintInstanceInfo,
    handed_over: Resource<Result<Option<RunReport>, UiError>>,
    run: ServerAction<RunBlueprintInstance>,
    update: ServerAction<UpdateBlueprintInstance>,
    delete: ServerAction<DeleteBlueprintInstance>,
) -> impl IntoView {
    let row = info.row.clone();
    let source = if row.is_database() {
        view! { <span>"kept in the database"</span> }.into_any()
    } else if row.is_oci() {
        view! { <code>{row.path.clone()}</code> " (an OCI artifact)" }.into_any()
    } else {
        view! { <code>{row.path.clone()}</code> " in the blueprints directory" }.into_any()
    };
    let title = info
        .title
        .clone()
        .map(|title| view! { <dt>"Blueprint"</dt><dd>{title}</dd> });
    let enabled = if row.enabled {
        "yes"
    } else {
        "no: it is not applied"
    };
    let last_run = info.last_run.clone();
    view! {
        <Title text=format!("{} · Blueprints · Garrison", row.name)/>
        <div class="page-head">
            <h1>
                {row.name.clone()}
                <span data-testid="status">{status_badge(&row.status)}</span>
                {(!row.enabled).then(|| badge("badge muted", "disabled".into()))}
            </h1>
            <a href="/blueprints">"All blueprint instances"</a>
        </div>
        <div class="columns">
            <section class="card">
                <h2>"Instance"</h2>
                <dl class="facts" data-testid="blueprint-facts">
                    <dt>"Source"</dt><dd>{source}</dd>
                    {title}
                    <dt>"Status"</dt><dd>{status_badge(&row.status)}</dd>
                    <dt>"Enabled"</dt><dd>{enabled}</dd>
                    <dt>"Last applied"</dt><dd>{row.last_applied.clone()}</dd>
                </dl>
            </section>
            <LastRunCard last_run/>
        </div>
        <PlanCard pk=row.pk.clone() enabled=row.enabled handed_over run/>
        <EditCard info update/>
        <DeleteCard pk=row.pk.clone() name=row.name.clone() delete/>
    }
}

/// The entry a run stopped at (or why it could not start), in an error panel.
#[component]
fn FailurePanel(failure: RunFailure) -> impl IntoView {
    let RunFailure {
        entry,
        line,
        model,
        identifiers,
        message,
    } = failure;
    view! {
        <div class="form-error failure" role="alert" data-testid="failure">
            <p>{message}</p>
            <dl class="facts">
                {entry.map(|n| view! { <dt>"Entry"</dt><dd>{n}</dd> })}
                {line.map(|n| view! { <dt>"Line"</dt><dd>{n}</dd> })}
                {(!model.is_empty()).then(move || view! { <dt>"Model"</dt><dd><code>{model}</code></dd> })}
                {(!identifiers.is_empty()).then(move || view! {
                    <dt>"Identifiers"</dt><dd><code>{identifiers}</code></dd>
                })}
            </dl>
        </div>
    }
}

/// What the last run did, as recorded.
#[component]
fn LastRunCard(last_run: Option<RunReport>) -> impl IntoView {
    let body = match last_run {
        None => view! {
            <p class="hint">"Not applied yet. Plan it to see what applying would do."</p>
        }
        .into_any(),
        Some(report) => {
            let RunReport {
                summary,
                failure,
                warnings,
                ..
            } = report;
            let outcome = if failure.is_some() {
                "Failed: nothing was written."
            } else {
                "Applied."
            };
            view! {
                <p><strong>{outcome}</strong> " " {summary}</p>
                {failure.map(|failure| view! { <FailurePanel failure/> })}
                {warnings_view(warnings)}
            }
            .into_any()
        }
    };
    view! {
        <section class="card" id="last-run" data-testid="last-run">
            <h2>"Last run"</h2>
            {body}
        </section>
    }
}

/// Plan, then apply: the Apply button comes with a plan that succeeded, and sends back what
/// was planned. One server action serves both buttons, so each shows its own pending state
/// and both wait while either runs. After a plain form post the plan comes back through
/// `handed_over`, once.
#[component]
fn PlanCard(
    pk: String,
    enabled: bool,
    handed_over: Resource<Result<Option<RunReport>, UiError>>,
    run: ServerAction<RunBlueprintInstance>,
) -> impl IntoView {
    let error = Signal::derive(move || run.value().get().and_then(Result::err));
    let pending = run.pending();
    let planning = move || run.input().get().is_some_and(|input| input.mode == "plan");
    let plan_pk = pk.clone();
    // The newest answer wins: a plan, or nothing once applied (or failed).
    let shown = move || match run.value().get() {
        Some(Ok(report)) => report,
        Some(Err(_)) => None,
        None => handed_over.get().and_then(Result::ok).flatten(),
    };
    view! {
        <section class="card" id="plan" data-testid="plan">
            <h2>"Plan and apply"</h2>
            <p class="hint">"Planning runs the blueprint as you, against the objects as they are now, \
               and writes nothing. Applying is offered with a plan that succeeded."</p>
            <ActionForm action=run attr:class="inline" attr:data-testid="plan-form">
                <CsrfField/>
                <input type="hidden" name="pk" value=plan_pk/>
                <input type="hidden" name="mode" value="plan"/>
                <button type="submit" disabled=move || pending.get()>
                    {move || if planning() { "Planning…" } else { "Plan" }}
                </button>
            </ActionForm>
            <FormError error/>
            <FieldError error field="enabled"/>
            <Suspense fallback=|| ()>
                {move || shown().map(|report| view! {
                    <PlanResult report pk=pk.clone() enabled run/>
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PlanResult(
    report: RunReport,
    pk: String,
    enabled: bool,
    run: ServerAction<RunBlueprintInstance>,
) -> impl IntoView {
    let pending = run.pending();
    let applying = move || run.input().get().is_some_and(|input| input.mode == "apply");
    let RunReport {
        summary,
        rows,
        failure,
        warnings,
        planned,
        outposts,
    } = report;
    let apply = match (failure.is_some(), enabled) {
        (true, _) => view! {
            <p class="hint">"Nothing is applied while an entry fails: fix the blueprint, or what it \
               refers to, and plan again."</p>
        }
        .into_any(),
        (false, false) => view! {
            <p class="hint">"This instance is disabled: enable it below to apply it."</p>
        }
        .into_any(),
        (false, true) => view! {
            <ActionForm action=run attr:class="inline" attr:data-testid="apply">
                <CsrfField/>
                <input type="hidden" name="pk" value=pk/>
                <input type="hidden" name="mode" value="apply"/>
                <input type="hidden" name="planned" value=planned/>
                <button type="submit" class="primary" disabled=move || pending.get()>
                    {move || if applying() { "Applying…" } else { "Apply" }}
                </button>
            </ActionForm>
            <p class="hint">"Applies what this plan shows, in one transaction, as you. If the \
               blueprint or its context changed since, you are asked to plan again."</p>
        }
        .into_any(),
    };
    let table = if rows.is_empty() {
        view! { <p class="hint">"No entries ran."</p> }.into_any()
    } else {
        view! { <PlanTable rows/> }.into_any()
    };
    view! {
        <p data-testid="plan-summary"><strong>{summary}</strong></p>
        {failure.map(|failure| view! { <FailurePanel failure/> })}
        {warnings_view(warnings)}
        {table}
        {outposts.map(|outposts| view! {
            <p data-testid="plan-outposts">"Outposts that would receive an update: " {outposts}</p>
        })}
        <div class="actions">{apply}</div>
    }
}

/// One row per entry, as `garrison blueprint plan` draws them: the sign, the entry, the model,
/// its identifiers, and the fields that would be written.
#[component]
fn PlanTable(rows: Vec<PlanRow>) -> impl IntoView {
    view! {
        <table class="list plan" data-testid="plan-rows">
            <thead><tr>
                <th></th><th>"Entry"</th><th>"Action"</th><th>"Model"</th><th>"Identifiers"</th>
                <th>"Changes"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let PlanRow { sign, action, entry, line, model, identifiers, details } = row;
                    let sign_class = format!("sign {action}");
                    let place = format!("{entry} (line {line})");
                    view! {
                        <tr>
                            <td class=sign_class>{sign}</td>
                            <td>{place}</td>
                            <td>{action}</td>
                            <td><code>{model}</code></td>
                            <td><code>{identifiers}</code></td>
                            <td>
                                <ul class="changes">
                                    {details.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}
                                </ul>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Name, context and enabled flag for every instance; the content too for one kept in the
/// database. A file instance's file is shown read-only: the file is the source.
#[component]
fn EditCard(
    info: BlueprintInstanceInfo,
    update: ServerAction<UpdateBlueprintInstance>,
) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let saved = move || update.value().get().is_some_and(|r| r.is_ok());
    let BlueprintInstanceInfo {
        row,
        text,
        text_error,
        context,
        ..
    } = info;
    let database = row.is_database();
    // A file (or OCI) instance's blueprint, read-only below the form.
    let source = (!database).then(|| {
        let note = if row.is_oci() {
            "Its blueprint is an OCI artifact, pulled from its registry at every plan and run; \
             the server never applies it on its own."
        } else {
            "Its blueprint is this file in the blueprints directory, read at every run: change \
             the file to change the blueprint (the server applies it again when it changes)."
        };
        let shown = match text_error {
            Some(message) => view! { <p class="warning" role="alert">{message}</p> }.into_any(),
            None => view! {
                <pre class="source" data-testid="blueprint-source"><code>{text.clone()}</code></pre>
            }
            .into_any(),
        };
        view! {
            <section class="card">
                <h2>"Blueprint"</h2>
                <p class="hint">{note}</p>
                {shown}
            </section>
        }
    });
    view! {
        <section class="card" id="edit">
            <h2>"Edit"</h2>
            <ActionForm action=update attr:class="form wide" attr:data-testid="edit-blueprint">
                <CsrfField/>
                <input type="hidden" name="pk" value=row.pk.clone()/>
                <FormError error/>
                <OtherFieldErrors error shown=EDIT_FIELDS/>
                {move || saved().then(|| view! {
                    <p class="notice" role="status">"Saved. Plan it again to see what applying does now."</p>
                })}
                <InstanceInputs name=row.name.clone() context enabled=row.enabled error>
                    {database.then(move || view! { <ContentEditor content=text error/> })}
                </InstanceInputs>
                <div class="actions"><button type="submit" class="primary">"Save"</button></div>
            </ActionForm>
        </section>
        {source}
    }
}

/// Deleting asks for a ticked box first, checked again by the server.
#[component]
fn DeleteCard(
    pk: String,
    name: String,
    delete: ServerAction<DeleteBlueprintInstance>,
) -> impl IntoView {
    let error = Signal::derive(move || delete.value().get().and_then(Result::err));
    view! {
        <section class="card danger-zone">
            <h2>"Delete"</h2>
            <p class="hint">"Deletes the instance only: what its blueprint created stays."</p>
            <ActionForm action=delete attr:class="form" attr:data-testid="delete-blueprint">
                <CsrfField/>
                <input type="hidden" name="pk" value=pk/>
                <label class="check">
                    <input type="checkbox" name="confirm" required/>
                    {format!(" Yes, delete the instance “{name}”")}
                </label>
                <FieldError error field="confirm"/>
                <div class="actions"><button type="submit" class="danger">"Delete instance"</button></div>
            </ActionForm>
            <FormError error/>
        </section>
    }
}
