//! Embeds the browser bundle (built by `scripts/build-ui.sh` into target/site/pkg) when it
//! exists, so `garrison` is one self-contained binary. Without it the server still renders
//! every page; they just are not hydrated.
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let pkg = std::env::var("GARRISON_SITE_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../target/site/pkg"));
    // Each file with its precompressed variants (brotli, gzip), when build-ui.sh made them.
    let files = [
        ("JS", "garrison.js"),
        ("JS_BR", "garrison.js.br"),
        ("JS_GZ", "garrison.js.gz"),
        ("WASM", "garrison_bg.wasm"),
        ("WASM_BR", "garrison_bg.wasm.br"),
        ("WASM_GZ", "garrison_bg.wasm.gz"),
    ];
    println!("cargo:rerun-if-env-changed=GARRISON_SITE_PKG");
    println!("cargo::rustc-check-cfg=cfg(garrison_bundle)");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("bundle.rs");
    let complete = pkg.join("garrison.js").is_file() && pkg.join("garrison_bg.wasm").is_file();
    let mut code = String::new();
    for (name, file) in files {
        let path = pkg.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        if complete && path.is_file() {
            code += &format!(
                "pub const {name}: &[u8] = include_bytes!({:?});\n",
                path.canonicalize().unwrap_or(path)
            );
        } else {
            code += &format!("pub const {name}: &[u8] = b\"\";\n");
        }
    }
    if complete {
        println!("cargo:rustc-cfg=garrison_bundle");
    }
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
