//! Per-plugin call counters and latency, for /metrics and the plugins page.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::CallError;

#[derive(Debug, Default)]
pub struct PluginStats {
    calls: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    memory_exhausted: AtomicU64,
    traps: AtomicU64,
    /// Recent latencies in microseconds (a bounded window) for percentiles.
    recent_us: Mutex<Vec<u64>>,
}

/// A snapshot of [`PluginStats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub calls: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub memory_exhausted: u64,
    pub traps: u64,
    pub p50_us: u64,
    pub p99_us: u64,
}

const WINDOW: usize = 1024;

impl PluginStats {
    pub(crate) fn record(&self, elapsed: Duration, outcome: Result<(), &CallError>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = outcome {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let counter = match error {
                CallError::Timeout { .. } => Some(&self.timeouts),
                CallError::MemoryExhausted { .. } => Some(&self.memory_exhausted),
                CallError::Trap { .. } => Some(&self.traps),
                _ => None,
            };
            if let Some(counter) = counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut recent = self.recent_us.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == WINDOW {
            recent.remove(0);
        }
        recent.push(elapsed.as_micros() as u64);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let mut recent = self
            .recent_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        recent.sort_unstable();
        let pick = |q: f64| {
            recent
                .get(((recent.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0)
        };
        StatsSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            memory_exhausted: self.memory_exhausted.load(Ordering::Relaxed),
            traps: self.traps.load(Ordering::Relaxed),
            p50_us: pick(0.5),
            p99_us: pick(0.99),
        }
    }
}
