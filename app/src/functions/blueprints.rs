//! Server functions for blueprint instances (the "Blueprints" pages): list, read, create,
//! edit and delete instances, and plan or apply one **as the logged-in user**.
//!
//! What reaches the browser is small view types, not the services' records: a row per
//! instance, its text and context for the page that edits them, and a [`RunReport`] for what
//! a run did or, planned, would do. A plan is drawn from the services' `Outcome` by
//! [`plan_report`], with the same information `garrison blueprint plan` prints as a diff;
//! secrets in it already read `"(hidden)"`.
//!
//! Applying is offered with a plan only: the apply form carries a fingerprint of the text and
//! context that were planned, and applying refuses when they changed since, so what the
//! operator saw is what is applied (objects the blueprint refers to may still have changed).
use garrison_model::Page;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::UiError;

#[cfg(feature = "ssr")]
use {
    super::{list_query, parse_checkbox, ssr},
    garrison_model::{BlueprintInstance, BlueprintInstanceChanges, FieldErrors},
    garrison_services::blueprints::{Action, EntryFailure, EntryOutcome, Outcome, RunOptions},
    garrison_services::{BlueprintSource, Caller, Services},
    serde_json::{Map, Value},
    uuid::Uuid,
};

/// One instance as the list shows it (never its text: that is for its own page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlueprintInstanceRow {
    pub pk: String,
    pub name: String,
    /// `""`: the text is kept in the database; `oci://…`: an OCI artifact (shown without the
    /// credentials it may carry); otherwise a file, relative to the blueprints directory.
    pub path: String,
    /// `successful`, `error`, `unknown`, … as authentik spells them.
    pub status: String,
    pub enabled: bool,
    /// When its last run ended, or "never".
    pub last_applied: String,
    /// Its last run in one line ("3 entries applied, with changes", or why it failed); empty
    /// before the first run.
    pub summary: String,
}

impl BlueprintInstanceRow {
    pub fn is_database(&self) -> bool {
        self.path.is_empty()
    }

    pub fn is_oci(&self) -> bool {
        self.path.starts_with(garrison_model::OCI_PREFIX)
    }
}

/// One instance as its page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlueprintInstanceInfo {
    pub row: BlueprintInstanceRow,
    /// The blueprint's text: its content, or its file's as it is now.
    pub text: String,
    /// Why the text could not be read (a missing file, an OCI source); `text` is then empty.
    pub text_error: Option<String>,
    /// Its context as JSON, formatted for the textarea that edits it.
    pub context: String,
    /// The blueprint's own name (`metadata.name`) as of its last run, when it has one.
    pub title: Option<String>,
    /// What its last run did, as recorded; `None` before the first run.
    pub last_run: Option<RunReport>,
}

/// What a run of a blueprint did (an instance's last run, as recorded) or would do (a plan).
/// One type for both, so the page decodes one shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// One line: "3 changes: 2 to create, 1 to update", or why the run failed.
    pub summary: String,
    /// A plan's entries; a recorded run keeps none.
    pub rows: Vec<PlanRow>,
    /// The entry the run stopped at, or why it could not start.
    pub failure: Option<RunFailure>,
    /// What the blueprint's author may not have meant (keys authentik would ignore).
    pub warnings: Vec<String>,
    /// A plan's fingerprint of the text and context it planned, for the apply form; empty for
    /// a recorded run, or when there was no text to plan.
    pub planned: String,
    /// The outposts applying would send a new configuration (a plan's; `None` when none).
    pub outposts: Option<String>,
}

/// One entry of a plan: what applying would do to its object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    /// `+` create, `~` update, `-` delete, `=` unchanged, `·` skipped, `»` applies another
    /// instance (its entries follow).
    pub sign: String,
    /// `create`, `update`, `delete`, `unchanged`, `skip` or `apply`.
    pub action: String,
    /// Numbered from 1 as messages number entries; an applied instance's entries below it
    /// ("2.1").
    pub entry: String,
    pub line: u32,
    /// `app_label.model`.
    pub model: String,
    /// `name: "admins", parent: 3`, values as compact JSON.
    pub identifiers: String,
    /// A create's fields (`field: value`), an update's (`field: old → new`), why an entry is
    /// skipped, or which instance it applies.
    pub details: Vec<String>,
}

