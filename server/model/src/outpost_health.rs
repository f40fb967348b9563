//! What a running outpost instance reports about itself, and the health the server derives
//! from it (spec §1.6, §11.4). Pure data and rules: where it is stored is the services'
//! business.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version outposts should run (what Garrison speaks); authentik compares against its own.
pub const VERSION_SHOULD: &str = "2026.8.5";

/// One instance's state, as stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub uid: String,
    pub last_seen: Option<DateTime<Utc>>,
    pub version: Option<String>,
    pub build_hash: String,
    pub golang_version: String,
    pub openssl_enabled: bool,
    pub openssl_version: String,
    pub fips_enabled: bool,
    pub hostname: String,
    /// Every other argument the instance sent in its last hello.
    pub args: Map<String, Value>,
    /// Garrison's: whether a websocket of this instance is open right now.
    pub connected: bool,
    /// Garrison's: the configuration hash the instance reports holding (the reference agent
    /// sends it; authentik's outposts do not, so it stays unknown for them).
    pub config_hash: Option<String>,
    /// Garrison's: when the instance says it last fetched its configuration.
    pub config_fetched_at: Option<DateTime<Utc>>,
}

/// An instance's health as the API and the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceHealth {
    pub state: InstanceState,
    /// authentik's rule (spec §11.4): never when the version is unknown or the build hashes
    /// differ; otherwise any version other than the server's.
    pub version_outdated: bool,
    /// Whether the configuration it reports holding is the current one (`None`: it does not
    /// say).
    pub config_current: Option<bool>,
}

