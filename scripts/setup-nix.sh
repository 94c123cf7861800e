#!/usr/bin/env bash
# Makes real Nix available for the conformance and interop tests: installs Debian's nix-bin when
# `nix` is missing (needs root) and enables flakes; installs Debian's age for the agenix tests.
# Safe to run repeatedly.
set -euo pipefail
if ! command -v nix >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-nix: nix is not installed and we are not root; install nix-bin (Debian) first" >&2
    exit 1
  fi
  echo "setup-nix: installing Debian's nix-bin" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nix-bin >/dev/null
fi
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p /etc/nix
  conf=/etc/nix/nix.conf
  touch "$conf"
  grep -q '^experimental-features' "$conf" || echo 'experimental-features = nix-command flakes' >>"$conf"
fi
# age (the Go implementation, Debian's package) is the oracle the agenix tests encrypt with.
if ! command -v age >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "setup-nix: installing Debian's age" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq age >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq age >/dev/null; }
fi
nix --version >&2
