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

/// The `app` of every event Garrison records.
const APP: &str = "garrison";

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
            app: APP.into(),
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

/// [`created`] for many objects at once, in multi-row statements. Each event's context is
/// serialized straight from the object's view (no context tree is built), and what the events
/// share (the caller, the request, the time) is serialized once.
pub(crate) async fn created_many<T: Audited>(
    tx: &mut Tx,
    caller: &Caller,
    objects: &[T],
) -> ServiceResult<()> {
    let origin = Origin::of(caller);
    let user_json = origin.user.to_string();
    let username = origin
        .user
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let created = garrison_store::format_ts(&Utc::now());
    let rows: Vec<garrison_store::events::EventRow<'_>> = objects
        .iter()
        .map(|object| garrison_store::events::EventRow {
            pk: Uuid::new_v4(),
            action: EventAction::ModelCreated.as_str(),
            app: APP,
            username,
            user_json: &user_json,
            context: created_context_text(
                object.model_ref(),
                &object.audit_view(),
                &origin.request,
            ),
            client_ip: caller.client_ip.as_deref(),
            created: &created,
            expires: None,
        })
        .collect();
    garrison_store::events::insert_rows(tx, rows).await?;
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

/// A `model_created` event's context as JSON text: the text of
/// [`model_change_context`]`(model, diff(None, view))` with `http_request` added, written
/// without building that tree (a 5,000-group blueprint writes 5,000 of them). The fields are
/// declared in the order a JSON object's keys are serialized (sorted); a unit test holds the
/// two texts equal.
fn created_context_text(model: ModelRef<'_>, view: &Value, request: &Value) -> String {
    #[derive(serde::Serialize)]
    struct Context<'a> {
        diff: NewValues<'a>,
        http_request: &'a Value,
        model: ObjectRef<'a>,
    }
    #[derive(serde::Serialize)]
    struct ObjectRef<'a> {
        app: &'a str,
        model_name: &'a str,
        name: &'a str,
        pk: &'a str,
    }
    /// `{"field": {"new_value": …}}` for each field of the view, in key order.
    struct NewValues<'a>(&'a Value);
    impl serde::Serialize for NewValues<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            #[derive(serde::Serialize)]
            struct NewValue<'a> {
                new_value: &'a Value,
            }
            let empty = Map::new();
            let fields = self.0.as_object().unwrap_or(&empty);
            let mut sorted: Vec<(&String, &Value)> = fields.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.cmp(b));
            let mut map = serializer.serialize_map(Some(sorted.len()))?;
            for (key, value) in sorted {
                map.serialize_entry(key, &NewValue { new_value: value })?;
            }
            map.end()
        }
    }
    let context = Context {
        diff: NewValues(view),
        http_request: request,
        model: ObjectRef {
            app: model.model.app_label,
            model_name: model.model.model,
            name: model.name,
            pk: &model.pk,
        },
    };
    let mut text = Vec::with_capacity(512);
    // Writing borrowed strings and JSON values into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut text, &context);
    String::from_utf8(text).unwrap_or_default()
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
    fn a_created_events_text_is_the_general_contexts_text() {
        let view = json!({
            "name": "a \"quoted\" name",
            "attributes": {"k": [1, 2.5, null], "z": {"b": true, "a": "é"}},
            "is_superuser": false,
            "users": [],
        });
        let request = json!({"method": "POST", "path": "/api/v3/core/groups/"});
        let model = || ModelRef {
            model: garrison_model::models::GROUP,
            pk: "0b6e2f4c-6c44-4d3f-9d8e-2f54a7f0c1aa".into(),
            name: "a \"quoted\" name",
        };
        let mut general = model_change_context(model(), diff(None, Some(&view)));
        general.insert("http_request".into(), request.clone());
        let text = created_context_text(model(), &view, &request);
        assert_eq!(
            text,
            Value::Object(general.clone()).to_string(),
            "the same text, key order included"
        );
        assert_eq!(
            serde_json::from_str::<Value>(&text).ok(),
            Some(Value::Object(general))
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