fn take_string(args: &mut Map<String, Value>, name: &str) -> Option<String> {
    match args.remove(name) {
        Some(Value::String(text)) => Some(text),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

fn take_bool(args: &mut Map<String, Value>, name: &str) -> bool {
    matches!(args.remove(name), Some(Value::Bool(true)))
}

impl InstanceState {
    /// Folds one message into the state (spec §4.2): every message but ACK refreshes
    /// `last_seen` and the hostname; a HELLO replaces the versions (a HELLO without `version`
    /// resets it, as authentik's does) and keeps its other arguments.
    pub fn record(&mut self, hello: Option<&Map<String, Value>>, now: DateTime<Utc>) {
        self.last_seen = Some(now);
        let Some(args) = hello else { return };
        let mut args = args.clone();
        if let Some(hostname) = take_string(&mut args, "hostname") {
            self.hostname = hostname;
        }
        self.version = take_string(&mut args, "version");
        self.build_hash = take_string(&mut args, "buildHash").unwrap_or_default();
        self.golang_version = take_string(&mut args, "golangVersion").unwrap_or_default();
        self.openssl_enabled = take_bool(&mut args, "opensslEnabled");
        self.openssl_version = take_string(&mut args, "opensslVersion").unwrap_or_default();
        self.fips_enabled = take_bool(&mut args, "fipsEnabled");
        if let Some(hash) = take_string(&mut args, "garrison_config_hash") {
            self.config_hash = Some(hash);
        }
        if let Some(at) = take_string(&mut args, "garrison_config_fetched_at") {
            self.config_fetched_at = DateTime::parse_from_rfc3339(&at)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        self.args.extend(args);
    }

    pub fn health(self, current_hash: &str) -> InstanceHealth {
        let version_outdated = match &self.version {
            None => false,
            Some(version) if version.is_empty() => false,
            Some(_) if !self.build_hash.is_empty() => false,
            Some(version) => version != VERSION_SHOULD,
        };
        let config_current = self
            .config_hash
            .as_ref()
            .map(|hash| !current_hash.is_empty() && hash == current_hash);
        InstanceHealth {
            state: self,
            version_outdated,
            config_current,
        }
    }
}

/// Something that happened to one instance, kept for the health timeline (24 h).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthEvent {
    pub at: DateTime<Utc>,
    pub instance: String,
    pub kind: HealthEventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthEventKind {
    Connected,
    Disconnected,
    /// The instance reported holding a configuration with this hash (a fetch, or its first
    /// hello).
    Holds {
        config_hash: String,
    },
}

/// One instance's row in the timeline: when it was connected, and when it took up a
/// configuration, within the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTrack {
    pub instance: String,
    /// Connected periods, clipped to the window; the last one ends at the window's end while
    /// the instance is still connected.
    pub connected: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// When it reported holding a configuration, and which.
    pub holds: Vec<(DateTime<Utc>, String)>,
}

/// Folds events into one track per instance for the window `[from, to]`, instances in order
/// of first appearance. A connection still open at `to` (no disconnect after it) runs to `to`
/// when `live` names the instance as connected now, and otherwise ends at its last event (the
/// replica that held it went away without saying).
pub fn health_timeline(
    events: &[HealthEvent],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    live: &[String],
) -> Vec<InstanceTrack> {
    let mut sorted: Vec<&HealthEvent> = events.iter().filter(|e| e.at <= to).collect();
    sorted.sort_by_key(|e| e.at);
    let mut tracks: Vec<InstanceTrack> = Vec::new();
    let mut open: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let track = |tracks: &mut Vec<InstanceTrack>, instance: &str| -> usize {
        if let Some(index) = tracks.iter().position(|t| t.instance == instance) {
            return index;
        }
        tracks.push(InstanceTrack {
            instance: instance.to_owned(),
            connected: Vec::new(),
            holds: Vec::new(),
        });
        tracks.len() - 1
    };
    let clip = |start: DateTime<Utc>, end: DateTime<Utc>| {
        let (start, end) = (start.max(from), end.min(to));
        (start < end).then_some((start, end))
    };
    for event in sorted {
        let index = track(&mut tracks, &event.instance);
        let position = open.iter().position(|(i, _, _)| *i == event.instance);
        match &event.kind {
            HealthEventKind::Connected => {
                if position.is_none() {
                    open.push((event.instance.clone(), event.at, event.at));
                }
            }
            HealthEventKind::Disconnected => {
                if let Some(position) = position {
                    let (_, start, _) = open.remove(position);
                    if let Some(span) = clip(start, event.at) {
                        tracks[index].connected.push(span);
                    }
                }
            }
            HealthEventKind::Holds { config_hash } => {
                if let Some(position) = position {
                    open[position].2 = event.at;
                }
                if event.at >= from {
                    tracks[index].holds.push((event.at, config_hash.clone()));
                }
            }
        }
    }
    for (instance, start, last) in open {
        let end = if live.contains(&instance) { to } else { last };
        let index = track(&mut tracks, &instance);
        if let Some(span) = clip(start, end) {
            tracks[index].connected.push(span);
        }
    }
    // Instances with nothing inside the window have no row.
    tracks.retain(|t| !t.connected.is_empty() || !t.holds.is_empty());
    tracks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hello_replaces_versions_and_keeps_other_arguments() {
        let mut state = InstanceState {
            uid: "i1".into(),
            version: Some("old".into()),
            ..Default::default()
        };
        let hello = json!({"version": "2026.8.5", "buildHash": "", "hostname": "h",
                           "uuid": "i1", "active_connections": 3,
                           "garrison_config_hash": "abc"});
        state.record(hello.as_object(), Utc::now());
        assert_eq!(state.version.as_deref(), Some("2026.8.5"));
        assert_eq!(state.hostname, "h");
        assert_eq!(state.args["active_connections"], 3);
        assert!(!state.args.contains_key("version"));
        let health = state.clone().health("abc");
        assert!(!health.version_outdated);
        assert_eq!(health.config_current, Some(true));
        assert_eq!(state.clone().health("other").config_current, Some(false));
        // A hello without a version resets it (authentik's behaviour, which old outposts hit).
        state.record(json!({"hostname": "h"}).as_object(), Utc::now());
        assert_eq!(state.version, None);
    }

    #[test]
    fn outdated_is_inequality_unless_unknown_or_a_dev_build() {
        let state = |version: &str, build: &str| InstanceState {
            version: Some(version.into()),
            build_hash: build.into(),
            ..Default::default()
        };
        assert!(state("2025.1.0", "").health("").version_outdated);
        assert!(
            state("2099.1.0", "").health("").version_outdated,
            "newer counts too"
        );
        assert!(!state(VERSION_SHOULD, "").health("").version_outdated);
        assert!(!state("2025.1.0", "dev").health("").version_outdated);
        assert!(!InstanceState::default().health("").version_outdated);
    }

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    fn event(minute: i64, instance: &str, kind: HealthEventKind) -> HealthEvent {
        HealthEvent {
            at: at(minute),
            instance: instance.into(),
            kind,
        }
    }

    #[test]
    fn the_timeline_draws_connected_periods_clipped_to_the_window() {
        let holds = |hash: &str| HealthEventKind::Holds {
            config_hash: hash.into(),
        };
        let events = vec![
            event(0, "a", HealthEventKind::Connected),
            event(0, "a", holds("h1")),
            event(20, "a", HealthEventKind::Disconnected),
            event(25, "a", HealthEventKind::Connected),
            event(40, "a", holds("h2")),
            event(30, "b", HealthEventKind::Connected),
            event(35, "b", holds("h1")),
            // c went away with its replica: no disconnect, not live.
            event(45, "c", HealthEventKind::Connected),
            event(50, "c", holds("h2")),
            // d's only period ended before the window.
            event(1, "d", HealthEventKind::Connected),
            event(5, "d", HealthEventKind::Disconnected),
        ];
        let tracks = health_timeline(&events, at(10), at(60), &["a".into(), "b".into()]);
        let names: Vec<&str> = tracks.iter().map(|t| t.instance.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(tracks[0].connected, [(at(10), at(20)), (at(25), at(60))]);
        assert_eq!(
            tracks[0].holds,
            [(at(40), "h2".to_owned())],
            "h1 was before the window"
        );
        assert_eq!(tracks[1].connected, [(at(30), at(60))]);
        assert_eq!(
            tracks[2].connected,
            [(at(45), at(50))],
            "ends at its last sign of life"
        );
    }
}
