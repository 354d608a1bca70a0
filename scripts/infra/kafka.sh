#!/usr/bin/env bash
# Apache Kafka (KRaft, single combined broker+controller) as a local process, from Maven Central jars.
#
#   scripts/infra/kafka.sh install|start|stop|status
#
# Environment:
#   KAFKA_VERSION          kafka_2.13 version to resolve (default below; newest 3.9.x on Maven Central)
#   KAFKA_PORT             client (PLAINTEXT) port on 127.0.0.1          (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1            (default 9093)
#   KAFKA_SASL_PORT        SASL_PLAINTEXT client port on 127.0.0.1       (default 9094)
#                          (user herald, password herald-local-secret; PLAIN, SCRAM-SHA-256/512)
#   KAFKA_HEAP_OPTS        JVM heap flags                                (default -Xms256m -Xmx1g)
#   KAFKA_JVM_OPTS         extra JVM flags appended to the java command line
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to accept clients (default 90)
#   HERALD_MAVEN_REPO      Maven local repository used by install       (default $HERALD_CACHE/m2)
#   JAVA_HOME              JDK/JRE to use (default: java on PATH); Java 11+ required, 17 recommended
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=kafka
KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
# A second client listener that requires SASL, for trying (and testing) authenticated clients.
# The credentials are fixed local test values, not secrets (the listener is on loopback only),
# and deliberately not read from KAFKA_SASL_USERNAME/PASSWORD: those are Herald's client
# settings, which may name a real cluster's user.
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
LOCAL_SASL_USERNAME=herald
LOCAL_SASL_PASSWORD=herald-local-secret
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_HOST=127.0.0.1

KAFKA_POM="$HERALD_ROOT/scripts/infra/kafka/pom.xml"
KAFKA_PROBE_SRC="$HERALD_ROOT/scripts/infra/kafka/KafkaReady.java"
KAFKA_HOME="$HERALD_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_PROBE="$KAFKA_HOME/probe"
KAFKA_MARKER="$KAFKA_HOME/.installed"
MAVEN_REPO="${HERALD_MAVEN_REPO:-$HERALD_CACHE/m2}"

KAFKA_CONF_DIR="$HERALD_RUN/kafka"
KAFKA_PROPS="$KAFKA_CONF_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_CONF_DIR/log4j.properties"
KAFKA_DATA="$DATA_DIR/kafka"
KAFKA_CLUSTER_ID_FILE="$DATA_DIR/kafka-cluster-id"

# Stricter than common.sh's is_running: a just-killed JVM lingers as a zombie until init reaps
# it (seconds on this kind of box), and a recycled pid must not count as our broker.
kafka_alive() {
  local pid; pid="$(pid_of "$NAME")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/stat" ] || return 0 # no procfs: trust kill -0
  local state; state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  grep -q 'kafka\.Kafka' < <(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
}

# What the marker records: a reinstall happens when the version, the pom or the probe changes.
install_fingerprint() {
  echo "kafka_2.13=$KAFKA_VERSION pom=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" \
    "probe=$(sha256sum "$KAFKA_PROBE_SRC" | cut -d' ' -f1)"
}

is_installed() {
  [ -f "$KAFKA_MARKER" ] && [ "$(cat "$KAFKA_MARKER")" = "$(install_fingerprint)" ] \
    && [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]
}

# Unlock and close fd 8 so the broker started later does not inherit it.
release_install_lock() {
  flock -u 8 || true
  exec 8>&-
  # A failed first install (e.g. a KAFKA_VERSION that does not exist) leaves nothing behind.
  [ -d "$KAFKA_LIBS" ] || rm -rf "$KAFKA_HOME"
}

