#!/usr/bin/env bash
# The dashboard's first view at 100,000 paths against the same at 1,000, by server time (SQLite;
# and PostgreSQL, on a throwaway server of scripts/postgres.sh, when it is installed).
# Usage: bench/ui/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent build
if [ -x /usr/lib/postgresql/15/bin/pg_ctl ] && [ -z "${NIXCACHE_BENCH_PG:-}" ]; then
  pgdir=$(mktemp -d /tmp/nixcache-bench-ui-pg.XXXXXX)
  trap 'bash scripts/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
  NIXCACHE_BENCH_PG=$(bash scripts/postgres.sh start "$pgdir")
  export NIXCACHE_BENCH_PG
fi
node --import tsx bench/ui/bench.ts
