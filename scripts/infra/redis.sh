#!/usr/bin/env bash
# Redis as a local process, for the BullMQ baseline of the benchmarks (tools/bench/baselines/bullmq.ts).
# Herald itself does not use Redis, so `scripts/infra.sh up` does not start it: the bench starts
# and stops it. In-memory only (no RDB snapshots, no AOF), loopback only.
#
#   scripts/infra/redis.sh install|start|stop|status|url
#
# Environment:
#   REDIS_PORT            TCP port on 127.0.0.1                          (default 6379)
#   REDIS_START_TIMEOUT   seconds to wait for `redis-cli ping` to answer PONG (default 30)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=redis
REDIS_HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-30}"
REDIS_DATA="$DATA_DIR/redis"

# Stricter than common.sh's is_running: a recycled pid must not count as our server.
redis_alive() {
  local pid; pid="$(pid_of "$NAME")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0 # no procfs: trust kill -0
  grep -q 'redis-server' < <(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
}

redis_ping() {
  [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

cmd_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    log "redis already installed: $(redis-server --version)"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 \
    || fail_with_log redis-install "redis-server is not on PATH and apt-get is not available: install Redis 6.2+ by hand"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail_with_log redis-install "installing redis-server needs root (or sudo)"
    sudo=sudo
  fi
  local install_log="$LOG_DIR/redis-install.log"
  : >"$install_log"
  log "installing Debian's redis-server: apt-get update && apt-get install -y redis-server (log: $install_log)"
  # The package's own service is not used (start runs our own process), and may not even
  # start in a container; policy-rc.d-less installs are fine either way.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update >>"$install_log" 2>&1; then
    fail_with_log redis-install "apt-get update failed"
  fi
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
      >>"$install_log" 2>&1; then
    fail_with_log redis-install "apt-get install -y redis-server failed"
  fi
  command -v redis-server >/dev/null 2>&1 || fail_with_log redis-install "redis-server still not on PATH after apt-get install"
  log "installed: $(redis-server --version)"
}

cmd_start() {
  if redis_alive; then
    log "redis already running (pid $(pid_of "$NAME")) on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  cmd_install
  if tcp_open "$REDIS_HOST" "$REDIS_PORT"; then
    fail_with_log "$NAME" "port $REDIS_HOST:$REDIS_PORT is already in use by another process"
  fi
  mkdir -p "$REDIS_DATA"
  local started=$SECONDS
  # No config file: everything on the command line. --save '' and --appendonly no keep it
  # in memory only; noeviction is what BullMQ requires (and Redis's default).
  start_bg "$NAME" redis-server \
    --bind "$REDIS_HOST" \
    --port "$REDIS_PORT" \
    --protected-mode yes \
    --daemonize no \
    --dir "$REDIS_DATA" \
    --save '' \
    --appendonly no \
    --maxmemory-policy noeviction \
    --loglevel warning
  log "redis starting (pid $(pid_of "$NAME")), waiting up to ${REDIS_START_TIMEOUT}s"
  wait_until "$NAME" "$REDIS_START_TIMEOUT" redis_ping
  log "redis ready on $REDIS_HOST:$REDIS_PORT (pid $(pid_of "$NAME"), $((SECONDS - started))s)"
}

cmd_stop() {
  if ! redis_alive; then
    rm -f "$PID_DIR/$NAME.pid"
    log "redis not running"
    return 0
  fi
  stop_bg "$NAME" 10
}

cmd_status() {
  if redis_alive; then
    echo "redis: running (pid $(pid_of "$NAME")) on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  echo "redis: stopped"
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) echo "redis://$REDIS_HOST:$REDIS_PORT" ;;
  *)
    echo "usage: $0 install|start|stop|status|url" >&2
    exit 2
    ;;
esac
