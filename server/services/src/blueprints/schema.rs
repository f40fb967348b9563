//! The JSON schema editors validate blueprints with (yaml-language-server's
//! `# yaml-language-server: $schema=…`), generated from the registry so it names exactly the
//! models and fields a blueprint may write here.
//!
//! The shape is authentik's (draft-07; entries as a list or as named sections; one template
//! per model under `$defs.blueprint_entry.oneOf`, keyed by a `const` model name; attrs and
//! identifiers sharing one definition with nothing required), with one deliberate difference:
//! a field's VALUE is not typed, only its name is checked. Any value may be a tag (`!KeyOf`,
//! `!Find`, `!Env`, …) that resolves only when the blueprint runs, and JSON-schema tooling
//! cannot see tags: authentik's typed schema flags `pk: !KeyOf admins` as "not an integer",
//! so schema-valid files fail and valid files show errors (its users' complaint, spec §10).
//! Names are what a schema can check reliably: a misspelt field is flagged in the editor, as
//! the engine refuses it at run time.
use serde_json::{Map, Value, json};

use super::registry::Kind;

/// Where editors fetch it from a running Garrison (authentik publishes its schema under the
/// same path on its website).
pub const SCHEMA_PATH: &str = "/blueprints/schema.json";

/// The schema, as JSON.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    let mut entries = Vec::new();
    for kind in Kind::ALL {
        let model = kind.qualified();
        let fields = format!("model_{model}");
        defs.insert(fields.clone(), model_fields(kind));
        entries.push(json!({
            "type": "object",
            "required": ["model", "identifiers"],
            "properties": {
                "model": {"const": model},
                "id": {"type": "string"},
                "state": {
                    "type": "string",
                    "enum": ["absent", "created", "must_created", "present"],
                    "default": "present",
                },
                "conditions": {"type": "array"},
                "attrs": {"$ref": format!("#/$defs/{fields}")},
                "identifiers": {"$ref": format!("#/$defs/{fields}")},
            },
        }));
    }
    // The meta model: applies another blueprint instance, found by its identifiers.
    entries.push(json!({
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": {"const": "authentik_blueprints.metaapplyblueprint"},
            "id": {"type": "string"},
            "state": {"type": "string", "enum": ["absent", "created", "must_created", "present"]},
            "conditions": {"type": "array"},
            "attrs": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "identifiers": {"type": "object"},
                    "required": {"default": true},
                },
            },
        },
    }));
    defs.insert("blueprint_entry".into(), json!({"oneOf": entries}));
    json!({
        "$schema": "http://json-schema.org/draft-07/schema",
        "$id": format!("garrison:{SCHEMA_PATH}"),
        "type": "object",
        "title": format!("Garrison {} blueprint schema", env!("CARGO_PKG_VERSION")),
        "required": ["version", "entries"],
        "properties": {
            "version": {"type": "integer", "const": 1, "default": 1},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "context": {"type": "object"},
            "entries": {
                "anyOf": [
                    {"type": "array", "items": {"$ref": "#/$defs/blueprint_entry"}},
                    {
                        "type": "object",
                        "additionalProperties": {
                            "type": "array",
                            "items": {"$ref": "#/$defs/blueprint_entry"},
                        },
                    },
                ],
            },
        },
        "$defs": defs,
    })
}

/// What attrs and identifiers of `kind` may name: the writable fields, the fields an
/// identifier may match (`pk` included) and the ignored ones (accepted, as the engine accepts
/// them). No field is required, as in authentik's schema.
fn model_fields(kind: Kind) -> Value {
    let schema = kind.schema();
    let mut properties = Map::new();
    for field in schema
        .fields
        .iter()
        .chain(schema.writable)
        .chain(schema.ignored)
        .chain(["pk"].iter())
    {
        if properties.contains_key(*field) {
            continue;
        }
        let mut property = Map::new();
        if !schema.writable.contains(field) {
            property.insert(
                "description".into(),
                json!("read-only: matched by identifiers, ignored when written"),
            );
        } else if schema.secrets.contains(field) {
            property.insert(
                "description".into(),
                json!("write-only secret: never shown; prefer !Env or !File to a value in clear"),
            );
        }
        properties.insert((*field).to_owned(), Value::Object(property));
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": [],
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_one_template_whose_fields_are_its_writable_ones() {
        let schema = json_schema();
        let entries = schema["$defs"]["blueprint_entry"]["oneOf"]
            .as_array()
            .expect("entry templates");
        // One per model, plus the meta model.
        assert_eq!(entries.len(), Kind::ALL.len() + 1);
        for kind in Kind::ALL {
            let model = kind.qualified();
            assert!(
                entries
                    .iter()
                    .any(|entry| entry["properties"]["model"]["const"] == json!(model)),
                "{model} has a template"
            );
            let fields = &schema["$defs"][format!("model_{model}")];
            assert_eq!(fields["additionalProperties"], json!(false), "{model}");
            for field in kind.schema().writable {
                assert!(
                    fields["properties"].get(*field).is_some(),
                    "{model}.{field} is in the schema"
                );
            }
        }
    }

    #[test]
    fn a_misspelt_field_is_not_in_the_schema() {
        let schema = json_schema();
        let group = &schema["$defs"]["model_authentik_core.group"]["properties"];
        assert!(group.get("is_superuser").is_some());
        assert!(group.get("is_superuer").is_none());
    }
}
