#!/usr/bin/env bash
# Prints the blueprint engine's figures on both stores (server/benches/blueprint_apply.rs):
#   parse, validate and apply of a generated 5,000-entry blueprint (authentik_core.group entries)
#   beside raw batched inserts of the same rows into the groups table, alone and with the audit
#   event the apply writes for each group, each the median of five rounds on fresh databases,
#   and the ratios validate + apply / raw insert (goal: within 3x).
# Sizes: BENCH_ENTRIES, BENCH_ROUNDS; BENCH_STORES=sqlite (or postgres) runs one store only.
# PostgreSQL comes from scripts/test-services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
stores="${BENCH_STORES:-sqlite postgres}"
export BENCH_STORES="$stores"

# The SQLite databases go below a directory of this run's; the PostgreSQL ones carry a prefix of
# this run's. Both are removed however the script ends: the bench removes each as it finishes
# with it, but an interrupted run cannot, and benchmark databases must not pile up on the disk.
scratch=$(mktemp -d)
export BENCH_SCRATCH_DIR="$scratch"
export BENCH_DATABASE_PREFIX="garrison_test_$$_bench_"
cleanup() {
  rm -rf "$scratch"
  if [ -n "${GARRISON_TEST_DATABASE_URL:-}" ]; then
    psql "$GARRISON_TEST_DATABASE_URL" -Atc \
      "SELECT datname FROM pg_database WHERE left(datname, length('$BENCH_DATABASE_PREFIX')) = '$BENCH_DATABASE_PREFIX'" \
      2>/dev/null | while read -r db; do
        psql "$GARRISON_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
      done
  fi
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $stores == *postgres* ]]; then
  # Assigned first so that a failure to start them stops the run (eval alone would hide it).
  services_env=$(bash scripts/test-services.sh)
  eval "$services_env"
  export GARRISON_TEST_DATABASE_URL
fi
cargo bench -p garrison --bench blueprint_apply
