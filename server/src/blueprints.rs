//! The blueprint commands' library side. `validate` checks what can be checked of a file
//! without a store — YAML, structure, tag shapes, keys authentik would silently ignore, and
//! whether the engine can write each entry's model; `render_outcome` draws what a plan
//! or an apply did, entry by entry, as a diff; `render_progress_bar` is the line a large
//! plan or apply redraws on a terminal while it runs.
use std::fmt::Write as _;
use std::time::Duration;

use garrison_blueprint::{Blueprint, Limits, NodeValue, parse};
use garrison_services::blueprints::{Action, EntryOutcome, Outcome, check_model};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, with the line it is about (0 when the file as a whole is meant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub line: u32,
    pub message: String,
}

/// What `validate` found in one file.
#[derive(Debug, Default)]
pub struct Report {
    pub entries: usize,
    pub findings: Vec<Finding>,
    /// Models named by entries that Garrison does not implement, each once, in file order.
    pub unsupported_models: Vec<String>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Checks one blueprint's text.
pub fn validate(text: &str) -> Report {
    let mut report = Report::default();
    match parse(text, &Limits::default()) {
        Ok(blueprint) => check_models(&blueprint, &mut report),
        Err(error) => report.findings.push(Finding {
            severity: Severity::Error,
            line: error.line(),
            message: error.to_string(),
        }),
    }
    report
}

fn check_models(blueprint: &Blueprint, report: &mut Report) {
    report.entries = blueprint.entries.len();
    report
        .findings
        .extend(blueprint.warnings.iter().map(|w| Finding {
            severity: Severity::Warning,
            line: w.line,
            message: w.message.clone(),
        }));
    for entry in &blueprint.entries {
        // A model given by a tag is only known when the entry is evaluated.
        let NodeValue::Str(model) = &entry.model.value else {
            continue;
        };
        // The engine's own check: what validate refuses, a run refuses. authentik fails the
        // whole blueprint on an unknown model, even in an entry whose conditions are false;
        // so does Garrison, naming the entry.
        let Err(why) = check_model(model) else {
            continue;
        };
        report.findings.push(Finding {
            severity: Severity::Error,
            line: entry.line,
            message: format!(
                "{}: {why}, so this blueprint cannot be applied",
                entry.label()
            ),
        });
        if !report.unsupported_models.contains(model) {
            report.unsupported_models.push(model.clone());
        }
    }
}

/// A value as a plan shows it: strings quoted, everything else as JSON.
fn shown(value: &Value) -> String {
    value.to_string()
}

/// What a run did, one block per entry: `+` created (with every field set), `~` updated (each
/// differing field as old → new), `-` deleted, `=` unchanged, `·` skipped (with why); then the
/// failure, if any, as FILE:LINE. `file` names the blueprint in messages.
pub fn render_outcome(file: &str, outcome: &Outcome) -> String {
    let mut out = String::new();
    render_entries(&mut out, &outcome.entries, "");
    if let Some(failure) = &outcome.failure {
        let _ = writeln!(out, "{file}:{}: error: {}", failure.line, failure.message);
    }
    out
}

/// The entries' blocks, each line after `indent`; a meta entry's blueprint (`>`) has its own
/// entries below it, indented once more.
fn render_entries(out: &mut String, entries: &[EntryOutcome], indent: &str) {
    for entry in entries {
        let identifiers = if entry.identifiers.is_empty() {
            String::new()
        } else {
            format!(" {}", Value::Object(entry.identifiers.clone()))
        };
        let head = |sign: &str, verb: &str| {
            format!(
                "{indent}{sign} entry {} (line {}) {verb} {}{identifiers}",
                entry.index + 1,
                entry.line,
                entry.model
            )
        };
        match &entry.action {
            Action::Created { fields } => {
                let _ = writeln!(out, "{}", head("+", "create"));
                for change in fields {
                    let _ = writeln!(
                        out,
                        "{indent}      {}: {}",
                        change.field,
                        shown(&change.new)
                    );
                }
            }
            Action::Updated { fields } => {
                let _ = writeln!(out, "{}", head("~", "update"));
                for change in fields {
                    let _ = writeln!(
                        out,
                        "{indent}      {}: {} → {}",
                        change.field,
                        shown(&change.old),
                        shown(&change.new)
                    );
                }
            }
            Action::Deleted => {
                let _ = writeln!(out, "{}", head("-", "delete"));
            }
            Action::Unchanged => {
                let _ = writeln!(out, "{}", head("=", "unchanged"));
            }
            Action::Skipped { reason } => {
                let _ = writeln!(out, "{} ({reason})", head("·", "skip"));
            }
            Action::Applied {
                blueprint, entries, ..
            } => {
                let _ = writeln!(out, "{} `{blueprint}`", head(">", "apply"));
                render_entries(out, entries, &format!("{indent}    "));
            }
        }
    }
}

/// The widest a progress bar's bar gets: wider says nothing more, and a long line is more
/// likely to wrap when the terminal is resized.
const PROGRESS_BAR_MAX_WIDTH: usize = 40;

/// A bar narrower than this is left out: a few characters of it say less than the
/// percentage beside it.
const PROGRESS_BAR_MIN_WIDTH: usize = 10;

/// One line of a run's progress, at most `width` columns wide (the bar shrinks to fit and is
/// left out when there is no room for it):
///
/// `applying [####################....................] 2500/5000  50% 4.2s`
///
/// `done` above `total` counts as `total`; nothing to do (`total` 0) is complete.
pub fn render_progress_bar(
    phase: &str,
    done: usize,
    total: usize,
    elapsed: Duration,
    width: usize,
) -> String {
    let done = done.min(total);
    let percent = if total == 0 { 100 } else { done * 100 / total };
    let tail = format!(" {done}/{total} {percent:>3}% {}", format_elapsed(elapsed));
    // One column stays free: a line that reaches the last one makes some terminals wrap, and
    // every redraw (which returns to the start of the line) would then leave a line behind.
    let room = width.saturating_sub(1);
    // `phase [` and `]` around the bar.
    let fixed = phase.chars().count() + 3 + tail.chars().count();
    let bar_width = room.saturating_sub(fixed).min(PROGRESS_BAR_MAX_WIDTH);
    if bar_width < PROGRESS_BAR_MIN_WIDTH {
        return format!("{phase}{tail}");
    }
    let filled = if total == 0 {
        bar_width
    } else {
        bar_width * done / total
    };
    format!(
        "{phase} [{}{}]{tail}",
        "#".repeat(filled),
        ".".repeat(bar_width - filled)
    )
}

/// `4.2s` under a minute, `1m05s` from then on.
fn format_elapsed(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    if seconds < 60 {
        format!("{:.1}s", elapsed.as_secs_f64())
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_services::blueprints::{EntryFailure, FieldChange};
    use serde_json::json;

    #[test]
    fn outcomes_render_as_a_diff() {
        let identifiers = |name: &str| {
            let mut map = serde_json::Map::new();
            map.insert("name".into(), json!(name));
            map
        };
        let outcome = Outcome {
            entries: vec![
                EntryOutcome {
                    index: 0,
                    line: 3,
                    model: "authentik_core.group".into(),
                    identifiers: identifiers("a"),
                    action: Action::Created {
                        fields: vec![FieldChange {
                            field: "is_superuser".into(),
                            old: Value::Null,
                            new: json!(false),
                        }],
                    },
                },
                EntryOutcome {
                    index: 1,
                    line: 7,
                    model: "authentik_rbac.role".into(),
                    identifiers: identifiers("r"),
                    action: Action::Updated {
                        fields: vec![FieldChange {
                            field: "name".into(),
                            old: json!("old"),
                            new: json!("r"),
                        }],
                    },
                },
            ],
            failure: Some(EntryFailure {
                index: 2,
                line: 12,
                model: "authentik_core.user".into(),
                identifiers: identifiers("u"),
                message: "entry 3 (line 12): email: Enter a valid email address.".into(),
            }),
            changed: true,
        };
        let text = render_outcome("b.yaml", &outcome);
        assert_eq!(
            text,
            "+ entry 1 (line 3) create authentik_core.group {\"name\":\"a\"}\n      \
             is_superuser: false\n~ entry 2 (line 7) update authentik_rbac.role \
             {\"name\":\"r\"}\n      name: \"old\" → \"r\"\nb.yaml:12: error: entry 3 (line \
             12): email: Enter a valid email address.\n"
        );
    }

    #[test]
    fn models_are_matched_as_the_engine_matches_them() {
        assert!(check_model("authentik_core.group").is_ok());
        assert!(
            check_model("authentik_core.Group").is_ok(),
            "model part in any case"
        );
        assert!(
            check_model("Authentik_core.group").is_err(),
            "app label as written"
        );
        let unknown = check_model("authentik_flows.flow").unwrap_err();
        assert!(unknown.contains("not one Garrison implements"), "{unknown}");
        assert!(check_model("group").is_err());
        assert_eq!(
            check_model("authentik_blueprints.metaapplyblueprint"),
            Ok(()),
            "the meta model is applied, not refused"
        );
    }

    #[test]
    fn an_unsupported_model_is_an_error_naming_the_entry_and_line() {
        let report = validate(
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: a}\n  \
             - model: authentik_flows.flow\n    identifiers: {slug: f}\n    identifer: x\n",
        );
        assert_eq!(report.entries, 2);
        assert_eq!(report.errors(), 1, "{:?}", report.findings);
        assert_eq!(report.warnings(), 1, "{:?}", report.findings);
        let error = report
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .unwrap();
        assert_eq!(error.line, 5);
        assert!(error.message.contains("entry 2"), "{}", error.message);
        assert!(error.message.contains("authentik_flows.flow"));
        assert_eq!(report.unsupported_models, ["authentik_flows.flow"]);
    }

    #[test]
    fn a_broken_file_is_one_error_with_its_line() {
        let report = validate("version: 1\nentries:\n  - model: [unclosed\n");
        assert_eq!(report.errors(), 1);
        assert!(report.findings[0].line >= 3, "{:?}", report.findings);
    }

    /// authentik's shipped blueprints: each parses; those whose models Garrison implements
    /// have no error, every other one fails only with unsupported-model errors.
    #[test]
    fn shipped_blueprints_fail_only_on_models_garrison_does_not_implement() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/authentik-blueprints");
        if !root.is_dir() {
            eprintln!("skipped: {} is absent", root.display());
            return;
        }
        let mut files = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    files.push(path);
                }
            }
        }
        let mut clean = Vec::new();
        for file in &files {
            let report = validate(&std::fs::read_to_string(file).unwrap());
            assert!(report.entries > 0, "{}", file.display());
            for finding in report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
            {
                assert!(
                    finding.message.contains("is not one Garrison implements")
                        || finding.message.contains("not supported yet"),
                    "{}: {}",
                    file.display(),
                    finding.message
                );
            }
            if report.errors() == 0 {
                clean.push(file.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        clean.sort();
        assert_eq!(files.len(), 39);
        // Those whose models the engine writes (bootstrap.yaml: groups, users, tokens;
        // default-brand.yaml: meta-applies flows' blueprints, then a brand).
        assert_eq!(
            clean,
            [
                "bootstrap.yaml",
                "default-brand.yaml",
                "rbac-role-read-only.yaml"
            ]
        );
    }
}
