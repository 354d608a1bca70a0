#!/usr/bin/env bash
# npm run infra:up | infra:down | infra:status
#
# With a Docker engine: docker compose on docker-compose.yml (official images).
# Without one: Apache Kafka (KRaft), a Confluent-compatible schema registry and FerretDB as local processes on loopback,
# downloaded/built once into ~/.cache/herald, logging to .herald/logs/<server>.log.
# HERALD_INFRA_MODE=docker|local forces a mode.
set -euo pipefail
cd "$(dirname "$0")/.."

command="${1:-}"
case "$command" in up | down | status | env) ;; *)
  echo "usage: scripts/infra.sh up|down|status|env" >&2
  exit 2
  ;;
esac

mode="${HERALD_INFRA_MODE:-}"
if [ -z "$mode" ]; then
  if docker info >/dev/null 2>&1; then mode=docker; else mode=local; fi
fi

# `eval "$(scripts/infra.sh env)"` points Herald's services at the servers of this mode.
print_env() {
  echo "export KAFKA_BROKERS=127.0.0.1:${KAFKA_PORT:-9092}"
  if [ "$mode" = docker ]; then
    echo "export SCHEMA_REGISTRY_URL=http://127.0.0.1:${SCHEMA_REGISTRY_PORT:-8081}"
  else
    echo "export SCHEMA_REGISTRY_URL=$(bash scripts/infra/schema-registry.sh url)"
  fi
  echo "export MONGODB_URI=mongodb://127.0.0.1:${MONGODB_PORT:-27017}/herald"
  # A comment, not an export: the SASL listener is for trying authenticated clients, and these
  # variables would switch every service to it.
  echo "# SASL listener (local test credentials): KAFKA_BROKERS=127.0.0.1:${KAFKA_SASL_PORT:-9094}" \
    "KAFKA_SASL_MECHANISM=scram-sha-256 KAFKA_SASL_USERNAME=herald KAFKA_SASL_PASSWORD=herald-local-secret"
}
if [ "$command" = env ]; then
  print_env
  exit 0
fi

if [ "$mode" = docker ]; then
  case "$command" in
    up) exec docker compose up -d --wait ;;
    down) exec docker compose down ;;
    status) exec docker compose ps ;;
  esac
fi

# Local processes. The schema registry keeps its schemas in Kafka, so Kafka starts first and
# stops last.
servers_up=(kafka ferretdb schema-registry)
servers_down=(schema-registry ferretdb kafka)
case "$command" in
  up)
    start=$SECONDS
    for server in "${servers_up[@]}"; do bash "scripts/infra/$server.sh" start; done
    echo "[infra] all servers up in $((SECONDS - start))s (logs in ${HERALD_RUN_DIR:-.herald}/logs/). Point Herald at them with:"
    print_env | sed 's/^/  /'
    ;;
  down)
    for server in "${servers_down[@]}"; do bash "scripts/infra/$server.sh" stop; done
    ;;
  status)
    rc=0
    for server in "${servers_up[@]}"; do bash "scripts/infra/$server.sh" status || rc=3; done
    exit "$rc"
    ;;
esac
