//! The websocket loop: connect with the token, HELLO every 10 s, ACK nothing, refetch on
//! TRIGGER_UPDATE, reconnect with exponential backoff and jitter.
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::client::{Fetched, fetch};
use crate::{AgentConfig, AgentError, AgentEvent};

const HELLO_EVERY: Duration = Duration::from_secs(10);
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// authentik's HELLO arguments, plus what Garrison's health shows: the configuration hash the
/// agent holds and when it fetched it.
fn hello(config: &AgentConfig, held: &Fetched) -> String {
    json!({
        "instruction": 1,
        "args": {
            "version": config.version,
            "buildHash": "",
            "uuid": config.instance,
            "golangVersion": "",
            "opensslEnabled": false,
            "opensslVersion": "",
            "fipsEnabled": false,
            "hostname": hostname(),
            "garrison_config_hash": held.config_hash,
            "garrison_config_fetched_at": held.fetched_at.to_rfc3339(),
        }
    })
    .to_string()
}

/// `http(s)://host/base` → `ws(s)://host/base/ws/outpost/<uuid>/?instance_uuid=…&attempt=…`.
fn socket_url(config: &AgentConfig, outpost: &str, attempt: u32) -> Result<String, AgentError> {
    let (scheme, rest) = config
        .url
        .split_once("://")
        .ok_or_else(|| AgentError::Config(format!("{} is not a URL", config.url)))?;
    let scheme = match scheme {
        "http" => "ws",
        "https" => "wss",
        other => return Err(AgentError::Config(format!("unsupported scheme {other}"))),
    };
    Ok(format!(
        "{scheme}://{rest}/ws/outpost/{outpost}/?instance_uuid={}&attempt={attempt}",
        config.instance
    ))
}

/// TLS for `wss://`: the web's roots, or (AUTHENTIK_INSECURE) no verification at all.
fn tls(config: &AgentConfig) -> Result<Arc<rustls::ClientConfig>, AgentError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| AgentError::Config(format!("TLS: {e}")))?;
    let config = if config.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

mod insecure {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// AUTHENTIK_INSECURE: any certificate is accepted (signatures are still checked).
    #[derive(Debug)]
    pub(super) struct AcceptAny(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// The delay before reconnect `attempt`: doubling from 1 s to 5 min, with up to half of it
/// added at random so many instances do not come back at once.
fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_FIRST
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_MAX);
    let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2);
    base + Duration::from_millis(jitter)
}

async fn emit(events: &mpsc::Sender<AgentEvent>, event: AgentEvent) -> bool {
    events.send(event).await.is_ok()
}

async fn fetched(events: &mpsc::Sender<AgentEvent>, held: &Fetched) -> bool {
    emit(
        events,
        AgentEvent::Fetched {
            outpost: held.outpost_name.clone(),
            providers: held.providers.len(),
            config_hash: held.config_hash.clone(),
        },
    )
    .await
}

pub(crate) async fn run(
    config: AgentConfig,
    events: mpsc::Sender<AgentEvent>,
) -> Result<(), AgentError> {
    let mut attempt: u32 = 0;
    loop {
        // Fetch first (authentik's outposts retry every 3 s until their outpost is found).
        let held = match fetch(&config).await {
            Ok(held) => held,
            Err(error) => {
                let retry_in = backoff(attempt);
                attempt = attempt.saturating_add(1);
                if !emit(
                    &events,
                    AgentEvent::Disconnected {
                        reason: error.to_string(),
                        retry_in,
                    },
                )
                .await
                {
                    return Ok(());
                }
                tokio::time::sleep(retry_in).await;
                continue;
            }
        };
        if !fetched(&events, &held).await {
            return Ok(());
        }
        let reason = match session(&config, held, &mut attempt, &events).await {
            Ok(Some(reason)) => reason,
            Ok(None) => return Ok(()),
            Err(error) => error.to_string(),
        };
        let retry_in = backoff(attempt);
        attempt = attempt.saturating_add(1);
        if !emit(&events, AgentEvent::Disconnected { reason, retry_in }).await {
            return Ok(());
        }
        tokio::time::sleep(retry_in).await;
    }
}

