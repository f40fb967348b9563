//! Principals and API tokens kept for a few seconds, so that a request does not reload its
//! caller's token, user, groups and permissions each time (about seven queries).
//!
//! Freshness: every transaction that changes who holds what (memberships, parents, roles,
//! permissions, user and group flags) is flagged by the store; committing it empties this
//! replica's cache at once and tells the other replicas on the bus (`IdentitiesChanged`), which
//! empty theirs when the message arrives. An entry also expires after [`LIFETIME`], which
//! bounds staleness if a message is lost (Redis pub/sub delivers at most once).
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use garrison_bus::{RecvError, Topic};

use garrison_model::Token;

use crate::Services;
use crate::authz::Principal;

pub(crate) const LIFETIME: Duration = Duration::from_secs(5);
/// Beyond this many users cached at once, the cache starts again (a bound on memory, never
/// reached by a deployment's administrators and outposts).
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub(crate) struct PrincipalCache {
    /// Bumped on every invalidation; a load that began under an older generation is not kept.
    generation: AtomicU64,
    principals: Shelf<i64, Principal>,
    /// API tokens by the SHA-256 of their key (never the key itself).
    tokens: Shelf<String, Token>,
}

/// Values with the generation they were loaded under and when.
pub(crate) struct Shelf<K, V>(Mutex<HashMap<K, (u64, Instant, V)>>);

impl<K, V> Default for Shelf<K, V> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Shelf<K, V> {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (u64, Instant, V)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get<Q>(&self, key: &Q, generation: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.lock()
            .get(key)
            .filter(|(kept, loaded, _)| *kept == generation && loaded.elapsed() < LIFETIME)
            .map(|(_, _, value)| value.clone())
    }

    /// Keeps `value`, loaded under `generation`, unless `current` moved on since: checked
    /// under the lock that `invalidate` also takes.
    pub(crate) fn put(&self, key: K, generation: u64, current: &AtomicU64, value: V) {
        let mut map = self.lock();
        if generation != current.load(Ordering::SeqCst) {
            return;
        }
        if map.len() >= CAPACITY {
            map.retain(|_, (_, loaded, _)| loaded.elapsed() < LIFETIME);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(key, (generation, Instant::now(), value));
    }
}

impl PrincipalCache {
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self, user_pk: i64) -> Option<Principal> {
        self.principals.get(&user_pk, self.generation())
    }

    /// Keeps `principal`, loaded under `generation`, unless something changed since.
    pub(crate) fn put(&self, user_pk: i64, generation: u64, principal: Principal) {
        self.principals
            .put(user_pk, generation, &self.generation, principal);
    }

    pub(crate) fn token(&self, key_hash: &str) -> Option<Token> {
        self.tokens.get(key_hash, self.generation())
    }

    /// Keeps `token`, loaded under `generation`, unless something changed since.
    pub(crate) fn put_token(&self, key_hash: &str, generation: u64, token: Token) {
        self.tokens
            .put(key_hash.to_owned(), generation, &self.generation, token);
    }

    pub(crate) fn invalidate(&self) {
        let mut principals = self.principals.lock();
        let mut tokens = self.tokens.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        principals.clear();
        tokens.clear();
    }
}

impl Services {
    /// Follows the other replicas' changes on the bus that make this replica's caches stale:
    /// identity changes empty the principal cache, any write the list counts (on each message,
    /// and on any gap in them). Call once per replica, inside the runtime.
    pub fn follow_other_replicas(&self) {
        self.empty_on(Topic::Identities, "identity changes", |services| {
            services.principals().invalidate()
        });
        self.empty_on(Topic::Records, "writes", |services| {
            services.counts().invalidate()
        });
    }

    /// Calls `empty` on every other replica's message of `topic` and on any gap in them. Without the
    /// subscription, what it keeps goes stale for at most [`LIFETIME`].
    fn empty_on(&self, topic: Topic, what: &'static str, empty: fn(&Services)) {
        let services = self.clone();
        tokio::spawn(async move {
            let mut messages = match services.bus().subscribe(topic).await {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::error!(%error, "cannot follow other replicas' {what}; they apply here after at most {LIFETIME:?}");
                    return;
                }
            };
            loop {
                match messages.recv().await {
                    // This replica emptied its own when it committed.
                    Ok(envelope) if envelope.origin == services.bus().origin() => {}
                    Ok(_) | Err(RecvError::Lagged(_)) => empty(&services),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lives_until_its_generation_moves_on() {
        let cache = PrincipalCache::default();
        let before = cache.generation();
        cache.put(7, before, Principal::system());
        assert!(cache.get(7).is_some());
        assert!(cache.get(8).is_none());
        cache.invalidate();
        assert!(cache.get(7).is_none(), "invalidated");
        // A load that began before an invalidation is not kept.
        cache.put(7, before, Principal::system());
        assert!(cache.get(7).is_none());
        cache.put(7, cache.generation(), Principal::system());
        assert!(cache.get(7).is_some());
    }
}
