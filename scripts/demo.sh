#!/usr/bin/env bash
# npm run demo: Herald's main job end to end on this machine. Installs and starts the real
# servers if they are not up, builds (when the sources changed) and starts the four services
# and the provider simulator, with every provider (SendGrid, SMTP, Twilio, Slack, FCM, APNs)
# pointed at the simulator through throwaway credentials. scripts/demo.mjs then sends messages
# that take different paths (webhooks: instant success, retries, Retry-After, giving up,
# not_sent, rejected; then one per channel: SMS and email confirmed by status checks, a bounce,
# chat, push, a bad device token, in-app), waits for their final statuses and prints them.
# On exit it stops the services and the simulator, and the servers it started (servers it
# found running are left running).
#
# Every port is overridable, so the demo can run beside another Herald:
#   HERALD_RUN_DIR=/tmp/demo-run KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 \
#   SCHEMA_REGISTRY_PORT=18081 MONGODB_PORT=27018 INGEST_PORT=13000 PROJECTOR_PORT=13001 \
#   SENDER_PORT=13002 STATUS_CHECKER_PORT=13003 PROVIDER_SIM_PORT=14010 \
#   PROVIDER_SIM_APNS_PORT=14011 PROVIDER_SIM_SMTP_PORT=12525 npm run demo
# The simulator's PROVIDER_SIM_PORT serves the HTTP providers and webhooks; APNs (cleartext
# HTTP/2) and SMTP have their own listeners, on PROVIDER_SIM_APNS_PORT (default 4011) and
# PROVIDER_SIM_SMTP_PORT (default 2525).
# HERALD_RUN_DIR holds the servers' data, pids and logs, the services' logs, and the simulator's
# throwaway provider credentials in sim-credentials/ (default .herald).
# HERALD_TIME_SCALE (default 0.005) shrinks every retry delay: Knock's 30 minutes take 9 s.
# HERALD_DEMO_BUILD=1 rebuilds every app, =0 never builds (default: the apps whose sources
# changed); HERALD_DEMO_KEEP=1 keeps everything running until
# Enter or Ctrl-C (the default in a terminal), HERALD_DEMO_KEEP=0 stops right away.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
export SCHEMA_REGISTRY_PORT="${SCHEMA_REGISTRY_PORT:-8081}"
export MONGODB_PORT="${MONGODB_PORT:-27017}"
export INGEST_PORT="${INGEST_PORT:-3000}"
export PROJECTOR_PORT="${PROJECTOR_PORT:-3001}"
export SENDER_PORT="${SENDER_PORT:-3002}"
export STATUS_CHECKER_PORT="${STATUS_CHECKER_PORT:-3003}"
export PROVIDER_SIM_PORT="${PROVIDER_SIM_PORT:-4010}"
export PROVIDER_SIM_APNS_PORT="${PROVIDER_SIM_APNS_PORT:-4011}"
export PROVIDER_SIM_SMTP_PORT="${PROVIDER_SIM_SMTP_PORT:-2525}"
export HERALD_TIME_SCALE="${HERALD_TIME_SCALE:-0.005}"
mkdir -p "${HERALD_RUN_DIR:-$ROOT/.herald}"
HERALD_RUN_DIR="$(cd "${HERALD_RUN_DIR:-$ROOT/.herald}" && pwd)"
export HERALD_RUN_DIR
LOGS="$HERALD_RUN_DIR/logs"
mkdir -p "$LOGS"

# Docker Compose publishes the default ports only, so any other server port means local servers.
mode="${HERALD_INFRA_MODE:-}"
defaults="9092 9093 8081 27017"
if [ "$KAFKA_PORT $KAFKA_CONTROLLER_PORT $SCHEMA_REGISTRY_PORT $MONGODB_PORT" != "$defaults" ]; then
  [ "$mode" != docker ] || die "HERALD_INFRA_MODE=docker runs the servers on their default ports only; unset KAFKA_PORT, KAFKA_CONTROLLER_PORT, SCHEMA_REGISTRY_PORT and MONGODB_PORT"
  mode=local
fi
if [ -z "$mode" ]; then
  if docker info >/dev/null 2>&1; then mode=docker; else mode=local; fi
