#!/usr/bin/env bash
# npm run demo [-- send | events [--from-beginning]]: Herald end to end on this machine. The demo
# itself is TypeScript, tools/demo/main.ts (its header lists the commands and variables); this
# only installs the npm dependencies first when they are missing or stale, since it runs on them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node -r ts-node/register/transpile-only -r tsconfig-paths/register tools/demo/main.ts "$@"
