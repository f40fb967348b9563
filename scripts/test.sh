#!/usr/bin/env bash
# Runs every test: unit and integration tests on both stores (SQLite; PostgreSQL + Redis), and
# the browser test in headless Chromium against the release binary with the release bundle.
# Installs and starts what it needs; safe to run again.
#
# Everything is built once, in the release profile: the test binaries share the dependencies
# of the binary users get, instead of a second (debug) build of the whole tree beside it,
# which doubled the compile time and the disk a cold run needs.
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

# The hydrate crate is excluded: building it for the host would turn on leptos's "hydrate"
# feature in the server build too (workspace feature unification). The browser test is its
# own workspace (end2end/) and shares the target directory.
cargo_test=(cargo test --release --workspace --exclude garrison-hydrate)
browser_test=(cargo test --release --manifest-path end2end/Cargo.toml --target-dir target)

echo "test: building the plugins, the browser bundle, the release binary and the tests"
bash scripts/build-plugins.sh
bash scripts/build-ui.sh
# The build users get (scripts/run.sh runs the same command); the tests below resolve to the
# same features, so they reuse every dependency it compiled.
cargo build --release -p garrison
"${cargo_test[@]}" --no-run
"${browser_test[@]}" --no-run

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

status=0
"${cargo_test[@]}" --no-fail-fast || status=$?
"${browser_test[@]}" --no-fail-fast || status=$?
if [ "$status" -ne 0 ]; then
  echo "test: FAILED (see above) after $(( $(date +%s) - started )) s" >&2
  exit "$status"
fi
echo "test: all suites passed in $(( $(date +%s) - started )) s"
