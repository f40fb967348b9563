//! How many rows a list matches, kept between requests until the next write: on a table of
//! thousands the count is most of what a page costs the database, and lists are read far more
//! often than written.
//!
//! Freshness: every committed transaction empties this replica's counts at once and tells the
//! other replicas on the bus (`RecordsChanged`), which empty theirs when the message arrives.
//! A count also expires after `principals::LIFETIME`, which bounds staleness if a message is lost.
//! A count taken while a write committed is not kept (generations, as for principals).
use std::sync::atomic::{AtomicU64, Ordering};

use crate::principals::Shelf;

#[derive(Default)]
pub(crate) struct ListCounts {
    generation: AtomicU64,
    /// By list and filter (see [`ListCounts::look_up`]).
    counts: Shelf<String, u64>,
}

/// What [`ListCounts::look_up`] found for one list and filter: the count if one is kept, and
/// what [`ListCounts::keep`] needs to keep a fresh one.
pub(crate) struct LookedUp {
    key: String,
    generation: u64,
    pub(crate) known: Option<u64>,
}

impl ListCounts {
    /// The count kept for `list` under `filter` (the whole filter, visibility included, so
    /// callers who see different rows never share a count). Call before counting: a write
    /// that commits meanwhile voids what is then counted.
    pub(crate) fn look_up(&self, list: &str, filter: &impl std::fmt::Debug) -> LookedUp {
        let key = format!("{list}:{filter:?}");
        let generation = self.generation.load(Ordering::SeqCst);
        let known = self.counts.get(&key, generation);
        LookedUp {
            key,
            generation,
            known,
        }
    }

    /// Keeps `count`, counted after `looked_up`, unless a write committed since (or one was
    /// already kept).
    pub(crate) fn keep(&self, looked_up: LookedUp, count: u64) {
        if looked_up.known.is_none() {
            self.counts
                .put(looked_up.key, looked_up.generation, &self.generation, count);
        }
    }

    pub(crate) fn invalidate(&self) {
        let mut counts = self.counts.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_lives_until_the_next_write() {
        let counts = ListCounts::default();
        let filter = ("filter", 1);
        let looked_up = counts.look_up("outposts", &filter);
        assert_eq!(looked_up.known, None);
        counts.keep(looked_up, 1000);
        assert_eq!(counts.look_up("outposts", &filter).known, Some(1000));
        assert_eq!(counts.look_up("outposts", &("filter", 2)).known, None);
        let before = counts.look_up("outposts", &("filter", 3));
        counts.invalidate();
        assert_eq!(
            counts.look_up("outposts", &filter).known,
            None,
            "a write empties the counts"
        );
        // A count taken before a write committed is not kept.
        counts.keep(before, 1000);
        assert_eq!(counts.look_up("outposts", &("filter", 3)).known, None);
    }
}
