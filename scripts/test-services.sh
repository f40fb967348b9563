#!/usr/bin/env bash
# Starts, idempotently, the services the test suite runs against: a throwaway PostgreSQL
# cluster (trust auth, loopback only) and a Redis server. Prints the variables to export.
set -euo pipefail
base="${GARRISON_TEST_SERVICES_DIR:-${TMPDIR:-/tmp}/garrison-test-services}"
pg_port="${GARRISON_TEST_PG_PORT:-55432}"
redis_port="${GARRISON_TEST_REDIS_PORT:-56379}"
mkdir -p "$base"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || { echo "PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
pg_dir="$base/pg"
fail() { echo "test-services: $1" >&2; [ -n "${2:-}" ] && tail -n 20 "$2" >&2; exit 1; }
if ! "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then
  if [ ! -f "$pg_dir/PG_VERSION" ]; then
    rm -rf "$pg_dir"; mkdir -p "$pg_dir"; chown postgres:postgres "$base" "$pg_dir" 2>/dev/null || true
    runuser -u postgres -- test -w "$pg_dir" \
      || fail "the postgres user cannot write $pg_dir (is a parent directory private?); set GARRISON_TEST_SERVICES_DIR"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir" -A trust -U postgres >"$base/initdb.log" 2>&1 \
      || fail "initdb failed:" "$base/initdb.log"
  fi
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir" -l "$base/pg.log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null \
    || fail "PostgreSQL did not start:" "$base/pg.log"
fi

# Each test drops its database when it ends; a run that was killed could not. Their names carry
# the test process's id: remove those whose process is gone (a run in progress keeps its own).
"$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -Atc \
  "SELECT datname FROM pg_database WHERE datname LIKE 'garrison\_test\_%'" 2>/dev/null |
  while read -r db; do
    pid=$(echo "$db" | cut -d_ -f3)
    [ -d "/proc/$pid" ] && continue
    "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done

if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$base" \
    --logfile "$base/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 || fail "Redis did not start:" "$base/redis.log"
fi

# An OCI registry (CNCF distribution) for plugin pulls by digest.
registry_port="${GARRISON_TEST_OCI_PORT:-55000}"
if ! curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1; then
  command -v docker-registry >/dev/null || fail "docker-registry is not installed (scripts/setup.sh --test installs it)"
  mkdir -p "$base/registry"
  cat >"$base/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $base/registry
http:
  addr: 127.0.0.1:$registry_port
YAML
  nohup docker-registry serve "$base/registry.yml" >"$base/registry.log" 2>&1 &
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 || fail "the OCI registry did not start:" "$base/registry.log"
fi

echo "export GARRISON_TEST_OCI_REGISTRY=127.0.0.1:$registry_port"
echo "export GARRISON_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "export GARRISON_TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
