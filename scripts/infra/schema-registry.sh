#!/usr/bin/env bash
# Confluent-compatible Schema Registry as a local process: Apicurio Registry with KafkaSQL storage
# (every write goes to a Kafka topic; the registry's in-memory database is rebuilt from that topic
# on start), from the distribution that Apicurio publishes on Maven Central.
#
#   scripts/infra/schema-registry.sh install|start|stop|status|url
#
# Clients use the Confluent API under a path prefix, not at the root:
#   SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7     (`... url` prints it)
# e.g. new SchemaRegistry({ host: SCHEMA_REGISTRY_URL }) with @kafkajs/confluent-schema-registry.
#
# Why not Karapace: it is not published on PyPI (pip: "from versions: none" for every Python
# version; the simple index 404s), and no other reachable registry carries it.
# Why Apicurio 3.0.9: newest release whose distribution runs on Java 17 (3.3.x is compiled for
# Java 21, which Debian 12 does not package), and Maven Central serves its prebuilt
# "-all.tar.gz". Maven itself cannot fetch it here: the artifact's parent POM
# (io.apicurio:apicurio-registry:3.0.9) is missing from the reachable Maven Central, so `mvn
# dependency:copy` fails on the descriptor; we download the file by its Maven coordinates and
# check it against a pinned SHA-256 instead.
#
# Environment:
#   KAFKA_BROKERS                 Kafka bootstrap servers                 (default 127.0.0.1:$KAFKA_PORT, 9092)
#   SCHEMA_REGISTRY_PORT          HTTP port on 127.0.0.1                  (default 8081)
#   SCHEMA_REGISTRY_COMPATIBILITY global compatibility applied when none is stored yet
#                                 (default BACKWARD; a level set via PUT /config survives restarts)
#   SCHEMA_REGISTRY_TOPIC         KafkaSQL journal topic                  (default _apicurio_kafkasql_journal)
#   SCHEMA_REGISTRY_HEAP_OPTS     JVM heap flags                          (default -Xms128m -Xmx512m)
#   SCHEMA_REGISTRY_JVM_OPTS      extra JVM flags (e.g. -Dquarkus.http.access-log.enabled=true)
#   SCHEMA_REGISTRY_START_TIMEOUT seconds to wait for readiness           (default 90)
#   MAVEN_CENTRAL_URL             Maven Central base URL                  (default https://repo1.maven.org/maven2)
#   JAVA_HOME                     JDK/JRE to use (default: java on PATH); Java 17+ required
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=schema-registry
APICURIO_VERSION=3.0.9
# sha256 of io.apicurio:apicurio-registry-app:3.0.9:all@tar.gz (Maven Central's .sha1 agrees).
APICURIO_SHA256=2b28181501a20cbf6efcd77f9b7153908fc01f3d3a7c32024c0bd9e1b04c8a43
# Debian packages the install needs: a Java 17 runtime, plus curl/tar for the download. Nothing
# is compiled. Installed by `install` only when missing and only as root (CI runs as root).
SCHEMA_REGISTRY_APT_PACKAGES="openjdk-17-jre-headless curl ca-certificates"

MAVEN_CENTRAL_URL="${MAVEN_CENTRAL_URL:-https://repo1.maven.org/maven2}"
KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
SR_HOST=127.0.0.1
SR_PORT="${SCHEMA_REGISTRY_PORT:-8081}"
SR_COMPATIBILITY="${SCHEMA_REGISTRY_COMPATIBILITY:-BACKWARD}"
SR_TOPIC="${SCHEMA_REGISTRY_TOPIC:-_apicurio_kafkasql_journal}"
SR_HEAP_OPTS="${SCHEMA_REGISTRY_HEAP_OPTS:--Xms128m -Xmx512m}"
SR_JVM_OPTS="${SCHEMA_REGISTRY_JVM_OPTS:-}"
SR_START_TIMEOUT="${SCHEMA_REGISTRY_START_TIMEOUT:-90}"

SR_ROOT="http://$SR_HOST:$SR_PORT"
SR_URL="$SR_ROOT/apis/ccompat/v7"
SR_CT="Content-Type: application/vnd.schemaregistry.v1+json"

APICURIO_HOME="$HERALD_CACHE/apicurio-registry-$APICURIO_VERSION"
APICURIO_DIST="$APICURIO_HOME/dist"
APICURIO_JAR="$APICURIO_DIST/apicurio-registry-app-$APICURIO_VERSION-runner.jar"
APICURIO_MARKER="$APICURIO_HOME/.installed"
SR_WORK_DIR="$DATA_DIR/schema-registry"

