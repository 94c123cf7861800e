#!/usr/bin/env bash
# What the benchmarks need besides Nix: Debian's nginx (the static-cache peer, WebDAV for PUT) and
# GNU time (CPU time and peak RSS). Installed when missing (needs root); safe to run repeatedly.
set -euo pipefail
missing=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-bench: missing ${missing[*]} and not root; install them (Debian) first" >&2
    exit 1
  fi
  echo "setup-bench: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi
