#!/usr/bin/env bash
# Shared conventions for the local (no-Docker) servers. Sourced by scripts/infra/<server>.sh.
# Downloads and builds are cached per user; run state (logs, pids, data) lives in the checkout
# so two clones never stop each other's servers.
set -euo pipefail

HERALD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERALD_CACHE="${HERALD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/herald}"
HERALD_RUN="${HERALD_RUN_DIR:-$HERALD_ROOT/.herald}"
LOG_DIR="$HERALD_RUN/logs"
PID_DIR="$HERALD_RUN/pids"
DATA_DIR="$HERALD_RUN/data"
mkdir -p "$HERALD_CACHE" "$LOG_DIR" "$PID_DIR" "$DATA_DIR"

log() { echo "[infra] $*" >&2; }

# Prints a message naming the server and the tail of its log, then fails.
fail_with_log() {
  local name="$1"; shift
  echo "[infra] ERROR: $name: $*" >&2
  if [ -f "$LOG_DIR/$name.log" ]; then
    echo "[infra] last lines of $LOG_DIR/$name.log:" >&2
    tail -n 40 "$LOG_DIR/$name.log" >&2 || true
  fi
  exit 1
}

pid_of() { cat "$PID_DIR/$1.pid" 2>/dev/null || true; }

is_running() {
  local pid; pid="$(pid_of "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# start_bg NAME CMD...: runs CMD in its own session (so stop can signal the whole group),
# appending to $LOG_DIR/NAME.log, and records its pid.
start_bg() {
  local name="$1"; shift
  echo "=== $(date -u +%FT%TZ) starting: $*" >>"$LOG_DIR/$name.log"
  setsid nohup "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$name.pid"
}

# stop_bg NAME [GRACE_SECONDS]: TERM the process group, wait, then KILL.
stop_bg() {
  local name="$1" grace="${2:-20}" pid
  pid="$(pid_of "$name")"
  if [ -z "$pid" ]; then return 0; fi
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((grace * 10)) ]; do
      sleep 0.1; waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in ${grace}s; killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PID_DIR/$name.pid"
}

# The Java the JVM servers run on: JAVA_HOME's if set, else the one on PATH.
java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    return 1
  fi
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until NAME TIMEOUT_SECONDS CMD...: polls CMD until it succeeds; fails with the log
# tail if the process dies or the deadline passes.
wait_until() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! is_running "$name"; then fail_with_log "$name" "process exited before it answered"; fi
    if [ "$SECONDS" -ge "$deadline" ]; then fail_with_log "$name" "did not answer within ${timeout}s"; fi
    sleep 0.5
  done
}
