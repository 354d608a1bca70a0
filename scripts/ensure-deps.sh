#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than package-lock.json,
# so that each of the README's commands (npm test, npm run demo) works by itself on a fresh
# clone. Uses nothing from node_modules, since it runs before they exist.
set -euo pipefail
cd "$(dirname "$0")/.."
installed=node_modules/.package-lock.json # npm writes it at every install
if [ ! -f "$installed" ] || [ package-lock.json -nt "$installed" ]; then
  echo "Installing npm dependencies (npm ci): node_modules is missing or older than package-lock.json"
  npm ci --no-audit --no-fund
fi
