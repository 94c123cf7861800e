#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benchmarks (no systemd, no system cluster):
#   scripts/postgres.sh start DIR [PORT]   initialises DIR/data, starts it, prints its URL on stdout
#                                          (PG_SERVER_OPTS: more server options, e.g. "-c shared_buffers=1GB")
#   scripts/postgres.sh stop DIR           stops it at once (pg_ctl -m immediate)
# Trust authentication on 127.0.0.1 and a socket in DIR only: never for anything but a scratch server.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

[ -x "$PG_BIN/pg_ctl" ] ||
  die "PostgreSQL is not installed ($PG_BIN/pg_ctl missing): apt-get install -y postgresql (or set PG_BIN)"

# The server refuses to run as root: run its commands as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user to run PostgreSQL as (is the postgresql package installed?)"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: postgres.sh start DIR [PORT] | postgres.sh stop DIR"

case "$cmd" in
start)
  port=${3:-$(free_port)}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # postgres must reach DIR (mktemp -d makes 0700) and own it: it writes data, log and socket there.
  chmod 0755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U nixcache >"$dir/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -n 5 "$dir/initdb.log")"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -o "-k $dir -p $port -c listen_addresses=127.0.0.1 ${PG_SERVER_OPTS:-}" \
    -l "$dir/log" start -w >/dev/null ||
    die "PostgreSQL did not start on port $port: $(tail -n 5 "$dir/log" 2>/dev/null)"
  echo "postgres://nixcache@127.0.0.1:$port/postgres"
  ;;
stop)
  [ -d "$dir/data" ] || die "no PostgreSQL data directory in $dir"
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
  ;;
*)
  die "unknown command $cmd (start or stop)"
  ;;
esac
