//! Embeds the built-in plugins (built by `scripts/build-plugins.sh` into
//! target/wasm32-wasip2/release) with their manifests, so the server is one self-contained
//! binary. Without the components the server still runs, with no built-in plugins, and says so
//! at start.
use std::path::PathBuf;

/// Crate directory under plugins/ and the component file it builds.
const BUILTINS: &[(&str, &str)] = &[
    ("provider-proxy", "garrison_provider_proxy"),
    ("provider-ldap", "garrison_provider_ldap"),
    ("provider-radius", "garrison_provider_radius"),
    ("provider-rac", "garrison_provider_rac"),
    ("backend-compose", "garrison_backend_compose"),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir.join("../..");
    let wasm_dir = std::env::var("GARRISON_BUILTIN_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/wasm32-wasip2/release"));
    println!("cargo:rerun-if-env-changed=GARRISON_BUILTIN_PLUGINS");
    let mut entries = Vec::new();
    let mut missing = Vec::new();
    for (dir, file) in BUILTINS {
        let manifest = root.join("plugins").join(dir).join("plugin.toml");
        let wasm = wasm_dir.join(format!("{file}.wasm"));
        println!("cargo:rerun-if-changed={}", manifest.display());
        println!("cargo:rerun-if-changed={}", wasm.display());
        if manifest.is_file() && wasm.is_file() {
            entries.push(format!(
                "    Builtin {{ manifest: include_str!({:?}), component: include_bytes!({:?}) }},\n",
                manifest.canonicalize().unwrap_or(manifest),
                wasm.canonicalize().unwrap_or(wasm)
            ));
        } else {
            missing.push(*file);
        }
    }
    if !missing.is_empty() {
        println!(
            "cargo:warning=built-in plugins not built ({}): run scripts/build-plugins.sh; the server will start without them",
            missing.join(", ")
        );
    }
    let code = format!(
        "/// The plugins compiled into this binary.\npub const BUILTINS: &[Builtin] = &[\n{}];\n/// Built-in plugins this build expected but did not find.\npub const MISSING_BUILTINS: &[&str] = &{:?};\n",
        entries.concat(),
        missing
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("builtins.rs");
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