cmd_install() {
  if is_installed; then
    log "kafka $KAFKA_VERSION already installed in $KAFKA_LIBS"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || fail_with_log kafka-install "mvn (Apache Maven 3.6.3+) is required to install Kafka"
  java_bin >/dev/null || fail_with_log kafka-install "java (11+, 17 recommended) is required"

  mkdir -p "$KAFKA_HOME"
  # Serialise concurrent installs of the same version (e.g. two `start`s at once).
  exec 8>"$KAFKA_HOME/.install.lock"
  flock 8
  if is_installed; then release_install_lock; log "kafka $KAFKA_VERSION already installed in $KAFKA_LIBS"; return 0; fi

  log "installing kafka_2.13 $KAFKA_VERSION from Maven Central into $KAFKA_LIBS (Maven repo: $MAVEN_REPO)"
  local tmp="$KAFKA_HOME/libs.tmp.$$" install_log="$LOG_DIR/kafka-install.log"
  rm -rf "$tmp"
  : >"$install_log"
  # -B/-ntp: no prompts, no progress bars; retries smooth over transient network errors.
  if ! mvn -B -ntp -Dstyle.color=never \
      -f "$KAFKA_POM" \
      -Dmaven.repo.local="$MAVEN_REPO" \
      -Dmaven.wagon.http.retryHandler.count=5 \
      -Dmaven.wagon.httpconnectionManager.ttlSeconds=120 \
      -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies \
      -DincludeScope=runtime \
      -DoutputDirectory="$tmp" >>"$install_log" 2>&1; then
    rm -rf "$tmp"
    release_install_lock
    fail_with_log kafka-install "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (does that version exist on Maven Central?)"
  fi
  if [ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    rm -rf "$tmp"
    release_install_lock
    fail_with_log kafka-install "kafka_2.13-$KAFKA_VERSION.jar missing after dependency resolution"
  fi
  # The readiness probe is compiled against the very kafka-clients jar the broker ships with.
  # Without a JDK (javac) start falls back to port + log-line readiness.
  rm -rf "$tmp.probe"
  if command -v javac >/dev/null 2>&1; then
    if ! javac -nowarn -d "$tmp.probe" -cp "$tmp/*" "$KAFKA_PROBE_SRC" >>"$install_log" 2>&1; then
      rm -rf "$tmp" "$tmp.probe"
      release_install_lock
      fail_with_log kafka-install "could not compile $KAFKA_PROBE_SRC"
    fi
  else
    log "javac not found: kafka start will not run the client readiness probe"
  fi
  rm -rf "$KAFKA_LIBS" "$KAFKA_PROBE"
  mv "$tmp" "$KAFKA_LIBS"
  if [ -d "$tmp.probe" ]; then mv "$tmp.probe" "$KAFKA_PROBE"; fi
  install_fingerprint >"$KAFKA_MARKER"
  release_install_lock
  log "kafka $KAFKA_VERSION installed ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

write_config() {
  mkdir -p "$KAFKA_CONF_DIR" "$KAFKA_DATA"
  cat >"$KAFKA_PROPS" <<EOF
# Generated by scripts/infra/kafka.sh; rewritten on every start.
# Single-node KRaft: this process is both the broker and the (only) controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER

# Loopback only. SASL_PLAINTEXT is for clients that authenticate; the broker talks to itself
# over PLAINTEXT, so it needs no credentials of its own.
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_SASL_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_SASL_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT

# PLAIN checks the users listed in its JAAS line; SCRAM checks the credentials kept in the
# cluster metadata, which start creates with ConfigCommand once the broker answers.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$LOCAL_SASL_USERNAME="$LOCAL_SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;

log.dirs=$KAFKA_DATA

# One broker: everything internal must be satisfiable with a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
default.replication.factor=1
num.partitions=1

# Herald creates its own topics (the schema registry creates _schemas itself).
auto.create.topics.enable=false
# Consumer groups form immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

num.network.threads=2
num.io.threads=4
EOF
  cat >"$KAFKA_LOG4J" <<'EOF'
# Generated by scripts/infra/kafka.sh. Everything goes to stdout, which start_bg appends to
# .herald/logs/kafka.log. INFO for lifecycle, WARN for the per-partition/per-request chatter.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n

log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log=WARN
log4j.logger.kafka.cluster=WARN
log4j.logger.kafka.server.ReplicaFetcherManager=WARN
log4j.logger.kafka.server.ReplicaAlterLogDirsManager=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.common.metrics=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.kafka.coordinator=WARN
log4j.logger.org.apache.kafka.coordinator=WARN
log4j.logger.kafka.server.metadata=WARN
log4j.logger.org.apache.kafka.image=WARN
log4j.logger.org.apache.kafka.metadata=WARN
log4j.logger.org.apache.kafka.raft=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.org.apache.kafka.queue=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.kafka.server.ClientQuotaManager$ThrottledChannelReaper=WARN
log4j.logger.kafka.server.DelayedOperationPurgatory$ExpiredOperationReaper=WARN
log4j.logger.kafka.server.NodeToControllerRequestThread=WARN
log4j.logger.kafka.utils.Log4jControllerRegistration$=WARN
log4j.logger.org.apache.zookeeper=WARN
EOF
}

# Same shape as `kafka-storage random-uuid`: 16 random bytes, URL-safe base64 without padding,
# never starting with '-' (Kafka rejects those to keep them usable on command lines).
random_kafka_uuid() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    case "$id" in -*) ;; *) echo "$id"; return 0 ;; esac
  done
}

