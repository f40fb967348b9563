//! Fetching what an outpost fetches: its outpost (the first its token sees, as authentik's
//! outposts do) and its providers' outpost configuration.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{AgentConfig, AgentError};

/// What the agent holds after a fetch.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub outpost_pk: String,
    pub outpost_name: String,
    pub outpost_type: String,
    /// Garrison's hash of this configuration (empty from a server that does not send one).
    pub config_hash: String,
    pub refresh_interval_s: i64,
    pub providers: Vec<Value>,
    pub fetched_at: DateTime<Utc>,
}

fn http(config: &AgentConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(config.insecure)
                .build(),
        )
        .build()
        .into()
}

fn get_json(agent: &ureq::Agent, config: &AgentConfig, path: &str) -> Result<Value, AgentError> {
    let url = format!("{}/api/v3{path}", config.url);
    let failed = |message: String| AgentError::Fetch {
        what: path.to_owned(),
        message,
    };
    let mut response = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {}", config.token))
        .header("User-Agent", &format!("garrison-agent/{}", config.version))
        .call()
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(failed(format!("answered {status}")));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| failed(e.to_string()))?;
    serde_json::from_slice(&body).map_err(|e| failed(format!("not JSON: {e}")))
}

fn fetch_blocking(config: &AgentConfig) -> Result<Fetched, AgentError> {
    let agent = http(config);
    let outposts = get_json(&agent, config, "/outposts/instances/")?;
    let outpost = outposts["results"]
        .get(0)
        .cloned()
        .ok_or(AgentError::NoOutpost)?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let outpost_type = text(&outpost["type"]);
    let mut providers = Vec::new();
    // RAC outposts have no configuration list (spec §3.4).
    if matches!(outpost_type.as_str(), "proxy" | "ldap" | "radius") {
        let mut page = 1;
        loop {
            let list = get_json(
                &agent,
                config,
                &format!("/outposts/{outpost_type}/?page={page}&page_size=100"),
            )?;
            if let Some(results) = list["results"].as_array() {
                providers.extend(results.iter().cloned());
            }
            match list["pagination"]["next"].as_u64() {
                Some(next) if next > page => page = next,
                _ => break,
            }
        }
    }
    Ok(Fetched {
        outpost_pk: text(&outpost["pk"]),
        outpost_name: text(&outpost["name"]),
        outpost_type,
        config_hash: text(&outpost["config_hash"]),
        refresh_interval_s: outpost["refresh_interval_s"].as_i64().unwrap_or(300),
        providers,
        fetched_at: Utc::now(),
    })
}

/// Fetches the outpost and its providers (blocking HTTP, on the blocking pool).
pub async fn fetch(config: &AgentConfig) -> Result<Fetched, AgentError> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || fetch_blocking(&config))
        .await
        .map_err(|e| AgentError::Fetch {
            what: "configuration".into(),
            message: e.to_string(),
        })?
}
