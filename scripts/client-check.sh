#!/usr/bin/env bash
# Runs scripts/client-check.py (the official authentik-client against Garrison's outpost APIs)
# against a fresh release Garrison on SQLite. Installs the client into target/client-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BENCH_BIN:-target/release/garrison}"
[ -x "$bin" ] || cargo build --release -p garrison
venv=target/client-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import authentik_client' 2>/dev/null \
  || "$venv/bin/pip" install --quiet "authentik-client==2026.8.5"
data=$(mktemp -d)
port=19900
token="client-check-token-$(date +%s)"
GARRISON_DATA_DIR="$data" GARRISON_LISTEN="127.0.0.1:$port" GARRISON_METRICS_LISTEN="127.0.0.1:$((port + 300))" \
  GARRISON_BOOTSTRAP_PASSWORD=client-check-password GARRISON_BOOTSTRAP_TOKEN="$token" GARRISON_LOG_LEVEL=warn \
  "$bin" serve >/dev/null 2>"$data/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
until curl -fs "http://127.0.0.1:$port/-/health/ready/" >/dev/null 2>&1; do
  kill -0 $pid 2>/dev/null || { echo "client-check: the server exited:" >&2; cat "$data/log" >&2; exit 1; }
  sleep 0.05
done
GARRISON_URL="http://127.0.0.1:$port" GARRISON_TOKEN="$token" "$venv/bin/python" scripts/client-check.py
