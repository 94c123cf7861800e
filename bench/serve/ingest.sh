#!/usr/bin/env bash
# Server memory and responsiveness while it ingests a 4 GiB NAR (issue 9): real `nix copy` of a
# store path holding a 4 GiB zero-filled sparse file, once per codec (zstd, xz), to a fresh
# `nixcache serve`; meanwhile /healthz is polled every 10 ms on its own connection. Reports the
# server's peak RSS (VmHWM of /proc/<pid>/status; goal < 400 MB) and /healthz p99 during the
# ingest (goal < 50 ms), and appends the table to bench/serve/RESULTS.md.
# Usage: bash bench/serve/ingest.sh   (from anywhere; about 3 minutes, most of it Nix compressing)
set -euo pipefail
cd "$(dirname "$0")/../.."
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
npm run --silent build
path="$(nix-build --no-out-link -E 'derivation { name = "nixcache-test-zeros-4g"; system = builtins.currentSystem;
  builder = "/bin/sh"; args = [ "-c" "mkdir $out; truncate -s 4G $out/zeros" ]; PATH = "/usr/bin:/bin"; }')"
work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rows=""
for codec in zstd xz; do
  data="$work/data-$codec"
  bin/nixcache cache create big --data "$data" >/dev/null
  token="$(bin/nixcache token create --data "$data" --cache big --perm write)"
  printf 'machine 127.0.0.1 login nix password %s\n' "$token" >"$work/netrc"
  bin/nixcache serve --data "$data" --listen 127.0.0.1:0 --quiet >"$work/serve.out" &
  pid=$!
  for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/serve.out")"
  mkfifo "$work/probe-$codec"
  node --import tsx bench/serve/healthz-probe.ts "$url" "$data" <"$work/probe-$codec" >"$work/probe-$codec.json" &
  probe=$!
  exec 3>"$work/probe-$codec"
  start=$(date +%s.%N)
  XDG_CACHE_HOME="$work/xdg-$codec" nix copy --to "$url/big?compression=$codec" \
    --option netrc-file "$work/netrc" "$path"
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  exec 3>&-
  wait "$probe"
  rss_mb=$(($(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1000))
  kill "$pid"
  wait "$pid" || true
  pid=""
  probe_json="$(cat "$work/probe-$codec.json")"
  p99=$(node -p "JSON.parse(process.argv[1]).p99" "$probe_json")
  n=$(node -p "JSON.parse(process.argv[1]).n" "$probe_json")
  rows="$rows| $codec | $rss_mb | $p99 | $n | $(printf '%.1f' "$secs") |\n"
done

table="$(printf '| codec | server peak RSS (MB) | /healthz p99 during the ingest (ms) | probes | nix copy (s) |\n|---|---|---|---|---|\n%b' "$rows")"
echo "$table"
{
  printf '\n## Ingest of a 4 GiB NAR (issue 9)\n\n'
  printf 'Real `nix copy` of a store path holding a 4 GiB zero-filled file to a fresh `nixcache serve` (one process), '
  printf '/healthz polled every 10 ms while the NAR is received. Goals: peak RSS < 400 MB, p99 < 50 ms. %s.\n\n' "$(date -u +%Y-%m-%d)"
  echo "$table"
  printf '\nRerun: `bash bench/serve/ingest.sh`.\n'
} >>bench/serve/RESULTS.md
