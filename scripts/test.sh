#!/usr/bin/env bash
# Runs every test: unit and integration tests on both stores (SQLite; PostgreSQL + Redis), and
# the browser test in headless Chromium against the release binary with the release bundle.
# Installs and starts what it needs; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/setup.sh --test
# Assigned first so that a failure to start them stops the run (eval alone would hide it).
services_env=$(bash scripts/test-services.sh)
eval "$services_env"
export GARRISON_TEST_DATABASE_URL GARRISON_TEST_REDIS_URL GARRISON_TEST_OCI_REGISTRY
# The Postgres/Redis and browser tests refuse to skip themselves under CI=true.
export CI="${CI:-true}"

echo "test: building the plugins, the browser bundle and the release binary (the build users get)"
bash scripts/build-plugins.sh
bash scripts/build-ui.sh
cargo build --release -p garrison

driver_port="${GARRISON_WEBDRIVER_PORT:-9515}"
driver_pid=""
if ! curl -fs "http://127.0.0.1:$driver_port/status" >/dev/null 2>&1; then
  chromedriver --port="$driver_port" >/tmp/garrison-chromedriver.log 2>&1 &
  driver_pid=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$driver_port/status" >/dev/null 2>&1 && break; sleep 0.2; done
fi
trap '[ -n "$driver_pid" ] && kill "$driver_pid" 2>/dev/null || true' EXIT
export GARRISON_WEBDRIVER_URL="http://127.0.0.1:$driver_port"
export GARRISON_E2E_BIN="$PWD/target/release/garrison"

# The hydrate crate is excluded: building it for the host would turn on leptos's "hydrate"
# feature in the server build too (workspace feature unification).
cargo test --workspace --exclude garrison-hydrate --no-fail-fast
echo "test: all suites passed in $(( $(date +%s) - started )) s"
