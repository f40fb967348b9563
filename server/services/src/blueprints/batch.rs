//! Plain group entries written together.
//!
//! A blueprint that creates thousands of groups spent most of its time on statements: finding
//! each entry's object, checking its name, inserting it, reading it back, recording its event,
//! several round trips per entry. Entries that create a *plain* group (identified by its name
//! alone, no parents, members, roles or permissions) wait here instead and are created by
//! [`Services::create_plain_groups_in`](crate::Services) in a few multi-row statements, with
//! the same checks and events as one at a time.
//!
//! What keeps the result the same as one entry at a time:
//! - the engine writes the batch before any entry that is not plain, needs a lookup or fails
//!   to evaluate (it may name or look up a waiting group), and at the end of the run;
//! - a name already waiting is not taken again (the second entry must find the first group);
//! - the batch is written only when none of its names exists and every group passes its
//!   checks; otherwise its entries run one at a time, which finds the existing ones and names
//!   the entry that is refused.
use garrison_blueprint::{Entry, Value as BpValue};
use garrison_model::GroupChanges;
use serde_json::{Map, Value};
use std::collections::HashSet;

use super::registry::Kind;
use super::write::{self, Prepared};
use super::{Evaluated, FieldChange, Progress, State, json_map};

/// Entries per batch: the progress of a long run still moves, and a batch that declines
/// (one entry refused) costs at most this many entries one at a time.
const MAX_WAITING: usize = 500;

/// An entry waiting to be created with the batch.
pub(super) struct Waiting<'b> {
    pub position: usize,
    pub entry: &'b Entry,
    /// Kept for the way back: one entry at a time, as the engine would have run it.
    pub evaluated: Evaluated,
    pub progress: Progress,
    pub changes: GroupChanges,
    pub fields: Vec<FieldChange>,
}

pub(super) struct GroupBatch<'b> {
    waiting: Vec<Waiting<'b>>,
    names: HashSet<String>,
    /// Entries in the run: a batch reserves room for as many as can still join it, so that a
    /// large one is not copied as it grows.
    entries: usize,
}

impl<'b> GroupBatch<'b> {
    pub fn for_entries(entries: usize) -> GroupBatch<'b> {
        GroupBatch {
            waiting: Vec::new(),
            names: HashSet::new(),
            entries,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.waiting.len() >= MAX_WAITING
    }

    /// Keeps the entry when it creates a plain group the batch does not hold yet; gives the
    /// evaluation and progress back otherwise. A full batch takes nothing more.
    pub fn offer(
        &mut self,
        position: usize,
        entry: &'b Entry,
        evaluated: Evaluated,
        progress: Progress,
    ) -> Result<(), (Evaluated, Progress)> {
        if self.is_full() {
            return Err((evaluated, progress));
        }
        let Some((changes, fields)) = plain_group(&evaluated) else {
            return Err((evaluated, progress));
        };
        let Some(name) = changes.name.clone() else {
            return Err((evaluated, progress));
        };
        if !self.names.insert(name) {
            return Err((evaluated, progress));
        }
        if self.waiting.capacity() == 0 {
            let can_join = self.entries.saturating_sub(position).min(MAX_WAITING);
            self.waiting.reserve_exact(can_join);
            self.names.reserve(can_join);
        }
        self.waiting.push(Waiting {
            position,
            entry,
            evaluated,
            progress,
            changes,
            fields,
        });
        Ok(())
    }

    pub fn take(&mut self) -> Vec<Waiting<'b>> {
        self.names.clear();
        std::mem::take(&mut self.waiting)
    }
}

/// The group an entry creates, when it is plain: a group entry (not `absent`), identified by
/// its name alone, without permissions, whose fields prepare without links.
fn plain_group(evaluated: &Evaluated) -> Option<(GroupChanges, Vec<FieldChange>)> {
    let Evaluated::Entry {
        kind: Kind::Group,
        state,
        identifiers,
        attrs,
        grants,
    } = evaluated
    else {
        return None;
    };
    if *state == State::Absent || !grants.is_empty() {
        return None;
    }
    let BpValue::Map(identified) = identifiers else {
        return None;
    };
    let (Some(BpValue::Str(name)), 1) = (identified.get("name"), identified.len()) else {
        return None;
    };
    let data = plain_group_data(attrs, name);
    let Ok(Prepared::Group(changes)) = write::prepare(Kind::Group, &data) else {
        return None;
    };
    if crate::groups::links_anything(&changes) {
        return None;
    }
    let fields = write::changed_fields(Kind::Group, None, &data);
    Some((changes, fields))
}

/// What `entry_data` makes of a plain group's attrs and its name identifier, without copying
/// the entry's values first: a string identifier merged into the attrs replaces what they say.
fn plain_group_data(attrs: &BpValue, name: &str) -> Map<String, Value> {
    let mut data = json_map(attrs);
    data.insert("name".to_owned(), Value::String(name.to_owned()));
    data.remove("pk");
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch builds a plain group's data its own way, for speed; what it builds must be
    /// what the one-at-a-time path writes for the same entry, or a group's fields would depend
    /// on whether its entry happened to wait in a batch.
    #[test]
    fn a_plain_groups_data_is_what_the_one_at_a_time_path_writes() {
        let name = "staff";
        let attrs_cases = [
            serde_json::json!(null),
            serde_json::json!("not a mapping"),
            serde_json::json!({}),
            serde_json::json!({"attributes": {"team": "a", "nested": {"x": [1, 2]}}}),
            serde_json::json!({"name": "another name", "is_superuser": false}),
            serde_json::json!({"name": {"a": "mapping"}, "pk": "0b5c8f1e"}),
            serde_json::json!({"pk": 7, "attributes": {}}),
        ];
        for attrs in attrs_cases {
            let identifiers = BpValue::from_json(&serde_json::json!({"name": name}));
            let attrs_value = BpValue::from_json(&attrs);
            let one_at_a_time = super::super::entry_data(attrs_value.clone(), identifiers);
            assert_eq!(
                plain_group_data(&attrs_value, name),
                one_at_a_time,
                "attrs {attrs}"
            );
        }
    }
}
