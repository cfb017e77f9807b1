#!/usr/bin/env bash
# A local Citus cluster for the equivalence test and the benchmark, next to a single node:
#   cluster.sh start DIR BASE_PORT   single node on BASE+1 (pg_rag alone); coordinator on BASE+10 and
#                                    workers on BASE+11, BASE+12 (citus,pg_rag), the knowledge base
#                                    extension installed, the workers added; databases "kb" on each.
#   cluster.sh stop DIR
# The PostgreSQL is the one pg_config on PATH names (with Citus and pg_rag installed into it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cmd="${1:?usage: cluster.sh start|stop DIR [BASE_PORT]}"
dir="${2:?directory required}"
pgc() { bash "$repo/docker/pg-cluster.sh" "$@"; }
nodes="single coordinator worker1 worker2"

case "$cmd" in
  start)
    base="${3:?base port required}"
    single=$((base + 1)) coordinator=$((base + 10)) worker1=$((base + 11)) worker2=$((base + 12))
    mkdir -p "$dir"; chmod 755 "$dir"
    PGRAG_PG_OPTS="${PGRAG_PG_OPTS:-}" pgc start "$dir/single" "$single"
    for n in coordinator worker1 worker2; do
      port=${!n}
      # Citus must come first in shared_preload_libraries; 2PC for its distributed transactions.
      PGRAG_PG_OPTS="-c shared_preload_libraries=citus,pg_rag -c max_prepared_transactions=100 ${PGRAG_PG_OPTS:-}" \
        pgc start "$dir/$n" "$port"
    done
    q() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p "$1" -d "${3:-kb}" -c "$2" >/dev/null; }
    for port in $single $coordinator $worker1 $worker2; do
      psql -X -q -h 127.0.0.1 -U postgres -p "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kb'" |
        grep -q 1 || q "$port" "CREATE DATABASE kb" postgres
    done
    q "$single" "CREATE EXTENSION IF NOT EXISTS pg_rag"
    for port in $worker1 $worker2 $coordinator; do q "$port" "CREATE EXTENSION IF NOT EXISTS citus"; done
    q "$coordinator" "SELECT citus_set_coordinator_host('127.0.0.1', $coordinator)"
    for port in $worker1 $worker2; do
      q "$coordinator" "SELECT citus_add_node('127.0.0.1', $port) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodeport = $port)"
    done
    # Created on the coordinator, pg_rag is created on every worker too (Citus propagates extensions);
    # PGRAG_CITUS_VERSION installs an older release (citus-tests.sh then updates it).
    q "$coordinator" "CREATE EXTENSION IF NOT EXISTS pg_rag${PGRAG_CITUS_VERSION:+ VERSION '$PGRAG_CITUS_VERSION'}"
    ;;
  stop)
    for n in $nodes; do pgc stop "$dir/$n" >/dev/null 2>&1 || true; done
    ;;
  *) echo "usage: cluster.sh start|stop DIR [BASE_PORT]" >&2; exit 2 ;;
esac
