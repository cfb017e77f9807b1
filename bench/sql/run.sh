#!/usr/bin/env bash
# Runs a SQL benchmark against a throwaway cluster (1 GB shared_buffers) with the fake provider
# running, and prints its tables.
#   bench/sql/run.sh knn [ROWS]        exact k-NN over ROWS x 768 (default 100000)
#   bench/sql/run.sh ingest [DOCS]     ingest throughput (default 1000 documents)
#   bench/sql/run.sh search            rag_search vs ORDER BY at 10k, 100k and 300k x 768
#   bench/sql/run.sh keyword [CHUNKS]  rag_bm25 vs 0.5.0 SQL BM25 and ts_rank_cd (default 100000)
#   bench/sql/run.sh keyword-large [CHUNKS]  rag_bm25 vs ts_rank_cd at 1M chunks (default 1000000)
#   bench/sql/run.sh hybrid [CHUNKS]   hybrid vs its sides, pgbench -c 8, search during ingest, rag_search_table
#   bench/sql/run.sh visibility [CHUNKS]  keyword/hybrid as a superuser vs a role row-level security
#                                      applies to, then with 100 users' private documents (default 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
WHAT="${1:-knn}"
N="${2:-}"
BUILD="${BUILD:-build}"
PORT="${PGRAG_BENCH_PORT:-55434}"
FAKE_PORT="${PGRAG_BENCH_FAKE_PORT:-55481}"
DIR="$(mktemp -d /tmp/pg_rag_bench.XXXXXX)"
chmod 755 "$DIR"
"$BUILD/fake_provider" "$FAKE_PORT" 1800 >/dev/null 2>&1 &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null; bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
PGRAG_PG_OPTS="-c shared_buffers=1GB -c max_parallel_workers_per_gather=0 -c jit=off" \
  bash docker/pg-cluster.sh start "$DIR/data" "$PORT"
psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE bench" postgres
case "$WHAT" in
  knn) psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v rows="${N:-100000}" -f bench/sql/knn.sql bench ;;
  keyword-large) psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v chunks="${N:-1000000}" -f bench/sql/keyword_large.sql bench ;;
  keyword) psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v chunks="${N:-100000}" -f bench/sql/keyword.sql bench ;;
  hybrid) PGPORT="$PORT" psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v chunks="${N:-100000}" -v port="$PORT" -f bench/sql/hybrid.sql bench ;;
  visibility) psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v chunks="${N:-100000}" -v users=100 \
                -f bench/sql/visibility.sql bench ;;
  search) psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -f bench/sql/search.sql bench ;;
  ingest) psql -h 127.0.0.1 -p "$PORT" -U postgres -X -v ON_ERROR_STOP=1 -v docs="${N:-1000}" -v fake_port="$FAKE_PORT" \
            -f bench/sql/ingest.sql bench ;;
  *) echo "usage: bench/sql/run.sh knn|ingest|search|keyword|keyword-large|hybrid|visibility [N]" >&2; exit 2 ;;
esac
