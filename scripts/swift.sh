#!/usr/bin/env bash
# A one-node OpenStack Swift with its s3api middleware, for tests and local trials of
# `--storage s3://…`: proxy (s3api + tempauth), account, container and object servers and a
# memcached, all under DIR (configs, rings, the device, logs, pidfiles), on free ports.
#
#   scripts/swift.sh start DIR [PORT]   prints the S3 endpoint http://127.0.0.1:PORT once healthy
#   scripts/swift.sh stop DIR           stops everything started in DIR
#   scripts/swift.sh stop-object DIR    stops only the object server (fault tests)
#   scripts/swift.sh start-object DIR   starts it again, once its ports are as before
#
# S3 credentials: access key test:tester, secret testing, region us-east-1, path-style.
# Needs Debian's swift, swift-proxy, swift-account, swift-container, swift-object and memcached.
set -euo pipefail

die() {
  echo "swift.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: swift.sh start DIR [PORT] | stop DIR | stop-object DIR | start-object DIR"
}

[ "$#" -ge 2 ] || usage
cmd=$1
dir=$2

# Ports the kernel hands out for port 0 are free right now; the rings are built with them.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

require_swift() {
  local missing=()
  for b in swift-proxy-server swift-account-server swift-container-server swift-object-server swift-ring-builder memcached; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    die "not installed: ${missing[*]} (Debian: apt-get install -y swift swift-proxy swift-account swift-container swift-object memcached)"
  fi
}

# Waits until server KIND answers OK at /healthcheck (30 s at most); fails at once when it exits.
wait_healthy() {
  local kind=$1 port=$2
  local pid
  pid=$(cat "$dir/run/$kind.pid")
  for _ in $(seq 300); do
    if [ "$(curl -s -m 2 "http://127.0.0.1:$port/healthcheck" 2>/dev/null || true)" = "OK" ]; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 5 "$dir/log/$kind.log" >&2 || true
      die "the $kind server exited (port $port in use?); its log is $dir/log/$kind.log"
    fi
    sleep 0.1
  done
  die "the $kind server on port $port did not become healthy; see $dir/log/$kind.log"
}

# Each server runs in its own session (setsid without fork: the background job is not a group
# leader), so its pid is its process group and `stop` ends it with every worker it forked.
start_server() {
  local kind=$1
  local conf="$dir/etc/$kind-server.conf"
  setsid "swift-$kind-server" "$conf" --verbose >>"$dir/log/$kind.log" 2>&1 </dev/null &
  echo $! >"$dir/run/$kind.pid"
}

stop_pid() {
  local pidfile=$1
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

write_configs() {
  local proxy=$1 account=$2 container=$3 object=$4 memcache=$5
  mkdir -p "$dir/etc" "$dir/srv/d1" "$dir/log" "$dir/run" "$dir/cache"
  cat >"$dir/etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = nixcache-test-prefix
swift_hash_path_suffix = nixcache-test-suffix

[storage-policy:0]
name = Policy-0
default = yes
EOF
  local common="[DEFAULT]
devices = $dir/srv
mount_check = false
bind_ip = 127.0.0.1
swift_dir = $dir/etc
workers = 1
user = root
log_name = swift
log_level = INFO
recon_cache_path = $dir/cache"
  local kind port app
  for kind in account container object; do
    case $kind in
      account) port=$account app=account ;;
      container) port=$container app=container ;;
      object) port=$object app=object ;;
    esac
    cat >"$dir/etc/$kind-server.conf" <<EOF
$common
bind_port = $port

[pipeline:main]
pipeline = healthcheck $kind-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$kind-server]
use = egg:swift#$app
EOF
  done
  # error_suppression_interval: a restarted object server is used again within a second (the
  # default 60 s would keep a fault test waiting a minute).
  cat >"$dir/etc/proxy-server.conf" <<EOF
$common
bind_port = $proxy

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
error_suppression_interval = 1
conn_timeout = 1
node_timeout = 10

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$memcache

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
EOF
  local ring
  for ring in account:$account container:$container object:$object; do
    local name=${ring%%:*} p=${ring##*:}
    (
      cd "$dir/etc"
      swift-ring-builder "$name.builder" create 8 1 1 >/dev/null
      swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$p/d1" 1 >/dev/null
      swift-ring-builder "$name.builder" rebalance >/dev/null
    )
  done
  echo "$proxy $account $container $object $memcache" >"$dir/ports"
}

ports() {
  [ -f "$dir/ports" ] || die "$dir holds no Swift started by this script"
  read -r proxy_port account_port container_port object_port memcache_port <"$dir/ports"
}

case $cmd in
  start)
    require_swift
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/run/proxy.pid" ] && kill -0 "$(cat "$dir/run/proxy.pid")" 2>/dev/null && die "a Swift is already running in $dir"
    read -r p1 p2 p3 p4 p5 <<<"$(free_ports 5)"
    write_configs "${3:-$p1}" "$p2" "$p3" "$p4" "$p5"
    ports
    setsid memcached -u root -l 127.0.0.1 -p "$memcache_port" -U 0 >>"$dir/log/memcached.log" 2>&1 </dev/null &
    echo $! >"$dir/run/memcached.pid"
    # A failed start leaves nothing running.
    trap 'for k in proxy object container account memcached; do stop_pid "$dir/run/$k.pid"; done' ERR EXIT
    for kind in account container object proxy; do start_server "$kind"; done
    wait_healthy account "$account_port"
    wait_healthy container "$container_port"
    wait_healthy object "$object_port"
    wait_healthy proxy "$proxy_port"
    trap - ERR EXIT
    echo "http://127.0.0.1:$proxy_port"
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd)
    for kind in proxy object container account memcached; do stop_pid "$dir/run/$kind.pid"; done
    ;;
  stop-object)
    dir=$(cd "$dir" && pwd)
    stop_pid "$dir/run/object.pid"
    ;;
  start-object)
    dir=$(cd "$dir" && pwd)
    ports
    stop_pid "$dir/run/object.pid"
    start_server object
    wait_healthy object "$object_port"
    ;;
  *) usage ;;
esac
