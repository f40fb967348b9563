//! Compiled components on disk, keyed by the component's digest and the engine's settings, so a
//! restart loads a plugin in milliseconds instead of compiling it again.
#![allow(unsafe_code)]

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

pub(crate) fn key(engine: &Engine, digest: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{digest}-{:016x}.cwasm", hasher.finish())
}

/// Loads a cached compilation, if one exists for this digest and engine.
pub(crate) fn load(engine: &Engine, dir: &Path, digest: &str) -> Option<Component> {
    let path = dir.join(key(engine, digest));
    if !path.is_file() {
        return None;
    }
    // SAFETY: `deserialize_file` trusts its input to be wasmtime's own output. The file sits in
    // Garrison's private cache directory, was written by `store` below from a component we
    // compiled, and its name binds it to this engine's settings; wasmtime also checks the
    // header's version and settings and refuses a mismatch.
    match unsafe { Component::deserialize_file(engine, &path) } {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "ignoring unusable compiled-plugin cache entry");
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// Writes a compilation atomically (temporary file, then rename).
pub(crate) fn store(engine: &Engine, dir: &Path, digest: &str, component: &Component) {
    let result = (|| -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let path = dir.join(key(engine, digest));
        // Unique per write, not only per process: two loads of the same component at once
        // (two plugins, one digest) must not write into one temporary file.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let tmp = path.with_extension(format!(
            "tmp{}-{}",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            // A full disk leaves a partial file behind; it must not add to the shortage.
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|()| path)
    })();
    if let Err(error) = result {
        tracing::warn!(%error, "could not cache a compiled plugin; it will be compiled again next start");
    }
}
