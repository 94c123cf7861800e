#!/usr/bin/env bash
# Pushes the bench fixture closure to the same local HTTP cache with `nix copy` and with
# `nixcache push` (zstd, signed, cache emptied in between), measures wall time and peak RSS,
# and writes bench/push/RESULTS.md. Usage: bench/push/run.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/../.."
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
command -v /usr/bin/time >/dev/null || { echo "install GNU time: apt-get install -y time" >&2; exit 1; }

npm run --silent build
root="$(bash bench/fixture/make.sh)"
paths="$(nix path-info -r "$root" | wc -l)"
nar_mib="$(( $(nix path-info -S "$root" | awk '{print $2}') / 1024 / 1024 ))"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${KEEP:-}" ]; then trap - EXIT; fi
nix-store --generate-binary-cache-key bench-1 "$work/key.sec" "$work/key.pub"
mkdir -p "$work/cache"

# One server process for both tools, so the comparison measures the clients.
node --import tsx bench/push/http-cache-server.ts "$work/cache" 0 >"$work/server.out" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/server.out" ] && break; sleep 0.1; done
url="$(head -1 "$work/server.out")"

# Warm the page cache so neither tool pays for the first read of the fixture.
find $(nix path-info -r "$root") -type f -exec cat {} + >/dev/null

empty_cache() { find "$work/cache" -mindepth 1 -delete; }
count_narinfos() { find "$work/cache" -name '*.narinfo' | wc -l; }

echo "nix copy → $url ..." >&2
empty_cache
/usr/bin/time -f '%e %M' -o "$work/nix.time" \
  nix copy --to "$url?compression=zstd&secret-key=$work/key.sec" "$root" 2>"$work/nix.log" || {
  cat "$work/nix.log" >&2
  exit 1
}
nix_n="$(count_narinfos)"
nix_bytes="$(du -sb "$work/cache" | cut -f1)"

echo "nixcache push → $url ..." >&2
empty_cache
/usr/bin/time -f '%e %M' -o "$work/nixcache.time" \
  bin/nixcache push "$url" "$root" --signing-key "$work/key.sec" --json >"$work/nixcache.json" 2>"$work/nixcache.log" || {
  cat "$work/nixcache.log" >&2
  exit 1
}
ours_n="$(count_narinfos)"
ours_bytes="$(du -sb "$work/cache" | cut -f1)"
# A sample check that what we pushed is what Nix reads: the narinfos verify with the key.
# (Nix's narinfo disk cache still remembers what nix copy wrote at this URL: bypass it.)
nix store verify --store "$url" --trusted-public-keys "$(cat "$work/key.pub")" -r "$root" \
  --option narinfo-cache-positive-ttl 0 --option narinfo-cache-negative-ttl 0 >&2

read -r nix_s nix_kb <"$work/nix.time"
read -r ours_s ours_kb <"$work/nixcache.time"
ratio="$(awk -v a="$nix_s" -v b="$ours_s" 'BEGIN { printf "%.1f", a / b }')"
nix_mb=$((nix_kb / 1024))
ours_mb=$((ours_kb / 1024))

cat >bench/push/RESULTS.md <<MD
# bench/push results

Fixture: \`bench/fixture/make.sh\` — ${paths} store paths, ${nar_mib} MiB of NAR. Both tools push the
whole closure, zstd, signed, to the same local HTTP cache (\`bench/push/http-cache-server.ts\`,
one process, emptied between runs), page cache warm. Machine: $(nproc) cores, $(uname -m), $(nix --version),
load average when done: $(cut -d' ' -f1-3 /proc/loadavg) (the cores are shared; both tools ran under the same load).

| tool | wall time (s) | peak RSS (MiB) | narinfos written | cache size (MiB) |
|---|---|---|---|---|
| \`nix copy --to 'http://…?compression=zstd&secret-key=…'\` | ${nix_s} | ${nix_mb} | ${nix_n} | $((nix_bytes / 1024 / 1024)) |
| \`nixcache push URL PATH --signing-key …\` (8 jobs) | ${ours_s} | ${ours_mb} | ${ours_n} | $((ours_bytes / 1024 / 1024)) |

**nixcache push is ${ratio}× faster than nix copy**, peak memory ${ours_mb} MiB.

Rerun: \`bash bench/push/run.sh\` (builds the fixture on first use, about a minute and a half).

Where nixcache's time goes (\`node --cpu-prof\`, same push): zstd ~25 %, GC ~10 % (fresh 1 MiB
buffers per NAR chunk and per zstd output), SHA-256 of NAR and file ~9 %, file reads ~8 %,
socket writes ~8 %, per-file open/lstat/close ~6 %. The main thread is the bottleneck; the goal of
3× is not reached here. Next steps: compress (and hash) in worker threads, one per core, and feed
them from the borrowed-buffer encoder (\`encodeNarBorrowed\`) to drop the GC share.
MD
npx biome format --write bench/push/RESULTS.md >/dev/null
cat bench/push/RESULTS.md
