//! What one call's store holds: the plugin's name, a sandboxed WASI context (no files, no
//! environment, no network), and the memory cap that records when it was hit.
use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::outbound::{OutboundHooks, Target};

pub(crate) struct HostState {
    pub plugin: String,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundHooks,
    table: ResourceTable,
    pub cap: MemoryCap,
    /// Only the secrets granted to this plugin, by name.
    pub secrets: Arc<BTreeMap<String, String>>,
}

impl HostState {
    pub fn new(
        plugin: &str,
        memory_bytes: usize,
        secrets: Arc<BTreeMap<String, String>>,
        allowed: Arc<[Target]>,
    ) -> Self {
        Self {
            plugin: plugin.to_owned(),
            secrets,
            // Nothing inherited: no arguments, environment, directories or stdio; sockets stay
            // closed (outbound HTTP goes through wasi:http and its allow-list instead).
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            outbound: OutboundHooks {
                plugin: plugin.to_owned(),
                allowed,
            },
            table: ResourceTable::new(),
            cap: MemoryCap {
                limit: memory_bytes,
                hit: false,
            },
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// A linker with what every world gets: WASI's sandboxed basics and wasi:http (whose requests
/// the per-plugin allow-list decides). Each world adds its own interfaces.
pub(crate) fn base_linker(
    engine: &wasmtime::Engine,
) -> wasmtime::Result<wasmtime::component::Linker<HostState>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    Ok(linker)
}

/// Refuses memory growth past `limit` and remembers that it did, so the resulting trap can be
/// reported as exhausted memory rather than a generic failure.
pub(crate) struct MemoryCap {
    pub limit: usize,
    pub hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Plugin log lines are data: bounded in length, tagged with the plugin's name.
pub(crate) fn log(plugin: &str, level: u8, message: &str) {
    let message: String = message.chars().take(2000).collect();
    match level {
        0 => tracing::trace!(plugin, "{message}"),
        1 => tracing::debug!(plugin, "{message}"),
        2 => tracing::info!(plugin, "{message}"),
        3 => tracing::warn!(plugin, "{message}"),
        _ => tracing::error!(plugin, "{message}"),
    }
}
