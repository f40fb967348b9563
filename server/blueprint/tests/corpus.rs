//! Every blueprint authentik ships parses, with the totals the specification counts (§8.2).
//!
//! The corpus of authentik's shipped blueprints lives beside the checkout, not in it (see
//! `CORPUS`); without it the tests say so and pass.

use std::fs;
use std::path::{Path, PathBuf};

use garrison_blueprint::{Limits, NodeValue, parse};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/authentik-blueprints"
);

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_blueprint_parses() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        println!("skipped: no corpus at {}", root.display());
        return;
    }
    let mut files = Vec::new();
    yaml_files(root, &mut files);
    let mut entries = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        match parse(&text, &Limits::default()) {
            Ok(blueprint) => {
                assert_eq!(blueprint.version, 1, "{}", path.display());
                entries += blueprint.entries.len();
                for warning in &blueprint.warnings {
                    println!("{}: warning: {warning}", path.display());
                }
                // Every entry names a model (a string or a tag).
                for entry in &blueprint.entries {
                    assert!(
                        matches!(entry.model.value, NodeValue::Str(_) | NodeValue::Tag(_)),
                        "{}: {}",
                        path.display(),
                        entry.label()
                    );
                }
            }
            Err(error) => failures.push(format!("{}: {error}", path.display())),
        }
    }
    println!("{} files, {entries} entries", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(files.len(), 39, "files in the corpus");
    assert_eq!(entries, 318, "entries in the corpus");
}

#[test]
fn shipped_blueprints_use_the_tags_as_expected() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        println!("skipped: no corpus at {}", root.display());
        return;
    }
    let read = |relative: &str| {
        let text = fs::read_to_string(root.join(relative)).unwrap();
        parse(&text, &Limits::default()).unwrap()
    };

    // The read-only role: an `!Enumerate` over the RBAC models context.
    let role = read("default/rbac-role-read-only.yaml");
    let permissions = role.entries[0].attrs.get("permissions").unwrap();
    assert_eq!(permissions.as_tag().unwrap().tag.name(), "!Enumerate");

    // Bootstrap: context values that are `!Env` tags, a condition with `!If`.
    let bootstrap = read("system/bootstrap.yaml");
    let context = bootstrap.context_map();
    assert_eq!(context["email"].as_tag().unwrap().tag.name(), "!Env");
    assert_eq!(bootstrap.entries.len(), 3);
    assert_eq!(bootstrap.entries[2].conditions.len(), 1);
    assert_eq!(bootstrap.entries[0].raw_state.as_deref(), Some("created"));

    // The default brand: `!Find` as attribute values, a `!Condition` over a `!Find`.
    let brand = read("default/default-brand.yaml");
    let last = brand.entries.last().unwrap();
    assert_eq!(
        last.attrs
            .get("flow_authentication")
            .unwrap()
            .as_tag()
            .unwrap()
            .tag
            .name(),
        "!Find"
    );
    assert_eq!(
        last.conditions[0].as_tag().unwrap().tag.name(),
        "!Condition"
    );
}