/// One websocket session. `Ok(None)`: the caller stopped listening; `Ok(Some(reason))`: the
/// connection ended and should be retried.
async fn session(
    config: &AgentConfig,
    mut held: Fetched,
    attempt: &mut u32,
    events: &mpsc::Sender<AgentEvent>,
) -> Result<Option<String>, AgentError> {
    let url = socket_url(config, &held.outpost_pk, *attempt)?;
    let mut request = url
        .into_client_request()
        .map_err(|e| AgentError::Socket(e.to_string()))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", config.token))
        .map_err(|_| AgentError::Config("the token is not a valid header value".into()))?;
    request.headers_mut().insert("Authorization", bearer);
    if let Ok(agent) = HeaderValue::from_str(&format!("garrison-agent/{}", config.version)) {
        request.headers_mut().insert("User-Agent", agent);
    }
    let connector = tokio_tungstenite::Connector::Rustls(tls(config)?);
    let (socket, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector)),
    )
    .await
    .map_err(|_| AgentError::Socket("handshake timed out".into()))?
    .map_err(|e| AgentError::Socket(e.to_string()))?;
    let (mut sink, mut stream) = socket.split();
    if !emit(events, AgentEvent::Connected { attempt: *attempt }).await {
        return Ok(None);
    }
    // Connected: the next loss starts the backoff again from its first step.
    *attempt = 0;
    sink.send(Message::Text(hello(config, &held).into()))
        .await
        .map_err(|e| AgentError::Socket(e.to_string()))?;
    let mut hello_tick = tokio::time::interval(HELLO_EVERY);
    hello_tick.tick().await;
    let refresh_every = Duration::from_secs(held.refresh_interval_s.max(30) as u64);
    let mut refresh_tick = tokio::time::interval(refresh_every);
    refresh_tick.tick().await;
    // A refetch runs beside the socket so that frames keep flowing while it waits.
    let (refetched_tx, mut refetched) = mpsc::channel::<Result<Fetched, AgentError>>(4);
    let refetch = |delay: Duration| {
        let config = config.clone();
        let done = refetched_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = done.send(fetch(&config).await).await;
        });
    };
    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(frame) = frame else { return Ok(Some("the server closed the connection".into())) };
                let text = match frame.map_err(|e| AgentError::Socket(e.to_string()))? {
                    Message::Text(text) => text,
                    Message::Close(close) => {
                        let reason = close.map(|c| format!("closed by the server ({}: {})", u16::from(c.code), c.reason)).unwrap_or_else(|| "closed by the server".into());
                        return Ok(Some(reason));
                    }
                    _ => continue,
                };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                match frame["instruction"].as_u64() {
                    Some(2) => {
                        if !emit(events, AgentEvent::UpdateTriggered { at: Instant::now() }).await {
                            return Ok(None);
                        }
                        let max = config.update_jitter.as_millis() as u64;
                        let delay = Duration::from_millis(rand::thread_rng().gen_range(0..=max));
                        refetch(delay);
                    }
                    Some(4) => {
                        let session_id = frame["args"]["session_id"].as_str().unwrap_or_default().to_owned();
                        if !emit(events, AgentEvent::SessionEnded { session_id }).await {
                            return Ok(None);
                        }
                    }
                    _ => {}
                }
            }
            done = refetched.recv() => {
                match done {
                    Some(Ok(fresh)) => {
                        held = fresh;
                        if !fetched(events, &held).await {
                            return Ok(None);
                        }
                        // Report the new hash at once rather than at the next tick.
                        sink.send(Message::Text(hello(config, &held).into()))
                            .await
                            .map_err(|e| AgentError::Socket(e.to_string()))?;
                    }
                    Some(Err(error)) => tracing::warn!(%error, "refetching the configuration failed; keeping what is held"),
                    None => {}
                }
            }
            _ = hello_tick.tick() => {
                sink.send(Message::Text(hello(config, &held).into()))
                    .await
                    .map_err(|e| AgentError::Socket(e.to_string()))?;
            }
            _ = refresh_tick.tick() => refetch(Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls_follow_the_host_and_keep_a_sub_path() {
        let mut config = AgentConfig::new("https://id.example/auth/".into(), "t".into(), false);
        config.instance = "i1".into();
        assert_eq!(
            socket_url(&config, "o1", 2).unwrap(),
            "wss://id.example/auth/ws/outpost/o1/?instance_uuid=i1&attempt=2"
        );
        config.url = "ftp://x".into();
        assert!(socket_url(&config, "o1", 0).is_err());
    }

    #[test]
    fn backoff_doubles_to_five_minutes_with_jitter() {
        for attempt in 0..20 {
            let wait = backoff(attempt);
            let base = BACKOFF_FIRST
                .saturating_mul(1u32 << attempt.min(16))
                .min(BACKOFF_MAX);
            assert!(
                wait >= base && wait <= base + base / 2,
                "{attempt}: {wait:?}"
            );
        }
        assert!(backoff(30) <= BACKOFF_MAX + BACKOFF_MAX / 2);
    }
}
