#!/usr/bin/env bash
# npm run demo: Herald end to end on this machine. Installs and starts the real servers if they
# are not up, builds and starts the four services, shows that each is ready, then stops
# everything it started (servers it found running are left running).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
LOGS="$ROOT/.herald/logs"
mkdir -p "$LOGS"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

[ -d node_modules ] || { say "Installing npm dependencies"; npm ci --no-audit --no-fund; }

servers_were_up=0
if bash scripts/infra.sh status >/dev/null 2>&1; then servers_were_up=1; fi
pids=()
cleanup() {
  say "Stopping the services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$servers_were_up" = 0 ]; then
    say "Stopping the servers this demo started"
    bash scripts/infra.sh down
  fi
}
trap cleanup EXIT

say "Starting Kafka, the schema registry and MongoDB (first run downloads and builds them)"
bash scripts/infra.sh up
eval "$(bash scripts/infra.sh env)"

say "Building the services"
npm run --silent build >"$LOGS/build.log" 2>&1 || { tail -n 40 "$LOGS/build.log"; exit 1; }

declare -A ports=([ingest]=3000 [projector]=3001 [sender]=3002 [status-checker]=3003)
say "Starting the services (logs in .herald/logs/<service>.log)"
for service in ingest sender status-checker projector; do
  node "dist/apps/$service/main.js" >"$LOGS/$service.log" 2>&1 &
  pids+=("$!")
done

for service in ingest sender status-checker projector; do
  port="${ports[$service]}"
  deadline=$((SECONDS + 90))
  until curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$service did not become ready; last lines of $LOGS/$service.log:" >&2
      tail -n 30 "$LOGS/$service.log" >&2
      exit 1
    fi
    sleep 0.5
  done
done

say "Herald is up"
printf '%-16s %-6s %-32s %s\n' SERVICE PORT READY CHECKS
for service in ingest sender status-checker projector; do
  port="${ports[$service]}"
  body="$(curl -fsS "http://127.0.0.1:$port/health/ready")"
  node -e '
    const [service, port, body] = process.argv.slice(1);
    const r = JSON.parse(body);
    const checks = Object.entries(r.checks).map(([k, v]) => `${k}=${v.status}`).join(" ");
    console.log(`${service.padEnd(16)} ${port.padEnd(6)} ${`${r.status} (GET /health/ready)`.padEnd(32)} ${checks}`);
  ' "$service" "$port" "$body"
done