/// Where a run stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    /// Numbered from 1; `None` when the run stopped before any entry (the text could not be
    /// read or parsed).
    pub entry: Option<usize>,
    pub line: Option<u32>,
    /// As far as it was resolved; empty when no entry was reached.
    pub model: String,
    /// As far as they were resolved, as in [`PlanRow::identifiers`].
    pub identifiers: String,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Outcome → view (no services needed: unit-tested below)
// ---------------------------------------------------------------------------------------------

/// An outcome's entries as the plan table shows them, in order; the entries of an instance a
/// `metaapplyblueprint` entry applies follow it, numbered below it.
#[cfg(feature = "ssr")]
pub fn plan_rows(outcome: &Outcome) -> Vec<PlanRow> {
    let mut rows = Vec::with_capacity(outcome.entries.len());
    push_rows(&outcome.entries, "", &mut rows);
    rows
}

#[cfg(feature = "ssr")]
fn push_rows(entries: &[EntryOutcome], prefix: &str, rows: &mut Vec<PlanRow>) {
    for entry in entries {
        let number = format!("{prefix}{}", entry.index + 1);
        let (sign, action, details): (&str, &str, Vec<String>) = match &entry.action {
            Action::Created { fields } => (
                "+",
                "create",
                fields
                    .iter()
                    .map(|change| format!("{}: {}", change.field, change.new))
                    .collect(),
            ),
            Action::Updated { fields } => (
                "~",
                "update",
                fields
                    .iter()
                    .map(|change| format!("{}: {} → {}", change.field, change.old, change.new))
                    .collect(),
            ),
            Action::Deleted => ("-", "delete", Vec::new()),
            Action::Unchanged => ("=", "unchanged", Vec::new()),
            Action::Skipped { reason } => ("·", "skip", vec![reason.clone()]),
            Action::Applied {
                blueprint, entries, ..
            } => {
                rows.push(PlanRow {
                    sign: "»".into(),
                    action: "apply".into(),
                    entry: number.clone(),
                    line: entry.line,
                    model: entry.model.clone(),
                    identifiers: identifiers_text(&entry.identifiers),
                    details: vec![format!("applies the instance {blueprint}")],
                });
                push_rows(entries, &format!("{number}."), rows);
                continue;
            }
        };
        rows.push(PlanRow {
            sign: sign.into(),
            action: action.into(),
            entry: number,
            line: entry.line,
            model: entry.model.clone(),
            identifiers: identifiers_text(&entry.identifiers),
            details,
        });
    }
}

/// `name: "admins", parent: 3`.
#[cfg(feature = "ssr")]
fn identifiers_text(identifiers: &Map<String, Value>) -> String {
    identifiers
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "3 changes: 2 to create, 1 to update; 1 unchanged", or "Nothing to change; …".
#[cfg(feature = "ssr")]
fn changes_summary(rows: &[PlanRow]) -> String {
    let count = |action: &str| rows.iter().filter(|row| row.action == action).count();
    let listed = |counts: &[(usize, &str)]| -> Vec<String> {
        counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect()
    };
    let changes = listed(&[
        (count("create"), "to create"),
        (count("update"), "to update"),
        (count("delete"), "to delete"),
    ]);
    let total = count("create") + count("update") + count("delete");
    let mut summary = match total {
        0 => "Nothing to change".to_owned(),
        1 => format!("1 change: {}", changes.join(", ")),
        n => format!("{n} changes: {}", changes.join(", ")),
    };
    let others = listed(&[
        (count("unchanged"), "unchanged"),
        (count("skip"), "skipped"),
    ]);
    if !others.is_empty() {
        summary.push_str("; ");
        summary.push_str(&others.join(", "));
    }
    summary
}

/// The first line of a message, for one-line summaries.
#[cfg(feature = "ssr")]
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_owned()
}

#[cfg(feature = "ssr")]
fn entry_failure(failure: &EntryFailure) -> RunFailure {
    RunFailure {
        entry: Some(failure.index + 1),
        line: Some(failure.line),
        model: failure.model.clone(),
        identifiers: identifiers_text(&failure.identifiers),
        message: failure.message.clone(),
    }
}

