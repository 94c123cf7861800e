#!/usr/bin/env bash
# `npm pack` and `npm publish` run this first (package.json's prepack):
# - a clean build of what the package ships: dist/ emptied (but for the Action's committed bundle,
#   which the package does not ship) and rebuilt from src/, so no stale file of an older build
#   lands in the tarball;
# - npm-shrinkwrap.json, a copy of package-lock.json: `npm install -g` and `npx` then install
#   exactly the dependency versions the tests ran with (a tarball's package-lock.json is ignored).
#   postpack removes it again.
set -euo pipefail
cd "$(dirname "$0")/.."
find dist -mindepth 1 -maxdepth 1 ! -name action -exec rm -rf {} +
npm run --silent build
cp package-lock.json npm-shrinkwrap.json
