#!/usr/bin/env bash
# nixcache verify vs the shell loop it replaces (14 and 500 targets), and closure verification vs
# `nix path-info -r --store URL`, same run, same local HTTP cache. Writes the table to stdout.
# Usage: bench/verify/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false'
bash scripts/setup-bench.sh
npm run --silent build
node --import tsx bench/verify/bench.ts
