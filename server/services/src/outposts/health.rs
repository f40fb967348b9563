//! What each running instance of an outpost last told us, kept in the shared cache with a
//! short expiry (spec §1.6): written on every message but ACK, so a silent instance drops
//! out after 15 s, and on every replica alike (Redis when configured).
//!
//! Beyond authentik, an instance also says whether it is connected right now (set on connect
//! and disconnect), when it last fetched its configuration and the hash of the configuration
//! it holds, which the server compares with the current one.
use chrono::{DateTime, Utc};
use garrison_model::{HealthEvent, HealthEventKind, InstanceHealth, InstanceState, Outpost};
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

use crate::authz::Caller;
use crate::{ServiceResult, Services};

/// How long an instance's state lives after its last message: 1.5 hello intervals.
pub const STATE_TTL: std::time::Duration = std::time::Duration::from_secs(15);

/// How long the timeline's events are kept.
pub const HISTORY_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

const STATE_PREFIX: &str = "outpost-state/";

fn key(outpost: Uuid, instance: &str) -> String {
    format!("{STATE_PREFIX}{}/{instance}", outpost.simple())
}

fn history_prefix(outpost: Uuid) -> String {
    format!("outpost-history/{}/", outpost.simple())
}

impl Services {
    async fn load_instance(&self, outpost: Uuid, instance: &str) -> ServiceResult<InstanceState> {
        let stored = self.bus().get(&key(outpost, instance)).await?;
        Ok(stored
            .and_then(|text| serde_json::from_str::<InstanceState>(&text).ok())
            .unwrap_or_else(|| InstanceState {
                uid: instance.to_owned(),
                ..InstanceState::default()
            }))
    }

    async fn save_instance(&self, outpost: Uuid, state: &InstanceState) -> ServiceResult<()> {
        let text = serde_json::to_string(state)
            .map_err(|e| crate::ServiceError::Internal(format!("instance state: {e}")))?;
        self.bus()
            .set(&key(outpost, &state.uid), &text, Some(STATE_TTL))
            .await?;
        Ok(())
    }

    /// An instance opened or closed its websocket.
    pub async fn outpost_instance_connected(
        &self,
        outpost: Uuid,
        instance: &str,
        connected: bool,
    ) -> ServiceResult<()> {
        let mut state = self.load_instance(outpost, instance).await?;
        state.connected = connected;
        if connected {
            state.last_seen = Some(Utc::now());
        }
        self.save_instance(outpost, &state).await?;
        let kind = if connected {
            HealthEventKind::Connected
        } else {
            HealthEventKind::Disconnected
        };
        self.record_health_event(outpost, instance, kind).await
    }

    /// Keeps one event for the timeline, under its own key (so replicas never overwrite each
    /// other's) that expires after a day.
    async fn record_health_event(
        &self,
        outpost: Uuid,
        instance: &str,
        kind: HealthEventKind,
    ) -> ServiceResult<()> {
        let event = HealthEvent {
            at: Utc::now(),
            instance: instance.to_owned(),
            kind,
        };
        let text = serde_json::to_string(&event)
            .map_err(|e| crate::ServiceError::Internal(format!("health event: {e}")))?;
        let key = format!(
            "{}{}-{instance}-{}",
            history_prefix(outpost),
            event.at.timestamp_micros(),
            crate::crypto::random_alphanumeric(6)
        );
        self.bus().set(&key, &text, Some(HISTORY_TTL)).await?;
        Ok(())
    }

    /// An instance sent a message other than ACK (`hello`: the arguments of a HELLO).
    pub async fn record_outpost_message(
        &self,
        outpost: Uuid,
        instance: &str,
        hello: Option<&Map<String, Value>>,
    ) -> ServiceResult<InstanceState> {
        let mut state = self.load_instance(outpost, instance).await?;
        let held_before = state.config_hash.clone();
        state.record(hello, Utc::now());
        state.connected = true;
        self.save_instance(outpost, &state).await?;
        // A new configuration taken up (or the first report of one) marks the timeline.
        if let Some(hash) = state
            .config_hash
            .clone()
            .filter(|h| Some(h) != held_before.as_ref())
        {
            self.record_health_event(
                outpost,
                instance,
                HealthEventKind::Holds { config_hash: hash },
            )
            .await?;
        }
        Ok(state)
    }

    /// Every instance of the outpost seen in the last 15 s, with its health.
    pub async fn outpost_health(
        &self,
        caller: &Caller,
        outpost: Uuid,
    ) -> ServiceResult<Vec<InstanceHealth>> {
        let found: Outpost = self.get_outpost(caller, outpost).await?;
        self.health_of(&found).await
    }

    /// The outpost's instances now and its health events since `since` (at most a day
    /// back, oldest first): what its page polls, with the outpost read once.
    pub async fn outpost_status(
        &self,
        caller: &Caller,
        outpost: Uuid,
        since: DateTime<Utc>,
    ) -> ServiceResult<(Vec<InstanceHealth>, Vec<HealthEvent>)> {
        let found: Outpost = self.get_outpost(caller, outpost).await?;
        let instances = self.health_of(&found).await?;
        let mut events: Vec<HealthEvent> = self
            .bus()
            .values_with_prefix(&history_prefix(outpost))
            .await?
            .into_iter()
            .filter_map(|(_, text)| serde_json::from_str::<HealthEvent>(&text).ok())
            .filter(|event| event.at >= since)
            .collect();
        events.sort_by_key(|event| event.at);
        Ok((instances, events))
    }

    /// The instances of each of `outposts` the caller may view, from one read of the shared
    /// cache rather than one per outpost: what a page of the outposts list shows.
    pub async fn outposts_health(
        &self,
        caller: &Caller,
        outposts: &[Outpost],
    ) -> ServiceResult<HashMap<Uuid, Vec<InstanceHealth>>> {
        let view = super::instances::perm("view");
        let wanted: HashMap<Uuid, &Outpost> = outposts
            .iter()
            .filter(|o| caller.principal.has_on(&view, &o.pk.to_string()))
            .map(|o| (o.pk, o))
            .collect();
        let mut health: HashMap<Uuid, Vec<InstanceHealth>> =
            wanted.keys().map(|pk| (*pk, Vec::new())).collect();
        if wanted.is_empty() {
            return Ok(health);
        }
        for (rest, text) in self.bus().values_with_prefix(STATE_PREFIX).await? {
            // `rest` is "<outpost uuid, simple>/<instance uid>".
            let Some(outpost) = rest
                .split_once('/')
                .and_then(|(uuid, _)| Uuid::try_parse(uuid).ok())
                .and_then(|uuid| wanted.get(&uuid))
            else {
                continue;
            };
            if let Ok(state) = serde_json::from_str::<InstanceState>(&text) {
                health
                    .entry(outpost.pk)
                    .or_default()
                    .push(state.health(&outpost.config_hash));
            }
        }
        for instances in health.values_mut() {
            instances.sort_by(|a, b| a.state.uid.cmp(&b.state.uid));
        }
        Ok(health)
    }

    async fn health_of(&self, outpost: &Outpost) -> ServiceResult<Vec<InstanceHealth>> {
        let prefix = format!("{STATE_PREFIX}{}/", outpost.pk.simple());
        let mut states: Vec<InstanceState> = self
            .bus()
            .values_with_prefix(&prefix)
            .await?
            .into_iter()
            .filter_map(|(_, text)| serde_json::from_str(&text).ok())
            .collect();
        states.sort_by(|a, b| a.uid.cmp(&b.uid));
        Ok(states
            .into_iter()
            .map(|s| s.health(&outpost.config_hash))
            .collect())
    }
}
