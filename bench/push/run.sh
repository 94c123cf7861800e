#!/usr/bin/env bash
# Pushes the bench fixture closure to the same local HTTP cache with `nix copy` and with
# `nixcache push` (zstd, signed, cache emptied before each run), ROUNDS times, alternating, and
# writes bench/push/RESULTS.md with the median wall time, CPU time (user+sys) and peak RSS of
# each tool, the server's CPU time per run, and the load average around the runs.
#
# The server is nginx with its WebDAV module (PUT), serving GET/HEAD from the same directory: it
# costs far less CPU than a Node server, which would compete with the clients for the cores.
# BENCH_SERVER=node uses bench/push/http-cache-server.ts instead.
#
# Usage: bench/push/run.sh   (from anywhere; ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
bash scripts/setup-bench.sh
rounds="${ROUNDS:-3}"
server_kind="${BENCH_SERVER:-nginx}"
nginx="${NGINX:-/usr/sbin/nginx}"

npm run --silent build
root="$(bash bench/fixture/make.sh)"
paths="$(nix path-info -r "$root" | wc -l)"
nar_mib="$(($(nix path-info -rs "$root" | awk '{s += $2} END {print s}') / 1024 / 1024))"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
nix-store --generate-binary-cache-key bench-1 "$work/key.sec" "$work/key.pub"
mkdir -p "$work/cache"

# One server process for both tools, so the comparison measures the clients.
if [ "$server_kind" = nginx ]; then
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  mkdir -p "$work/nginx/tmp"
  cat >"$work/nginx/nginx.conf" <<CONF
user root;
worker_processes 1;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  log_not_found off;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  sendfile on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$port;
    root $work/cache;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    dav_methods PUT;
    create_full_put_path on;
    dav_access user:rw group:r all:r;
  }
}
CONF
  [ "$(id -u)" = 0 ] || sed -i '/^user root;/d' "$work/nginx/nginx.conf"
  "$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
  server_pid=$!
  url="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -s -o /dev/null "$url/" && break; sleep 0.1; done
  server_desc="nginx $("$nginx" -v 2>&1 | sed 's|.*/||') (WebDAV PUT, one worker process)"
else
  node --import tsx bench/push/http-cache-server.ts "$work/cache" 0 >"$work/server.out" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/server.out" ] && break; sleep 0.1; done
  url="$(head -1 "$work/server.out")"
  server_desc="bench/push/http-cache-server.ts (Node, one process)"
fi

# CPU seconds (user+sys) the server's processes have used so far.
server_cpu() {
  local t=0 p
  for p in $server_pid $(pgrep -P "$server_pid" || true); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
tick="$(getconf CLK_TCK)"

# Warm the page cache so neither tool pays for the first read of the fixture.
find $(nix path-info -r "$root") -type f -exec cat {} + >/dev/null

empty_cache() { find "$work/cache" -mindepth 1 -delete; }
count_narinfos() { find "$work/cache" -name '*.narinfo' | wc -l; }

# run TOOL ROUND: one push; appends "wall cpu rss_kb server_cpu narinfos bytes" to $work/TOOL.runs
run() {
  local tool="$1" s0 s1
  empty_cache
  s0="$(server_cpu)"
  if [ "$tool" = nix ]; then
    # The narinfo disk cache would remember the previous round's uploads: bypass it.
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" \
      nix copy --option narinfo-cache-positive-ttl 0 --option narinfo-cache-negative-ttl 0 \
      --to "$url?compression=zstd&secret-key=$work/key.sec" "$root" 2>"$work/log" || {
      cat "$work/log" >&2
      exit 1
    }
  else
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" \
      bin/nixcache push "$url" "$root" --signing-key "$work/key.sec" --json >"$work/out.json" 2>"$work/log" || {
      cat "$work/log" >&2
      exit 1
    }
  fi
  s1="$(server_cpu)"
  read -r wall user sys rss <"$work/t"
  echo "$wall $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') $rss" \
    "$(awk -v d="$((s1 - s0))" -v t="$tick" 'BEGIN { printf "%.2f", d / t }')" \
    "$(count_narinfos) $(du -sb "$work/cache" | cut -f1)" >>"$work/$tool.runs"
  echo "$tool: $(tail -1 "$work/$tool.runs")  (wall cpu rss_kb server_cpu narinfos bytes)" >&2
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  echo "round $r/$rounds → $url" >&2
  # Alternate who goes first, so neither always runs on a cooler machine.
  if [ $((r % 2)) = 1 ]; then run nix; run nixcache; else run nixcache; run nix; fi
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# What we pushed (last round) is what Nix reads: every narinfo verifies with the key, every NAR
# decompresses to its NarHash. (Bypass Nix's narinfo disk cache, which remembers nix copy's.)
nix store verify --store "$url" --trusted-public-keys "$(cat "$work/key.pub")" -r "$root" \
  --option narinfo-cache-positive-ttl 0 --option narinfo-cache-negative-ttl 0 2>"$work/verify.log" || {
  grep -v '^checking' "$work/verify.log" >&2
  exit 1
}

