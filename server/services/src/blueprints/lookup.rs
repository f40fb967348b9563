//! Finding objects: an entry's identifiers, `!Find` and `!FindObject`.
//!
//! authentik turns identifiers and `!Find` queries into Django lookups. Garrison supports the
//! ones blueprints use: `field` and `field__exact` (equality; a mapping value matches by JSON
//! containment, a scalar against a list field matches a member), and `field__iexact`
//! (case-insensitive equality). Any other lookup is refused, naming it.
//!
//! A lookup that names the model's primary key or its unique natural key (see
//! `Schema::natural_key`: a user's `username`, an application's `slug`, a brand's `domain`, a
//! token's `identifier`, the `name` of the others), or a user's `email`, reads those rows
//! only; any other lookup reads the model's objects and compares their serialized form field
//! by field. Either way it reads inside the run's
//! transaction, so it sees what earlier entries wrote, and it sees only objects the caller
//! may view.
use serde_json::{Map, Value};
use uuid::Uuid;

use super::EntryError;
use super::registry::{self, Kind, Object};
use super::scope::{Found, Lookup};
use crate::authz::Caller;
use crate::{ServiceResult, Tx};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Exact,
    IExact,
}

/// One condition of a lookup: `field` (or `pk`) compared with `value`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Cond {
    pub field: String,
    pub op: Op,
    pub value: Value,
}

/// Reads a lookup key (`name`, `name__iexact`, …) for `kind`.
pub(super) fn parse_lookup(kind: Kind, key: &str, value: Value) -> Result<Cond, String> {
    let (field, op) = match key.split_once("__") {
        None => (key, Op::Exact),
        Some((field, "exact")) => (field, Op::Exact),
        Some((field, "iexact")) => (field, Op::IExact),
        Some(_) => {
            return Err(format!(
                "lookup `{key}` is not supported (Garrison supports `field`, `field__exact` and \
                 `field__iexact`)"
            ));
        }
    };
    if field != "pk" && !kind.schema().fields.contains(&field) {
        return Err(format!(
            "`{field}` is not a field of {} (lookup `{key}`; its fields are pk, {})",
            kind.qualified(),
            kind.schema().fields.join(", ")
        ));
    }
    Ok(Cond {
        field: field.to_owned(),
        op,
        value,
    })
}

/// The objects of `kind` the caller may view that meet every condition, first by the model's
/// list ordering.
pub(super) async fn find(
    tx: &mut Tx,
    caller: &Caller,
    kind: Kind,
    conds: &[Cond],
) -> ServiceResult<Vec<Object>> {
    let natural = exact(conds, kind.schema().natural_key).and_then(Value::as_str);
    let email = if kind == Kind::User {
        exact(conds, "email").and_then(Value::as_str)
    } else {
        None
    };
    let conn = tx.conn();
    let candidates = if let Some(pk) = exact(conds, "pk") {
        registry::load_by_pk(conn, kind, pk).await?
    } else if let Some(value) = natural {
        registry::load_by_natural_key(conn, kind, value).await?
    } else if let Some(email) = email {
        registry::load_users_by_email(conn, email).await?
    } else {
        registry::load_all(conn, kind).await?
    };
    Ok(candidates
        .into_iter()
        .filter(|object| object.visible_to(caller))
        .filter(|object| {
            let pk = object.pk();
            let view = object.view();
            conds.iter().all(|cond| matches(&pk, &view, cond))
        })
        .collect())
}

/// The value an exact condition on `field` asks for.
fn exact<'c>(conds: &'c [Cond], field: &str) -> Option<&'c Value> {
    conds
        .iter()
        .find(|cond| cond.op == Op::Exact && cond.field == field)
        .map(|cond| &cond.value)
}