fi
export HERALD_INFRA_MODE="$mode"

# Where the services (and the schema registry, which keeps its schemas in Kafka) find the servers.
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export MONGODB_URI="mongodb://127.0.0.1:$MONGODB_PORT/herald"
if [ "$mode" = docker ]; then
  export SCHEMA_REGISTRY_URL="http://127.0.0.1:$SCHEMA_REGISTRY_PORT"
else
  export SCHEMA_REGISTRY_URL="http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The demo's own processes need free ports; say which variable moves one.
declare -A ports=([ingest]="$INGEST_PORT" [projector]="$PROJECTOR_PORT" [sender]="$SENDER_PORT"
  [status-checker]="$STATUS_CHECKER_PORT" [provider-sim]="$PROVIDER_SIM_PORT")
apps=(provider-sim ingest sender status-checker projector)
for check in "provider-sim:PROVIDER_SIM_PORT" "provider-sim's APNs listener:PROVIDER_SIM_APNS_PORT" \
  "provider-sim's SMTP listener:PROVIDER_SIM_SMTP_PORT" ingest:INGEST_PORT sender:SENDER_PORT \
  status-checker:STATUS_CHECKER_PORT projector:PROJECTOR_PORT; do
  what="${check%:*}" var="${check##*:}"
  if port_open "${!var}"; then
    die "port ${!var} ($var, for $what) is already in use, maybe by another Herald; choose another with $var=..."
  fi
done

[ -d node_modules ] || { say "Installing npm dependencies"; npm ci --no-audit --no-fund; }

# Which servers were already running, so that exactly the others are stopped at the end.
servers=(kafka ferretdb schema-registry)
declare -A was_up=()
if [ "$mode" = local ]; then
  for server in "${servers[@]}"; do
    if bash "scripts/infra/$server.sh" status >/dev/null 2>&1; then was_up[$server]=1; fi
  done
else
  if bash scripts/infra.sh status >/dev/null 2>&1; then was_up[all]=1; fi
fi

pids=()
keeper=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$keeper" ] || kill "$keeper" 2>/dev/null || true
  if [ "${#pids[@]}" -gt 0 ]; then
    say "Stopping the services and the simulator"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    local waited=0
    for pid in "${pids[@]}"; do
      while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
  fi
  if [ "$mode" = local ]; then
    local started=()
    for server in schema-registry ferretdb kafka; do
      [ -n "${was_up[$server]:-}" ] || started+=("$server")
    done
    if [ "${#started[@]}" -gt 0 ]; then
      say "Stopping the servers this demo started (${started[*]})"
      for server in "${started[@]}"; do bash "scripts/infra/$server.sh" stop || true; done
    fi
  elif [ -z "${was_up[all]:-}" ]; then
    say "Stopping the servers this demo started"
    bash scripts/infra.sh down || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "Starting Kafka, the schema registry and MongoDB (first run downloads and builds them)"
# infra.sh's closing "Point Herald at them" lines name the default ports; the demo sets its own.
bash scripts/infra.sh up | sed -e '/^  export /d' -e 's/ Point Herald at them with:$//'
for check in "Kafka:$KAFKA_PORT" "schema registry:$SCHEMA_REGISTRY_PORT" "MongoDB:$MONGODB_PORT"; do
  port_open "${check##*:}" || die "${check%:*} does not answer on 127.0.0.1:${check##*:}; servers already running from $HERALD_RUN_DIR may use other ports (give the demo its own HERALD_RUN_DIR when you change server ports)"
done

# Builds an app only when its bundle is missing or older than a source it is built from
# (HERALD_DEMO_BUILD=1: always, =0: never, e.g. while something else is writing dist/).
stale() {
  local app="$1" dir=apps
  [ "$app" != provider-sim ] || dir=tools
  local out="dist/$dir/$1/main.js" inputs=("$dir/$1" package-lock.json tsconfig.json nest-cli.json)
  case "${HERALD_DEMO_BUILD:-auto}" in
    1) return 0 ;;
    0) [ -f "$out" ] || die "$out is missing and HERALD_DEMO_BUILD=0 forbids building it"; return 1 ;;
  esac
  [ -f "$out" ] || return 0
  if grep -rqs '@herald/' "$dir/$app/src"; then inputs+=(libs); fi
  [ -n "$(find "${inputs[@]}" -type f -newer "$out" -print -quit 2>/dev/null)" ]
}
to_build=()
for app in "${apps[@]}"; do
  if stale "$app"; then to_build+=("$app"); fi
