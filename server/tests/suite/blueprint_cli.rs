//! The command line's blueprint side (`server/src/blueprints.rs`, which has no unit-test
//! build of its own): what `garrison blueprint validate` reports, how a plan is drawn, and
//! authentik's shipped blueprints checked the way the command checks them.
use garrison::blueprints::{Severity, render_outcome, validate};
use garrison_services::blueprints::{Action, EntryOutcome, Outcome, check_model};
use garrison_services::blueprints::{EntryFailure, FieldChange, OutpostUpdate};
use serde_json::Value;
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
        ..Outcome::default()
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
fn the_outposts_a_run_updates_follow_its_entries() {
    let outpost = |name: &str| OutpostUpdate {
        pk: uuid::Uuid::new_v4(),
        name: name.into(),
    };
    let mut outcome = Outcome {
        outposts: vec![outpost("edge"), outpost("lan")],
        ..Outcome::default()
    };
    assert_eq!(
        render_outcome("b.yaml", &outcome),
        "» outposts to update: edge, lan\n"
    );
    outcome.outposts_not_shown = 2;
    assert_eq!(
        render_outcome("b.yaml", &outcome),
        "» outposts to update: edge, lan (and 2 more you may not view)\n"
    );
    outcome.outposts.clear();
    assert_eq!(
        render_outcome("b.yaml", &outcome),
        "» outposts to update: 2 you may not view\n"
    );
    assert_eq!(render_outcome("b.yaml", &Outcome::default()), "");
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