# The cluster id lives next to the data so a restart (or a lost id file) reuses the same cluster.
cluster_id() {
  local id=""
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    id="$(sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties" | head -n1)"
  fi
  if [ -z "$id" ] && [ -s "$KAFKA_CLUSTER_ID_FILE" ]; then
    id="$(head -n1 "$KAFKA_CLUSTER_ID_FILE")"
  fi
  if [ -z "$id" ]; then id="$(random_kafka_uuid)"; fi
  [ -n "$id" ] || fail_with_log "$NAME" "could not determine a KRaft cluster id"
  echo "$id" >"$KAFKA_CLUSTER_ID_FILE"
  echo "$id"
}

format_storage_if_needed() {
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    return 0
  fi
  local id; id="$(cluster_id)"
  log "formatting KRaft storage in $KAFKA_DATA (cluster id $id)"
  if ! "$(java_bin)" -cp "$KAFKA_LIBS/*" -Dlog4j.configuration="file:$KAFKA_LOG4J" \
      kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$KAFKA_PROPS" \
      >>"$LOG_DIR/$NAME.log" 2>&1; then
    fail_with_log "$NAME" "kafka-storage format failed"
  fi
}

port_owner_hint() {
  ss -ltnp "( sport = :$1 )" 2>/dev/null | tail -n +2 | head -n3 || true
}

# First readiness stage: both listeners accept TCP and this run's log says the KRaft server finished
# starting (logged after the broker caught up with the metadata log and was unfenced). The
# KafkaReady probe then waits until every existing partition has a leader that serves requests.
broker_ready() {
  local log_offset="$1"
  tcp_open "$KAFKA_HOST" "$KAFKA_PORT" && tcp_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" \
    && tcp_open "$KAFKA_HOST" "$KAFKA_SASL_PORT" \
    && grep -q 'Kafka Server started' < <(tail -c "+$((log_offset + 1))" "$LOG_DIR/$NAME.log")
}

