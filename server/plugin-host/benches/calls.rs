//! `cargo bench -p garrison-plugin-host --features bench`: the plugin host's figures.
//!
//! Criterion measures (mean with confidence interval, and change against the last run):
//! - `call/bare-wasmtime`: a bare wasmtime instantiate + empty call of a minimal component;
//! - `call/provider-proxy`: instantiate + call of the proxy provider plugin through the host;
//! - `load/compile` (first load, written to the on-disk cache) and `load/cached`.
//!
//! After criterion, the same two calls are timed one by one for p50 and p99, and a looping
//! plugin shows how far past its 100 ms deadline it is stopped.
//!
//! Needs the plugins built (scripts/build-plugins.sh).
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use garrison_plugin_host::{
    CallLimits, Grants, HostConfig, Manifest, OutpostInfo, PluginHost, PluginKind, ProviderInfo,
    ProviderPlugin,
};

/// Calls timed one by one for the percentiles.
const RUNS: usize = 2000;

const EMPTY_COMPONENT: &str = r#"(component
    (core module $m (func (export "f")))
    (core instance $i (instantiate $m))
    (func (export "run") (canon lift (core func $i "f"))))"#;

fn plugin_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/build-plugins.sh first",
            path.display()
        )
    })
}

fn manifest(name: &str) -> Manifest {
    Manifest {
        name: name.into(),
        version: "0.1.0".into(),
        kind: PluginKind::Provider,
        wit_version: "0.1.0".into(),
        capabilities: Default::default(),
    }
}

fn provider(name: &str) -> ProviderInfo {
    ProviderInfo {
        kind: "proxy".into(),
        pk: 1,
        name: name.into(),
        attributes: "{}".into(),
        certificate: None,
    }
}

fn outpost() -> OutpostInfo {
    OutpostInfo {
        pk: "o".into(),
        name: "o".into(),
        outpost_type: "proxy".into(),
    }
}

/// Wasmtime with nothing of Garrison's: default allocator, epoch interruption on as in the
/// host, one pre-linked empty component.
struct Bare {
    engine: wasmtime::Engine,
    pre: wasmtime::component::InstancePre<()>,
}

impl Bare {
    fn new() -> Self {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).expect("engine");
        let component =
            wasmtime::component::Component::new(&engine, EMPTY_COMPONENT).expect("component");
        let pre = wasmtime::component::Linker::<()>::new(&engine)
            .instantiate_pre(&component)
            .expect("links");
        Self { engine, pre }
    }

    async fn call(&self) {
        let mut store = wasmtime::Store::new(&self.engine, ());
        store.set_epoch_deadline(100);
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .expect("instantiates");
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .expect("exports run");
        run.call_async(&mut store, ()).await.expect("runs");
    }
}

async fn proxy_call(plugin: &ProviderPlugin) {
    plugin
        .required_permissions(&provider("p"), &outpost())
        .await
        .expect("the proxy plugin answers");
}

/// Times `runs` calls one by one: (p50, p99).
fn percentiles<F, Fut>(rt: &tokio::runtime::Runtime, runs: usize, call: F) -> (Duration, Duration)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples: Vec<Duration> = rt.block_on(async {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            call().await;
            samples.push(started.elapsed());
        }
        samples
    });
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let proxy_bytes = plugin_file("garrison_provider_proxy");
    let looping_bytes = plugin_file("garrison_test_plugins");
    let bare = Bare::new();
    let host = PluginHost::new(HostConfig::default()).expect("host");
    let proxy = host
        .load_provider(
            manifest("proxy"),
            &Grants::default(),
            &proxy_bytes,
            CallLimits::default(),
        )
        .expect("the proxy plugin loads");
    let cache = std::env::temp_dir().join(format!("garrison-bench-cache-{}", std::process::id()));
    let cached_host = PluginHost::new(HostConfig {
        cache_dir: Some(cache.clone()),
        ..HostConfig::default()
    })
    .expect("host");

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut calls = criterion.benchmark_group("call");
        calls.bench_function("bare-wasmtime", |b| b.to_async(&rt).iter(|| bare.call()));
        calls.bench_function("provider-proxy", |b| {
            b.to_async(&rt).iter(|| proxy_call(&proxy))
        });
        calls.finish();
    }
    {
        let mut loads = criterion.benchmark_group("load");
        loads.sample_size(10);
        loads.bench_function("compile", |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&cache);
                },
                |()| {
                    cached_host
                        .compile("proxy", &proxy_bytes)
                        .expect("compiles")
                },
                BatchSize::PerIteration,
            )
        });
        cached_host
            .compile("proxy", &proxy_bytes)
            .expect("compiles");
        loads.bench_function("cached", |b| {
            b.iter(|| cached_host.compile("proxy", &proxy_bytes).expect("loads"))
        });
        loads.finish();
    }
    let _ = std::fs::remove_dir_all(&cache);

    let (bare50, bare99) = percentiles(&rt, RUNS, || bare.call());
    let (proxy50, proxy99) = percentiles(&rt, RUNS, || proxy_call(&proxy));
    println!(
        "bare wasmtime instantiate + empty call: p50 {bare50:?}  p99 {bare99:?}  ({RUNS} calls)"
    );
    println!(
        "proxy plugin instantiate + call:        p50 {proxy50:?}  p99 {proxy99:?}  ({RUNS} calls)"
    );

    let deadline = Duration::from_millis(100);
    let runaway = host
        .load_provider(
            manifest("loop"),
            &Grants::default(),
            &looping_bytes,
            CallLimits {
                deadline,
                ..CallLimits::default()
            },
        )
        .expect("the looping plugin loads");
    let mut overshoot: Vec<Duration> = rt.block_on(async {
        let mut overshoot = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let outcome = runaway
                .required_permissions(&provider("loop"), &outpost())
                .await;
            assert!(outcome.is_err(), "the loop must be stopped");
            overshoot.push(started.elapsed().saturating_sub(deadline));
        }
        overshoot
    });
    overshoot.sort_unstable();
    println!(
        "looping plugin stopped after its 100 ms deadline by: p50 {:?}, max {:?} (10 calls)",
        overshoot[overshoot.len() / 2],
        overshoot[overshoot.len() - 1]
    );
    criterion.final_summary();
}
