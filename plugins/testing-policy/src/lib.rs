//! A login hook for the host's tests. It reads the secret "api-key" (so it imports `secrets`
//! and needs that grant) and fails logins whose username is a reserved Incus project name.
use garrison_plugin_sdk::policy::{Decision, Event, Guest, Level, PluginError, log, secrets};

/// Project names that exist on every Incus server and must never be claimed by a user.
const RESERVED: &[&str] = &["default"];

struct ReservedNames;

impl Guest for ReservedNames {
    fn evaluate(event: Event) -> Result<Decision, PluginError> {
        let key = secrets::get("api-key").map_err(|message| PluginError { message })?;
        log(
            Level::Debug,
            &format!(
                "checking {} with a key of {} bytes",
                event.username,
                key.len()
            ),
        );
        if RESERVED.contains(&event.username.as_str()) {
            return Ok(Decision {
                pass: false,
                messages: vec![format!("{:?} is a reserved project name", event.username)],
            });
        }
        Ok(Decision {
            pass: true,
            messages: vec![],
        })
    }
}

garrison_plugin_sdk::export_policy!(ReservedNames);
