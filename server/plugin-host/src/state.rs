//! What one call's store holds: the plugin's name, a sandboxed WASI context (no files, no
//! environment, no network), the memory cap that records when it was hit, and what the load
//! granted; and the linker of each world.
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::outbound_http::OutboundCall;
use crate::capabilities::{self, Granted, PluginKind};

pub(crate) struct HostState {
    pub plugin: String,
    wasi: WasiCtx,
    /// Shared by WASI and wasi:http: streams and bodies of either live here.
    pub(crate) table: ResourceTable,
    pub cap: MemoryCap,
    /// What the load granted, per capability; each capability's host implementation reads its
    /// own part (`granted.secrets`, `granted.docker`, …).
    pub(crate) granted: Granted,
    /// wasi:http's state for this call (the outbound HTTP capability's). Kept beside the table
    /// because wasi:http borrows both at once.
    pub(crate) outbound_http: OutboundCall,
}

impl HostState {
    pub fn new(plugin: &str, memory_bytes: usize, granted: Granted) -> Self {
        Self {
            plugin: plugin.to_owned(),
            // Nothing inherited: no arguments, environment, directories or stdio; sockets stay
            // closed (outbound HTTP goes through wasi:http and its allow-list instead).
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            cap: MemoryCap {
                limit: memory_bytes,
                hit: false,
            },
            outbound_http: OutboundCall::new(plugin, &granted.outbound_http),
            granted,
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

/// The linker of `kind`'s world: WASI's sandboxed basics, the shared `types` interface, and
/// the host capabilities that world imports (each capability links its own interfaces, so the
/// linker offers exactly the world).
pub(crate) fn linker(engine: &Engine, kind: PluginKind) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    crate::wit_types::add_to_linker(&mut linker, kind)?;
    capabilities::add_to_linker(&mut linker, kind)?;
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

#[cfg(test)]
mod tests {
    use wasmtime::component::Component;

    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    /// A component that only imports `interface`, typed as `instance`.
    fn importing(engine: &Engine, interface: &str, instance: &str) -> Component {
        Component::new(
            engine,
            format!(r#"(component (import "{interface}" (instance {instance})))"#),
        )
        .expect("valid component text")
    }

    #[test]
    fn each_world_links_exactly_the_capabilities_it_imports() {
        let engine = engine();
        let string_result = "(result (result string (error string)))";
        let imports = [
            (
                "secrets",
                importing(
                    &engine,
                    "garrison:plugin/secrets@0.1.0",
                    &format!(r#"(export "get" (func (param "name" string) {string_result}))"#),
                ),
            ),
            (
                "docker",
                importing(
                    &engine,
                    "garrison:plugin/docker@0.1.0",
                    &format!(r#"(export "engine-version" (func {string_result}))"#),
                ),
            ),
            (
                "kubernetes",
                importing(
                    &engine,
                    "garrison:plugin/kubernetes@0.1.0",
                    &format!(r#"(export "server-version" (func {string_result}))"#),
                ),
            ),
        ];
        let worlds = [
            (PluginKind::Provider, [false, false, false]),
            (PluginKind::Policy, [true, false, false]),
            (PluginKind::DeploymentBackend, [true, true, true]),
        ];
        for (kind, links) in worlds {
            let world = linker(&engine, kind).expect("the world links");
            for ((capability, component), expected) in imports.iter().zip(links) {
                assert_eq!(
                    world.instantiate_pre(component).is_ok(),
                    expected,
                    "the {} world and {capability}",
                    kind.world()
                );
            }
        }
    }
}
