#!/usr/bin/env bash
# Prints Garrison's headline figures for the release build, on both stores:
#   cold start to ready (process start until /-/health/ready/ answers 200),
#   idle resident memory (5 s after ready, and after the load),
#   GET /api/v3/core/users/?page_size=20 with 1,000 users (wrk, 2 threads, 16 connections, 10 s),
#   GET /api/v3/outposts/instances/?page_size=20 with 1,000 outposts, and beside both the same
#   wrk on /-/health/live/ (no database, no authentication: the HTTP stack's ceiling).
# Needs wrk (apt-get install wrk) and, for PostgreSQL + Redis, scripts/test-services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BENCH_BIN:-target/release/garrison}"  # not GARRISON_*: the server refuses unknown settings
[ -x "$bin" ] || cargo build --release -p garrison
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
services_env=$(bash scripts/test-services.sh)
eval "$services_env"
token="bench-token-$(date +%s)"
port=19000

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run() {
  local label=$1; shift
  local data; data=$(mktemp -d)
  if curl -fs -o /dev/null "http://127.0.0.1:$port/-/health/live/" 2>/dev/null; then
    echo "bench: something already answers on port $port (a server left from an earlier run?)" >&2; exit 1
  fi
  local started_ns; started_ns=$(date +%s%N)
  env "$@" GARRISON_DATA_DIR="$data" GARRISON_LISTEN="127.0.0.1:$port" GARRISON_METRICS_LISTEN="127.0.0.1:$((port + 300))" \
    GARRISON_BOOTSTRAP_PASSWORD=bench-password GARRISON_BOOTSTRAP_TOKEN="$token" GARRISON_LOG_LEVEL=warn \
    "$bin" serve >/dev/null 2>"$data/log" &
  local pid=$!
  server_pid=$pid
  until curl -fs "http://127.0.0.1:$port/-/health/ready/" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "bench: the server exited:" >&2; cat "$data/log" >&2; exit 1; }
    sleep 0.005
  done
  local ready_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
  sleep 5
  local idle; idle=$(rss_kib $pid)
  seq 1 999 | xargs -P 4 -I{} curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/v3/core/users/" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"username": "bench-user-{}", "name": "Bench {}"}'
  local count; count=$(curl -fs "http://127.0.0.1:$port/api/v3/core/users/?page_size=1" -H "Authorization: Bearer $token" | sed 's/.*"count":\([0-9]*\).*/\1/')
  local wrk_out; wrk_out=$(wrk -t2 -c16 -d10s --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v3/core/users/?page=7&page_size=20&ordering=username")
  # An outpost serves at least one provider (as in authentik): all of them serve this one.
  local provider; provider=$(curl -fs -X POST "http://127.0.0.1:$port/api/v3/providers/proxy/" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name": "bench-proxy", "external_host": "https://bench.example", "mode": "forward_single"}' \
    | sed 's/.*"pk":\([0-9]*\).*/\1/')
  seq 1 1000 | xargs -P 4 -I@ curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/v3/outposts/instances/" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name": "bench-outpost-@", "type": "proxy", "providers": ['"$provider"'], "config": {}}'
  local outposts_out; outposts_out=$(wrk -t2 -c16 -d10s --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v3/outposts/instances/?page=7&page_size=20&ordering=name")
  local live_out; live_out=$(wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$port/-/health/live/")
  local loaded; loaded=$(rss_kib $pid)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  rm -rf "$data"
  echo "== $label"
  echo "cold start to ready: ${ready_ms} ms"
  echo "idle RSS: $((idle / 1024)) MiB; after load: $((loaded / 1024)) MiB"
  echo "users in store: $count"
  echo "users list:"; echo "$wrk_out" | grep -E "Requests/sec|50%|99%"
  echo "outposts list:"; echo "$outposts_out" | grep -E "Requests/sec|50%|99%"
  echo "/-/health/live/:"; echo "$live_out" | grep -E "Requests/sec|50%|99%"
  port=$((port + 1))
}

# However the script ends: the server it started stops and its database is dropped (interrupted
# benchmarks must not pile databases up on the disk).
server_pid=""
bench_db=""
# Each step may fail (the server is usually gone already); under `set -e` a failed step would
# end the trap before the database is dropped, so none is allowed to.
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$bench_db" ]; then
    psql "$GARRISON_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" >/dev/null || true
  fi
}
trap cleanup EXIT

# BENCH_STORES=postgres (or sqlite) runs one store only.
stores="${BENCH_STORES:-sqlite postgres}"
[[ $stores == *sqlite* ]] && run "SQLite (embedded default)"
[[ $stores == *postgres* ]] || exit 0
# Named like the tests' databases (with this script's process id), so that scripts/test-services.sh
# removes one a killed run left behind.
db="garrison_test_$$_bench"
psql "$GARRISON_TEST_DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
bench_db=$db
run "PostgreSQL + Redis" GARRISON_DATABASE_URL="${GARRISON_TEST_DATABASE_URL%/*}/$db" GARRISON_REDIS_URL="$GARRISON_TEST_REDIS_URL"