cmd_start() {
  if kafka_alive; then
    log "kafka already running (pid $(pid_of "$NAME")) on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  cmd_install
  local java; java="$(java_bin)" || fail_with_log "$NAME" "java not found"

  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT"; do
    if tcp_open "$KAFKA_HOST" "$port"; then
      fail_with_log "$NAME" "port $KAFKA_HOST:$port is already in use by another process: $(port_owner_hint "$port")"
    fi
  done

  write_config
  format_storage_if_needed

  touch "$LOG_DIR/$NAME.log"
  local log_offset; log_offset="$(stat -c %s "$LOG_DIR/$NAME.log")"
  local started=$SECONDS
  # shellcheck disable=SC2086  # heap/JVM opts are intentionally word-split
  start_bg "$NAME" "$java" \
    -server $KAFKA_HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_LOG4J" \
    -Dherald.service=kafka \
    $KAFKA_JVM_OPTS \
    -cp "$KAFKA_LIBS/*" \
    kafka.Kafka "$KAFKA_PROPS"
  log "kafka starting (pid $(pid_of "$NAME")), waiting up to ${KAFKA_START_TIMEOUT}s"
  wait_until "$NAME" "$KAFKA_START_TIMEOUT" broker_ready "$log_offset"
  if [ -f "$KAFKA_PROBE/KafkaReady.class" ]; then
    local remaining=$((KAFKA_START_TIMEOUT - (SECONDS - started)))
    [ "$remaining" -ge 15 ] || remaining=15
    if ! "$java" -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$KAFKA_LOG4J" \
        -cp "$KAFKA_LIBS/*:$KAFKA_PROBE" KafkaReady "$KAFKA_HOST:$KAFKA_PORT" "$remaining" \
        >>"$LOG_DIR/$NAME.log" 2>&1; then
      fail_with_log "$NAME" "broker started but its partitions did not become available within ${remaining}s"
    fi
  fi
  add_scram_user "$java"
  log "kafka $KAFKA_VERSION ready on $KAFKA_HOST:$KAFKA_PORT (pid $(pid_of "$NAME"), $((SECONDS - started))s)"
}

# The SCRAM credentials of the local SASL user, set through the PLAINTEXT listener on every
# start: an upsert, so it works the same for a new data dir and for one formatted before the
# SASL listener existed (which `kafka-storage format --add-scram` could not reach). One
# ConfigCommand per mechanism, run side by side: a KRaft broker refuses to alter one user's
# credentials twice in one request ("cannot be altered twice in the same request").
add_scram_user() {
  local java="$1" mechanism pids=() failed=0
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    "$java" -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$KAFKA_LOG4J" \
      -cp "$KAFKA_LIBS/*" kafka.admin.ConfigCommand \
      --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" --alter \
      --add-config "$mechanism=[password=$LOCAL_SASL_PASSWORD]" \
      --entity-type users --entity-name "$LOCAL_SASL_USERNAME" >/dev/null 2>>"$LOG_DIR/$NAME.log" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if [ "$failed" -ne 0 ]; then
    # Stopped, so that the next start (which skips a running broker) tries again.
    stop_bg "$NAME" 30
    fail_with_log "$NAME" "could not create the SCRAM credentials of user $LOCAL_SASL_USERNAME"
  fi
  log "kafka SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) on $KAFKA_HOST:$KAFKA_SASL_PORT for user $LOCAL_SASL_USERNAME"
}

cmd_stop() {
  if ! kafka_alive; then
    rm -f "$PID_DIR/$NAME.pid"
    log "kafka not running"
    return 0
  fi
  stop_bg "$NAME" 30
}

# Simulates a crash (tests use it to show readiness turning false and back): SIGKILL, no
# controlled shutdown, so the next start goes through log recovery.
cmd_kill() {
  local pid; pid="$(pid_of "$NAME")"
  if [ -n "$pid" ] && kafka_alive; then
    log "killing kafka (pid $pid) with SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    local waited=0
    while kafka_alive && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
  fi
  rm -f "$PID_DIR/$NAME.pid"
}

cmd_status() {
  if kafka_alive; then
    echo "kafka: running (pid $(pid_of "$NAME")) on $KAFKA_HOST:$KAFKA_PORT (SASL on $KAFKA_SASL_PORT)"
    return 0
  fi
  echo "kafka: stopped"
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|kill|status" >&2
    exit 2
    ;;
esac
