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
    /// By list and filter (see [`ListCounts::key`]).
    counts: Shelf<String, u64>,
}

impl ListCounts {
    /// The key of a list's count: the list's name and its whole filter, visibility included,
    /// so callers who see different rows never share a count.
    pub(crate) fn key(list: &str, filter: &impl std::fmt::Debug) -> String {
        format!("{list}:{filter:?}")
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self, key: &str) -> Option<u64> {
        self.counts.get(key, self.generation())
    }

    /// Keeps `count`, taken under `generation`, unless a write committed since.
    pub(crate) fn put(&self, key: String, generation: u64, count: u64) {
        self.counts.put(key, generation, &self.generation, count);
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
        let key = ListCounts::key("outposts", &("filter", 1));
        let before = counts.generation();
        counts.put(key.clone(), before, 1000);
        assert_eq!(counts.get(&key), Some(1000));
        assert_eq!(
            counts.get(&ListCounts::key("outposts", &("filter", 2))),
            None
        );
        counts.invalidate();
        assert_eq!(counts.get(&key), None, "a write empties the counts");
        // A count taken before a write committed is not kept.
        counts.put(key.clone(), before, 1000);
        assert_eq!(counts.get(&key), None);
    }
}
