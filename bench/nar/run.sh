#!/usr/bin/env bash
# Times `nixcache nar dump X | cat > /dev/null` against `nix-store --dump X | cat > /dev/null` in the
# same run (through a pipe, as NARs are used: /dev/null alone hides a writer that cannot keep up),
# on a 1 GiB file and on a tree of 50,000 small files; reports median wall time, the ratio, and
# peak RSS (GNU time's %M). Writes bench/nar/RESULTS.md.
#   bash bench/nar/run.sh            # 5 repetitions each
#   REPS=9 bash bench/nar/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-5}
OUT=bench/out/nar
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: GNU time is missing: apt-get install -y time" >&2; exit 1; }
command -v nix-store >/dev/null || { echo "bench: nix-store is missing" >&2; exit 1; }
[ -f dist/cli/main.js ] || npm run --silent build

mkdir -p "$OUT"
if [ ! -f "$OUT/big" ]; then
  echo "bench: generating a 1 GiB file" >&2
  head -c 1073741824 /dev/urandom >"$OUT/big.tmp" && mv "$OUT/big.tmp" "$OUT/big"
fi
if [ ! -d "$OUT/small" ]; then
  echo "bench: generating 50,000 small files" >&2
  rm -rf "$OUT/small.tmp"
  node --import tsx bench/nar/gen.ts "$OUT/small.tmp" 50000
  mv "$OUT/small.tmp" "$OUT/small"
fi

# Correctness first: a fast wrong answer is no result.
for x in big small; do
  a=$(bin/nixcache nar dump "$OUT/$x" | sha256sum)
  b=$(nix-store --dump "$OUT/$x" | sha256sum)
  [ "$a" = "$b" ] || { echo "bench: nixcache nar dump $x differs from nix-store --dump" >&2; exit 1; }
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# One measurement: "seconds maxrss_kb", of the command writing into a pipe that `cat` drains.
measure() { "$TIME" -f "%e %M" -o "$OUT/time.txt" "$@" | cat >/dev/null; cat "$OUT/time.txt"; }

declare -A T M
for x in big small; do
  nix-store --dump "$OUT/$x" >/dev/null # warm the page cache
  : >"$OUT/ours.txt"
  : >"$OUT/nix.txt"
  : >"$OUT/enc.txt"
  for _ in $(seq "$REPS"); do
    # Interleaved, so drift in machine load hits both sides alike.
    measure bin/nixcache nar dump "$OUT/$x" >>"$OUT/ours.txt"
    measure nix-store --dump "$OUT/$x" >>"$OUT/nix.txt"
    measure node bench/nar/encoder-only.mjs "$OUT/$x" >>"$OUT/enc.txt"
  done
  T[$x-ours]=$(cut -d' ' -f1 "$OUT/ours.txt" | median)
  T[$x-nix]=$(cut -d' ' -f1 "$OUT/nix.txt" | median)
  M[$x-ours]=$(cut -d' ' -f2 "$OUT/ours.txt" | sort -n | tail -1)
  M[$x-nix]=$(cut -d' ' -f2 "$OUT/nix.txt" | sort -n | tail -1)
  T[$x-enc]=$(cut -d' ' -f1 "$OUT/enc.txt" | median)
  M[$x-enc]=$(cut -d' ' -f2 "$OUT/enc.txt" | sort -n | tail -1)
done
: >"$OUT/startup.txt"
for _ in $(seq "$REPS"); do measure bin/nixcache --version >>"$OUT/startup.txt"; done
startup=$(cut -d' ' -f1 "$OUT/startup.txt" | median)

row() {
  local x=$1 label=$2 who=${3:-ours}
  awk -v l="$label" -v o="${T[$x-$who]}" -v n="${T[$x-nix]}" -v mo="${M[$x-$who]}" -v mn="${M[$x-nix]}" \
    'BEGIN { printf "| %s | %.3f s | %.3f s | %.2f× | %.0f MB | %.0f MB |\n", l, o, n, (n > 0 ? o / n : 0), mo / 1024, mn / 1024 }'
}
{
  echo "# NAR dump benchmark"
  echo
  echo "\`nixcache nar dump X | cat > /dev/null\` vs \`nix-store --dump X | cat > /dev/null\`, same run, median of $REPS"
  echo "interleaved runs, warm page cache; peak RSS is the maximum over the runs (GNU time %M)."
  echo "Machine: $(nproc) cores, $(node --version), $(nix-store --version), $(date -u +%Y-%m-%d), load average at the end: $(cut -d" " -f1-3 /proc/loadavg)."
  echo
  echo "| input | nixcache | nix-store | ratio | nixcache peak RSS | nix-store peak RSS |"
  echo "|---|---|---|---|---|---|"
  row big "1 GiB file"
  row small "50,000 small files"
  row big "1 GiB file, encoder only" enc
  row small "50,000 small files, encoder only" enc
  echo
  echo "CLI start-up alone (\`nixcache --version\`, median): ${startup} s — included in the nixcache rows."
  echo "\"encoder only\" runs bench/nar/encoder-only.mjs: node + dist/nix/nar-encode.js without the CLI."
  echo
  echo "Rerun: \`bash bench/nar/run.sh\` (REPS=n for more repetitions; inputs are kept in bench/out/nar)."
} >bench/nar/RESULTS.md
npx biome format --write bench/nar/RESULTS.md >/dev/null 2>&1 || true
cat bench/nar/RESULTS.md
