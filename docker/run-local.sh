#!/usr/bin/env bash
# Runs pg_rag locally: a cluster in ./.pgdata on port 55432 with database pg_rag and the extension created,
# and the HTTP server (pg_rag_server, with its chat page at /) on 127.0.0.1:8080 (PGRAG_SERVER_PORT
# overrides the port; PGRAG_SERVER_BIN the binary).
#   run-local.sh start | stop
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PGRAG_PORT:-55432}"
SERVER_PORT="${PGRAG_SERVER_PORT:-8080}"
DATADIR="${PGRAG_DATADIR:-$PWD/.pgdata}"

# The server user must be able to reach the project folder; if it cannot (e.g. a clone under /root),
# the data directory goes under /var/lib/pg_rag instead.
if [ -z "${PGRAG_DATADIR:-}" ] && [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$PWD"; then
  DATADIR="/var/lib/pg_rag/$(echo "$PWD" | md5sum | cut -c1-12)"
fi

SERVER_PID="$DATADIR/pg_rag_server.pid"
# PGRAG_SERVER_BIN: a particular build (the tests run the tree they test, not whatever is installed).
SERVER_BIN="${PGRAG_SERVER_BIN:-$(command -v pg_rag_server || echo build/pg_rag_server)}"
# A server that is not installed serves the chat page from the source tree.
[ "$SERVER_BIN" = build/pg_rag_server ] && export PGRAG_WEB_ROOT="${PGRAG_WEB_ROOT:-$PWD/server/web}"

# The server runs in the background as the calling user and connects over TCP as postgres.
start_server() {
  if [ -f "$SERVER_PID" ] && kill -0 "$(cat "$SERVER_PID")" 2>/dev/null; then return 0; fi
  PGRAG_DATABASE_URL="host=127.0.0.1 port=$PORT user=postgres dbname=pg_rag" PGRAG_LISTEN="127.0.0.1:$SERVER_PORT" \
    nohup "$SERVER_BIN" >"$DATADIR/pg_rag_server.log" 2>&1 </dev/null &
  echo $! >"$SERVER_PID"
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$SERVER_PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$SERVER_PID")" 2>/dev/null || break
    sleep 0.1
  done
  echo "pg_rag_server did not start:" >&2
  tail -5 "$DATADIR/pg_rag_server.log" >&2
  return 1
}

# SIGTERM: the server finishes streams in flight (up to its shutdown timeout) and exits.
stop_server() {
  [ -f "$SERVER_PID" ] || return 0
  pid="$(cat "$SERVER_PID")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$SERVER_PID"
}

case "${1:-start}" in
  start)
    bash docker/pg-cluster.sh start "$DATADIR" "$PORT"
    psql -h 127.0.0.1 -p "$PORT" -U postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = 'pg_rag'" postgres | grep -q 1 ||
      psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE pg_rag" postgres
    psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE EXTENSION IF NOT EXISTS pg_rag" pg_rag
    # Sample documents the server can read (paths relative to the data directory), for the README's examples.
    samples="$DATADIR/pg_rag_samples"
    if [ ! -d "$samples" ]; then
      mkdir -p "$samples" && cp tests/data/*.* "$samples/" && rm -f "$samples/README.md"
      [ "$(id -u)" -eq 0 ] && chown -R postgres: "$samples"
    fi
    start_server
    echo "pg_rag is running (data: $DATADIR). Connect with:"
    echo "  psql -h 127.0.0.1 -p $PORT -U postgres pg_rag"
    echo "The chat page: open http://127.0.0.1:$SERVER_PORT/ in a browser, upload documents, ask."
    echo "The HTTP server: http://127.0.0.1:$SERVER_PORT (log: $DATADIR/pg_rag_server.log). Try:"
    echo "  curl -s http://127.0.0.1:$SERVER_PORT/api/chat -H 'Content-Type: application/json' -d '{\"question\": \"How do refunds work?\"}'"
    echo "Stop both with: make stop"
    ;;
  stop)
    stop_server
    bash docker/pg-cluster.sh stop "$DATADIR"
    ;;
  *) echo "usage: run-local.sh start|stop" >&2; exit 2 ;;
esac
