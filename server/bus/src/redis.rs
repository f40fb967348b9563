use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::Expiration;
use tokio::sync::{Mutex, broadcast};

use crate::{BusError, Result};

#[derive(Clone)]
pub(crate) struct RedisBus {
    client: Client,
    subscriber: SubscriberClient,
    /// One local fan-out per Redis channel, fed by a single task reading the subscriber.
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>,
    /// Put before every key and channel name.
    prefix: Arc<str>,
}

fn command(error: fred::error::Error) -> BusError {
    BusError::Command(error.to_string())
}

impl RedisBus {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub(crate) async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let config = Config::from_url(url).map_err(|e| BusError::Url(e.to_string()))?;
        let client = Builder::from_config(config.clone())
            .build()
            .map_err(|e| BusError::Connect(e.to_string()))?;
        let subscriber = Builder::from_config(config)
            .build_subscriber_client()
            .map_err(|e| BusError::Connect(e.to_string()))?;
        tokio::time::timeout(Duration::from_secs(10), async {
            client.init().await?;
            subscriber.init().await
        })
        .await
        .map_err(|_| BusError::Connect("timed out after 10 s".into()))?
        .map_err(|e| BusError::Connect(e.to_string()))?;
        // Re-subscribe after reconnects so no channel goes quiet silently.
        let _resubscribe = subscriber.manage_subscriptions();

        let channels: Arc<Mutex<HashMap<String, broadcast::Sender<String>>>> = Arc::default();
        let mut messages = subscriber.message_rx();
        let fan_out = channels.clone();
        tokio::spawn(async move {
            while let Ok(message) = messages.recv().await {
                let Ok(text) = message.value.convert::<String>() else {
                    continue;
                };
                if let Some(sender) = fan_out.lock().await.get(&*message.channel) {
                    let _ = sender.send(text);
                }
            }
        });
        Ok(Self {
            client,
            subscriber,
            channels,
            prefix: prefix.into(),
        })
    }

    pub(crate) async fn incr_window(&self, key: &str, ttl: Duration) -> Result<u64> {
        let key = self.key(key);
        let key = key.as_str();
        // One transaction: create the counter with its expiry if it is missing, then count.
        // (INCR first and PEXPIRE after would leave a counter that never expires if the
        // second command were lost.)
        let trx = self.client.multi();
        let _: () = trx
            .set(
                key,
                0,
                Some(Expiration::PX(ttl.as_millis() as i64)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(command)?;
        let _: () = trx.incr(key).await.map_err(command)?;
        let (_, value): (Option<String>, i64) = trx.exec(true).await.map_err(command)?;
        Ok(value.max(0) as u64)
    }

    pub(crate) async fn decr_if_present(&self, key: &str) -> Result<u64> {
        let key = self.key(key);
        // A plain DECR on a key that just expired would create a counter with no expiry.
        const SCRIPT: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then \
            local v = redis.call('DECR', KEYS[1]) \
            if v < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') return 0 end \
            return v end return 0";
        let value: i64 = self
            .client
            .eval(SCRIPT, vec![key.as_str()], Vec::<String>::new())
            .await
            .map_err(command)?;
        Ok(value.max(0) as u64)
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>> {
        self.client.get(self.key(key)).await.map_err(command)
    }

    pub(crate) async fn values_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let full = self.key(prefix);
        // Glob characters in the prefix are matched literally.
        let mut pattern = String::with_capacity(full.len() + 1);
        for c in full.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        let mut cursor = "0".to_owned();
        let mut keys: Vec<String> = Vec::new();
        loop {
            let (next, batch): (String, Vec<String>) = self
                .client
                .custom(
                    fred::types::CustomCommand::new(
                        "SCAN",
                        fred::types::ClusterHash::Random,
                        false,
                    ),
                    vec![
                        cursor.clone(),
                        "MATCH".into(),
                        pattern.clone(),
                        "COUNT".into(),
                        "200".into(),
                    ],
                )
                .await
                .map_err(command)?;
            keys.extend(batch);
            if next == "0" {
                break;
            }
            cursor = next;
        }
        // One MGET per chunk rather than one GET per key. SCAN may report a key twice, and
        // a key can expire between SCAN and MGET (its value comes back empty): skip both.
        keys.sort_unstable();
        keys.dedup();
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let values: Vec<Option<String>> =
                self.client.mget(chunk.to_vec()).await.map_err(command)?;
            for (key, value) in chunk.iter().zip(values) {
                if let Some(value) = value {
                    found.push((key[full.len()..].to_owned(), value));
                }
            }
        }
        Ok(found)
    }

    pub(crate) async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        let expiration = ttl.map(|t| Expiration::PX(t.as_millis() as i64));
        let _: () = self
            .client
            .set(self.key(key), value, expiration, None, false)
            .await
            .map_err(command)?;
        Ok(())
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        let _: i64 = self.client.del(self.key(key)).await.map_err(command)?;
        Ok(())
    }

    pub(crate) async fn publish(&self, channel: &str, message: &str) -> Result<()> {
        let _: i64 = self
            .client
            .publish(self.key(channel), message)
            .await
            .map_err(command)?;
        Ok(())
    }

    pub(crate) async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<String>> {
        let channel = self.key(channel);
        let channel = channel.as_str();
        let mut channels = self.channels.lock().await;
        if let Some(sender) = channels.get(channel) {
            return Ok(sender.subscribe());
        }
        let (sender, receiver) = broadcast::channel(256);
        channels.insert(channel.to_owned(), sender);
        drop(channels);
        self.subscriber.subscribe(channel).await.map_err(command)?;
        Ok(receiver)
    }

    pub(crate) async fn ping(&self) -> bool {
        self.client.ping::<String>(None).await.is_ok()
    }
}
