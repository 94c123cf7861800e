#!/usr/bin/env bash
# Makes a real browser available for the dashboard tests (test/server/ui/dashboard.test.ts): installs Debian's
# chromium when /usr/bin/chromium is missing (needs root). playwright-core drives it and never
# downloads a browser of its own. Safe to run repeatedly.
set -euo pipefail
browser=${NIXCACHE_TEST_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$browser" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-browser: $browser is missing and we are not root; install chromium (Debian) first" >&2
    exit 1
  fi
  echo "setup-browser: installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
"$browser" --version >&2 2>/dev/null || true
