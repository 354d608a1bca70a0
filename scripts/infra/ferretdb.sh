#!/usr/bin/env bash
# FerretDB v1 (MongoDB wire protocol) on its SQLite backend, built from the Go module proxy
# and run as a local process.
#
#   scripts/infra/ferretdb.sh install|start|stop|status
#
# Environment:
#   FERRETDB_VERSION   module version to build (default below; must be a v1 release)
#   MONGODB_PORT       TCP port to listen on, loopback only (default 27017)
#   FERRETDB_DEBUG_PORT  if set, serve FerretDB's debug/metrics HTTP endpoints on
#                      127.0.0.1:PORT; by default that listener is off
#   FERRETDB_START_TIMEOUT  seconds to wait for a MongoDB `ping` answer (default 60)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=ferretdb
# v1.24.2 is the newest v1.24 patch published on the Go module proxy.
FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
case "$FERRETDB_VERSION" in v*) ;; *) FERRETDB_VERSION="v$FERRETDB_VERSION" ;; esac
FERRETDB_MODULE=github.com/FerretDB/FerretDB
# Used only if the module's go.mod cannot be read (v1.24.x declares `go 1.24`).
FERRETDB_GO_MIN_FALLBACK=1.24

FERRETDB_HOME="$HERALD_CACHE/ferretdb-$FERRETDB_VERSION"
FERRETDB_BIN="$FERRETDB_HOME/bin/ferretdb"
# Official Node.js MongoDB driver, used only by the readiness probe.
MONGODB_DRIVER_SPEC="${FERRETDB_PROBE_DRIVER:-mongodb@6}"
PROBE_HOME="$HERALD_CACHE/ferretdb-probe-${MONGODB_DRIVER_SPEC//[^A-Za-z0-9.]/-}"
PROBE_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ferretdb-ping.cjs"

HOST=127.0.0.1
PORT="${MONGODB_PORT:-27017}"
DEBUG_ADDR="-"  # FerretDB v1: "-" disables the debug HTTP listener
[ -z "${FERRETDB_DEBUG_PORT:-}" ] || DEBUG_ADDR="$HOST:$FERRETDB_DEBUG_PORT"
START_TIMEOUT="${FERRETDB_START_TIMEOUT:-60}"
STATE_DIR="$DATA_DIR/ferretdb/state"
SQLITE_DIR="$DATA_DIR/ferretdb/sqlite"
ADDR_FILE="$PID_DIR/$NAME.addr"

# Go toolchain settings: everything (module cache, build cache) under one cached GOPATH.
# GOTOOLCHAIN=local: never fetch another toolchain behind our back; we check the version.
# CGO_ENABLED=0: FerretDB's SQLite driver (modernc.org/sqlite) is pure Go, so no C compiler
# is needed, and the binary is static. -modcacherw: keep the module cache deletable by rm -rf.
go_env() {
  env GOPATH="$HERALD_CACHE/go" \
      GOMODCACHE="$HERALD_CACHE/go/pkg/mod" \
      GOCACHE="$HERALD_CACHE/go/cache" \
      GOTOOLCHAIN=local \
      CGO_ENABLED=0 \
      GOFLAGS="-buildvcs=false -modcacherw" \
      "$@"
}

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

# Downloads the FerretDB module through the Go module proxy (a no-op once cached) and sets
# MODULE_DIR (its extracted source) and MODULE_GOMOD (its go.mod) and MODULE_COMMIT.
MODULE_DIR="" MODULE_GOMOD="" MODULE_COMMIT=""
download_module() {
  local json
  if ! json="$(go_env go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" 2>&1)"; then
    echo "[infra] ERROR: ferretdb: cannot download $FERRETDB_MODULE@$FERRETDB_VERSION from the Go module proxy:" >&2
    printf '%s\n' "$json" >&2
    exit 1
  fi
  json_field() { printf '%s\n' "$json" | sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n1; }
  MODULE_DIR="$(json_field Dir)"
  MODULE_GOMOD="$(json_field GoMod)"
  MODULE_COMMIT="$(json_field Hash)"
  [ -n "$MODULE_DIR" ] && [ -d "$MODULE_DIR" ] || { echo "[infra] ERROR: ferretdb: unexpected 'go mod download' output: $json" >&2; exit 1; }
}

