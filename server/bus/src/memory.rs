use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

#[derive(Clone, Default)]
pub(crate) struct MemoryBus {
    values: Arc<Mutex<Values>>,
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>,
}

/// Values with their expiry. Expired entries are dropped when read, and swept as a whole every
/// [`SWEEP_EVERY`] writes, so keys nobody reads again (a login counter for a username tried
/// once) do not pile up for the life of the process.
#[derive(Default)]
struct Values {
    map: HashMap<String, (String, Option<Instant>)>,
    writes: u64,
}

const SWEEP_EVERY: u64 = 1024;

impl Values {
    fn wrote(&mut self, now: Instant) {
        self.writes += 1;
        if self.writes % SWEEP_EVERY == 0 {
            self.map
                .retain(|_, (_, expires)| expires.is_none_or(|at| at > now));
        }
    }
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
        values.wrote(now);
        let entry = values
            .map
            .entry(key.to_owned())
            .or_insert_with(|| ("0".into(), Some(now + ttl)));
        if entry.1.is_some_and(|at| at <= now) {
            *entry = ("0".into(), Some(now + ttl));
        }
        let next = entry.0.parse::<u64>().unwrap_or(0) + 1;
        entry.0 = next.to_string();
        next
    }

    pub(crate) fn decr_if_present(&self, key: &str) -> u64 {
        let now = Instant::now();
        let mut values = lock(&self.values);
        match values.map.get_mut(key) {
            Some(entry) if entry.1.is_none_or(|at| at > now) => {
                let next = entry.0.parse::<u64>().unwrap_or(0).saturating_sub(1);
                entry.0 = next.to_string();
                next
            }
            _ => 0,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        let mut values = lock(&self.values);
        match values.map.get(key) {
            Some((_, Some(at))) if *at <= Instant::now() => {
                values.map.remove(key);
                None
            }
            Some((value, _)) => Some(value.clone()),
            None => None,
        }
    }

    pub(crate) fn values_with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let now = Instant::now();
        lock(&self.values)
            .map
            .iter()
            .filter(|(key, (_, expires))| {
                key.starts_with(prefix) && expires.is_none_or(|at| at > now)
            })
            .map(|(key, (value, _))| (key[prefix.len()..].to_owned(), value.clone()))
            .collect()
    }

    pub(crate) fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        let now = Instant::now();
        let mut values = lock(&self.values);
        values.wrote(now);
        values
            .map
            .insert(key.to_owned(), (value.to_owned(), ttl.map(|t| now + t)));
    }

    pub(crate) fn delete(&self, key: &str) {
        lock(&self.values).map.remove(key);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_keys_are_swept_without_being_read() {
        let bus = MemoryBus::default();
        for i in 0..SWEEP_EVERY - 1 {
            bus.incr_window(&format!("once:{i}"), Duration::from_millis(1));
        }
        assert_eq!(lock(&bus.values).map.len() as u64, SWEEP_EVERY - 1);
        std::thread::sleep(Duration::from_millis(5));
        bus.set("live", "v", None);
        let values = lock(&bus.values);
        assert_eq!(values.map.len(), 1, "only the live key is left");
        assert!(values.map.contains_key("live"));
    }
}
