//! Building audit events. Events are written by the service that made the change, in the same
//! transaction, so an event exists exactly when its change does.
use std::collections::BTreeSet;

use chrono::Utc;
use garrison_model::{Event, EventAction};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::authz::{Caller, Via};
use crate::{ServiceResult, Tx};

/// Which object an event is about.
pub(crate) struct ModelRef<'a> {
    pub model: garrison_model::models::ModelName,
    pub pk: String,
    pub name: &'a str,
}

fn user_json(caller: &Caller) -> Value {
    match caller.principal.user() {
        Some(user) => json!({"pk": user.pk, "username": user.username, "email": user.email}),
        None => json!({"pk": Value::Null, "username": "system", "email": ""}),
    }
}

fn request_json(caller: &Caller) -> Value {
    match &caller.via {
        Via::Api { method, path } => json!({"method": method, "path": path}),
        Via::Ui { path } => json!({"method": "POST", "path": path, "via": "ui"}),
        Via::Cli => json!({"via": "cli"}),
        Via::System => json!({"via": "system"}),
    }
}

/// What every event one caller causes shares: who, and through which request. Built once for a
/// batch of events rather than once per event.
struct Origin<'a> {
    caller: &'a Caller,
    user: Value,
    request: Value,
}

impl<'a> Origin<'a> {
    fn of(caller: &'a Caller) -> Self {
        Origin {
            caller,
            user: user_json(caller),
            request: request_json(caller),
        }
    }

    fn event(
        &self,
        action: EventAction,
        mut context: Map<String, Value>,
        created: chrono::DateTime<Utc>,
    ) -> Event {
        context.insert("http_request".into(), self.request.clone());
        Event {
            pk: Uuid::new_v4(),
            action: action.as_str().into(),
            app: "garrison".into(),
            user: self.user.clone(),
            context: Value::Object(context),
            client_ip: self.caller.client_ip.clone(),
            created,
            expires: None,
        }
    }
}

pub(crate) fn event(caller: &Caller, action: EventAction, context: Map<String, Value>) -> Event {
    Origin::of(caller).event(action, context, Utc::now())
}

/// An object whose changes are audited: which object it is, and the fields events record
/// (never secrets).
pub(crate) trait Audited {
    fn model_ref(&self) -> ModelRef<'_>;
    fn audit_view(&self) -> Value;
}

pub(crate) async fn created(
    tx: &mut Tx,
    caller: &Caller,
    object: &impl Audited,
) -> ServiceResult<()> {
    record_model_change(
        tx,
        caller,
        EventAction::ModelCreated,
        object.model_ref(),
        None,
        Some(&object.audit_view()),
    )
    .await
}

/// [`created`] for many objects at once, in multi-row statements.
pub(crate) async fn created_many<T: Audited>(
    tx: &mut Tx,
    caller: &Caller,
    objects: &[T],
) -> ServiceResult<()> {
    // The caller's and the request's JSON are built once for the batch; each object's fields
    // move into its diff instead of being copied.
    let origin = Origin::of(caller);
    let created = Utc::now();
    let events: Vec<Event> = objects
        .iter()
        .map(|object| {
            let context =
                model_change_context(object.model_ref(), created_diff(object.audit_view()));
            origin.event(EventAction::ModelCreated, context, created)
        })
        .collect();
    garrison_store::events::insert_many(tx, &events).await?;
    Ok(())
}

pub(crate) async fn updated<T: Audited>(
    tx: &mut Tx,
    caller: &Caller,
    before: &T,
    after: &T,
) -> ServiceResult<()> {
    record_model_change(
        tx,
        caller,
        EventAction::ModelUpdated,
        after.model_ref(),
        Some(&before.audit_view()),
        Some(&after.audit_view()),
    )
    .await
}

pub(crate) async fn deleted(
    tx: &mut Tx,
    caller: &Caller,
    object: &impl Audited,
) -> ServiceResult<()> {
    record_model_change(
        tx,
        caller,
        EventAction::ModelDeleted,
        object.model_ref(),
        Some(&object.audit_view()),
        None,
    )
    .await
}

/// Records a model change. `before`/`after` are the audit views of the object (secrets
/// already removed); the event carries the changed fields.
pub(crate) async fn record_model_change(
    tx: &mut Tx,
    caller: &Caller,
    action: EventAction,
    model: ModelRef<'_>,
    before: Option<&Value>,
    after: Option<&Value>,
) -> ServiceResult<()> {
    let event = model_change_event(caller, action, model, before, after);
    garrison_store::events::insert(tx, &event).await?;
    Ok(())
}

fn model_change_event(
    caller: &Caller,
    action: EventAction,
    model: ModelRef<'_>,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Event {
    event(
        caller,
        action,
        model_change_context(model, diff(before, after)),
    )
}

/// A model change's context: which object, and its changed fields.
fn model_change_context(model: ModelRef<'_>, diff: Value) -> Map<String, Value> {
    let mut context = Map::new();
    context.insert(
        "model".into(),
        object_json(model.model, &model.pk, model.name),
    );
    context.insert("diff".into(), diff);
    context
}

/// How events name an object: authentik's `{"app", "model_name", "pk", "name"}`.
pub(crate) fn object_json(model: garrison_model::models::ModelName, pk: &str, name: &str) -> Value {
    json!({"app": model.app_label, "model_name": model.model, "pk": pk, "name": name})
}

pub(crate) async fn record(
    tx: &mut Tx,
    caller: &Caller,
    action: EventAction,
    context: Map<String, Value>,
) -> ServiceResult<()> {
    garrison_store::events::insert(tx, &event(caller, action, context)).await?;
    Ok(())
}

/// [`diff`] of a new object: `{"field": {"new_value": …}}` for each of its fields, moved
/// rather than copied, in the same (sorted) order.
fn created_diff(after: Value) -> Value {
    let Value::Object(fields) = after else {
        return Value::Object(Map::new());
    };
    let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
    fields.sort_by(|(a, _), (b, _)| a.cmp(b));
    let mut out = Map::new();
    for (key, value) in fields {
        let mut change = Map::new();
        change.insert("new_value".into(), value);
        out.insert(key, Value::Object(change));
    }
    Value::Object(out)
}

/// `{"field": {"previous_value": …, "new_value": …}}` for every field that differs.
pub(crate) fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let before = before.and_then(Value::as_object).unwrap_or(&empty);
    let after = after.and_then(Value::as_object).unwrap_or(&empty);
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = Map::new();
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old != new {
            let mut change = Map::new();
            if let Some(old) = old {
                change.insert("previous_value".into(), old.clone());
            }
            if let Some(new) = new {
                change.insert("new_value".into(), new.clone());
            }
            out.insert(key.clone(), Value::Object(change));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_objects_diff_is_the_general_diff_from_nothing() {
        let after =
            json!({"name": "a", "attributes": {"k": [1, 2]}, "is_superuser": false, "users": []});
        assert_eq!(created_diff(after.clone()), diff(None, Some(&after)));
        assert_eq!(
            created_diff(after.clone()).to_string(),
            diff(None, Some(&after)).to_string(),
            "the same text, key order included"
        );
    }

    #[test]
    fn diff_lists_only_changed_fields() {
        let before = json!({"name": "a", "same": 1, "gone": true});
        let after = json!({"name": "b", "same": 1, "new": "x"});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            json!({
                "name": {"previous_value": "a", "new_value": "b"},
                "gone": {"previous_value": true},
                "new": {"new_value": "x"},
            })
        );
    }
}
