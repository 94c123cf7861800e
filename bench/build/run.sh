#!/usr/bin/env bash
# bench/build: `nixcache build --push` against what it replaces, same machine, same run.
#   cold: fresh derivations (new NONCE per tool), empty cache:
#         nix build alone  |  nixcache build --push  |  nix build, then nix copy --to (serial)
#   warm: every target already in the cache, outputs deleted locally:
#         nixcache targets (evaluation only)  |  nixcache build --push  |  nix build substituting
# All pushes go to one `nixcache serve` on loopback. ROUNDS (default 3) alternates the order.
# Results: bench/build/RESULTS.md (and every run in bench/out/build-runs.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
TARGETS=${TARGETS:-12}
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false\nmax-jobs = 2'
bash scripts/setup-nix.sh >/dev/null 2>&1
[ -f dist/cli/main.js ] || npm run --silent build
nixcache() { node bin/nixcache "$@"; }
system=$(nix eval --impure --raw --expr builtins.currentSystem)
out=bench/out/build
rm -rf "$out"; mkdir -p "$out"
runs=bench/out/build-runs.txt; : >"$runs"

data="$out/data"
nixcache cache create main --data "$data" >"$out/pk"
nixcache token create --data "$data" --cache main --perm write >"$out/token"
chmod 600 "$out/token"
port=$((30000 + RANDOM % 20000))
node bin/nixcache serve --data "$data" --listen "127.0.0.1:$port" --quiet >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cache="http://127.0.0.1:$port/main"
printf 'machine 127.0.0.1\npassword %s\n' "$(cat "$out/token")" >"$out/netrc"; chmod 600 "$out/netrc"
export NIXCACHE_TOKEN; NIXCACHE_TOKEN=$(cat "$out/token")

now() { date +%s.%N; }
# time_of LABEL CMD...: runs CMD, appends "LABEL seconds" to the run log, prints seconds.
time_of() {
  local label=$1; shift
  local t0 t1; t0=$(now)
  "$@" >"$out/last.log" 2>&1 || { echo "FAILED: $label" >&2; tail -20 "$out/last.log" >&2; exit 1; }
  t1=$(now)
  local s; s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  echo "$label $s" >>"$runs"
  echo "$s"
}
flake_for() { local d="$out/flake-$1"; node --import tsx bench/build/gen-flake.ts "$d" "$system" "$1" "$TARGETS"; echo "$d"; }
installables() { for i in $(seq 0 $((TARGETS - 1))); do echo "path:$1#packages.$system.t$i"; done; }
drop_outputs() { # delete the flake's outputs and their closure from the local store
  local paths; mapfile -t paths < <(for i in $(installables "$1"); do nix eval --raw "$i.outPath"; echo; done)
  mapfile -t closure < <(nix-store -qR "${paths[@]}" 2>/dev/null || true)
  [ "${#closure[@]}" -eq 0 ] || nix-store --delete "${closure[@]}" >/dev/null 2>&1 || true
}

for r in $(seq "$ROUNDS"); do
  order=(nix nixcache nopush serial)
  if [ $((r % 2)) -eq 0 ]; then order=(serial nopush nixcache nix); fi
  for tool in "${order[@]}"; do
    f=$(flake_for "cold-$tool-$r-$RANDOM")
    mapfile -t inst < <(installables "$f")
    case $tool in
      nix) time_of cold-nix-build nix build --no-link "${inst[@]}" >/dev/null ;;
      nixcache) time_of cold-nixcache-build nixcache build --flake "path:$PWD/$f" --push "$cache" --no-upstream-filter >/dev/null ;;
      nopush) time_of cold-nixcache-build-nopush nixcache build --flake "path:$PWD/$f" >/dev/null ;;
      serial) time_of cold-nix-build-then-copy bash -c 'nix build --no-link "$@" && nix copy --to "'"$cache"'?compression=zstd" --option netrc-file "'"$out/netrc"'" "$@"' _ "${inst[@]}" >/dev/null ;;
    esac
    [ "$tool" = nixcache ] && warmflake=$f
    drop_outputs "$f"
  done
  # Warm: the nixcache round's flake is entirely in the cache; its outputs are gone locally.
  f=$warmflake
  mapfile -t inst < <(installables "$f")
  time_of warm-nixcache-targets nixcache targets --flake "path:$PWD/$f" >/dev/null
  time_of warm-nixcache-build nixcache build --flake "path:$PWD/$f" --push "$cache" --no-upstream-filter >/dev/null
  grep -q "already cached, 0 to build" "$out/last.log" || { echo "warm build was not all cached" >&2; cat "$out/last.log" >&2; exit 1; }
  time_of warm-nix-build-substitute nix build --no-link --option substituters "$cache" --option trusted-public-keys "$(cat "$out/pk")" --option narinfo-cache-positive-ttl 0 "${inst[@]}" >/dev/null
  drop_outputs "$f"
