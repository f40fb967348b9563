//! `authentik_blueprints.metaapplyblueprint`: an entry that applies another blueprint
//! instance, found by its identifiers, inside the same run and transaction.
//!
//! ```yaml
//! - model: authentik_blueprints.metaapplyblueprint
//!   attrs:
//!     identifiers: {name: Default - Password change flow}
//!     required: false   # default true
//! ```
//!
//! Where Garrison differs from authentik (spec §4.2), on purpose:
//! - **A failing child fails the parent.** authentik only logs a child's failure and goes on,
//!   so a blueprint "succeeds" without the dependency it declared; here the run stops at the
//!   meta entry with the child's failing entry in the message, and nothing is written.
//! - **Cycles are refused, naming them.** authentik recurses until Python's recursion limit;
//!   here `a → b → a` fails the entry that closes the cycle with "a → b → a".
//! - The child runs as the parent's caller (there is no other: see `blueprint_instances.rs`),
//!   with its own context and `!File` directory, and appears in the outcome nested under the
//!   meta entry. Like authentik, the child's own status is not updated and a disabled child
//!   is still applied: a meta entry is an explicit dependency.
//! - **The server's own runs reach files only.** Discovery and the watcher apply the blueprints
//!   directory as the system. A child whose text lives in the database or in an OCI registry
//!   can be rewritten by anyone allowed to change that instance; run as the system, it would
//!   lend them every right. So a run by the system meta-applies file instances only (their
//!   path and context are superuser-only), and names the child it refused. A person's run
//!   (API, page, CLI) applies any child as that person, after they could plan it.
use std::future::Future;
use std::pin::Pin;

use garrison_blueprint::{Limits, Value as BpValue};
use garrison_model::BlueprintInstance;
use garrison_model::models::BLUEPRINT_INSTANCE;
use serde_json::{Map, Value, json};

use super::{Action, EntryError, RunOptions};
use crate::authz::{Caller, Via};
use crate::{Services, Tx};

/// The meta model's name, as authentik spells it (the model part in any case).
pub(super) fn is_meta_apply(app_label: &str, model: &str) -> bool {
    app_label == "authentik_blueprints" && model.eq_ignore_ascii_case("metaapplyblueprint")
}

/// The fields an instance may be found by.
const INSTANCE_FIELDS: &[&str] = &[
    "pk",
    "instance_uuid",
    "name",
    "path",
    "enabled",
    "status",
    "managed",
    "last_applied_hash",
    "metadata",
    "context",
];

