#!/usr/bin/env bash
# Runs Garrison on this machine with the embedded default (SQLite under ./data, in-process
# cache): installs what the build needs, builds the built-in plugins, the browser bundle and
# the release binary (which embeds both),
# then serves the UI and API on :9000 and metrics on :9300. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-plugins.sh
bash scripts/build-ui.sh
cargo build --release -p garrison
exec target/release/garrison serve "$@"