done

median() { grep "^$1 " "$runs" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
all() { grep "^$1 " "$runs" | awk '{printf "%s%.2f", (NR>1?", ":""), $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
cn=$(median cold-nix-build); cc=$(median cold-nixcache-build); cs=$(median cold-nix-build-then-copy)
cp=$(median cold-nixcache-build-nopush)
we=$(median warm-nixcache-targets); wb=$(median warm-nixcache-build); ws=$(median warm-nix-build-substitute)
load=$(cut -d' ' -f1-3 /proc/loadavg)
# The sections after the table (overhead.ts's "## Overhead", the hand-written "## Notes") survive a rerun.
notes=$(sed -n '/^## /,$p' bench/build/RESULTS.md 2>/dev/null || true)
cat >bench/build/RESULTS.md <<MD
# bench/build results

Flake: \`bench/build/gen-flake.ts\`, $TARGETS targets (10-24 MiB each, a CPU loop each, two shared
libraries), new derivations for every cold run. Cache: one \`nixcache serve\` on loopback (zstd,
signed on ingest). \`max-jobs = 2\` for every tool. $ROUNDS rounds, the order alternating; medians.
Machine: $(nproc) cores, $(uname -m), $(nix --version); load average at the end: $load.

| case | command | wall (s, median) | runs |
|---|---|---|---|
| cold | \`nix build\` (no push) | $cn | $(all cold-nix-build) |
| cold | \`nixcache build --push\` | $cc | $(all cold-nixcache-build) |
| cold | \`nix build\` then \`nix copy --to\` | $cs | $(all cold-nix-build-then-copy) |
| cold | \`nixcache build\` without \`--push\` (same build, no upload) | $cp | $(all cold-nixcache-build-nopush) |
| warm | \`nixcache targets\` (evaluation only) | $we | $(all warm-nixcache-targets) |
| warm | \`nixcache build --push\` (all cached) | $wb | $(all warm-nixcache-build) |
| warm | \`nix build\` substituting from the cache | $ws | $(all warm-nix-build-substitute) |

- **cold:** \`nixcache build --push\` / \`nix build\` = **$(ratio "$cc" "$cn")×** (goal ≤ 1.08×);
  / serial \`nix build\` + \`nix copy\` = **$(ratio "$cc" "$cs")×**; what the push itself costs:
  / \`nixcache build\` without \`--push\` = **$(ratio "$cc" "$cp")×**. (Nix 2.8's \`nix build\` of
  several installables evaluates the flake once per installable — 12 × ~1 s here — where
  nixcache evaluates once and realises the derivations, so the last ratio is the one that
  isolates the upload.)
- **warm:** \`nixcache build --push\` / \`nixcache targets\` = **$(ratio "$wb" "$we")×** (goal ≤ 1.5×);
  / \`nix build\` substituting = **$(ratio "$wb" "$ws")×** (nothing is downloaded by nixcache).

Rerun: \`bash bench/build/run.sh\` (ROUNDS=N, TARGETS=N, EVAL_WORK=N).
MD
[ -z "$notes" ] || printf '\n%s\n' "$notes" >>bench/build/RESULTS.md
cat bench/build/RESULTS.md
