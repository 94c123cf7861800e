#!/usr/bin/env bash
# nixcache serve vs nginx serving the same cache as static files, same run, same client.
# Fills our server with the bench fixture closure (nixcache push), exports the same narinfos and
# NAR files for nginx, then measures narinfo req/s (sequential, 16 concurrent), NAR throughput
# (1 and 16 connections) and a real `nix-store -r` of the closure into a fresh chroot store.
# Writes bench/serve/RESULTS.md. Usage: bench/serve/run.sh   (from anywhere; needs root for apt)
set -euo pipefail
cd "$(dirname "$0")/../.."
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
bash scripts/setup-bench.sh
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

npm run --silent build
root="$(bash bench/fixture/make.sh 2>/dev/null)"
paths="$(nix path-info -r "$root" | wc -l)"
nar_mib="$(($(nix path-info -S "$root" | awk '{print $2}') / 1024 / 1024))"

work="$(mktemp -d)"
server_pids=""
nginx_started=""
cleanup() {
  for p in $server_pids; do kill "$p" 2>/dev/null || true; done
  [ -n "$nginx_started" ] && "$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin/nixcache cache create bench --data "$work/data" >"$work/key.pub"
bin/nixcache token create --data "$work/data" --cache bench --perm write >"$work/token"
# Request logs off for the timing runs (nginx's access log is off too).
start_server() { # NAME WORKERS; sets $url to the cache's base URL
  bin/nixcache serve --data "$work/data" --listen 127.0.0.1:0 --quiet --workers "$2" >"$work/serve-$1.out" &
  server_pids="$server_pids $!"
  for _ in $(seq 100); do [ -s "$work/serve-$1.out" ] && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/serve-$1.out")/bench"
}
start_server w1 1
ours="$url"

echo "filling $ours with the fixture ($paths paths, $nar_mib MiB NAR) ..." >&2
NIXCACHE_TOKEN="$(cat "$work/token")" bin/nixcache push "$ours" "$root" >&2
start_server w2 2
ours2="$url"
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
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "client runs (${TRIALS:-5} trials, servers alternating) ..." >&2
TRIALS="${TRIALS:-5}" node --import tsx bench/serve/client.ts "$work/list.json" \
  nginx="$theirs" ours="$ours" ours2="$ours2" >"$work/client.json"

cpu_ticks() { # PID... → user+system clock ticks used so far
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
substitute() { # NAME URL PID... → "seconds server-cpu-seconds" for nix-store -r of the closure
  local store="$work/store-$1" name="$1" url="$2"
  shift 2
  local t0 t1 c0 c1
  c0="$(cpu_ticks "$@")"
  t0=$(date +%s.%N)
  XDG_CACHE_HOME="$work/xdg-$name" nix-store --store "$store" -r "$root" \
    --option substituters "$url" --option trusted-public-keys "$(cat "$work/key.pub")" >/dev/null 2>"$work/subst-$name.log" || {
    cat "$work/subst-$name.log" >&2
    exit 1
  }
  t1=$(date +%s.%N)
  c1="$(cpu_ticks "$@")"
  chmod -R u+w "$store" && rm -rf "$store"
  awk -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f %.2f", b - a, c / hz }'
}
# nginx's work is done by its worker processes; ours (--workers 1) by the one process.
nginx_workers="$(pgrep -P "$(cat "$work/nginx/nginx.pid")" | tr '\n' ' ')"
ours_pid="$(echo $server_pids | cut -d' ' -f1)"
# Alternating, five rounds; medians are reported (one run on a shared machine is mostly noise).
rounds="${SUBST_ROUNDS:-5}"
echo "nix-store -r from nginx and ours (alternating, $rounds rounds) ..." >&2
subst_nginx=""
subst_ours=""
for i in $(seq "$rounds"); do
  # shellcheck disable=SC2086
  subst_nginx="$subst_nginx,$(substitute "nginx$i" "$theirs" $nginx_workers)"
  subst_ours="$subst_ours,$(substitute "ours$i" "$ours" "$ours_pid")"
done

node --input-type=module - "$work/client.json" "$subst_nginx" "$subst_ours" "$paths" "$nar_mib" "$load_start" <<'JS' | tee bench/serve/RESULTS.md
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
const [file, sn, so, paths, mib, loadStart] = process.argv.slice(2);
const { trials, narinfoRequests, narFiles, results: r } = JSON.parse(readFileSync(file, "utf8"));
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 0) => Number(x).toFixed(d);
// "seconds cpu" pairs, comma-separated.
const runs = (s) => s.split(",").filter(Boolean).map((x) => x.split(" ").map(Number));
// Ratio of medians, and the spread of the per-trial ratios (same trial, back-to-back runs).
const ratio = (m, who) => {
  const per = r[who][m].map((v, i) => (100 * v) / r.nginx[m][i]);
  return `${f((100 * med(r[who][m])) / med(r.nginx[m]))}% (${f(Math.min(...per))}–${f(Math.max(...per))}%)`;
};
const row = (label, m, goal) => [label, f(med(r.nginx[m])), f(med(r.ours[m])), ratio(m, "ours"), f(med(r.ours2[m])), ratio(m, "ours2"), goal];
const [tn, to] = [runs(sn), runs(so)];
const wall = (x) => x.map((v) => v[0]);
const cpu = (x) => x.map((v) => v[1]);
const rows = [
  row("narinfo req/s, sequential (1 conn)", "narinfoSeqPerSec", "≥ 60%"),
  row("narinfo req/s, 16 concurrent", "narinfo16PerSec", "≥ 60%"),
  row("NAR MiB/s, 1 connection", "nar1MiBs", "≥ 70%"),
  row("NAR MiB/s, 16 connections", "nar16MiBs", "≥ 70%"),
  [
    "nix-store -r of the closure (s)",
    f(med(wall(tn)), 2),
    f(med(wall(to)), 2),
    `${f(med(wall(to)) / med(wall(tn)), 2)}×`,
    "",
    "",
    "≤ 1.2×",
  ],
  [
    "server CPU during nix-store -r (s)",
    f(med(cpu(tn)), 2),
    f(med(cpu(to)), 2),
    `${f(med(cpu(to)) / med(cpu(tn)), 1)}×`,
    "",
    "",
    "",
  ],
];
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`# bench/serve results

\`nixcache serve\` against nginx (Debian, \`worker_processes auto\`, sendfile, access log off) serving
the same cache as static files, same run, same client (\`bench/serve/client.ts\`: undici, keep-alive).
Fixture: \`bench/fixture/make.sh\` — ${paths} store paths, ${mib} MiB of NAR (${narFiles} NAR files),
pushed zstd with \`nixcache push\`. Request logs of \`nixcache serve\` off (\`--quiet\`). "ours" is
the default (\`--workers 1\`), "ours ×2" is \`--workers 2\`, both on the same data directory.

Method: ${trials} trials; in each, every measure runs against the three servers back to back, in an
order that flips every trial. Shown: the median over trials; a ratio is median / median, with the
lowest and highest per-trial ratio in brackets. narinfo: ${narinfoRequests} GETs of the fixture's
narinfos per measure. NAR: every NAR file once per measure. Substitution: \`nix-store --store
<fresh dir> -r\` of the whole closure from nginx and from ours (default), alternating,
${tn.length} rounds, median (all runs, seconds: nginx ${wall(tn).join(", ")}; ours ${wall(to).join(", ")}),
with the CPU time the server processes used meanwhile (nginx: its workers).

Machine: ${cpus().length} cores, ${process.arch}, shared with other work: load average ${loadStart} at the
start of the client runs, ${load} at the end. Client, servers and nix run on the same cores.

| measure | nginx | ours | ours / nginx | ours ×2 | ours ×2 / nginx | goal |
|---|---|---|---|---|---|---|
${rows.map((x) => `| ${x.join(" | ")} |`).join("\n")}

Rerun: \`bash bench/serve/run.sh\` (installs Debian's nginx when missing; about 10 minutes;
\`TRIALS=N\` for more trials).

## Notes from profiling this round (their numbers are from that time)

- Before this round (commit 76cf429, same bench with one run per server): narinfo 51% / 43% of
  nginx, NAR 69% / 64%, substitution 1.11×. Trials now alternate servers and report medians,
  with the per-trial spread in brackets: on a shared machine a single run is mostly noise.
- NAR GETs used to pipe an \`fs.ReadStream\`: the socket idled during every file read and each
  1 MiB chunk was a fresh allocation for the GC. \`src/server/send-file.ts\` keeps up to 4 MiB
  queued on the socket while the next chunk is read into a reused buffer. Server CPU for one
  substitution of the fixture fell from 2.06 s to 1.03 s (one measured pair, request logs on).
- narinfo GETs are answered from memory (\`src/server/narinfo-cache.ts\`); the SQLite lookup (a
  WAL read transaction, about 8 µs) was the largest piece of the handler's own time. Profiled
  under the 16-connection load (\`node --cpu-prof\`, \`ONLY=narinfo\` in the client), the server is
  now idle about 60% of the time, and most of its busy time is the \`writev\` system call
  (loopback TCP, which nginx pays too); routing and our handler are about 3%. What sets the
  narinfo rate here is the client (one Node thread, most of a core) and two shared cores.
- NAR CPU per byte is the remaining real difference: nginx's sendfile copies in the kernel, we
  read into memory and write (0.9 s against 0.3 s of server CPU per substitution of 675 MiB of
  zstd NARs). It does not show in substitution time here, where nix itself (decompression,
  hashing, writing the store) is the bottleneck.
- \`--workers\` defaults to 1 because of the ×2 columns: on two cores shared with the client and
  nix, a second server process only competes for the same cores (narinfo lower, NARs no
  better). On a machine whose cores the server has to itself, with remote clients,
  \`--workers auto\` is the configuration to use; that cannot be measured on this machine.`);
JS