check_go() {
  command -v go >/dev/null 2>&1 || { echo "[infra] ERROR: ferretdb: 'go' not found on PATH (FerretDB is built from source)" >&2; exit 1; }
  local have need=""
  have="$(go_env go env GOVERSION)"; have="${have#go}"; have="${have%%[!0-9.]*}"
  # The `go` directive of FerretDB's go.mod is the minimum Go that can build it.
  [ -f "$MODULE_GOMOD" ] && need="$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$MODULE_GOMOD" | head -n1)"
  need="${need:-$FERRETDB_GO_MIN_FALLBACK}"
  if ! version_ge "$have" "$need"; then
    echo "[infra] ERROR: ferretdb: FerretDB $FERRETDB_VERSION needs Go >= $need, but 'go' on PATH is $have ($(command -v go)). Install a newer Go and retry." >&2
    exit 1
  fi
  log "go $have (FerretDB $FERRETDB_VERSION needs >= $need)"
}

# Why not plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@VERSION`:
#  - it asks the proxy for the module's version list (to look for deprecations), which the
#    proxy here refuses (403), so it fails before building;
#  - even where it works, the binary panics at start: FerretDB embeds build/version/version.txt,
#    which its release tooling generates and the module zip does not contain.
# So: take the module source from the proxy, add version.txt (and commit.txt from the proxy's
# origin info), and build ./cmd/ferretdb with FerretDB's own go.mod/go.sum as the main module,
# which selects exactly the dependency versions that `go install ...@VERSION` would.
install_ferretdb() {
  if [ -x "$FERRETDB_BIN" ]; then
    log "ferretdb $FERRETDB_VERSION already installed: $FERRETDB_BIN"
    return 0
  fi
  download_module
  check_go
  log "building ferretdb $FERRETDB_VERSION with SQLite backend (takes a few minutes the first time)"
  # Build into scratch dirs and move the binary into place, so an interrupted build never
  # leaves a half-written binary that a later `install` would take as done.
  local src="$FERRETDB_HOME/src.$$" tmpbin="$FERRETDB_HOME/bin.tmp.$$"
  rm -rf "$src" "$tmpbin"; mkdir -p "$FERRETDB_HOME/bin" "$tmpbin"
  cp -R "$MODULE_DIR" "$src"
  chmod -R u+w "$src"
  printf '%s\n' "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  [ -z "$MODULE_COMMIT" ] || printf '%s\n' "$MODULE_COMMIT" >"$src/build/version/commit.txt"
  # SQLite is compiled in by default in v1 (only the ferretdb_no_sqlite tag removes it), so no
  # build tags are needed; its driver is pure Go (modernc.org/sqlite), so CGO is not either.
  if ! (cd "$src" && go_env go build -trimpath -o "$tmpbin/ferretdb" ./cmd/ferretdb); then
    rm -rf "$src" "$tmpbin"
    echo "[infra] ERROR: ferretdb: building $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION failed" >&2
    exit 1
  fi
  if ! "$tmpbin/ferretdb" --version >/dev/null 2>&1; then
    "$tmpbin/ferretdb" --version >&2 || true
    rm -rf "$src" "$tmpbin"
    echo "[infra] ERROR: ferretdb: the freshly built binary does not run" >&2
    exit 1
  fi
  mv -f "$tmpbin/ferretdb" "$FERRETDB_BIN"
  rm -rf "$src" "$tmpbin"
  log "installed ferretdb $("$FERRETDB_BIN" --version 2>/dev/null | sed -n 's/^version: *//p' | head -n1) -> $FERRETDB_BIN"
}

