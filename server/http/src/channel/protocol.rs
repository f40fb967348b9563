//! The frames: JSON text `{"instruction": <int>, "args": {...}}` both ways (spec §4.2).
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// authentik's instruction codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    Ack = 0,
    Hello = 1,
    TriggerUpdate = 2,
    ProviderSpecific = 3,
    SessionEnd = 4,
}

impl Instruction {
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::Ack,
            Self::Hello,
            Self::TriggerUpdate,
            Self::ProviderSpecific,
            Self::SessionEnd,
        ]
        .into_iter()
        .find(|i| *i as u8 == code)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub instruction: u8,
    #[serde(default)]
    pub args: Map<String, Value>,
}

impl Frame {
    pub fn new(instruction: Instruction, args: Map<String, Value>) -> Self {
        Self {
            instruction: instruction as u8,
            args,
        }
    }

    pub fn ack() -> Self {
        Self::new(Instruction::Ack, Map::new())
    }

    pub fn trigger_update() -> Self {
        Self::new(Instruction::TriggerUpdate, Map::new())
    }

    /// authentik sends the whole channel-layer event as the arguments, `type` included.
    pub fn session_end(session_id: &str) -> Self {
        let args = json!({"type": "event.session.end", "session_id": session_id});
        Self::new(
            Instruction::SessionEnd,
            args.as_object().cloned().unwrap_or_default(),
        )
    }

    pub fn instruction(&self) -> Option<Instruction> {
        Instruction::from_code(self.instruction)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// A frame as an outpost sends it; anything else is `None` (and ignored).
    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_authentiks_json() {
        assert_eq!(Frame::ack().encode(), r#"{"instruction":0,"args":{}}"#);
        let end: Value = serde_json::from_str(&Frame::session_end("abc").encode()).unwrap();
        assert_eq!(
            end,
            json!({"instruction": 4, "args": {"session_id": "abc", "type": "event.session.end"}})
        );
        let hello =
            Frame::decode(r#"{"instruction": 1, "args": {"version": "2026.8.5"}}"#).unwrap();
        assert_eq!(hello.instruction(), Some(Instruction::Hello));
        assert_eq!(
            Frame::decode(r#"{"instruction": 1}"#).unwrap().args,
            Map::new()
        );
        assert!(Frame::decode("not json").is_none());
    }
}
