//! Cache and pub/sub for Garrison.
//!
//! The embedded default keeps both in process; with a Redis URL they live in Redis, so that
//! several server replicas share counters (login rate limits, outpost health) and see each
//! other's messages. Callers see one [`Bus`] type either way.
#![deny(unsafe_code)]

mod memory;
mod redis;

use std::time::Duration;

use tokio::sync::broadcast;

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
        }
    }

    pub async fn redis(url: &str) -> Result<Self> {
        Ok(Self {
            inner: Inner::Redis(redis::RedisBus::connect(url).await?),
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

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match &self.inner {
            Inner::Memory(bus) => Ok(bus.get(key)),
            Inner::Redis(bus) => bus.get(key).await,
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

    pub async fn publish(&self, channel: &str, message: &str) -> Result<()> {
        match &self.inner {
            Inner::Memory(bus) => {
                bus.publish(channel, message);
                Ok(())
            }
            Inner::Redis(bus) => bus.publish(channel, message).await,
        }
    }

    /// Messages published on `channel` from now on, by any replica.
    pub async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<String>> {
        match &self.inner {
            Inner::Memory(bus) => Ok(bus.subscribe(channel)),
            Inner::Redis(bus) => bus.subscribe(channel).await,
        }
    }

    pub async fn ping(&self) -> bool {
        match &self.inner {
            Inner::Memory(_) => true,
            Inner::Redis(bus) => bus.ping().await,
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
            Ok(url) => buses.push(Bus::redis(&url).await.expect("redis reachable")),
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
    async fn published_messages_reach_subscribers() {
        for bus in buses().await {
            let channel = format!("test:chan:{}", std::process::id());
            let mut rx = bus.subscribe(&channel).await.unwrap();
            bus.publish(&channel, "hello").await.unwrap();
            let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("message in time");
            assert_eq!(got.unwrap(), "hello", "{}", bus.kind());
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
