#!/usr/bin/env bash
# Builds the browser bundle (hydration) into target/site/pkg; the server embeds it at build
# time. Needs the wasm32-unknown-unknown target, wasm-bindgen-cli at the version in
# Cargo.lock, Node.js and npm's binaryen (scripts/setup.sh installs them all).
#
# wasm-opt comes from npm's binaryen, never Debian's: Debian's (version 108) silently breaks
# hydration in release builds. The bundle is then precompressed (brotli, gzip) so the server
# sends the smallest encoding a browser accepts.
#
# Components are type-erased in every build (`.cargo/config.toml`), this one and the server's
# alike: the two must agree or hydration fails. A RUSTFLAGS in the environment replaces that
# setting for whichever build sees it, so set it for both or for neither.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${GARRISON_UI_PROFILE:-wasm-release}"
cargo build -p garrison-hydrate --target wasm32-unknown-unknown --profile "$profile"
dir="$profile"; [ "$profile" = dev ] && dir=debug
# Generate into a scratch directory and replace a file only when its content changed: the
# server embeds these files, so touching them would relink the server on every run.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$scratch" --out-name garrison \
  "target/wasm32-unknown-unknown/$dir/garrison_hydrate.wasm"
if [ "$profile" != dev ]; then
  # The features Rust's wasm32-unknown-unknown target emits; binaryen refuses any it is
  # not told about.
  target/tools/node_modules/.bin/wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$scratch/garrison_bg.wasm" -o "$scratch/garrison_bg.opt.wasm"
  mv "$scratch/garrison_bg.opt.wasm" "$scratch/garrison_bg.wasm"
fi
node scripts/compress.js "$scratch/garrison.js" "$scratch/garrison_bg.wasm"
mkdir -p target/site/pkg
for file in garrison.js garrison_bg.wasm; do
  for variant in "$file" "$file.br" "$file.gz"; do
    cmp -s "$scratch/$variant" "target/site/pkg/$variant" || cp "$scratch/$variant" "target/site/pkg/$variant"
  done
done
ls -l target/site/pkg