install_probe() {
  if [ -f "$PROBE_HOME/node_modules/mongodb/package.json" ]; then return 0; fi
  command -v node >/dev/null 2>&1 || { echo "[infra] ERROR: ferretdb: 'node' not found on PATH (needed for the readiness probe)" >&2; exit 1; }
  log "installing $MONGODB_DRIVER_SPEC (readiness probe) into $PROBE_HOME"
  mkdir -p "$PROBE_HOME"
  [ -f "$PROBE_HOME/package.json" ] || echo '{"name":"herald-ferretdb-probe","private":true}' >"$PROBE_HOME/package.json"
  if ! (cd "$PROBE_HOME" && npm install --no-audit --no-fund --loglevel=error "$MONGODB_DRIVER_SPEC" >&2); then
    echo "[infra] ERROR: ferretdb: npm install $MONGODB_DRIVER_SPEC failed" >&2
    exit 1
  fi
}

ping_mongo() {
  NODE_PATH="$PROBE_HOME/node_modules" node "$PROBE_SCRIPT" "mongodb://$HOST:$PORT/?directConnection=true" "$@"
}

cmd_install() {
  install_ferretdb
  install_probe
}

cmd_start() {
  if is_running "$NAME"; then
    log "ferretdb already running (pid $(pid_of "$NAME")) on $(cat "$ADDR_FILE" 2>/dev/null || echo "$HOST:$PORT")"
    return 0
  fi
  rm -f "$PID_DIR/$NAME.pid" "$ADDR_FILE"
  cmd_install
  if tcp_open "$HOST" "$PORT"; then
    fail_with_log "$NAME" "port $HOST:$PORT is already in use by another process (set MONGODB_PORT)"
  fi
  mkdir -p "$STATE_DIR" "$SQLITE_DIR" 2>/dev/null \
    || fail_with_log "$NAME" "cannot create $STATE_DIR and $SQLITE_DIR (is a file in the way?)"
  log "starting ferretdb $FERRETDB_VERSION on $HOST:$PORT (sqlite: $SQLITE_DIR)"
  local t0=$SECONDS
  # --sqlite-url takes a file: URI naming a directory (trailing slash required); each
  # MongoDB database becomes one <db>.sqlite file in it. FerretDB runs SQLite in WAL mode;
  # synchronous=NORMAL skips the fsync at each commit (one write command = one commit, ~25 ms
  # each on this machine's disk), and still survives a crash of FerretDB or of anything else,
  # though not a power loss: the same durability as this single Kafka broker, which leaves
  # flushing to the OS. FERRETDB_SQLITE_SYNCHRONOUS=full restores an fsync per commit.
  start_bg "$NAME" "$FERRETDB_BIN" \
    --handler=sqlite \
    --sqlite-url="file:$SQLITE_DIR/?_pragma=synchronous(${FERRETDB_SQLITE_SYNCHRONOUS:-normal})" \
    --listen-addr="$HOST:$PORT" \
    --state-dir="$STATE_DIR" \
    --debug-addr="$DEBUG_ADDR" \
    --telemetry=disable \
    --log-level=info \
    --log-format=text
  echo "$HOST:$PORT" >"$ADDR_FILE"
  wait_until "$NAME" "$START_TIMEOUT" ping_mongo
  log "ferretdb ready on $HOST:$PORT (pid $(pid_of "$NAME"), $((SECONDS - t0))s): $(ping_mongo --info 2>/dev/null || true)"
}

cmd_stop() {
  stop_bg "$NAME"
  rm -f "$ADDR_FILE"
}

cmd_status() {
  if is_running "$NAME"; then
    echo "ferretdb: running (pid $(pid_of "$NAME")) on $(cat "$ADDR_FILE" 2>/dev/null || echo "$HOST:$PORT")"
    return 0
  fi
  echo "ferretdb: stopped"
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
