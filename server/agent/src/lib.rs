//! A reference outpost (`garrison agent`): what authentik's outpost images do with the
//! control plane, and nothing else. It finds its outpost (the first of `/outposts/instances/`
//! its token sees), fetches its providers' configuration, holds the websocket with a HELLO
//! every 10 s that reports the configuration hash it holds, refetches on TRIGGER_UPDATE
//! after a random delay, and reconnects with exponential backoff and jitter.
//!
//! It serves no traffic. It is the client of Garrison's end-to-end and load tests and a
//! debugging tool for operators: [`Agent::run`] reports what happens as [`AgentEvent`]s.
#![deny(unsafe_code)]

mod client;
mod socket;

use std::time::Duration;

use tokio::sync::mpsc;

pub use client::{Fetched, fetch};

/// How to reach the server, as authentik's outpost images read it from the environment.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// `AUTHENTIK_HOST`: the server's base URL (`https://id.example`, a sub-path allowed).
    pub url: String,
    /// `AUTHENTIK_TOKEN`: the outpost's API token.
    pub token: String,
    /// `AUTHENTIK_INSECURE`: skip TLS verification (self-signed test servers).
    pub insecure: bool,
    /// This process's instance id (authentik's outposts make one per process).
    pub instance: String,
    /// The longest random wait before refetching on TRIGGER_UPDATE (authentik waits 0-9 s so
    /// that many instances do not refetch at once).
    pub update_jitter: Duration,
    /// What HELLO says the agent is.
    pub version: String,
}

impl AgentConfig {
    /// From authentik's outpost environment: `AUTHENTIK_HOST`, `AUTHENTIK_TOKEN`,
    /// `AUTHENTIK_INSECURE`.
    pub fn from_env() -> Result<Self, AgentError> {
        let url = std::env::var("AUTHENTIK_HOST")
            .map_err(|_| AgentError::Config("AUTHENTIK_HOST is not set".into()))?;
        let token = std::env::var("AUTHENTIK_TOKEN")
            .map_err(|_| AgentError::Config("AUTHENTIK_TOKEN is not set".into()))?;
        let insecure = matches!(
            std::env::var("AUTHENTIK_INSECURE")
                .as_deref()
                .map(str::to_lowercase)
                .as_deref(),
            Ok("true" | "1" | "yes")
        );
        Ok(Self::new(url, token, insecure))
    }

    pub fn new(url: String, token: String, insecure: bool) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            token,
            insecure,
            instance: uuid::Uuid::new_v4().to_string(),
            update_jitter: Duration::from_secs(9),
            version: garrison_version().to_owned(),
        }
    }
}

/// The version the agent reports: the server's own, so it never counts as outdated.
pub fn garrison_version() -> &'static str {
    "2026.8.5"
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("fetching {what}: {message}")]
    Fetch { what: String, message: String },
    #[error("this token sees no outpost")]
    NoOutpost,
    #[error("websocket: {0}")]
    Socket(String),
}

/// What happened, for the CLI's output and for tests and benchmarks.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentEvent {
    /// The configuration was (re)fetched; the agent now holds `config_hash`.
    Fetched {
        outpost: String,
        providers: usize,
        config_hash: String,
    },
    /// The websocket is open (`attempt` counts reconnects).
    Connected { attempt: u32 },
    /// TRIGGER_UPDATE arrived.
    UpdateTriggered { at: std::time::Instant },
    /// SESSION_END arrived for this session id.
    SessionEnded { session_id: String },
    /// The websocket closed; the agent reconnects after `retry_in`.
    Disconnected { reason: String, retry_in: Duration },
}

/// A running agent.
pub struct Agent {
    config: AgentConfig,
}

impl Agent {
    pub fn new(config: AgentConfig) -> Self {
        Self { config }
    }

    /// Runs until `events` is closed (or forever): fetch, connect, hello, refetch on update,
    /// reconnect on loss. Only a configuration error that retrying cannot fix returns.
    pub async fn run(self, events: mpsc::Sender<AgentEvent>) -> Result<(), AgentError> {
        socket::run(self.config, events).await
    }
}