/// The values of [`INSTANCE_FIELDS`] for `instance`.
fn instance_fields(instance: &BlueprintInstance) -> Map<String, Value> {
    let fields = json!({
        "pk": instance.pk,
        "instance_uuid": instance.pk,
        "name": instance.name,
        "path": instance.path,
        "enabled": instance.enabled,
        "status": instance.status,
        "managed": instance.managed,
        "last_applied_hash": instance.last_applied_hash,
        "metadata": instance.metadata,
        "context": instance.context,
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A meta entry's attrs: the child's identifiers and whether it must exist.
struct MetaAttrs {
    identifiers: Map<String, Value>,
    required: bool,
}

fn parse_attrs(attrs: &BpValue) -> Result<MetaAttrs, String> {
    let Value::Object(mut attrs) = attrs.to_json() else {
        return Err("`attrs` must be a mapping with `identifiers`".into());
    };
    let identifiers = match attrs.remove("identifiers") {
        Some(Value::Object(map)) if !map.is_empty() => map,
        Some(Value::Object(_)) | None => {
            return Err("identifiers: This field is required.".into());
        }
        Some(other) => {
            return Err(format!(
                "identifiers: must be a mapping of instance fields, found {other}"
            ));
        }
    };
    let required = match attrs.remove("required") {
        None => true,
        Some(Value::Bool(required)) => required,
        Some(other) => return Err(format!("required: Must be a valid boolean, found {other}")),
    };
    if let Some(key) = attrs.keys().next() {
        return Err(format!(
            "{key}: authentik_blueprints.metaapplyblueprint has no field `{key}` (fields: identifiers, required)"
        ));
    }
    Ok(MetaAttrs {
        identifiers,
        required,
    })
}

/// The first instance (in name order) the caller may view whose fields equal every
/// identifier. An identifier naming no field is refused, naming it.
async fn find_instance(
    tx: &mut Tx,
    caller: &Caller,
    identifiers: &Map<String, Value>,
) -> Result<Option<BlueprintInstance>, EntryError> {
    let paging = garrison_store::outposts::Paging {
        ordering: garrison_store::blueprints::DEFAULT_ORDERING,
        limit: i64::MAX as u64,
        offset: 0,
    };
    // Every key must name a field, whether or not any instance exists to compare it with.
    if let Some(key) = identifiers
        .keys()
        .find(|key| !INSTANCE_FIELDS.contains(&key.as_str()))
    {
        return Err(EntryError::Failed(format!(
            "identifiers: a blueprint instance has no field `{key}` (fields: {})",
            INSTANCE_FIELDS.join(", ")
        )));
    }
    // `name` and `path` (the identifiers meta entries use) narrow the read to their rows;
    // every other field is compared below.
    let text = |key: &str| {
        identifiers
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let filter = garrison_store::blueprints::Filter {
        name: text("name"),
        path: text("path"),
        ..Default::default()
    };
    let (instances, _) = garrison_store::blueprints::list(tx.conn(), &filter, paging).await?;
    let view = BLUEPRINT_INSTANCE.permission("view");
    for instance in instances {
        let fields = instance_fields(&instance);
        let mut all_match = true;
        for (key, wanted) in identifiers {
            let Some(value) = fields.get(key) else {
                all_match = false;
                break;
            };
            if !super::write::same(false, value, wanted) {
                all_match = false;
                break;
            }
        }
        if all_match && caller.principal.has_on(&view, &instance.pk.to_string()) {
            return Ok(Some(instance));
        }
    }
    Ok(None)
}

/// A meta entry's work, boxed: the run and the meta entry call each other, and a recursive
/// `async fn` needs one step whose future has a name (and is known to be `Send`).
type MetaApply<'a> = Pin<Box<dyn Future<Output = Result<Action, EntryError>> + Send + 'a>>;

impl Services {
    /// Applies the instance a meta entry names, inside `tx`. `stack` holds the names of the
    /// instances being applied around this entry, outermost first.
    pub(super) fn meta_apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        caller: &'a Caller,
        attrs: &'a BpValue,
        stack: &'a mut Vec<String>,
    ) -> MetaApply<'a> {
        Box::pin(self.meta_apply_inner(tx, caller, attrs, stack))
    }

    async fn meta_apply_inner(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        attrs: &BpValue,
        stack: &mut Vec<String>,
    ) -> Result<Action, EntryError> {
        let MetaAttrs {
            identifiers,
            required,
        } = parse_attrs(attrs).map_err(EntryError::Failed)?;
        let Some(instance) = find_instance(tx, caller, &identifiers).await? else {
            if required {
                return Err(EntryError::Failed(
                    "identifiers: Required blueprint does not exist".into(),
                ));
            }
            return Ok(Action::Skipped {
                reason: "the blueprint instance does not exist; required: false".into(),
            });
        };
        if caller.via == Via::System && (instance.is_database_content() || instance.is_oci()) {
            return Err(EntryError::Failed(format!(
                "blueprint `{}` keeps its text {}, where anyone allowed to change the instance \
                 can rewrite it; a blueprint the server applies on its own meta-applies only \
                 files of the blueprints directory. Apply it through the API, a page or the CLI",
                instance.name,
                if instance.is_oci() {
                    "in an OCI registry"
                } else {
                    "in the database"
                },
            )));
        }
        if stack.contains(&instance.name) {
            let mut cycle = stack.clone();
            cycle.push(instance.name.clone());
            // From the first occurrence on: that part is the cycle.
            let start = cycle
                .iter()
                .position(|name| *name == instance.name)
                .unwrap_or(0);
            return Err(EntryError::Failed(format!(
                "blueprints apply each other in a cycle: {}",
                cycle[start..].join(" → ")
            )));
        }
        let source = match self.retrieve_blueprint(&instance).await? {
            Ok(source) => source,
            Err(message) => {
                return Err(EntryError::Failed(format!(
                    "blueprint `{}`: {message}",
                    instance.name
                )));
            }
        };
        let child =
            garrison_blueprint::parse(&source.text, &Limits::default()).map_err(|error| {
                EntryError::Failed(format!(
                    "blueprint `{}`: line {}: {error}",
                    instance.name,
                    error.line()
                ))
            })?;
        let options = RunOptions {
            context: instance.context.clone(),
            files_root: source.files_root,
            env: None,
            instance: Some(instance.name.clone()),
            // The parent's hook counts the parent's entries; this whole child is one of them.
            progress: None,
        };
        stack.push(instance.name.clone());
        let outcome = self
            .run_entries_in(tx, caller, &child, &options, stack)
            .await;
        stack.pop();
        let outcome = outcome.map_err(EntryError::Infra)?;
        if let Some(failure) = outcome.failure {
            return Err(EntryError::Failed(format!(
                "in blueprint `{}`: {}",
                instance.name, failure.message
            )));
        }
        Ok(Action::Applied {
            blueprint: instance.name,
            changed: outcome.changed,
            entries: outcome.entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(json: Value) -> BpValue {
        BpValue::from_json(&json)
    }

    #[test]
    fn attrs_need_identifiers_and_know_only_required() {
        let parsed = parse_attrs(&attrs(json!({"identifiers": {"name": "x"}}))).expect("valid");
        assert!(parsed.required, "required defaults to true");
        assert_eq!(parsed.identifiers["name"], json!("x"));
        let optional = parse_attrs(&attrs(
            json!({"identifiers": {"path": "a.yaml"}, "required": false}),
        ))
        .expect("valid");
        assert!(!optional.required);
        let missing = parse_attrs(&attrs(json!({"required": false}))).err();
        assert_eq!(
            missing.as_deref(),
            Some("identifiers: This field is required.")
        );
        let unknown = parse_attrs(&attrs(
            json!({"identifiers": {"name": "x"}, "requird": true}),
        ))
        .err()
        .unwrap_or_default();
        assert!(unknown.starts_with("requird:"), "{unknown}");
    }
}
