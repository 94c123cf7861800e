#!/usr/bin/env bash
# The server's push (ingest) and read paths of two checkouts, same run: each checkout's own
# `nixcache serve` on a fresh data directory takes the bench fixture (321 paths, 1372 MiB)
# pushed by the same client (this checkout's `nixcache push`, zstd, 8 jobs), then serves every
# narinfo and NAR of it to `nix-store -r` into an empty store (the read path, real Nix). ROUNDS
# rounds (default 3), the order of the two checkouts flipped each round; prints the medians and
# their ratio (after / before) as JSON and a Markdown table.
#
# Usage: bash bench/serve/before-after.sh BEFORE_DIR [AFTER_DIR]
#   BEFORE_DIR, AFTER_DIR: checkouts (git worktrees) with node_modules; AFTER_DIR defaults to this
#   one. Each is built first (npm run build).
set -euo pipefail
cd "$(dirname "$0")/../.."
here="$(pwd)"
before="$(cd "${1:?usage: before-after.sh BEFORE_DIR [AFTER_DIR]}" && pwd)"
after="$(cd "${2:-$here}" && pwd)"
rounds="${ROUNDS:-3}"
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
for d in "$before" "$after"; do (cd "$d" && npm run --silent build >/dev/null); done
root="$(bash bench/fixture/make.sh)"

work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
# One round for checkout $1 labelled $2: appends "label push_s read_s" to $work/times.
round() {
  local dir="$1" label="$2" data="$work/data" store="$work/store"
  rm -rf "$data" "$store"
  local key
  key="$("$dir/bin/nixcache" cache create main --data "$data")"
  local token
  token="$("$dir/bin/nixcache" token create --data "$data" --cache main --perm write)"
  "$dir/bin/nixcache" serve --data "$data" --listen 127.0.0.1:0 --quiet --no-upstream >"$work/serve.out" 2>"$work/serve.err" &
  pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
  local url
  url="$(grep -o 'listening on [^ ]*' "$work/serve.out" | head -1 | cut -d' ' -f3)/main"
  local t0 t1 t2
  t0="$(now)"
  NIXCACHE_TOKEN="$token" "$here/bin/nixcache" push "$url" "$root" --jobs 8 >/dev/null
  t1="$(now)"
  nix-store --store "$store" -r "$root" --option substituters "$url" --option trusted-public-keys "$key" \
    --option narinfo-cache-negative-ttl 0 >/dev/null 2>"$work/read.err"
  t2="$(now)"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  echo "$label $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc)" >>"$work/times"
}

for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then round "$before" before; round "$after" after
  else round "$after" after; round "$before" before; fi
  echo "round $r of $rounds done" >&2
done

node - "$work/times" "$(git -C "$before" rev-parse --short HEAD)" "$(git -C "$after" rev-parse --short HEAD)" <<'EOF'
const [file, b, a] = process.argv.slice(2);
const rows = require("node:fs").readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" "));
const med = (label, col) => {
  const v = rows.filter((r) => r[0] === label).map((r) => Number(r[col])).sort((x, y) => x - y);
  return v[Math.floor(v.length / 2)];
};
const out = {
  before: { commit: b, pushS: med("before", 1), readS: med("before", 2) },
  after: { commit: a, pushS: med("after", 1), readS: med("after", 2) },
};
out.ratio = {
  push: +(out.after.pushS / out.before.pushS).toFixed(2),
  read: +(out.after.readS / out.before.readS).toFixed(2),
};
console.log(JSON.stringify(out));
console.log(`| checkout | push 321 paths (s) | nix-store -r of them (s) |\n|---|---|---|`);
console.log(`| before (${b}) | ${out.before.pushS.toFixed(2)} | ${out.before.readS.toFixed(2)} |`);
console.log(`| after (${a}) | ${out.after.pushS.toFixed(2)} | ${out.after.readS.toFixed(2)} |`);
console.log(`| after / before | ${out.ratio.push} | ${out.ratio.read} |`);
console.log(`\nEvery round (label, push s, read s):\n${rows.map((r) => r.join(" ")).join("\n")}`);
EOF
