//! `cargo bench -p garrison-plugin-host`: prints the plugin host's figures.
//!
//! - instantiate + call of the proxy provider plugin, p50/p99, beside a bare wasmtime
//!   instantiate + empty call of a minimal component, measured in the same run;
//! - first load (compile) and cached load (deserialize) of a provider plugin;
//! - how far past its deadline a looping plugin is stopped.
//!
//! Needs the plugins built (scripts/build-plugins.sh).
use std::time::{Duration, Instant};

use garrison_plugin_host::{
    CallLimits, Grants, HostConfig, Manifest, OutpostInfo, PluginHost, PluginKind, ProviderInfo,
};

const RUNS: usize = 2000;

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasm32-wasip2/release");
    let proxy = std::fs::read(dir.join("garrison_provider_proxy.wasm"))
        .expect("run scripts/build-plugins.sh first");
    let looping = std::fs::read(dir.join("garrison_test_plugins.wasm"))
        .expect("run scripts/build-plugins.sh first");

    // Bare wasmtime: a component exporting one empty function, same engine settings.
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let bare = wasmtime::component::Component::new(
        &engine,
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "run") (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let linker = wasmtime::component::Linker::<()>::new(&engine);
    let pre = linker.instantiate_pre(&bare).unwrap();
    let mut bare_samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_epoch_deadline(100);
        let instance = pre.instantiate_async(&mut store).await.unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        run.call_async(&mut store, ()).await.unwrap();
        bare_samples.push(started.elapsed());
    }

    let host = PluginHost::new(HostConfig::default()).unwrap();
    let plugin = host
        .load_provider(
            manifest("proxy"),
            &Grants::default(),
            &proxy,
            CallLimits::default(),
        )
        .unwrap();
    let provider = ProviderInfo {
        kind: "proxy".into(),
        pk: 1,
        name: "p".into(),
        attributes: "{}".into(),
        certificate: None,
    };
    let outpost = OutpostInfo {
        pk: "o".into(),
        name: "o".into(),
        outpost_type: "proxy".into(),
    };
    let mut plugin_samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        plugin
            .required_permissions(&provider, &outpost)
            .await
            .unwrap();
        plugin_samples.push(started.elapsed());
    }

    let cache = std::env::temp_dir().join(format!("garrison-bench-cache-{}", std::process::id()));
    let cached_host = PluginHost::new(HostConfig {
        cache_dir: Some(cache.clone()),
        ..HostConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    cached_host.compile("proxy", &proxy).unwrap();
    let first_load = started.elapsed();
    let started = Instant::now();
    cached_host.compile("proxy", &proxy).unwrap();
    let cached_load = started.elapsed();
    let _ = std::fs::remove_dir_all(&cache);

    let deadline = Duration::from_millis(100);
    let runaway = host
        .load_provider(
            manifest("loop"),
            &Grants::default(),
            &looping,
            CallLimits {
                deadline,
                ..CallLimits::default()
            },
        )
        .unwrap();
    let mut overshoot = Vec::new();
    for _ in 0..10 {
        let looping_provider = ProviderInfo {
            name: "loop".into(),
            ..provider.clone()
        };
        let started = Instant::now();
        let _ = runaway
            .required_permissions(&looping_provider, &outpost)
            .await;
        overshoot.push(started.elapsed().saturating_sub(deadline));
    }

    let (bare50, bare99) = percentiles(bare_samples);
    let (plug50, plug99) = percentiles(plugin_samples);
    let (over50, over99) = percentiles(overshoot);
    println!(
        "bare wasmtime instantiate + empty call: p50 {bare50:?}  p99 {bare99:?}  ({RUNS} runs)"
    );
    println!(
        "proxy plugin instantiate + call:        p50 {plug50:?}  p99 {plug99:?}  ({RUNS} runs)"
    );
    println!("first load (compile): {first_load:?}; cached load: {cached_load:?}");
    println!(
        "looping plugin stopped after its 100 ms deadline by: p50 {over50:?}, max {over99:?} (10 runs)"
    );
}
