#!/usr/bin/env bash
# A PostgreSQL and an S3 endpoint (Swift) shared by a whole test run, so each test process need
# not start its own (test/helpers/postgres.ts and s3.ts use NIXCACHE_TEST_PG / NIXCACHE_TEST_S3).
#
#   scripts/services.sh start DIR   starts both under DIR; prints `export NIXCACHE_TEST_…=…` lines
#   scripts/services.sh stop DIR    stops both
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ "$#" -eq 2 ] || { echo "usage: services.sh start|stop DIR" >&2; exit 1; }
dir=$2
case "$1" in
start)
  mkdir -p "$dir/pg" "$dir/swift"
  chmod 755 "$dir"  # postgres (the user) must reach its data directory
  pg="$(bash "$here/postgres.sh" start "$dir/pg")"
  s3="$(bash "$here/swift.sh" start "$dir/swift")"
  printf 'export NIXCACHE_TEST_PG=%q\nexport NIXCACHE_TEST_S3=%q\n' "$pg" "$s3"
  ;;
stop)
  bash "$here/postgres.sh" stop "$dir/pg" >/dev/null 2>&1 || true
  bash "$here/swift.sh" stop "$dir/swift" >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: services.sh start|stop DIR" >&2
  exit 1
  ;;
esac
