use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

#[derive(Clone, Default)]
pub(crate) struct MemoryBus {
    values: Arc<Mutex<HashMap<String, (String, Option<Instant>)>>>,
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>,
}

/// A poisoned lock only means another thread panicked mid-update of a cache entry; the map
/// itself is still usable, so recover it rather than propagate the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryBus {
    pub(crate) fn incr_window(&self, key: &str, ttl: Duration) -> u64 {
        let now = Instant::now();
        let mut values = lock(&self.values);
        let entry = values
            .entry(key.to_owned())
            .or_insert_with(|| ("0".into(), Some(now + ttl)));
        if entry.1.is_some_and(|at| at <= now) {
            *entry = ("0".into(), Some(now + ttl));
        }
        let next = entry.0.parse::<u64>().unwrap_or(0) + 1;
        entry.0 = next.to_string();
        next
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        let mut values = lock(&self.values);
        match values.get(key) {
            Some((_, Some(at))) if *at <= Instant::now() => {
                values.remove(key);
                None
            }
            Some((value, _)) => Some(value.clone()),
            None => None,
        }
    }

    pub(crate) fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        lock(&self.values).insert(
            key.to_owned(),
            (value.to_owned(), ttl.map(|t| Instant::now() + t)),
        );
    }

    pub(crate) fn delete(&self, key: &str) {
        lock(&self.values).remove(key);
    }

    pub(crate) fn publish(&self, channel: &str, message: &str) {
        if let Some(sender) = lock(&self.channels).get(channel) {
            // No receivers is fine: nobody is listening on this replica.
            let _ = sender.send(message.to_owned());
        }
    }

    pub(crate) fn subscribe(&self, channel: &str) -> broadcast::Receiver<String> {
        lock(&self.channels)
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }
}
