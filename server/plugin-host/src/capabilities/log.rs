//! Logging into the host's log (`garrison:plugin/log`). Every world imports it and it is always
//! provided: it has no capability string and needs no grant.
use wasmtime::component::{HasSelf, Linker};

use super::{HostInterfaces, PluginKind, unbound};
use crate::state::HostState;

/// garrison:plugin@0.1.0's `log`; the 0.1.0 worlds reuse it (`with:`).
pub(crate) mod v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.1.0",
        interfaces: "import garrison:plugin/log@0.1.0;",
    });
}

/// garrison:plugin@0.2.0's `log`: unchanged, but a distinct import to wasmtime.
pub(crate) mod v0_2_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin-0.2.0",
        interfaces: "import garrison:plugin/log@0.2.0;",
    });
}

use v0_1_0::garrison::plugin::log as log_v1;
use v0_2_0::garrison::plugin::log as log_v2;

const INTERFACE: &str = "garrison:plugin/log";

pub(crate) struct Log;

impl HostInterfaces for Log {
    const INTERFACES: &'static [&'static str] = &[INTERFACE];

    fn add_to_linker(linker: &mut Linker<HostState>, kind: PluginKind) -> wasmtime::Result<()> {
        // Every world imports log, at every version.
        for version in kind.wit_versions() {
            match *version {
                "0.1.0" => {
                    log_v1::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?
                }
                "0.2.0" => {
                    log_v2::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?
                }
                other => return Err(unbound(INTERFACE, kind, other)),
            }
        }
        Ok(())
    }
}

impl log_v1::Host for HostState {
    fn log(&mut self, level: log_v1::Level, message: String) {
        write(&self.plugin, level as u8, &message);
    }
}

impl log_v2::Host for HostState {
    fn log(&mut self, level: log_v2::Level, message: String) {
        write(&self.plugin, level as u8, &message);
    }
}

/// The longest log line a plugin may write, in characters; the rest is dropped.
const MAX_CHARS: usize = 2000;

/// Plugin log lines are data: bounded in length, tagged with the plugin's name.
fn write(plugin: &str, level: u8, message: &str) {
    let message = bounded(message);
    match level {
        0 => tracing::trace!(plugin, "{message}"),
        1 => tracing::debug!(plugin, "{message}"),
        2 => tracing::info!(plugin, "{message}"),
        3 => tracing::warn!(plugin, "{message}"),
        _ => tracing::error!(plugin, "{message}"),
    }
}

fn bounded(message: &str) -> String {
    message.chars().take(MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{Capability, Requirement, requirement};

    #[test]
    fn log_is_always_provided_and_never_granted() {
        for interface in ["garrison:plugin/log@0.1.0", "garrison:plugin/log@0.2.0"] {
            assert_eq!(requirement(interface), Requirement::Nothing, "{interface}");
        }
        assert!("log".parse::<Capability>().is_err());
    }

    #[test]
    fn a_log_line_is_bounded_in_characters() {
        assert_eq!(bounded("short"), "short");
        let long = "é".repeat(MAX_CHARS + 10);
        assert_eq!(bounded(&long).chars().count(), MAX_CHARS);
    }
}
