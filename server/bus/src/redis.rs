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

/// How long one Redis command may take, waiting for a reconnect included, before it fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

fn command(error: fred::error::Error) -> BusError {
    BusError::Command(error.to_string())
}

impl RedisBus {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub(crate) async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let config = Config::from_url(url).map_err(|e| BusError::Url(e.to_string()))?;
        let mut builder = Builder::from_config(config);
        // Without a policy fred never reconnects: one Redis restart would leave this replica
        // deaf to the others for good. And without a timeout a command sent while the
        // connection is down waits for it forever, holding whatever request sent it.
        builder
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .with_performance_config(|performance| {
                performance.default_command_timeout = COMMAND_TIMEOUT;
            });
        let client = builder
            .build()
            .map_err(|e| BusError::Connect(e.to_string()))?;
        let subscriber = builder
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

#[cfg(test)]
mod tests {
    //! Redis going silent or away, played by a TCP relay between the bus and the real Redis
    //! (GARRISON_TEST_REDIS_URL): a relay is the only way to cut one client's connection
    //! without disturbing the Redis every other test shares.
    use std::time::{Duration, Instant};

    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    use super::RedisBus;

    /// Forwards to `upstream` while `silent` is false. When it turns true, every connection
    /// stops answering (bytes are read and dropped); when it turns false again, those
    /// connections are closed, as a restarted Redis would, and new ones forward.
    struct Relay {
        address: std::net::SocketAddr,
        silent: watch::Sender<bool>,
    }

    impl Relay {
        async fn start(upstream: String) -> Relay {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay port");
            let address = listener.local_addr().expect("relay address");
            let (silent, _) = watch::channel(false);
            let modes = silent.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay_one(client, upstream.clone(), modes.subscribe()));
                }
            });
            Relay { address, silent }
        }
    }

    async fn relay_one(client: TcpStream, upstream: String, mut silent: watch::Receiver<bool>) {
        let Ok(server) = TcpStream::connect(&upstream).await else {
            return;
        };
        tokio::select! {
            _ = pump(&client, &server) => return,
            _ = pump(&server, &client) => return,
            _ = silent.wait_for(|s| *s) => {}
        }
        drop(server);
        tokio::select! {
            _ = drain(&client) => {}
            _ = silent.wait_for(|s| !*s) => {}
        }
    }

    /// Copies `from` to `to` until either closes. (Hand-written: tokio's copy helpers need a
    /// feature the rest of the build does not.)
    async fn pump(from: &TcpStream, to: &TcpStream) -> std::io::Result<()> {
        let mut buffer = [0u8; 4096];
        loop {
            from.readable().await?;
            let read = match from.try_read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            let mut rest = &buffer[..read];
            while !rest.is_empty() {
                to.writable().await?;
                match to.try_write(rest) {
                    Ok(written) => rest = &rest[written..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// Reads and drops whatever `from` sends until it closes.
    async fn drain(from: &TcpStream) {
        let mut buffer = [0u8; 4096];
        loop {
            if from.readable().await.is_err() {
                return;
            }
            match from.try_read(&mut buffer) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }

    /// `redis://[credentials@]host:port[/db]` split around its `host:port`.
    fn around_address(url: &str) -> (String, String, String) {
        let (scheme, rest) = url.split_once("://").expect("a redis:// URL");
        let (credentials, rest) = match rest.rsplit_once('@') {
            Some((credentials, rest)) => (format!("{credentials}@"), rest),
            None => (String::new(), rest),
        };
        let (address, path) = match rest.split_once('/') {
            Some((address, path)) => (address, format!("/{path}")),
            None => (rest, String::new()),
        };
        (
            format!("{scheme}://{credentials}"),
            address.to_owned(),
            path,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_redis_fails_commands_in_bounded_time_and_a_restarted_one_is_used_again() {
        let Ok(url) = std::env::var("GARRISON_TEST_REDIS_URL") else {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the Redis tests: set GARRISON_TEST_REDIS_URL"
            );
            return;
        };
        let (before, upstream, after) = around_address(&url);
        let relay = Relay::start(upstream).await;
        let relayed = format!("{before}{}{after}", relay.address);
        let prefix = format!("garrison-bus-relay-test-{}:", std::process::id());
        let bus = RedisBus::connect(&relayed, &prefix)
            .await
            .expect("connect through the relay");
        bus.set("k", "before", None)
            .await
            .expect("set while Redis answers");

        relay.silent.send_replace(true);
        let asked = Instant::now();
        let silent = tokio::time::timeout(Duration::from_secs(30), bus.get("k"))
            .await
            .expect("a command to a silent Redis must fail on its own, not wait forever");
        assert!(silent.is_err(), "no answer from Redis, yet {silent:?}");
        assert!(
            asked.elapsed() < Duration::from_secs(15),
            "failed only after {:?}",
            asked.elapsed()
        );

        // Redis "restarts": the old connections close and new ones are answered.
        relay.silent.send_replace(false);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match bus.get("k").await {
                Ok(value) => {
                    assert_eq!(value.as_deref(), Some("before"));
                    break;
                }
                Err(error) => assert!(
                    Instant::now() < deadline,
                    "the bus did not reconnect within 30 s: {error}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bus.delete("k").await.expect("clean up");
    }
}
