//! Embeds the browser bundle (built by `scripts/build-ui.sh` into target/site/pkg) when it
//! exists, so `garrison` is one self-contained binary. Without it the server still renders
//! every page; they just are not hydrated.
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let pkg = std::env::var("GARRISON_SITE_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../target/site/pkg"));
    let js = pkg.join("garrison.js");
    let wasm = pkg.join("garrison_bg.wasm");
    println!("cargo:rerun-if-env-changed=GARRISON_SITE_PKG");
    println!("cargo:rerun-if-changed={}", js.display());
    println!("cargo:rerun-if-changed={}", wasm.display());
    println!("cargo::rustc-check-cfg=cfg(garrison_bundle)");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("bundle.rs");
    let code = if js.is_file() && wasm.is_file() {
        println!("cargo:rustc-cfg=garrison_bundle");
        format!(
            "pub const JS: &[u8] = include_bytes!({:?});\npub const WASM: &[u8] = include_bytes!({:?});\n",
            js.canonicalize().unwrap_or(js),
            wasm.canonicalize().unwrap_or(wasm)
        )
    } else {
        "pub const JS: &[u8] = b\"\";\npub const WASM: &[u8] = b\"\";\n".to_owned()
    };
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