done
if [ "${#to_build[@]}" -gt 0 ]; then
  say "Building ${to_build[*]} (log: $LOGS/build.log)"
  : >"$LOGS/build.log"
  for app in "${to_build[@]}"; do
    node_modules/.bin/nest build "$app" >>"$LOGS/build.log" 2>&1 || { tail -n 40 "$LOGS/build.log"; exit 1; }
  done
else
  say "Using the services already built in dist/ (HERALD_DEMO_BUILD=1 rebuilds them)"
fi

# Every provider pointed at the simulator, configured as a user would (HERALD_* variables and
# key files), with fresh credentials each run. The timeout only matters for a bundle built
# before the `env` subcommand existed (HERALD_DEMO_BUILD=0), which would start a server instead.
credentials="$HERALD_RUN_DIR/sim-credentials"
provider_env="$(timeout 60 node dist/tools/provider-sim/main.js env "$credentials")" ||
  die "dist/tools/provider-sim/main.js env failed; if its bundle predates the env subcommand, HERALD_DEMO_BUILD=1 rebuilds it"
eval "$provider_env"

say "Starting the provider simulator and the services (logs in $LOGS/<service>.log)"
for app in "${apps[@]}"; do
  dir=apps
  [ "$app" != provider-sim ] || dir=tools
  node "dist/$dir/$app/main.js" >"$LOGS/$app.log" 2>&1 &
  pids+=("$!")
done

i=0
for app in "${apps[@]}"; do
  pid="${pids[$i]}"; i=$((i + 1))
  deadline=$((SECONDS + 90))
  until curl -fsS "http://127.0.0.1:${ports[$app]}/health/ready" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      if kill -0 "$pid" 2>/dev/null; then echo "$app did not become ready within 90 s" >&2; else echo "$app exited" >&2; fi
      echo "last lines of $LOGS/$app.log:" >&2
      tail -n 30 "$LOGS/$app.log" >&2
      exit 1
    fi
    sleep 0.5
  done
done

say "Herald is up"
printf '  %-16s %-6s %-26s %s\n' SERVICE PORT READY CHECKS
for app in "${apps[@]}"; do
  body="$(curl -fsS "http://127.0.0.1:${ports[$app]}/health/ready")"
  node -e '
    const [app, port, body, apnsPort, smtpPort] = process.argv.slice(1);
    const r = JSON.parse(body);
    const checks = r.checks
      ? Object.entries(r.checks).map(([k, v]) => `${k}=${v.status}`).join(" ")
      : `(stands in for the providers; APNs on ${apnsPort}, SMTP on ${smtpPort})`;
    console.log(`  ${app.padEnd(16)} ${port.padEnd(6)} ${`${r.status} (GET /health/ready)`.padEnd(26)} ${checks}`);
  ' "$app" "${ports[$app]}" "$body" "$PROVIDER_SIM_APNS_PORT" "$PROVIDER_SIM_SMTP_PORT"
done
echo "  Kafka $KAFKA_BROKERS, schema registry $SCHEMA_REGISTRY_URL, MongoDB $MONGODB_URI"
echo "  Providers: all pointed at the simulator, throwaway credentials in $credentials"

HERALD_DEMO_LOG_DIR="$LOGS" node scripts/demo.mjs run

keep="${HERALD_DEMO_KEEP:-}"
if [ -z "$keep" ]; then
  if [ -t 0 ] && [ -t 1 ]; then keep=1; else keep=0; fi
fi
if [ "$keep" = 1 ]; then
  say "Herald stays up so you can try the commands above; press Enter (or Ctrl-C) to stop it."
  if [ -t 0 ]; then
    read -r _ || true
  else
    sleep infinity &
    keeper=$!
    wait "$keeper" || true
  fi
fi
