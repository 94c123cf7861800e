#!/usr/bin/env bash
# The inner loop: runs the given test files (or `node --test` arguments) with PostgreSQL and S3
# started, as `npm test` runs them, but without the set-up, build, lint and type check before.
# Tests that run the CLI use dist/: `npm run build` first when the change is in what they run.
#
#   npm run test:file -- test/server/gc/gc.test.ts [more files…]
#   NIXCACHE_TEST_BACKEND=postgres+s3 npm run test:file -- test/server/server.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then
  echo "usage: npm run test:file -- test/x.test.ts [more…]   (npm test runs everything)" >&2
  exit 2
fi
for f in "$@"; do
  case "$f" in
  -*) ;;
  *) [ -e "$f" ] || { echo "test:file: no such file: $f" >&2; exit 2; } ;;
  esac
done
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
svc="$(mktemp -d)"
trap 'bash scripts/services.sh stop "$svc" >/dev/null 2>&1; rm -rf "$svc"' EXIT
eval "$(bash scripts/services.sh start "$svc")"
node --import tsx --test --test-concurrency=2 --test-reporter=spec "$@"
