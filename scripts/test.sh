#!/usr/bin/env bash
# The whole test command: Nix, browser, storage engines and systemd's tools set up, build, format/lint, type check,
# layering, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-nix.sh
bash scripts/setup-browser.sh
bash scripts/setup-services.sh
bash scripts/setup-systemd.sh
# Node 24 from the npm registry (pinned in scripts/node24/) for test/e2e/package/node24.test.ts.
bash scripts/setup-node24.sh >/dev/null
npm run --silent build
npx biome check --error-on-warnings .
npx tsc --noEmit
# The layering (.dependency-cruiser.cjs): an upward import or a cycle fails here.
npx depcruise src --config .dependency-cruiser.cjs --output-type err
# Files named: those alone, as the inner loop runs them (services started, then stopped).
if [ "$#" -gt 0 ]; then
  exec bash scripts/test-file.sh "$@"
fi
shopt -s globstar nullglob
# Tests that need Nix get a config with no substituters so nothing waits on cache.nixos.org.
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
# One PostgreSQL and one S3 endpoint (Swift) for the whole run; each test takes a fresh database
# and bucket on them.
svc="$(mktemp -d)"
trap 'bash scripts/services.sh stop "$svc"; rm -rf "$svc"' EXIT
eval "$(bash scripts/services.sh start "$svc")"
run() { node --import tsx --test --test-concurrency=2 --test-reporter=spec "$@"; }
# This one stops and starts its own Swift's object server: it must not share one.
own_swift=(test/server/s3.test.ts)
# The slowest file first, so that the others run beside it: installing the packed tarball compiles
# the native addons (minutes of CPU).
first=(test/e2e/package/package.test.ts)
files=("${first[@]}")
for f in test/**/*.test.ts; do [[ " ${own_swift[*]} ${first[*]} " == *" $f "* ]] || files+=("$f"); done
run "${files[@]}"
env -u NIXCACHE_TEST_S3 node --import tsx --test --test-reporter=spec "${own_swift[@]}"
