#!/usr/bin/env bash
# GC over 100,000 and 1,000,000 narinfos on PostgreSQL: time and peak memory of `nixcache gc` (a
# marking run, then a deleting one), and the narinfo GET latency of a `nixcache serve` on the same
# database during each. Writes the numbers as JSON on stdout (bench/gc/RESULTS.md has the last run).
# Usage: bench/gc/run.sh [N ...]   (default: 100000 1000000; needs PostgreSQL 15 and GNU time)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup-bench.sh
npm run --silent build
work="$(mktemp -d)"
trap 'bash scripts/postgres.sh stop "$work" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
url="$(bash scripts/postgres.sh start "$work")"
if [ "$#" -eq 0 ]; then set -- 100000 1000000; fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
node --import tsx bench/gc/bench.ts "$url" "$@"
