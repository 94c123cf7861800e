#!/usr/bin/env bash
# The main job on the embedded default, as a new user runs it:
#   1. `nixcache ci --flake ./examples/demo-flake`: selects the targets, builds what the cache
#      lacks, pushes each target as it finishes to nixcache's own server (started on a loopback
#      port with a cache `main`), verifies every target and its closure is substitutable, and
#      prints the substituter line and public key to add to nix.conf;
#   2. deletes one built output locally and substitutes it back with plain `nix-store -r` from
#      that substituter and key, failing if Nix had to build instead.
# Uses a fresh data directory and port so it touches nothing of yours; stops the server at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-nix.sh
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
nixcache() { node bin/nixcache "$@"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

work=$(mktemp -d /tmp/nixcache-demo.XXXXXX)
export XDG_DATA_HOME="$work/xdg"
port=${NIXCACHE_DEMO_PORT:-$((20000 + RANDOM % 20000))}
cleanup() {
  local state="$XDG_DATA_HOME/nixcache/embedded-server.json"
  if [ -f "$state" ]; then
    pid=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).pid)' "$state")
    kill "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

flake=./examples/demo-flake
step "nixcache ci --flake $flake   (no --cache: the embedded nixcache server)"
nixcache ci --flake "$flake" --port "$port" | tee "$work/ci.out"

substituter=$(sed -n 's/^  substituters = //p' "$work/ci.out")
pubkey=$(sed -n 's/^  trusted-public-keys = //p' "$work/ci.out")
[ -n "$substituter" ] && [ -n "$pubkey" ] || { echo "FAIL: ci printed no substituter and key" >&2; exit 1; }

out=$(nixcache targets --flake "$flake" --system x86_64-linux --json |
  node -e 'const t=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(t.find((x)=>x.attr==="packages.x86_64-linux.hello").outPath)')
step "Deleting $out locally, then substituting it back with nix-store -r from $substituter"
nix-store --delete "$out" >/dev/null
[ ! -e "$out" ] || { echo "FAIL: could not delete $out" >&2; exit 1; }
nix-store -r "$out" --option substituters "$substituter" --option trusted-public-keys "$pubkey" 2>&1 |
  tee "$work/substitute.log"
if grep -q "^building '" "$work/substitute.log"; then
  echo "FAIL: nix built something instead of substituting it" >&2
  exit 1
fi
grep -q "copying path '$out' from '$substituter'" "$work/substitute.log" ||
  { echo "FAIL: nix-store -r did not copy $out from $substituter" >&2; exit 1; }
[ -e "$out" ] || { echo "FAIL: $out was not substituted" >&2; exit 1; }
"$out/bin/demo-hello"
printf '\n\033[1mOK:\033[0m nixcache ci built, pushed and verified the demo flake on the embedded cache, and nix-store -r substituted %s back from it without building.\n' "$out"
