//! What every plugin call shares, whatever the world: a fresh store with the plugin's limits,
//! classification of failures, and the plugin's counters.
use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Engine, Store, Trap};

use crate::capabilities::Granted;
use crate::state::HostState;
use crate::stats::PluginMetrics;
use crate::wit_types::PluginError;
use crate::{CallError, CallLimits, Manifest, PluginStats};

#[derive(Clone)]
pub(crate) struct Runner {
    pub manifest: Arc<Manifest>,
    pub digest: Arc<str>,
    pub engine: Engine,
    pub limits: CallLimits,
    pub stats: Arc<PluginStats>,
    pub metrics: PluginMetrics,
    /// What the load granted, per capability; cloned (cheaply) into every call's store.
    pub granted: Granted,
}

/// Where a call failed, for the error message.
pub(crate) enum Stage {
    Instantiate,
    Call,
}

impl Runner {
    pub fn store(&self) -> Store<HostState> {
        let state = HostState::new(
            &self.manifest.name,
            self.limits.memory_bytes,
            self.granted.clone(),
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.cap);
        store.set_epoch_deadline(crate::engine::deadline_ticks(self.limits.deadline));
        store.epoch_deadline_trap();
        store
    }

    pub fn classify(
        &self,
        store: &Store<HostState>,
        stage: Stage,
        error: wasmtime::Error,
    ) -> CallError {
        let plugin = self.manifest.name.clone();
        if store.data().cap.hit {
            return CallError::MemoryExhausted {
                plugin,
                cap_bytes: self.limits.memory_bytes,
            };
        }
        match (error.downcast_ref::<Trap>(), stage) {
            (Some(Trap::Interrupt), _) => CallError::Timeout {
                plugin,
                deadline: self.limits.deadline,
            },
            (Some(trap), _) => CallError::Trap {
                plugin,
                message: trap.to_string(),
            },
            (None, Stage::Instantiate) => CallError::Instantiate {
                plugin,
                message: format!("{error:#}"),
            },
            (None, Stage::Call) => CallError::Trap {
                plugin,
                message: format!("{error:#}"),
            },
        }
    }

    /// Turns an export's outcome into the call's result: the plugin's own error, or a
    /// classified trap, timeout or exhausted memory.
    pub fn settle<T>(
        &self,
        store: &Store<HostState>,
        outcome: wasmtime::Result<Result<T, PluginError>>,
    ) -> Result<T, CallError> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(CallError::Plugin {
                plugin: self.manifest.name.clone(),
                message: e.message,
            }),
            Err(error) => Err(self.classify(store, Stage::Call, error)),
        }
    }

    /// Runs `call`, counting it and logging failures with the plugin's name.
    pub async fn measured<T>(
        &self,
        call: impl Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        let started = Instant::now();
        // Epoch interruption stops a plugin that computes too long; this stops one that waits
        // too long on the host (a slow outbound request), a few ticks after the same deadline.
        let result = tokio::time::timeout(self.limits.deadline + crate::engine::TICK * 5, call)
            .await
            .unwrap_or_else(|_| {
                Err(CallError::Timeout {
                    plugin: self.manifest.name.clone(),
                    deadline: self.limits.deadline,
                })
            });
        let elapsed = started.elapsed();
        let outcome = result.as_ref().map(|_| ());
        self.stats.record(elapsed, outcome);
        self.metrics.record(&self.manifest.name, elapsed, outcome);
        if let Err(error) = &result {
            tracing::warn!(plugin = %self.manifest.name, %error, "plugin call failed");
        }
        result
    }
}

/// Runs one export in a fresh instance of `$pre`, measured and settled:
/// `run_export!(self, pre, interface_accessor, |exports, store| exports.call_x(&mut store, ..))`.
macro_rules! run_export {
    ($self:ident, $pre:expr, $interface:ident, |$exports:ident, $store:ident| $call:expr) => {
        $self
            .runner
            .measured(async {
                let mut $store = $self.runner.store();
                let instance = match $pre.instantiate_async(&mut $store).await {
                    Ok(instance) => instance,
                    Err(error) => {
                        return Err($self.runner.classify(
                            &$store,
                            $crate::call::Stage::Instantiate,
                            error,
                        ));
                    }
                };
                let $exports = instance.$interface();
                let outcome = $call.await;
                $self.runner.settle(&$store, outcome)
            })
            .await
    };
}
pub(crate) use run_export;