fail_plain() { echo "[infra] ERROR: $NAME: $*" >&2; exit 1; }

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1
}

java_ok() {
  local java; java="$(java_bin)" && [ "$(java_major "$java")" -ge 17 ] 2>/dev/null
}

# Installs the missing SCHEMA_REGISTRY_APT_PACKAGES, skipping what is already usable from
# elsewhere (a Java 17+ from JAVA_HOME or another package, a curl on PATH).
ensure_apt_packages() {
  local todo=() pkg
  command -v dpkg >/dev/null 2>&1 || return 0
  for pkg in $SCHEMA_REGISTRY_APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 && continue
    case "$pkg" in
      openjdk-*) java_ok && continue ;;
      curl) command -v curl >/dev/null 2>&1 && continue ;;
    esac
    todo+=("$pkg")
  done
  [ "${#todo[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    fail_plain "missing Debian packages: ${todo[*]} (run: sudo apt-get install -y ${todo[*]})"
  fi
  log "apt-get installing: ${todo[*]}"
  apt-get update -qq >>"$LOG_DIR/$NAME-install.log" 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${todo[@]}" \
    >>"$LOG_DIR/$NAME-install.log" 2>&1 \
    || fail_with_log "$NAME-install" "apt-get install ${todo[*]} failed"
}

install_fingerprint() { echo "apicurio-registry-app=$APICURIO_VERSION sha256=$APICURIO_SHA256"; }

is_installed() {
  [ -f "$APICURIO_MARKER" ] && [ "$(cat "$APICURIO_MARKER")" = "$(install_fingerprint)" ] \
    && [ -f "$APICURIO_JAR" ]
}

cmd_install() {
  if is_installed; then
    log "apicurio registry $APICURIO_VERSION already installed in $APICURIO_DIST"
    return 0
  fi
  ensure_apt_packages
  java_ok || fail_plain "Java 17+ is required (set JAVA_HOME or put java on PATH)"

  mkdir -p "$APICURIO_HOME"
  exec 8>"$APICURIO_HOME/.install.lock"
  flock 8
  if is_installed; then flock -u 8; log "apicurio registry $APICURIO_VERSION already installed"; return 0; fi

  local url="$MAVEN_CENTRAL_URL/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  local tgz="$APICURIO_HOME/download.tar.gz.$$" tmp="$APICURIO_HOME/dist.tmp.$$"
  local install_log="$LOG_DIR/$NAME-install.log"
  : >"$install_log"
  log "installing apicurio registry $APICURIO_VERSION from Maven Central into $APICURIO_DIST"
  rm -rf "$tgz" "$tmp"
  if ! curl -fsSL --retry 5 --retry-delay 2 --connect-timeout 30 -o "$tgz" "$url" >>"$install_log" 2>&1; then
    rm -f "$tgz"; flock -u 8
    fail_with_log "$NAME-install" "download failed: $url"
  fi
  local got; got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  if [ "$got" != "$APICURIO_SHA256" ]; then
    rm -f "$tgz"; flock -u 8
    fail_plain "checksum mismatch for $url: got $got, want $APICURIO_SHA256"
  fi
  mkdir -p "$tmp"
  if ! tar -xzf "$tgz" -C "$tmp" >>"$install_log" 2>&1 || [ ! -f "$tmp/$(basename "$APICURIO_JAR")" ]; then
    rm -rf "$tgz" "$tmp"; flock -u 8
    fail_with_log "$NAME-install" "could not unpack $tgz"
  fi
  rm -f "$tgz"
  rm -rf "$APICURIO_DIST"
  mv "$tmp" "$APICURIO_DIST"
  install_fingerprint >"$APICURIO_MARKER"
  flock -u 8
  log "apicurio registry $APICURIO_VERSION installed ($(du -sh "$APICURIO_DIST" | cut -f1))"
}

kafka_reachable() {
  local b host port brokers
  IFS=',' read -r -a brokers <<<"$KAFKA_BROKERS"
  for b in "${brokers[@]}"; do
    b="${b// /}"; b="${b#*://}"
    host="${b%:*}"; port="${b##*:}"
    [ -n "$host" ] && [ -n "$port" ] && tcp_open "$host" "$port" && return 0
  done
  return 1
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }

