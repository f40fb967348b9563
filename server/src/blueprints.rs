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
    if let Some(outposts) = outcome.outposts_text() {
        let _ = writeln!(out, "» outposts to update: {outposts}");
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
