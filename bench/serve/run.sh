#!/usr/bin/env bash
# nixcache serve vs nginx serving the same cache as static files, same run, same client.
# Fills our server with the bench fixture closure (nixcache push), exports the same narinfos and
# NAR files for nginx, then measures narinfo req/s (sequential, 16 concurrent), NAR throughput
# (1 and 16 connections) and a real `nix-store -r` of the closure into a fresh chroot store.
# Writes bench/serve/RESULTS.md. Usage: bench/serve/run.sh   (from anywhere; needs root for apt)
set -euo pipefail
cd "$(dirname "$0")/../.."
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
command -v nginx >/dev/null || command -v /usr/sbin/nginx >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >&2
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

npm run --silent build
root="$(bash bench/fixture/make.sh 2>/dev/null)"
paths="$(nix path-info -r "$root" | wc -l)"
nar_mib="$(($(nix path-info -S "$root" | awk '{print $2}') / 1024 / 1024))"

work="$(mktemp -d)"
server_pid=""
nginx_started=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$nginx_started" ] && "$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin/nixcache cache create bench --data "$work/data" >"$work/key.pub"
bin/nixcache token create --data "$work/data" --cache bench --perm write >"$work/token"
# Request logs off for the timing runs (nginx's access log is off too).
bin/nixcache serve --data "$work/data" --listen 127.0.0.1:0 --quiet >"$work/serve.out" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
ours="$(sed -n 's/^listening on //p' "$work/serve.out")/bench"

echo "filling $ours with the fixture ($paths paths, $nar_mib MiB NAR) ..." >&2
NIXCACHE_TOKEN="$(cat "$work/token")" bin/nixcache push "$ours" "$root" >&2

node --import tsx bench/serve/export-static.ts "$work/data" bench "$work/static" >"$work/list.json"
mkdir -p "$work/nginx/logs"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
cat >"$work/nginx/nginx.conf" <<CONF
$([ "$(id -u)" = 0 ] && echo "user root;  # the exported blobs are mode 0600, like the data dir")
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { text/x-nix-narinfo narinfo; application/x-nix-nar nar zst xz; }
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$port;
    root $work/static;
    location /bench/ { alias $work/static/; }
  }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf"
nginx_started=1
theirs="http://127.0.0.1:$port/bench"
curl -sf "$theirs/nix-cache-info" >/dev/null

# Warm the page cache for the blobs both servers read.
cat "$work"/data/blobs/*/* >/dev/null

echo "client runs ..." >&2
node --import tsx bench/serve/client.ts "$theirs" "$work/list.json" >"$work/nginx.json"
node --import tsx bench/serve/client.ts "$ours" "$work/list.json" >"$work/ours.json"

substitute() { # URL → seconds for nix-store -r of the closure into a fresh chroot store
  local store="$work/store-$1"
  local t0 t1
  t0=$(date +%s.%N)
  XDG_CACHE_HOME="$work/xdg-$1" nix-store --store "$store" -r "$root" \
    --option substituters "$2" --option trusted-public-keys "$(cat "$work/key.pub")" >/dev/null 2>"$work/subst-$1.log" || {
    cat "$work/subst-$1.log" >&2
    exit 1
  }
  t1=$(date +%s.%N)
  chmod -R u+w "$store" && rm -rf "$store"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
# Alternate and keep the best of two: on a shared machine one run is mostly noise.
echo "nix-store -r from each (alternating, best of 2) ..." >&2
n1="$(substitute nginx1 "$theirs")"
o1="$(substitute ours1 "$ours")"
n2="$(substitute nginx2 "$theirs")"
o2="$(substitute ours2 "$ours")"
subst_nginx="$(awk -v a="$n1" -v b="$n2" 'BEGIN { print (a < b ? a : b) }')"
subst_ours="$(awk -v a="$o1" -v b="$o2" 'BEGIN { print (a < b ? a : b) }')"

node --input-type=module - "$work/nginx.json" "$work/ours.json" "$subst_nginx" "$subst_ours" "$paths" "$nar_mib" <<'JS' | tee bench/serve/RESULTS.md
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
const [n, o, sn, so, paths, mib] = process.argv.slice(2);
const a = JSON.parse(readFileSync(n, "utf8"));
const b = JSON.parse(readFileSync(o, "utf8"));
const f = (x, d = 0) => Number(x).toFixed(d);
const pct = (x, y) => `${f((100 * x) / y)}%`;
const rows = [
  ["narinfo req/s, sequential (1 conn)", f(a.narinfoSeqPerSec), f(b.narinfoSeqPerSec), pct(b.narinfoSeqPerSec, a.narinfoSeqPerSec), "≥ 60%"],
  ["narinfo req/s, 16 concurrent", f(a.narinfo16PerSec), f(b.narinfo16PerSec), pct(b.narinfo16PerSec, a.narinfo16PerSec), "≥ 60%"],
  [`all ${paths} narinfos, sequential (s)`, f(a.narinfoSeqAllSec, 3), f(b.narinfoSeqAllSec, 3), "", ""],
  ["NAR MiB/s, 1 connection", f(a.nar1MiBs), f(b.nar1MiBs), pct(b.nar1MiBs, a.nar1MiBs), "≥ 70%"],
  ["NAR MiB/s, 16 connections", f(a.nar16MiBs), f(b.nar16MiBs), pct(b.nar16MiBs, a.nar16MiBs), "≥ 70%"],
  ["all NARs, 16 connections (s)", f(a.nar16Sec, 2), f(b.nar16Sec, 2), "", ""],
  [`nix-store -r of the closure (s)`, sn, so, `${f(Number(so) / Number(sn), 2)}×`, "≤ 1.2×"],
];
console.log(`# bench/serve results

\`nixcache serve\` against nginx (Debian, \`worker_processes auto\`, sendfile, access log off) serving
the same cache as static files, same run, same client (\`bench/serve/client.ts\`: undici, keep-alive).
Fixture: \`bench/fixture/make.sh\` — ${paths} store paths, ${mib} MiB of NAR, pushed zstd with
\`nixcache push\`. Request logs of \`nixcache serve\` off (\`--quiet\`). Substitution: \`nix-store --store
<fresh dir> -r\` of the whole closure, alternating servers, best of 2. Load average at the end:
${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}. Machine: ${cpus().length} cores (shared), ${process.arch}.

| measure | nginx | nixcache serve | ours / nginx | goal |
|---|---|---|---|---|
${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}

Rerun: \`bash bench/serve/run.sh\` (installs Debian's nginx when missing; about 5 minutes).`);
JS