# Ready = the Confluent API answers reads AND a write goes through the Kafka journal. The write
# sets the global compatibility: to SCHEMA_REGISTRY_COMPATIBILITY if no global rule is stored yet,
# otherwise to the stored level again (a no-op that still round-trips through Kafka).
# Not done with Apicurio's own default (-Dapicurio.rules.global.compatibility=...): in 3.0.9 that
# default is enforced but GET /config still answers NONE and PUT /config NONE then fails.
# Apicurio stores "NONE" by deleting the rule, so a global NONE set by a client becomes
# SCHEMA_REGISTRY_COMPATIBILITY again at the next start.
registry_ready() {
  [ "$(http_code "$SR_URL/subjects")" = 200 ] || return 1
  local level="$SR_COMPATIBILITY" rules
  rules="$(curl -sf --max-time 5 "$SR_ROOT/apis/registry/v3/admin/rules")" || return 1
  if [[ "$rules" == *COMPATIBILITY* ]]; then
    level="$(curl -sf --max-time 5 "$SR_URL/config" | sed -n 's/.*"compatibilityLevel" *: *"\([A-Z_]*\)".*/\1/p')"
    [ -n "$level" ] || return 1
  fi
  [ "$(http_code -X PUT -H "$SR_CT" --data "{\"compatibility\":\"$level\"}" "$SR_URL/config")" = 200 ]
}

cmd_start() {
  if is_running "$NAME"; then
    log "schema registry already running (pid $(pid_of "$NAME")) at $SR_URL"
    return 0
  fi
  cmd_install
  local java; java="$(java_bin)" || fail_plain "java not found"
  kafka_reachable || fail_plain "Kafka is not reachable at $KAFKA_BROKERS (the schema registry stores its data in Kafka): start it first with 'bash scripts/infra/kafka.sh start', or set KAFKA_BROKERS"
  if tcp_open "$SR_HOST" "$SR_PORT"; then
    fail_plain "port $SR_HOST:$SR_PORT is already in use: $(ss -ltnp "( sport = :$SR_PORT )" 2>/dev/null | tail -n +2 | head -n2)"
  fi

  mkdir -p "$SR_WORK_DIR"
  touch "$LOG_DIR/$NAME.log"
  local started=$SECONDS
  # Loopback only (HTTP and the Quarkus management interface). Topics are created by the
  # registry itself; the journal keeps everything forever (retention.ms=-1), like _schemas.
  # shellcheck disable=SC2086  # heap/JVM opts are intentionally word-split
  start_bg "$NAME" env -C "$SR_WORK_DIR" "$java" \
    $SR_HEAP_OPTS -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dherald.service=schema-registry \
    -Dquarkus.http.host="$SR_HOST" -Dquarkus.http.port="$SR_PORT" \
    -Dquarkus.management.host="$SR_HOST" \
    -Dquarkus.http.access-log.enabled=false \
    -Dquarkus.log.console.format='%d{yyyy-MM-dd HH:mm:ss,SSS} %p [%c{2.}] (%t) %m%n' \
    -Dapicurio.storage.kind=kafkasql \
    -Dapicurio.kafkasql.bootstrap.servers="$KAFKA_BROKERS" \
    -Dapicurio.kafkasql.topic="$SR_TOPIC" \
    -Dapicurio.kafkasql.topic.retention.ms=-1 \
    -Dapicurio.kafkasql.snapshots.topic=_apicurio_kafkasql_snapshots \
    -Dapicurio.events.kafka.topic=_apicurio_registry_events \
    -Dapicurio.events.kafka.config.bootstrap.servers="$KAFKA_BROKERS" \
    -Dapicurio.storage.snapshot.location="$SR_WORK_DIR" \
    $SR_JVM_OPTS \
    -jar "$APICURIO_JAR"
  log "schema registry starting (pid $(pid_of "$NAME")), waiting up to ${SR_START_TIMEOUT}s"
  # wait_until exits on failure; run it in a subshell so a registry that never became ready is
  # stopped instead of being left behind.
  if ! (wait_until "$NAME" "$SR_START_TIMEOUT" registry_ready); then
    stop_bg "$NAME" 10
    exit 1
  fi
  log "schema registry (Apicurio $APICURIO_VERSION) ready at $SR_URL (pid $(pid_of "$NAME"), $((SECONDS - started))s)"
}

cmd_stop() {
  if ! is_running "$NAME"; then
    rm -f "$PID_DIR/$NAME.pid"
    log "schema registry not running"
    return 0
  fi
  stop_bg "$NAME" 30
}

cmd_status() {
  if is_running "$NAME"; then
    echo "$NAME: running (pid $(pid_of "$NAME")) on $SR_HOST:$SR_PORT (Confluent API: $SR_URL)"
    return 0
  fi
  echo "$NAME: stopped"
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) echo "$SR_URL" ;;
  *)
    echo "usage: $0 install|start|stop|status|url" >&2
    exit 2
    ;;
esac
