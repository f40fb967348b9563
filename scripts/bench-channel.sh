#!/usr/bin/env bash
# Prints the outpost channel's figures for the release build, on the embedded default store:
#   fan-out: 1,000 reference agents on one outpost, a provider changed through the API, the time
#            from sending the change to TRIGGER_UPDATE at each agent (20 rounds), beside a bare
#            tokio-tungstenite broadcast of the same frame to 1,000 bare clients;
#   idle:    10,000 websockets saying HELLO every 10 s: the server's RSS and CPU over 60 s.
# Sizes: BENCH_AGENTS, BENCH_ROUNDS, BENCH_IDLE, BENCH_IDLE_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BENCH_BIN:-target/release/garrison}"  # not GARRISON_*: the server refuses unknown settings
[ -x "$bin" ] || cargo build --release -p garrison
cargo build --release -p garrison-agent --example outpost_load
load=target/release/examples/outpost_load
# Each websocket is a descriptor on both sides.
ulimit -n "$(ulimit -Hn)"
token="bench-token-$(date +%s)"
port=19100

serve() {
  if curl -fs -o /dev/null "http://127.0.0.1:$port/-/health/live/" 2>/dev/null; then
    echo "bench: something already answers on port $port (a server left from an earlier run?)" >&2; exit 1
  fi
  data=$(mktemp -d)
  env GARRISON_DATA_DIR="$data" GARRISON_LISTEN="127.0.0.1:$port" GARRISON_METRICS_LISTEN="127.0.0.1:$((port + 300))" \
    GARRISON_BOOTSTRAP_PASSWORD=bench-password GARRISON_BOOTSTRAP_TOKEN="$token" GARRISON_LOG_LEVEL=warn \
    GARRISON_EMBEDDED_OUTPOST=false "$bin" serve >/dev/null 2>"$data/log" &
  pid=$!
  trap "kill $pid 2>/dev/null || true" EXIT
  until curl -fs "http://127.0.0.1:$port/-/health/ready/" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "bench: the server exited:" >&2; cat "$data/log" >&2; exit 1; }
    sleep 0.01
  done
}

stop() {
  kill -TERM $pid; wait $pid 2>/dev/null || true
  rm -rf "$data"
  port=$((port + 1))
}

echo "== fan-out"
serve
"$load" fanout "http://127.0.0.1:$port" "$token" "${BENCH_AGENTS:-1000}" "${BENCH_ROUNDS:-20}"
stop

echo "== idle connections"
serve
"$load" idle "http://127.0.0.1:$port" "$token" "${BENCH_IDLE:-10000}" "${BENCH_IDLE_SECONDS:-60}" "$pid"
stop
