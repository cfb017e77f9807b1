#!/usr/bin/env bash
# Runs the SQL benchmarks against a throwaway cluster (1 GB shared_buffers) and prints their tables.
#   bench/sql/run.sh [ROWS]      (default 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-100000}"
PORT="${PGRAG_BENCH_PORT:-55434}"
DIR="$(mktemp -d /tmp/pg_rag_bench.XXXXXX)"
chmod 755 "$DIR"
trap 'bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
PGRAG_PG_OPTS="-c shared_buffers=1GB -c max_parallel_workers_per_gather=0 -c jit=off" \
  bash docker/pg-cluster.sh start "$DIR/data" "$PORT"
psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE bench" postgres
psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v rows="$ROWS" -f bench/sql/knn.sql bench
