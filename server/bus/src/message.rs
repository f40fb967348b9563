//! What replicas tell each other. Every message a replica publishes is one of these, so a new
//! kind of fan-out (outpost updates, cache invalidation, ...) is a new variant here, and a
//! replica that meets a kind it does not know (during a rolling upgrade) skips it.
use serde::{Deserialize, Serialize};

/// A channel: messages of one family travel together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Plugin records changed (grant, enable, disable, remove).
    Plugins,
    /// Cached identities are stale (memberships, roles, permissions, deactivation).
    Identities,
    /// Outposts must be told something (an update, a new token).
    Outposts,
    /// Something was written; counts kept for lists are stale.
    Records,
}

impl Topic {
    pub fn channel(self) -> &'static str {
        match self {
            Topic::Plugins => "garrison:plugins",
            Topic::Identities => "garrison:identities",
            Topic::Outposts => "garrison:outposts",
            Topic::Records => "garrison:records",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// The record of plugin `name` changed; replicas reload it as recorded.
    PluginChanged { name: String },
    /// Permissions or memberships changed; drop cached principals.
    IdentitiesChanged,
    /// A transaction committed; drop the counts kept for lists.
    RecordsChanged,
    /// What outpost `outpost` sees changed: its connected instances must refetch.
    OutpostChanged { outpost: uuid::Uuid },
    /// Outpost `outpost` has a new token: its connected instances must reconnect with it.
    OutpostTokenRotated { outpost: uuid::Uuid },
    /// A login session ended; every outpost hears of it (authentik's SESSION_END), by the
    /// SHA-256 of the session key.
    SessionEnded { session_id: String },
}

impl Message {
    pub fn topic(&self) -> Topic {
        match self {
            Message::PluginChanged { .. } => Topic::Plugins,
            Message::IdentitiesChanged => Topic::Identities,
            Message::RecordsChanged => Topic::Records,
            Message::OutpostChanged { .. }
            | Message::OutpostTokenRotated { .. }
            | Message::SessionEnded { .. } => Topic::Outposts,
        }
    }
}

/// A message as it travels: with the replica that sent it, so a replica can tell its own
/// messages from the others'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub origin: String,
    pub message: Message,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_kind_named() {
        let envelope = Envelope {
            origin: "r1".into(),
            message: Message::PluginChanged {
                name: "proxy".into(),
            },
        };
        let text = serde_json::to_string(&envelope).unwrap();
        assert_eq!(
            text,
            r#"{"origin":"r1","message":{"kind":"plugin_changed","name":"proxy"}}"#
        );
        assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), envelope);
    }
}
