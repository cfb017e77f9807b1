#!/usr/bin/env bash
# Memory of keyword search with many connections: B backends (default 16) that have each run a BM25
# search, their proportional set size (PSS, /proc/<pid>/smaps_rollup: a page shared by n processes
# counts 1/n in each) summed, for idle backends (nothing searched), private indexes (every backend its
# own Bm25Index, as before shared copies: forced here by a snapshot directory the server cannot write)
# and the shared base (one file mapped by all, plus each backend's overlay), in one run on one corpus.
#   bench/sql/keyword_memory.sh [CHUNKS] [BACKENDS]      (as root: reads the server's /proc entries)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-100000}"
B="${2:-16}"
PORT="${PGRAG_BENCH_PORT:-55434}"
DIR="$(mktemp -d /tmp/pg_rag_bench.XXXXXX)"
chmod 755 "$DIR"
trap 'bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
PGRAG_PG_OPTS="-c shared_buffers=256MB -c max_parallel_workers_per_gather=0 -c jit=off -c max_connections=100" \
  bash docker/pg-cluster.sh start "$DIR/data" "$PORT"
sql() { psql -h 127.0.0.1 -p "$PORT" -U postgres -X -qtA -v ON_ERROR_STOP=1 "$@"; }
sql -c "CREATE DATABASE bench" postgres
sql -c "CREATE EXTENSION pg_rag" bench
sql -v chunks="$N" -v with_embeddings=false -f bench/sql/corpus.sql bench >/dev/null
OID=$(sql -c "SELECT oid FROM pg_database WHERE datname = 'bench'" postgres)
SNAPDIR="$DIR/data/pg_rag/$OID"

# Starts B sessions that run `search` then sleep; prints their summed PSS and RSS (MB) once all searched.
measure() {
  local label="$1" search="$2" pids=() pss=0 rss=0 one lo=0 hi=0 anon=0 file=0 shmem=0
  for _ in $(seq "$B"); do
    sql -c "SET client_min_messages = error" -c "$search" -c "SELECT pg_sleep(3600)" bench >/dev/null 2>&1 &
  done
  for _ in $(seq 600); do
    mapfile -t pids < <(sql -c "SELECT pid FROM pg_stat_activity WHERE datname = 'bench' AND query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()" postgres)
    [ "${#pids[@]}" -ge "$B" ] && break
    sleep 1
  done
  for p in "${pids[@]}"; do
    one=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")
    pss=$((pss + one))
    if [ "$lo" -eq 0 ] || [ "$one" -lt "$lo" ]; then lo=$one; fi
    if [ "$one" -gt "$hi" ]; then hi=$one; fi
    rss=$((rss + $(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup")))
    anon=$((anon + $(awk '/^Pss_Anon:/ {print $2}' "/proc/$p/smaps_rollup")))
    file=$((file + $(awk '/^Pss_File:/ {print $2}' "/proc/$p/smaps_rollup")))
    shmem=$((shmem + $(awk '/^Pss_Shmem:/ {print $2}' "/proc/$p/smaps_rollup")))
  done
  sql -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'bench' AND pid <> pg_backend_pid()" postgres >/dev/null
  wait 2>/dev/null || true
  printf '  %-42s %3d backends  PSS %8.1f MB (each %6.1f-%6.1f MB)  RSS %8.1f MB\n' "$label" "${#pids[@]}" \
    "$(echo "$pss / 1024" | bc -l)" "$(echo "$lo / 1024" | bc -l)" "$(echo "$hi / 1024" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  printf '  %-42s of which anonymous %.1f MB, files (the base, libraries) %.1f MB, shared buffers %.1f MB\n' "" \
    "$(echo "$anon / 1024" | bc -l)" "$(echo "$file / 1024" | bc -l)" "$(echo "$shmem / 1024" | bc -l)"
  echo "$pss" >"$DIR/last_pss"
}

echo "keyword search memory, $N chunks (bench/sql/corpus.sql), $B connections each after one rag_bm25 top-10"
SEARCH="SELECT count(*) FROM rag_bm25('w3 w150 w2000', 10)"
measure "idle (no search)" "SELECT 1"
idle=$(cat "$DIR/last_pss")
# Private: the snapshot directory exists but the server cannot write it, so no base is ever built.
mkdir -p "$SNAPDIR" && chown postgres: "$SNAPDIR" && chmod 500 "$SNAPDIR"
measure "private Bm25Index per backend (before)" "$SEARCH"
private=$(cat "$DIR/last_pss")
chmod 700 "$SNAPDIR"
measure "shared base + overlay per backend (after)" "$SEARCH"
shared=$(cat "$DIR/last_pss")
base_kb=$(($(stat -c %s "$SNAPDIR"/bm25-*.snap | head -1) / 1024))
printf '  base file: %.1f MB; search memory above idle: private %.1f MB, shared %.1f MB: %.1fx less;\n' \
  "$(echo "$base_kb / 1024" | bc -l)" "$(echo "($private - $idle) / 1024" | bc -l)" "$(echo "($shared - $idle) / 1024" | bc -l)" \
  "$(echo "($private - $idle) / ($shared - $idle)" | bc -l)"
printf '  shared search memory of %d backends / one base file: %.2fx\n' "$B" "$(echo "($shared - $idle) / $base_kb" | bc -l)"