/// A plan as the page shows it: the rows, the failing entry if any, and a summary.
#[cfg(feature = "ssr")]
pub fn plan_report(outcome: &Outcome, warnings: Vec<String>, planned: String) -> RunReport {
    let rows = plan_rows(outcome);
    let failure = outcome.failure.as_ref().map(entry_failure);
    let summary = match &failure {
        Some(failure) => first_line(&failure.message),
        None => changes_summary(&rows),
    };
    RunReport {
        summary,
        rows,
        failure,
        warnings,
        planned,
        outposts: outcome.outposts_text(),
    }
}

/// A run that could not start: no text to read, or text that does not parse.
#[cfg(feature = "ssr")]
fn stopped_report(message: String, line: Option<u32>, planned: String) -> RunReport {
    RunReport {
        summary: first_line(&message),
        failure: Some(RunFailure {
            entry: None,
            line,
            model: String::new(),
            identifiers: String::new(),
            message,
        }),
        planned,
        ..RunReport::default()
    }
}

/// An instance's `last_result` as the services record it: `{"success": true, "changed",
/// "entries", "warnings"}`, or `{"success": false, "stage", "message", "entry": {"index",
/// "line", "model", "identifiers"}, "line", "warnings"}` (the entry or the line when known).
#[cfg(feature = "ssr")]
fn recorded_report(result: &Value) -> RunReport {
    let warnings: Vec<String> = result["warnings"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if result["success"].as_bool() == Some(true) {
        let entries = result["entries"].as_u64().unwrap_or(0);
        let noun = if entries == 1 { "entry" } else { "entries" };
        let what = if result["changed"].as_bool() == Some(true) {
            "with changes"
        } else {
            "nothing changed"
        };
        return RunReport {
            summary: format!("{entries} {noun} applied, {what}"),
            warnings,
            ..RunReport::default()
        };
    }
    let message = result["message"]
        .as_str()
        .unwrap_or("The run failed.")
        .to_owned();
    let entry = &result["entry"];
    let line = entry["line"]
        .as_u64()
        .or_else(|| result["line"].as_u64())
        .and_then(|line| u32::try_from(line).ok());
    RunReport {
        summary: first_line(&message),
        failure: Some(RunFailure {
            entry: entry["index"]
                .as_u64()
                .and_then(|index| usize::try_from(index).ok())
                .map(|index| index + 1),
            line,
            model: entry["model"].as_str().unwrap_or_default().to_owned(),
            identifiers: entry["identifiers"]
                .as_object()
                .map(identifiers_text)
                .unwrap_or_default(),
            message,
        }),
        warnings,
        ..RunReport::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers (server only)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "ssr")]
fn invalid(field: &str, message: impl Into<String>) -> UiError {
    UiError::Invalid(FieldErrors::single(field, message))
}

#[cfg(feature = "ssr")]
fn uuid_of(text: &str) -> Result<Uuid, UiError> {
    Uuid::parse_str(text.trim())
        .map_err(|_| UiError::Message(format!("No blueprint instance {text}.")))
}

/// Under which label a plan waits for the page a plain form post is sent back to.
#[cfg(feature = "ssr")]
fn plan_label(pk: Uuid) -> String {
    format!("blueprint-plan/{}", pk.simple())
}

/// Browsers send a textarea's lines ended by CRLF; the blueprint is kept as written, with LF.
#[cfg(feature = "ssr")]
fn unix_lines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text
    }
}

/// The context typed into a textarea: a JSON object, empty meaning `{}`.
#[cfg(feature = "ssr")]
fn context_object(text: &str, errors: &mut FieldErrors) -> Map<String, Value> {
    if text.trim().is_empty() {
        return Map::new();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            errors.add("context", "Expected a JSON object ({ … }).");
            Map::new()
        }
        Err(e) => {
            errors.add("context", format!("Not valid JSON: {e}."));
            Map::new()
        }
    }
}

#[cfg(feature = "ssr")]
fn instance_row(instance: &BlueprintInstance) -> BlueprintInstanceRow {
    // `last_applied` is set when the instance is created (authentik's field is `auto_now`);
    // only a recorded result says that it ran.
    let ran = instance.last_result.is_some();
    BlueprintInstanceRow {
        pk: instance.pk.to_string(),
        name: instance.name.clone(),
        // An `oci://` path may carry registry credentials: pages show it without them.
        path: garrison_services::shown_blueprint_path(&instance.path),
        status: instance.status.as_str().to_owned(),
        enabled: instance.enabled,
        last_applied: if ran {
            crate::pages::utc_time(instance.last_applied, false)
        } else {
            "never".into()
        },
        summary: instance
            .last_result
            .as_ref()
            .map(|result| recorded_report(result).summary)
            .unwrap_or_default(),
    }
}

