//! Prometheus metrics: HTTP requests by route and status, their latency, and the process's
//! own figures read from /proc at scrape time.
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

struct ProcessGauges {
    resident_memory_bytes: Gauge,
    virtual_memory_bytes: Gauge,
    cpu_seconds_total: Gauge<f64, std::sync::atomic::AtomicU64>,
    open_fds: Gauge,
    start_time_seconds: Gauge,
    threads: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectedLabels {
    outpost: String,
    uid: String,
    expected: i64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LastUpdateLabels {
    outpost: String,
    uid: String,
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The outpost channel's families: authentik's two gauges (spec §7) and Garrison's own.
#[derive(Clone, Default)]
struct OutpostFamilies {
    connected: Family<ConnectedLabels, Gauge>,
    last_update: Family<LastUpdateLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    frames: Family<DirectionLabels, Counter>,
    dropped: Family<ReasonLabels, Counter>,
    connections: Gauge,
}

/// Cloned by every request (the handlers' state holds it): one shared pointer, where a copy
/// of each family's handles cost ten atomic counts per clone and as many per drop.
#[derive(Clone)]
pub struct Metrics(Arc<MetricsParts>);

struct MetricsParts {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    process: ProcessGauges,
    outposts: OutpostFamilies,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::new_with(|_| {})
    }

    /// Metrics with further families registered by `extra` (the plugins' ones).
    pub fn new_with(extra: impl FnOnce(&mut Registry)) -> Self {
        let mut registry = Registry::default();
        extra(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "garrison_http_requests",
            "HTTP requests handled",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "garrison_http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        let outposts = OutpostFamilies::default();
        registry.register(
            "authentik_outposts_connected",
            "Connected outpost instances (authentik's gauge)",
            outposts.connected.clone(),
        );
        registry.register(
            "authentik_outposts_last_update",
            "When an outpost instance last sent a message, as a Unix timestamp (authentik's gauge)",
            outposts.last_update.clone(),
        );
        registry.register(
            "garrison_outpost_frames",
            "Websocket frames exchanged with outpost instances, by direction",
            outposts.frames.clone(),
        );
        registry.register(
            "garrison_outpost_dropped_connections",
            "Outpost connections dropped by the server, by reason",
            outposts.dropped.clone(),
        );
        registry.register(
            "garrison_outpost_connections",
            "Outpost websocket connections open on this replica",
            outposts.connections.clone(),
        );
        let process = ProcessGauges {
            resident_memory_bytes: Gauge::default(),
            virtual_memory_bytes: Gauge::default(),
            cpu_seconds_total: Gauge::default(),
            open_fds: Gauge::default(),
            start_time_seconds: Gauge::default(),
            threads: Gauge::default(),
        };
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size",
            process.resident_memory_bytes.clone(),
        );
        registry.register(
            "process_virtual_memory_bytes",
            "Virtual memory size",
            process.virtual_memory_bytes.clone(),
        );
        registry.register(
            "process_cpu_seconds",
            "User and system CPU time spent",
            process.cpu_seconds_total.clone(),
        );
        registry.register(
            "process_open_fds",
            "Open file descriptors",
            process.open_fds.clone(),
        );
        registry.register(
            "process_start_time_seconds",
            "Start time since the Unix epoch",
            process.start_time_seconds.clone(),
        );
        registry.register("process_threads", "OS threads", process.threads.clone());
        process
            .start_time_seconds
            .set(chrono::Utc::now().timestamp());
        Self(Arc::new(MetricsParts {
            registry,
            requests,
            latency,
            process,
            outposts,
        }))
    }

    /// An outpost instance's websocket opened (`true`) or closed.
    pub fn outpost_connected(&self, outpost: &str, uid: &str, expected: i64, connected: bool) {
        let labels = ConnectedLabels {
            outpost: outpost.to_owned(),
            uid: uid.to_owned(),
            expected,
        };
        if connected {
            self.0.outposts.connected.get_or_create(&labels).set(1);
            self.0.outposts.connections.inc();
        } else {
            // Gone instances leave no series behind (instance ids are per process).
            self.0.outposts.connected.remove(&labels);
            self.0.outposts.connections.dec();
        }
    }

    /// An outpost instance sent a message other than ACK.
    pub fn outpost_message(&self, outpost: &str, uid: &str, version: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        self.0
            .outposts
            .last_update
            .get_or_create(&LastUpdateLabels {
                outpost: outpost.to_owned(),
                uid: uid.to_owned(),
                version: version.to_owned(),
            })
            .set(now);
    }

    pub fn outpost_frame_sent(&self) {
        self.0
            .outposts
            .frames
            .get_or_create(&DirectionLabels { direction: "sent" })
            .inc();
    }

    pub fn outpost_frame_received(&self) {
        self.0
            .outposts
            .frames
            .get_or_create(&DirectionLabels {
                direction: "received",
            })
            .inc();
    }

    pub fn outpost_connection_dropped(&self, reason: &'static str) {
        self.0
            .outposts
            .dropped
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    fn refresh_process(&self) {
        let page_size = 4096i64;
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            let mut fields = statm
                .split_whitespace()
                .filter_map(|f| f.parse::<i64>().ok());
            if let (Some(size), Some(resident)) = (fields.next(), fields.next()) {
                self.0.process.virtual_memory_bytes.set(size * page_size);
                self.0
                    .process
                    .resident_memory_bytes
                    .set(resident * page_size);
            }
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the parenthesised command name; utime and stime are 14 and 15 (1-based).
            if let Some(rest) = stat.rsplit_once(") ").map(|(_, rest)| rest) {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let ticks = |i: usize| {
                    fields
                        .get(i)
                        .and_then(|f| f.parse::<f64>().ok())
                        .unwrap_or(0.0)
                };
                self.0
                    .process
                    .cpu_seconds_total
                    .set((ticks(11) + ticks(12)) / 100.0);
                self.0.process.threads.set(ticks(17) as i64);
            }
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            self.0.process.open_fds.set(entries.count() as i64);
        }
    }

    pub fn render(&self) -> String {
        self.refresh_process();
        let mut out = String::new();
        if encode(&mut out, &self.0.registry).is_err() {
            out.clear();
        }
        out
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.0
            .requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status,
            })
            .inc();
        self.0
            .latency
            .get_or_create(&RouteLabels {
                method: method.into(),
                route: route.into(),
            })
            .observe(seconds);
    }
}

/// Records every request under its route template (never the raw path: ids would explode the
/// label set).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The standard methods by name; anything else a client invents is one label, so nobody can
/// create metric series at will.
fn method_label(method: &axum::http::Method) -> String {
    use axum::http::Method;
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if KNOWN.contains(method) {
        method.as_str().to_owned()
    } else {
        "OTHER".to_owned()
    }
}

pub async fn serve(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let invented = Method::from_bytes(b"XYZZY").unwrap();
        assert_eq!(method_label(&invented), "OTHER");
    }
}
