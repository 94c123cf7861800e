#!/usr/bin/env bash
# Installs what the systemd tests (test/server/config/systemd.test.ts) run, without systemd as PID 1:
# systemd-analyze (verify the units), systemd-socket-activate (pass a listening socket),
# systemd-notify (what the server sends its notifications with) from Debian's systemd package,
# and python3 (the test's datagram socket that receives them). Needs root when something is
# missing; safe to run repeatedly; does nothing when all are present.
set -euo pipefail
need=()
for tool in systemd-analyze systemd-socket-activate systemd-notify; do
  command -v "$tool" >/dev/null 2>&1 || { need+=(systemd); break; }
done
command -v python3 >/dev/null 2>&1 || need+=(python3)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-systemd: missing ${need[*]} and not root: install them (Debian packages) first" >&2
  exit 1
fi
echo "setup-systemd: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Installed for its tools only: no service of the package is started here.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
