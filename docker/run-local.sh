#!/usr/bin/env bash
# Runs pg_rag locally: a cluster in ./.pgdata on port 55432 with database pg_rag and the extension created.
#   run-local.sh start | stop
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PGRAG_PORT:-55432}"
DATADIR="${PGRAG_DATADIR:-$PWD/.pgdata}"

# The server user must be able to reach the project folder; if it cannot (e.g. a clone under /root),
# the data directory goes under /var/lib/pg_rag instead.
if [ -z "${PGRAG_DATADIR:-}" ] && [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$PWD"; then
  DATADIR="/var/lib/pg_rag/$(echo "$PWD" | md5sum | cut -c1-12)"
fi

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
    echo "pg_rag is running (data: $DATADIR). Connect with:"
    echo "  psql -h 127.0.0.1 -p $PORT -U postgres pg_rag"
    echo "Stop it with: make stop"
    ;;
  stop) bash docker/pg-cluster.sh stop "$DATADIR" ;;
  *) echo "usage: run-local.sh start|stop" >&2; exit 2 ;;
esac
