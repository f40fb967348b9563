//! Cache and pub/sub for Garrison.
//!
//! The embedded default keeps both in process; with a Redis URL they live in Redis, so that
//! several server replicas share counters (login rate limits, outpost health) and see each
//! other's messages. Callers see one [`Bus`] type either way.
#![deny(unsafe_code)]

mod memory;
mod message;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

pub use message::{Envelope, Message, Topic};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("invalid Redis URL: {0}")]
    Url(String),
    #[error("could not connect to Redis: {0}")]
    Connect(String),
    #[error("Redis command failed: {0}")]
    Command(String),
}

pub type Result<T, E = BusError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Bus {
    inner: Inner,
    /// This replica's name on the bus, stamped on every message it publishes.
    origin: Arc<str>,
}

fn new_origin() -> Arc<str> {
    uuid::Uuid::new_v4().simple().to_string().into()
}

#[derive(Clone)]
enum Inner {
    Memory(memory::MemoryBus),
    Redis(redis::RedisBus),
}

impl Bus {
    /// The in-process bus: nothing to install, shared by nothing outside this process.
    pub fn in_process() -> Self {
        Self {
            inner: Inner::Memory(memory::MemoryBus::default()),
            origin: new_origin(),
        }
    }

    /// Redis at `url`. Every key and channel is put under `prefix` (e.g. `garrison:`), so
    /// several Garrison installations, or test runs, can share one Redis without meeting.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self> {
        Ok(Self {
            inner: Inner::Redis(redis::RedisBus::connect(url, prefix).await?),
            origin: new_origin(),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self.inner {
            Inner::Memory(_) => "in-process",
            Inner::Redis(_) => "redis",
        }
    }

    /// Increments a counter that expires `ttl` after its first increment; returns the new value.
    pub async fn incr_window(&self, key: &str, ttl: Duration) -> Result<u64> {
        match &self.inner {
            Inner::Memory(bus) => Ok(bus.incr_window(key, ttl)),
            Inner::Redis(bus) => bus.incr_window(key, ttl).await,
        }
    }

    /// Decrements a counter made by [`Bus::incr_window`] if it still exists (never creates
    /// one, and keeps its expiry); returns the new value, or 0 when it was gone.
    pub async fn decr_if_present(&self, key: &str) -> Result<u64> {
        match &self.inner {
            Inner::Memory(bus) => Ok(bus.decr_if_present(key)),
            Inner::Redis(bus) => bus.decr_if_present(key).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match &self.inner {
            Inner::Memory(bus) => Ok(bus.get(key)),
            Inner::Redis(bus) => bus.get(key).await,
        }
    }

    /// Every live value whose key starts with `prefix`, as (key without the prefix, value).
    /// For small families of keys (an outpost's instances); Redis walks them with SCAN.
    pub async fn values_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        match &self.inner {
            Inner::Memory(bus) => Ok(bus.values_with_prefix(prefix)),
            Inner::Redis(bus) => bus.values_with_prefix(prefix).await,
        }
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        match &self.inner {
            Inner::Memory(bus) => {
                bus.set(key, value, ttl);
                Ok(())
            }
            Inner::Redis(bus) => bus.set(key, value, ttl).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        match &self.inner {
            Inner::Memory(bus) => {
                bus.delete(key);
                Ok(())
            }
            Inner::Redis(bus) => bus.delete(key).await,
        }
    }

    /// The same bus under a new origin, as another replica in this process would use it:
    /// its messages reach this one's subscribers and the other way round (tests that run
    /// several replicas in one process).
    pub fn as_another_replica(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            origin: new_origin(),
        }
    }

    /// This replica's name on the bus.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Publishes `message` on its topic, stamped with this replica's origin.
    pub async fn publish(&self, message: Message) -> Result<()> {
        let channel = message.topic().channel();
        let text = serde_json::to_string(&Envelope {
            origin: self.origin.to_string(),
            message,
        })
        .map_err(|e| BusError::Command(format!("cannot encode a bus message: {e}")))?;
        match &self.inner {
            Inner::Memory(bus) => {
                bus.publish(channel, &text);
                Ok(())
            }
            Inner::Redis(bus) => bus.publish(channel, &text).await,
        }
    }

    /// Messages published on `topic` from now on, by any replica (this one included).
    pub async fn subscribe(&self, topic: Topic) -> Result<Subscription> {
        let channel = topic.channel();
        let receiver = match &self.inner {
            Inner::Memory(bus) => bus.subscribe(channel),
            Inner::Redis(bus) => bus.subscribe(channel).await?,
        };
        Ok(Subscription { receiver })
    }

    pub async fn ping(&self) -> bool {
        match &self.inner {
            Inner::Memory(_) => true,
            Inner::Redis(bus) => bus.ping().await,
        }
    }
}

/// Messages on one topic.
pub struct Subscription {
    receiver: broadcast::Receiver<String>,
}

/// Why [`Subscription::recv`] returned no message.
#[derive(Debug, PartialEq, Eq)]
pub enum RecvError {
    /// This subscriber fell behind and `n` messages were dropped: resynchronise from the store.
    Lagged(u64),
    /// The bus is gone.
    Closed,
}

impl Subscription {
    /// The next message. Messages this build cannot decode (a newer replica's kinds during a
    /// rolling upgrade) are skipped with a debug log.
    pub async fn recv(&mut self) -> Result<Envelope, RecvError> {
        loop {
            match self.receiver.recv().await {
                Ok(text) => match serde_json::from_str(&text) {
                    Ok(envelope) => return Ok(envelope),
                    Err(error) => {
                        tracing::debug!(%error, "skipping a bus message of an unknown kind")
                    }
                },
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return Err(RecvError::Closed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs against Redis too when GARRISON_TEST_REDIS_URL is set (the test command sets it).
    async fn buses() -> Vec<Bus> {
        let mut buses = vec![Bus::in_process()];
        match std::env::var("GARRISON_TEST_REDIS_URL") {
            Ok(url) => buses.push(
                Bus::redis(&url, &format!("garrison-bus-test-{}:", std::process::id()))
                    .await
                    .expect("redis reachable"),
            ),
            Err(_) => assert!(
                std::env::var("CI").is_err(),
                "CI must run the Redis tests: set GARRISON_TEST_REDIS_URL"
            ),
        }
        buses
    }

    #[tokio::test]
    async fn window_counter_counts_and_expires() {
        for bus in buses().await {
            let key = format!("test:window:{}", std::process::id());
            bus.delete(&key).await.unwrap();
            assert_eq!(
                bus.incr_window(&key, Duration::from_secs(1)).await.unwrap(),
                1,
                "{}",
                bus.kind()
            );
            assert_eq!(
                bus.incr_window(&key, Duration::from_secs(1)).await.unwrap(),
                2,
                "{}",
                bus.kind()
            );
            tokio::time::sleep(Duration::from_millis(1100)).await;
            assert_eq!(
                bus.incr_window(&key, Duration::from_secs(1)).await.unwrap(),
                1,
                "{}",
                bus.kind()
            );
        }
    }

    #[tokio::test]
    async fn decrement_takes_back_a_count_but_never_creates_a_counter() {
        for bus in buses().await {
            let key = format!("test:decr:{}", std::process::id());
            bus.delete(&key).await.unwrap();
            assert_eq!(
                bus.decr_if_present(&key).await.unwrap(),
                0,
                "{}",
                bus.kind()
            );
            assert_eq!(bus.get(&key).await.unwrap(), None, "{}", bus.kind());
            bus.incr_window(&key, Duration::from_secs(1)).await.unwrap();
            bus.incr_window(&key, Duration::from_secs(1)).await.unwrap();
            assert_eq!(
                bus.decr_if_present(&key).await.unwrap(),
                1,
                "{}",
                bus.kind()
            );
            tokio::time::sleep(Duration::from_millis(1100)).await;
            assert_eq!(
                bus.get(&key).await.unwrap(),
                None,
                "expiry kept: {}",
                bus.kind()
            );
        }
    }

    #[tokio::test]
    async fn values_are_found_by_prefix_until_they_expire() {
        for bus in buses().await {
            let prefix = format!("test:scan:{}:", std::process::id());
            bus.set(&format!("{prefix}a"), "1", Some(Duration::from_millis(800)))
                .await
                .unwrap();
            bus.set(&format!("{prefix}b"), "2", None).await.unwrap();
            bus.set("test:other", "3", None).await.unwrap();
            let mut found = bus.values_with_prefix(&prefix).await.unwrap();
            found.sort();
            assert_eq!(
                found,
                vec![
                    ("a".to_owned(), "1".to_owned()),
                    ("b".to_owned(), "2".to_owned())
                ],
                "{}",
                bus.kind()
            );
            tokio::time::sleep(Duration::from_millis(900)).await;
            let found = bus.values_with_prefix(&prefix).await.unwrap();
            assert_eq!(
                found,
                vec![("b".to_owned(), "2".to_owned())],
                "{}",
                bus.kind()
            );
            bus.delete(&format!("{prefix}b")).await.unwrap();
        }
    }

    #[tokio::test]
    async fn published_messages_reach_subscribers() {
        for bus in buses().await {
            let mut rx = bus.subscribe(Topic::Plugins).await.unwrap();
            let name = format!("test-{}", std::process::id());
            bus.publish(Message::PluginChanged { name: name.clone() })
                .await
                .unwrap();
            let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("message in time")
                .unwrap();
            assert_eq!(
                got.message,
                Message::PluginChanged { name },
                "{}",
                bus.kind()
            );
            assert_eq!(got.origin, bus.origin(), "{}", bus.kind());
        }
    }

    #[tokio::test]
    async fn values_expire() {
        for bus in buses().await {
            let key = format!("test:value:{}", std::process::id());
            bus.set(&key, "v", Some(Duration::from_millis(1000)))
                .await
                .unwrap();
            assert_eq!(bus.get(&key).await.unwrap().as_deref(), Some("v"));
            tokio::time::sleep(Duration::from_millis(1100)).await;
            assert_eq!(bus.get(&key).await.unwrap(), None, "{}", bus.kind());
        }
    }
}