# median COLUMN FILE
median() { awk -v c="$1" '{print $c}' "$2" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
all() { awk -v c="$1" '{printf "%s%s", sep, $c; sep = ", "}' "$2"; }
nw="$(median 1 "$work/nix.runs")"
ow="$(median 1 "$work/nixcache.runs")"
nc="$(median 2 "$work/nix.runs")"
oc="$(median 2 "$work/nixcache.runs")"
nm="$(($(median 3 "$work/nix.runs") / 1024))"
om="$(($(median 3 "$work/nixcache.runs") / 1024))"
om_max="$(($(awk '{print $3}' "$work/nixcache.runs" | sort -n | tail -1) / 1024))"
ns="$(median 4 "$work/nix.runs")"
os="$(median 4 "$work/nixcache.runs")"
ratio="$(awk -v a="$nw" -v b="$ow" 'BEGIN { printf "%.1f", a / b }')"
cpu_ratio="$(awk -v a="$nc" -v b="$oc" 'BEGIN { printf "%.2f", a / b }')"
nix_n="$(tail -1 "$work/nix.runs" | cut -d' ' -f5)"
ours_n="$(tail -1 "$work/nixcache.runs" | cut -d' ' -f5)"
nix_mib="$(($(tail -1 "$work/nix.runs" | cut -d' ' -f6) / 1024 / 1024))"
ours_mib="$(($(tail -1 "$work/nixcache.runs" | cut -d' ' -f6) / 1024 / 1024))"

mkdir -p bench/out
{
  echo "# bench/push raw runs, $(date -u +%FT%TZ): wall_s cpu_s rss_kb server_cpu_s narinfos bytes"
  sed 's/^/nix /' "$work/nix.runs"
  sed 's/^/nixcache /' "$work/nixcache.runs"
} >bench/out/push-runs.txt

# Rewrite the measured part of RESULTS.md; the analysis below the marker is kept.
notes=""
if [ -f bench/push/RESULTS.md ] && grep -q '^<!-- notes -->' bench/push/RESULTS.md; then
  notes="$(sed -n '/^<!-- notes -->/,$p' bench/push/RESULTS.md)"
fi
cat >bench/push/RESULTS.md <<MD
# bench/push results

Fixture: \`bench/fixture/make.sh\` — ${paths} store paths, ${nar_mib} MiB of NAR. Both tools push the
whole closure, zstd, signed, to the same local HTTP cache (${server_desc}, emptied before each
run), page cache warm, ${rounds} rounds alternating which tool goes first; medians below (every run
in \`bench/out/push-runs.txt\`). Machine: $(nproc) cores, $(uname -m), $(nix --version); load
average before: ${load_before}, after: ${load_after} (the cores are shared with other work; both
tools ran under the same load).

| tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) | server CPU (s) | narinfos | cache (MiB) |
|---|---|---|---|---|---|---|
| \`nix copy --to 'http://…?compression=zstd&secret-key=…'\` | ${nw} | ${nc} | ${nm} | ${ns} | ${nix_n} | ${nix_mib} |
| \`nixcache push URL PATH --signing-key …\` (8 jobs) | ${ow} | ${oc} | ${om} | ${os} | ${ours_n} | ${ours_mib} |

Wall times, nix copy: $(all 1 "$work/nix.runs"); nixcache push: $(all 1 "$work/nixcache.runs").

**nixcache push is ${ratio}× faster than nix copy** (wall, medians) and uses ${cpu_ratio}× less CPU;
peak memory ${om} MiB (largest of the runs: ${om_max} MiB). After the last round,
\`nix store verify --store URL -r ROOT\` checked every narinfo signature and NAR hash of ours.

Rerun: \`bash bench/push/run.sh\` (ROUNDS=N for more rounds, BENCH_SERVER=node for the Node server;
the fixture is built on first use, about a minute and a half).

${notes}
MD
npx biome format --write bench/push/RESULTS.md >/dev/null 2>&1 || true
cat bench/push/RESULTS.md
