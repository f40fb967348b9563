#!/usr/bin/env bash
# Builds the browser bundle (hydration) into target/site/pkg; the server embeds it at build
# time. Needs the wasm32-unknown-unknown target and wasm-bindgen-cli at the version in
# Cargo.lock (scripts/setup.sh installs both). wasm-opt is deliberately not used: Debian's
# binaryen silently breaks hydration.
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
mkdir -p target/site/pkg
for file in garrison.js garrison_bg.wasm; do
  cmp -s "$scratch/$file" "target/site/pkg/$file" || cp "$scratch/$file" "target/site/pkg/$file"
done
ls -l target/site/pkg
