//! Per-plugin call counters and latency, for /metrics and the plugins page.
use std::collections::VecDeque;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
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
    /// Calls per latency bucket (bounds in [`BUCKET_BOUNDS_US`], plus one overflow bucket).
    buckets: [AtomicU64; BUCKET_BOUNDS_US.len() + 1],
    /// Recent latencies in microseconds (a bounded window) for percentiles.
    recent_us: Mutex<VecDeque<u64>>,
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
    /// (upper bound in µs, calls in the bucket); the last bound is `u64::MAX`.
    pub buckets: Vec<(u64, u64)>,
}

const WINDOW: usize = 1024;

/// Latency bucket bounds in microseconds: 50 µs to 1 s.
pub const BUCKET_BOUNDS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000,
];

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
        let micros = elapsed.as_micros() as u64;
        let bucket = BUCKET_BOUNDS_US
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(BUCKET_BOUNDS_US.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let mut recent = self.recent_us.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == WINDOW {
            recent.pop_front();
        }
        recent.push_back(micros);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let mut recent: Vec<u64> = self
            .recent_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
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
            buckets: BUCKET_BOUNDS_US
                .iter()
                .copied()
                .chain([u64::MAX])
                .zip(self.buckets.iter().map(|b| b.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabel {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    plugin: String,
    /// timeout, memory, trap, instantiate or plugin (the plugin's own error).
    reason: &'static str,
}

/// The plugin families on /metrics, shared by every plugin of one host.
#[derive(Clone)]
pub(crate) struct PluginMetrics {
    calls: Family<PluginLabel, Counter>,
    failures: Family<FailureLabels, Counter>,
    duration: Family<PluginLabel, Histogram>,
}

impl Default for PluginMetrics {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            failures: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(BUCKET_BOUNDS_US.iter().map(|us| *us as f64 / 1e6))
            }),
        }
    }
}

impl PluginMetrics {
    pub fn record(&self, plugin: &str, elapsed: Duration, outcome: Result<(), &CallError>) {
        let label = PluginLabel {
            plugin: plugin.to_owned(),
        };
        self.calls.get_or_create(&label).inc();
        self.duration
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
        if let Err(error) = outcome {
            let reason = match error {
                CallError::Timeout { .. } => "timeout",
                CallError::MemoryExhausted { .. } => "memory",
                CallError::Trap { .. } => "trap",
                CallError::Instantiate { .. } => "instantiate",
                CallError::Plugin { .. } => "plugin",
            };
            self.failures
                .get_or_create(&FailureLabels {
                    plugin: plugin.to_owned(),
                    reason,
                })
                .inc();
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "garrison_plugin_calls",
            "Plugin calls, by plugin",
            self.calls.clone(),
        );
        registry.register(
            "garrison_plugin_failures",
            "Failed plugin calls, by plugin and reason",
            self.failures.clone(),
        );
        registry.register(
            "garrison_plugin_call_duration_seconds",
            "Plugin call latency (instantiate and call), by plugin",
            self.duration.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_recent_window_and_buckets_count_everything() {
        let stats = PluginStats::default();
        for _ in 0..WINDOW {
            stats.record(Duration::from_secs(2), Ok(()));
        }
        assert_eq!(stats.snapshot().p50_us, 2_000_000);
        for _ in 0..WINDOW {
            stats.record(Duration::from_micros(10), Ok(()));
        }
        let snapshot = stats.snapshot();
        assert_eq!(
            (snapshot.p50_us, snapshot.p99_us),
            (10, 10),
            "old calls left the window"
        );
        assert_eq!(snapshot.calls, 2 * WINDOW as u64);
        assert_eq!(snapshot.buckets.first(), Some(&(50, WINDOW as u64)));
        assert_eq!(snapshot.buckets.last(), Some(&(u64::MAX, WINDOW as u64)));
    }

    #[test]
    fn failures_are_counted_by_kind() {
        let stats = PluginStats::default();
        let timeout = CallError::Timeout {
            plugin: "p".into(),
            deadline: Duration::from_millis(1),
        };
        stats.record(Duration::from_millis(2), Err(&timeout));
        stats.record(Duration::from_millis(1), Ok(()));
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.calls,
                snapshot.errors,
                snapshot.timeouts,
                snapshot.traps
            ),
            (2, 1, 1, 0)
        );
    }
}