/// The text a run of `instance` reads, or why there is none: its content, or its file below
/// the blueprints directory as it is now, read by the services' own reader (the one an apply
/// uses), so what the page shows and plans is what an apply reads.
#[cfg(feature = "ssr")]
async fn blueprint_text(
    services: &Services,
    instance: &BlueprintInstance,
) -> Result<BlueprintSource, String> {
    match services.retrieve_blueprint(instance).await {
        Ok(read) => read,
        Err(error) => Err(format!("Reading the blueprint failed: {error}.")),
    }
}

/// SHA-256 of the text and the context a plan ran with: the apply form sends it back, and
/// applying refuses when the instance's text or context changed since.
#[cfg(feature = "ssr")]
fn fingerprint(text: &str, context: &Map<String, Value>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    hasher.update([0u8]);
    hasher.update(serde_json::to_vec(context).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// Plans the instance's current text with its context as `caller`: nothing is written.
#[cfg(feature = "ssr")]
async fn plan_instance(
    services: &Services,
    caller: &Caller,
    instance: &BlueprintInstance,
) -> Result<RunReport, UiError> {
    let source = match blueprint_text(services, instance).await {
        Ok(source) => source,
        Err(message) => return Ok(stopped_report(message, None, String::new())),
    };
    let planned = fingerprint(&source.text, &instance.context);
    let blueprint =
        match garrison_blueprint::parse(&source.text, &garrison_blueprint::Limits::default()) {
            Ok(blueprint) => blueprint,
            Err(error) => {
                return Ok(stopped_report(
                    error.to_string(),
                    Some(error.line()),
                    planned,
                ));
            }
        };
    // As the services set them when they apply the instance.
    let options = RunOptions {
        context: instance.context.clone(),
        files_root: source.files_root,
        instance: Some(instance.name.clone()),
        ..RunOptions::default()
    };
    let outcome = services
        .plan_blueprint(caller, &blueprint, &options)
        .await?;
    let warnings = blueprint
        .warnings
        .iter()
        .map(|warning| warning.message.clone())
        .collect();
    Ok(plan_report(&outcome, warnings, planned))
}

#[cfg(feature = "ssr")]
const CHANGED_SINCE_PLANNED: &str = "The blueprint or its context changed since it was planned: \
     plan it again to see what applying does now.";

// ---------------------------------------------------------------------------------------------
// Server functions
// ---------------------------------------------------------------------------------------------

#[server(prefix = "/ui-fn", endpoint = "list_blueprint_instances", input = GetUrl)]
pub async fn list_blueprint_instances(
    page: u64,
    search: String,
) -> Result<Page<BlueprintInstanceRow>, UiError> {
    let (services, caller) = ssr::caller("/blueprints")?;
    Ok(services
        .list_blueprint_instances(&caller, &list_query(page, search), Default::default())
        .await?
        .map(|instance| instance_row(&instance)))
}

#[server(prefix = "/ui-fn", endpoint = "get_blueprint_instance", input = GetUrl)]
pub async fn get_blueprint_instance(pk: String) -> Result<BlueprintInstanceInfo, UiError> {
    let (services, caller) = ssr::caller("/blueprints")?;
    let instance = services
        .get_blueprint_instance(&caller, uuid_of(&pk)?)
        .await?;
    let (text, text_error) = match blueprint_text(&services, &instance).await {
        Ok(source) => (source.text, None),
        Err(message) => (String::new(), Some(message)),
    };
    let context = serde_json::to_string_pretty(&instance.context).unwrap_or_else(|_| "{}".into());
    Ok(BlueprintInstanceInfo {
        row: instance_row(&instance),
        text,
        text_error,
        context,
        title: instance
            .metadata
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
        last_run: instance.last_result.as_ref().map(recorded_report),
    })
}

/// The blueprint files a new instance can name, by path relative to the blueprints directory.
#[server(prefix = "/ui-fn", endpoint = "blueprint_files", input = GetUrl)]
pub async fn blueprint_files() -> Result<Vec<String>, UiError> {
    let (services, caller) = ssr::caller("/blueprints")?;
    Ok(services
        .available_blueprints(&caller)
        .await?
        .into_iter()
        .map(|file| file.path)
        .collect())
}

/// Creates the instance (its content is dry-run as the caller first) and opens its page. It is
/// not applied: its page plans and applies it.
#[server(prefix = "/ui-fn", endpoint = "create_blueprint_instance")]
pub async fn create_blueprint_instance(
    csrf_token: String,
    name: String,
    source: String,
    content: Option<String>,
    path: Option<String>,
    context: String,
    enabled: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/blueprints")?;
    let mut errors = FieldErrors::new();
    let context = context_object(&context, &mut errors);
    // Without JavaScript the form shows both sources' inputs: the chosen one counts.
    let (path, content) = match source.as_str() {
        "database" => {
            let content = unix_lines(content.unwrap_or_default());
            if content.trim().is_empty() {
                errors.add("content", "Paste the blueprint, or load it from a file.");
            }
            (None, Some(content))
        }
        "file" => {
            let path = path.unwrap_or_default().trim().to_owned();
            if path.is_empty() {
                errors.add("path", "Choose a blueprint file.");
            }
            (Some(path), None)
        }
        other => {
            errors.add("source", format!("\"{other}\" is not a valid choice."));
            (None, None)
        }
    };
    errors.into_result().map_err(UiError::Invalid)?;
    let instance = services
        .create_blueprint_instance(
            &caller,
            BlueprintInstanceChanges {
                name: Some(name),
                path,
                content,
                context: Some(context),
                enabled: Some(parse_checkbox(&enabled)),
            },
        )
        .await?;
    leptos_axum::redirect(&format!("/blueprints/{}", instance.pk));
    Ok(())
}

/// Saves the name, context, enabled flag and, for an instance kept in the database, its
/// content (dry-run as the caller first). A file instance's file is changed where it lies.
#[server(prefix = "/ui-fn", endpoint = "update_blueprint_instance")]
pub async fn update_blueprint_instance(
    csrf_token: String,
    pk: String,
    name: String,
    content: Option<String>,
    context: String,
    enabled: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/blueprints")?;
    let pk = uuid_of(&pk)?;
    let mut errors = FieldErrors::new();
    let context = context_object(&context, &mut errors);
    errors.into_result().map_err(UiError::Invalid)?;
    services
        .update_blueprint_instance(
            &caller,
            pk,
            BlueprintInstanceChanges {
                name: Some(name),
                path: None,
                content: content.map(unix_lines),
                context: Some(context),
                enabled: Some(parse_checkbox(&enabled)),
            },
            true,
        )
        .await?;
    Ok(())
}

/// `mode` `plan`: plans the instance as the caller and returns the plan (nothing is written).
/// `mode` `apply`: applies it as the caller, when its text and context are still those
/// `planned` (the plan's fingerprint), and returns `None`; the page then shows the recorded
/// result. One function for both, so the page carries one form type for the two buttons.
///
/// A plain form post cannot receive the plan: it is handed over to the page the browser is
/// sent back to, once, as a revealed token is.
#[server(prefix = "/ui-fn", endpoint = "run_blueprint_instance")]
pub async fn run_blueprint_instance(
    csrf_token: String,
    pk: String,
    mode: String,
    planned: Option<String>,
) -> Result<Option<RunReport>, UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/blueprints")?;
    let pk = uuid_of(&pk)?;
    let instance = services.get_blueprint_instance(&caller, pk).await?;
    match mode.as_str() {
        "plan" => {
            let report = plan_instance(&services, &caller, &instance).await?;
            if ssr::posted_without_javascript() {
                let kept = serde_json::to_string(&report).map_err(|error| {
                    UiError::Message(format!("The plan could not be kept for the page: {error}"))
                })?;
                services.hand_over(&caller, &plan_label(pk), &kept).await?;
                leptos_axum::redirect(&format!("/blueprints/{pk}#plan"));
            }
            Ok(Some(report))
        }
        "apply" => {
            let Some(planned) = planned.filter(|planned| !planned.is_empty()) else {
                return Err(UiError::Message(
                    "Plan the blueprint first: applying is offered with its plan.".into(),
                ));
            };
            // The text as the services will read it; a file that became unreadable changed.
            let current = blueprint_text(&services, &instance)
                .await
                .map(|source| fingerprint(&source.text, &instance.context))
                .unwrap_or_default();
            if current != planned {
                return Err(UiError::Message(CHANGED_SINCE_PLANNED.into()));
            }
            services.apply_blueprint_instance(&caller, pk).await?;
            if ssr::posted_without_javascript() {
                leptos_axum::redirect(&format!("/blueprints/{pk}#last-run"));
            }
            Ok(None)
        }
        other => Err(UiError::Message(format!("Unknown action {other:?}."))),
    }
}

/// The plan a form posted without JavaScript just made, once (see `run_blueprint_instance`).
#[server(prefix = "/ui-fn", endpoint = "take_blueprint_plan", input = GetUrl)]
pub async fn take_blueprint_plan(pk: String) -> Result<Option<RunReport>, UiError> {
    let (services, caller) = ssr::caller("/blueprints")?;
    let Ok(pk) = uuid_of(&pk) else {
        return Ok(None);
    };
    let kept = services.take_handed_over(&caller, &plan_label(pk)).await?;
    Ok(kept.and_then(|text| serde_json::from_str(&text).ok()))
}

/// Deletes the instance once the form's box is ticked; what its blueprint wrote stays.
#[server(prefix = "/ui-fn", endpoint = "delete_blueprint_instance")]
pub async fn delete_blueprint_instance(
    csrf_token: String,
    pk: String,
    confirm: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/blueprints")?;
    if !parse_checkbox(&confirm) {
        return Err(invalid("confirm", "Tick the box to confirm the deletion."));
    }
    services
        .delete_blueprint_instance(&caller, uuid_of(&pk)?)
        .await?;
    leptos_axum::redirect("/blueprints");
    Ok(())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use garrison_services::blueprints::FieldChange;
    use serde_json::json;

    fn name(value: &str) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("name".into(), json!(value));
        map
    }

    fn entry(index: usize, line: u32, action: Action) -> EntryOutcome {
        EntryOutcome {
            index,
            line,
            model: "authentik_core.group".into(),
            identifiers: name(&format!("g{index}")),
            action,
        }
    }

    #[test]
    fn each_action_is_one_row_with_its_sign_and_fields() {
        let outcome = Outcome {
            entries: vec![
                entry(
                    0,
                    3,
                    Action::Created {
                        fields: vec![
                            FieldChange {
                                field: "name".into(),
                                old: Value::Null,
                                new: json!("g0"),
                            },
                            FieldChange {
                                field: "is_superuser".into(),
                                old: Value::Null,
                                new: json!(false),
                            },
                        ],
                    },
                ),
                entry(
                    1,
                    7,
                    Action::Updated {
                        fields: vec![FieldChange {
                            field: "attributes".into(),
                            old: json!({"tier": 1}),
                            new: json!({"tier": 2}),
                        }],
                    },
                ),
                entry(2, 11, Action::Deleted),
                entry(3, 14, Action::Unchanged),
                entry(
                    4,
                    17,
                    Action::Skipped {
                        reason: "conditions are false".into(),
                    },
                ),
            ],
            failure: None,
            changed: true,
            ..Outcome::default()
        };
        let rows = plan_rows(&outcome);
        let signs: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|row| (row.sign.as_str(), row.action.as_str(), row.entry.as_str()))
            .collect();
        assert_eq!(
            signs,
            [
                ("+", "create", "1"),
                ("~", "update", "2"),
                ("-", "delete", "3"),
                ("=", "unchanged", "4"),
                ("·", "skip", "5"),
            ]
        );
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[0].model, "authentik_core.group");
        assert_eq!(rows[0].identifiers, "name: \"g0\"");
        assert_eq!(rows[0].details, ["name: \"g0\"", "is_superuser: false"]);
        assert_eq!(rows[1].details, ["attributes: {\"tier\":1} → {\"tier\":2}"]);
        assert!(rows[2].details.is_empty() && rows[3].details.is_empty());
        assert_eq!(rows[4].details, ["conditions are false"]);

        let report = plan_report(&outcome, Vec::new(), "f".into());
        assert_eq!(
            report.summary,
            "3 changes: 1 to create, 1 to update, 1 to delete; 1 unchanged, 1 skipped"
        );
        assert_eq!(report.failure, None);
        assert_eq!(report.planned, "f");
    }

    #[test]
    fn an_applied_instances_entries_follow_its_row() {
        let outcome = Outcome {
            entries: vec![EntryOutcome {
                index: 1,
                line: 9,
                model: "authentik_blueprints.metaapplyblueprint".into(),
                identifiers: Map::new(),
                action: Action::Applied {
                    blueprint: "base".into(),
                    changed: false,
                    entries: vec![entry(0, 2, Action::Unchanged)],
                },
            }],
            failure: None,
            changed: false,
            ..Outcome::default()
        };
        let rows = plan_rows(&outcome);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].sign.as_str(), rows[0].entry.as_str()), ("»", "2"));
        assert_eq!(rows[0].details, ["applies the instance base"]);
        assert_eq!(
            (rows[1].sign.as_str(), rows[1].entry.as_str()),
            ("=", "2.1")
        );
        assert_eq!(changes_summary(&rows), "Nothing to change; 1 unchanged");
    }

    #[test]
    fn a_failing_entry_is_the_summary_and_the_failure() {
        let outcome = Outcome {
            entries: vec![entry(0, 3, Action::Unchanged)],
            failure: Some(EntryFailure {
                index: 1,
                line: 8,
                model: "authentik_core.user".into(),
                identifiers: name("u"),
                message: "entry 2 (line 8) authentik_core.user {name: u}: email: Enter a valid \
                          email address."
                    .into(),
            }),
            changed: false,
            ..Outcome::default()
        };
        let report = plan_report(&outcome, vec!["line 2: ignored".into()], String::new());
        let failure = report.failure.expect("the failure");
        assert_eq!(failure.entry, Some(2));
        assert_eq!(failure.line, Some(8));
        assert_eq!(failure.model, "authentik_core.user");
        assert_eq!(failure.identifiers, "name: \"u\"");
        assert_eq!(report.summary, failure.message);
        assert_eq!(report.rows.len(), 1, "the entries before it are kept");
        assert_eq!(report.warnings, ["line 2: ignored"]);
    }

    #[test]
    fn recorded_results_read_as_one_line() {
        let success = recorded_report(&json!({
            "success": true, "changed": true, "entries": 3, "warnings": []
        }));
        assert_eq!(success.summary, "3 entries applied, with changes");
        assert_eq!(success.failure, None);
        let quiet = recorded_report(&json!({"success": true, "changed": false, "entries": 1}));
        assert_eq!(quiet.summary, "1 entry applied, nothing changed");

        let failed = recorded_report(&json!({
            "success": false, "stage": "apply",
            "entry": {"index": 0, "line": 4, "model": "authentik_core.group",
                      "identifiers": {"name": "taken"}},
            "message": "entry 1 (line 4) authentik_core.group {name: taken}: name: State is \
                        set to must_created and object exists already",
            "warnings": ["w"],
        }));
        let failure = failed.failure.clone().expect("the failure");
        assert_eq!(
            (failure.entry, failure.line, failure.identifiers.as_str()),
            (Some(1), Some(4), "name: \"taken\"")
        );
        assert!(
            failed.summary.contains("must_created"),
            "{}",
            failed.summary
        );
        assert_eq!(failed.warnings, ["w"]);

        let unparsable = recorded_report(&json!({
            "success": false, "stage": "parse", "message": "line 3: bad\nmore", "line": 3
        }));
        let failure = unparsable.failure.clone().expect("the failure");
        assert_eq!((failure.entry, failure.line), (None, Some(3)));
        assert_eq!(unparsable.summary, "line 3: bad");
    }

    #[test]
    fn the_fingerprint_follows_text_and_context() {
        let context = Map::new();
        let planned = fingerprint("version: 1\n", &context);
        assert_eq!(planned, fingerprint("version: 1\n", &context));
        assert_ne!(planned, fingerprint("version: 1\n\n", &context));
        let mut changed = Map::new();
        changed.insert("k".into(), json!("v"));
        assert_ne!(planned, fingerprint("version: 1\n", &changed));
    }
}
