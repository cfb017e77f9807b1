#!/usr/bin/env bash
# The server benchmarks of issue #9, each against a baseline measured in the same run:
#   load    64 clients, search and extractive chat alternating, through pg_rag_server vs the same SQL
#           statements through libpq with as many connections: the server's pool of 8 vs a FIFO pool of
#           8, and a server with a pool of 64 vs a connection per client
#   stream  64 concurrent streamed chats through pg_rag_server (Ollama provider = the fake provider,
#           one token every 20 ms): time to first token vs the provider's own, measured the same way
# on a generated knowledge base of 1 600 documents / 11 200 chunks (bench/server/kb.sql), with a
# throwaway cluster, the fake provider and three servers (default threads).
#   bench/server/run.sh [all|load|stream]
# Environment: PGRAG_BENCH_PORT (Postgres; 55440), the fake provider +1, the servers +2, +3 and +4;
# PGRAG_BENCH_SECONDS (measured seconds per side and round; 20), PGRAG_BENCH_ROUNDS (3: sides
# alternate, so 60 s per side in all), PGRAG_BENCH_DOCS (1600), BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/../.."
WHAT="${1:-all}"
BUILD="${BUILD:-build}"
PORT="${PGRAG_BENCH_PORT:-55440}"
FAKE_PORT=$((PORT + 1))
LOAD_PORT=$((PORT + 2))
STREAM_PORT=$((PORT + 3))
LOAD64_PORT=$((PORT + 4))
SECONDS_PER_SIDE="${PGRAG_BENCH_SECONDS:-20}"
ROUNDS="${PGRAG_BENCH_ROUNDS:-3}"
DOCS="${PGRAG_BENCH_DOCS:-1600}"
GAP_MS=20
TOKENS=100  # a 2-second answer: 64 streams start ~32 times a second, as 64 users reading answers would
case "$WHAT" in all | load | stream) ;; *) echo "usage: bench/server/run.sh [all|load|stream]" >&2; exit 2 ;; esac
for b in pg_rag_server fake_provider bench_server_load bench_server_stream; do
  [ -x "$BUILD/$b" ] || { echo "bench/server/run.sh: $BUILD/$b is missing (make build)" >&2; exit 1; }
done

DIR="$(mktemp -d /tmp/pg_rag_bench_server.XXXXXX)"
chmod 755 "$DIR"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
PGRAG_PG_OPTS="-c shared_buffers=1GB -c max_connections=200 -c max_parallel_workers_per_gather=0 -c jit=off" \
  bash docker/pg-cluster.sh start "$DIR/data" "$PORT"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${PSQL[@]}" -c "CREATE DATABASE bench" postgres
"$BUILD/fake_provider" "$FAKE_PORT" 7200 >"$DIR/fake_provider.log" 2>&1 &
PIDS+=($!)

echo "building the knowledge base ($DOCS documents)..."
"${PSQL[@]}" -v docs="$DOCS" -f bench/server/kb.sql bench | tail -3
# Chat answers are computed every time (the answer cache would turn repeated questions into lookups);
# the stream role's Ollama provider is the fake, one token every GAP_MS, TOKENS tokens an answer.
"${PSQL[@]}" bench <<SQL
ALTER DATABASE bench SET pg_rag.answer_cache = off;
CREATE ROLE bench_stream LOGIN SUPERUSER;
ALTER ROLE bench_stream SET pg_rag.llm_providers = 'ollama';
ALTER ROLE bench_stream SET pg_rag.ollama_chat_url = 'http://127.0.0.1:$FAKE_PORT/gap/$GAP_MS/tokens/$TOKENS';
\copy (SELECT question FROM bench_questions ORDER BY q) TO '$DIR/questions.txt'
SQL

start_server() {  # PORT ROLE POOL: default threads, access log to a file
  "$BUILD/pg_rag_server" --listen "127.0.0.1:$1" --pool-size "$3" \
    --database-url "host=127.0.0.1 port=$PORT dbname=bench user=$2" 2>"$DIR/server_$1.log" &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "pg_rag_server on port $1 did not start:" >&2
  cat "$DIR/server_$1.log" >&2
  exit 1
}

status=0
if [ "$WHAT" != stream ]; then
  start_server "$LOAD_PORT" postgres 8
  start_server "$LOAD64_PORT" postgres 64
  echo
  echo "== Load: pg_rag_server vs the same SQL through libpq, as many database connections each"
  "$BUILD/bench_server_load" --server "8=127.0.0.1:$LOAD_PORT" --server "64=127.0.0.1:$LOAD64_PORT" \
    --connections 8,64 --questions "$DIR/questions.txt" --clients 64 \
    --conninfo "host=127.0.0.1 port=$PORT dbname=bench user=postgres" \
    --seconds "$SECONDS_PER_SIDE" --rounds "$ROUNDS" --warmup 5 || status=1
fi
if [ "$WHAT" != load ]; then
  start_server "$STREAM_PORT" bench_stream 8
  echo
  echo "== Streaming: time to first token through pg_rag_server vs the provider's own"
  "$BUILD/bench_server_stream" --server "127.0.0.1:$STREAM_PORT" --fake "127.0.0.1:$FAKE_PORT" \
    --prefix "/gap/$GAP_MS/tokens/$TOKENS" --questions "$DIR/questions.txt" --streams 64 \
    --stagger "$(awk "BEGIN { print $GAP_MS * $TOKENS / 1000 }")" \
    --seconds "$SECONDS_PER_SIDE" --rounds "$ROUNDS" --warmup 5 || status=1
fi
exit $status
