//! `garrison blueprint validate`: what can be checked of a blueprint file without a store —
//! YAML, structure, tag shapes, keys authentik would silently ignore, and whether each entry's
//! model is one Garrison implements. (Planning against the store joins it with the engine.)
use garrison_blueprint::{Blueprint, Limits, NodeValue, parse};
use garrison_model::models::ModelName;

/// The one meta model authentik registers (always spelled in lower case).
pub const META_APPLY_BLUEPRINT: &str = "authentik_blueprints.metaapplyblueprint";

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

/// Whether `model` (`app_label.model_name`) names a model a blueprint entry can write:
/// authentik's model names are matched with the model part in any case, as authentik's
/// registry does; the meta model only in lower case, as authentik's meta registry does.
pub fn implements(model: &str) -> bool {
    if model == META_APPLY_BLUEPRINT {
        return true;
    }
    let Some((app, name)) = model.split_once('.') else {
        return false;
    };
    app != "authentik_blueprints"
        && ModelName::find(&format!("{app}.{}", name.to_lowercase())).is_some()
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
        if implements(model) {
            continue;
        }
        // authentik fails the whole blueprint on an unknown model, even in an entry whose
        // conditions are false; so does Garrison, naming the entry.
        report.findings.push(Finding {
            severity: Severity::Error,
            line: entry.line,
            message: format!(
                "{}: model `{model}` is not one Garrison implements, so this blueprint cannot be \
                 applied",
                entry.label()
            ),
        });
        if !report.unsupported_models.contains(model) {
            report.unsupported_models.push(model.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_matched_as_authentik_matches_them() {
        assert!(implements("authentik_core.user"));
        assert!(implements("authentik_core.User"), "model part in any case");
        assert!(!implements("Authentik_core.user"), "app label as written");
        assert!(implements(META_APPLY_BLUEPRINT));
        assert!(!implements("authentik_blueprints.MetaApplyBlueprint"));
        assert!(!implements("authentik_flows.flow"));
        assert!(!implements("user"));
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
                    finding.message.contains("is not one Garrison implements"),
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