/// The object an entry's identifiers name: authentik's `Q(pk=…) | Q(every other identifier)`,
/// taking the first match. (A match by `pk` is preferred over one by the other identifiers.)
///
/// authentik also rewrites identifier values equal to a `pk` an earlier entry declared in its
/// own identifiers to the pk that entry's object got ("pk remap"); Garrison leaves that out:
/// it only matters for blueprints that carry another installation's primary keys.
pub(super) async fn find_existing(
    tx: &mut Tx,
    caller: &Caller,
    kind: Kind,
    identifiers: &Map<String, Value>,
) -> Result<Option<Object>, EntryError> {
    let mut pk = None;
    let mut conds = Vec::new();
    for (key, value) in identifiers {
        if key == "pk" {
            pk = Some(value.clone());
            continue;
        }
        let cond = parse_lookup(kind, key, value.clone())
            .map_err(|message| EntryError::Failed(format!("invalid identifier: {message}")))?;
        conds.push(cond);
    }
    if pk.is_none() && conds.is_empty() {
        return Err(EntryError::Failed("no or invalid identifiers".into()));
    }
    if let Some(pk) = pk {
        let by_pk = Cond {
            field: "pk".into(),
            op: Op::Exact,
            value: pk,
        };
        if let Some(object) = find(tx, caller, kind, &[by_pk]).await?.into_iter().next() {
            return Ok(Some(object));
        }
    }
    if conds.is_empty() {
        return Ok(None);
    }
    Ok(find(tx, caller, kind, &conds).await?.into_iter().next())
}

/// Carries out a `!Find`/`!FindObject` lookup the evaluator asked for. The outer error is the
/// store's; the inner one a query Garrison cannot run, reported at the tag.
pub(super) async fn perform(
    tx: &mut Tx,
    caller: &Caller,
    lookup: &Lookup,
) -> ServiceResult<Result<Option<Found>, String>> {
    let mut conds = Vec::with_capacity(lookup.query.len());
    for (key, value) in &lookup.query {
        match parse_lookup(lookup.kind, key, value.clone()) {
            Ok(cond) => conds.push(cond),
            Err(message) => return Ok(Err(message)),
        }
    }
    let objects = find(tx, caller, lookup.kind, &conds).await?;
    Ok(Ok(objects.first().map(|object| Found {
        pk: garrison_blueprint::Value::from_json(&object.pk()),
        object: garrison_blueprint::Value::from_json(&Value::Object(object.view())),
    })))
}

/// Whether an object (its primary key and serialized form) meets `cond`.
pub(super) fn matches(pk: &Value, view: &Map<String, Value>, cond: &Cond) -> bool {
    let actual = if cond.field == "pk" {
        pk
    } else {
        match view.get(&cond.field) {
            Some(value) => value,
            None => return false,
        }
    };
    match cond.op {
        Op::IExact => match (actual, &cond.value) {
            (Value::String(a), Value::String(b)) => a.to_lowercase() == b.to_lowercase(),
            (a, b) => loose_eq(a, b),
        },
        Op::Exact => match (actual, &cond.value) {
            (Value::Array(_), Value::Array(_)) | (_, Value::Object(_)) => {
                contains(actual, &cond.value)
            }
            // A scalar against a many-to-many field: one of its members.
            (Value::Array(items), wanted) => items.iter().any(|item| loose_eq(item, wanted)),
            (a, b) => loose_eq(a, b),
        },
    }
}

/// JSON containment (PostgreSQL's `@>`, which authentik's dict identifiers use): every key of
/// a wanted mapping is present with a containing value, every wanted list item is contained
/// in some item of the list, scalars are equal.
pub(super) fn contains(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::Object(actual), Value::Object(wanted)) => wanted
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|found| contains(found, value))),
        (Value::Array(actual), Value::Array(wanted)) => wanted
            .iter()
            .all(|value| actual.iter().any(|found| contains(found, value))),
        (Value::Array(actual), wanted) if !wanted.is_object() => {
            actual.iter().any(|found| loose_eq(found, wanted))
        }
        (actual, wanted) => loose_eq(actual, wanted),
    }
}

/// Equality as a database lookup sees it: UUIDs in any spelling, an integer key given as
/// text (`pk: "5"`), numbers by value.
pub(super) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y || uuid_eq(x, y),
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => n
            .as_i64()
            .is_some_and(|n| s.trim().parse::<i64>().ok() == Some(n)),
        _ => a == b,
    }
}

fn uuid_eq(x: &str, y: &str) -> bool {
    match (Uuid::parse_str(x), Uuid::parse_str(y)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
