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
}

fn command(error: fred::error::Error) -> BusError {
    BusError::Command(error.to_string())
}

impl RedisBus {
    pub(crate) async fn connect(url: &str) -> Result<Self> {
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
        })
    }

    pub(crate) async fn incr_window(&self, key: &str, ttl: Duration) -> Result<u64> {
        let value: i64 = self.client.incr(key).await.map_err(command)?;
        if value == 1 {
            let _: () = self
                .client
                .pexpire(key, ttl.as_millis() as i64, None)
                .await
                .map_err(command)?;
        }
        Ok(value.max(0) as u64)
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>> {
        self.client.get(key).await.map_err(command)
    }

    pub(crate) async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        let expiration = ttl.map(|t| Expiration::PX(t.as_millis() as i64));
        let _: () = self
            .client
            .set(key, value, expiration, None, false)
            .await
            .map_err(command)?;
        Ok(())
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        let _: i64 = self.client.del(key).await.map_err(command)?;
        Ok(())
    }

    pub(crate) async fn publish(&self, channel: &str, message: &str) -> Result<()> {
        let _: i64 = self
            .client
            .publish(channel, message)
            .await
            .map_err(command)?;
        Ok(())
    }

    pub(crate) async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<String>> {
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
