#!/usr/bin/env bash
# GC over 100,000 and 1,000,000 narinfos on PostgreSQL: time and peak memory of `nixcache gc` (a
# marking run, then a deleting one), and the narinfo GET latency of a `nixcache serve` on the same
# database during each. Writes the numbers as JSON on stdout (bench/gc/RESULTS.md has the last run).
# Usage: bench/gc/run.sh [N ...]   (default: 100000 1000000; needs PostgreSQL 15 and GNU time)
# GC_BENCH_RATE=R: narinfo GETs per second meanwhile (default 500; 0: no server, the GC alone)
# GC_BENCH_PGDATA=DIR: keep the PostgreSQL cluster in DIR, and each scale's loaded database in it as
#   a template: a rerun with the same DIR copies it instead of loading again (stop it with
#   `bash scripts/postgres.sh stop DIR`)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup-bench.sh
npm run --silent build
if [ -n "${GC_BENCH_PGDATA:-}" ]; then
  work="$GC_BENCH_PGDATA"
  export GC_BENCH_TEMPLATE=nixcache_gc_bench_loaded
  bash scripts/postgres.sh stop "$work" >/dev/null 2>&1 || true
else
  work="$(mktemp -d)"
  trap 'bash scripts/postgres.sh stop "$work" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
# Sized like a server holding a million narinfos (a database of about 1 GiB): a quarter of a 4 GiB host
# for shared buffers, not the 128 MB a fresh cluster starts with. PG_SERVER_OPTS= runs the default.
url="$(PG_SERVER_OPTS="${PG_SERVER_OPTS-"-c shared_buffers=1GB"}" bash scripts/postgres.sh start "$work")"
echo "postgresql: ${PG_SERVER_OPTS-"-c shared_buffers=1GB"}" >&2
if [ "$#" -eq 0 ]; then set -- 100000 1000000; fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
node --import tsx bench/gc/bench.ts "$url" "$@"
