#!/usr/bin/env bash
# Installs the real engines the server's backend tests start (Debian packages, needs root when
# missing): PostgreSQL 15, OpenStack Swift with its s3api middleware, and memcached (Swift's
# token cache). Safe to run repeatedly; does nothing when all are present.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
command -v swift-proxy-server >/dev/null 2>&1 || need+=(swift swift-proxy)
command -v swift-object-server >/dev/null 2>&1 || need+=(swift-account swift-container swift-object)
command -v memcached >/dev/null 2>&1 || need+=(memcached)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-services: missing ${need[*]} and not root: install them (Debian packages) first" >&2
  exit 1
fi
echo "setup-services: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The packages' own services are not wanted (the tests start private instances): no autostart.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
