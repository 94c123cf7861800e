#!/usr/bin/env bash
# The main job, end to end, on the embedded default: nixcache's own cache server.
#   1. start `nixcache serve` with a fresh data directory, create a cache and a write token
#   2. build the demo flake's targets with real Nix
#   3. `nixcache push` their closures to the server
#   4. `nixcache verify` every target (and its closure) is there and signed by the cache's key
#   5. delete the outputs locally and let `nix build` substitute them back from the server
# Prints what it does; exits non-zero at the first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-nix.sh
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
nixcache() { node bin/nixcache "$@"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

work=$(mktemp -d /tmp/nixcache-demo.XXXXXX)
port=${NIXCACHE_DEMO_PORT:-$((20000 + RANDOM % 20000))}
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step "Creating a cache 'demo' and a write token in $work/data"
pubkey=$(nixcache cache create demo --data "$work/data")
echo "cache public key: $pubkey"
token=$(nixcache token create --data "$work/data" --cache demo --perm write)
echo "write token created (not shown)"

step "Starting nixcache serve on 127.0.0.1:$port"
node bin/nixcache serve --data "$work/data" --listen "127.0.0.1:$port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null
cache="http://127.0.0.1:$port/demo"

flake=./examples/demo-flake
step "Target set of $flake"
nixcache targets --flake "$flake"

step "Building the x86_64-linux targets with nix build"
mapfile -t outs < <(nixcache targets --flake "$flake" --json |
  node -e 'const t=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const x of t) if (x.system==="x86_64-linux" && !x.error) console.log(x.attr)')
installables=()
for a in "${outs[@]}"; do installables+=("$flake#$a"); done
nix build --no-link "${installables[@]}"
mapfile -t paths < <(nix path-info "${installables[@]}")
printf '%s\n' "${paths[@]}"

step "Pushing their closures with nixcache push"
NIXCACHE_TOKEN=$token nixcache push "$cache" "${paths[@]}"

step "Verifying every target and its closure is substitutable and signed (nixcache verify)"
nixcache verify --flake "$flake" --cache "$cache" --trusted-key "$pubkey" --closure --system x86_64-linux

step "Deleting the outputs and their closures locally, then substituting them back from the server"
mapfile -t closure < <(nix-store -qR "${paths[@]}")
nix-store --delete "${closure[@]}" >/dev/null
for p in "${closure[@]}"; do [ ! -e "$p" ] || { echo "could not delete $p" >&2; exit 1; }; done
nix build --no-link --option substituters "$cache" --option trusted-public-keys "$pubkey" "${installables[@]}" 2>&1 |
  tee "$work/substitute.log"
if grep -q "^building '" "$work/substitute.log"; then
  echo "FAIL: nix built something instead of substituting it" >&2
  exit 1
fi
for p in "${closure[@]}"; do [ -e "$p" ] || { echo "FAIL: $p was not substituted" >&2; exit 1; }; done
printf '\n\033[1mOK:\033[0m %d targets (%d store paths) pushed, verified, and substituted from nixcache serve without building.\n' "${#paths[@]}" "${#closure[@]}"
