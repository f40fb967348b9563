#!/usr/bin/env bash
# Builds the WebAssembly plugins (plugins/) for wasm32-wasip2 into target/wasm32-wasip2/release.
# The server embeds the built-in ones; the host's tests load all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --release --target-dir target
ls -l target/wasm32-wasip2/release/*.wasm
