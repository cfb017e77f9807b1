#!/usr/bin/env bash
# Search at scale (issue 13): a Gaussian mixture of ROWS x 768 (1 000 centres) in a pg_rag knowledge
# base on a throwaway cluster, then, each against a baseline measured in the same run:
#   exact        rag_search_vector top-10 vs ORDER BY embedding <=> q, id LIMIT 10 (same rows?)
#   approximate  for each mode of pg_rag.search other than exact (when the setting exists): median/p95
#                latency and recall@10 against exact
#   pgvector     pgvector 0.8.6 HNSW (m = 16, ef_construction = 64) build time, and ef_search from a
#                sweep: the smallest that reaches the approximate mode's recall (else 0.95)
#   memory       PSS (/proc/<pid>/smaps_rollup) of 16 backends that each ran searches, total vs one
#                copy of the float vectors, next to 16 idle backends
#   bench/scale/run.sh [ROWS] [STEPS]     ROWS default 100000; STEPS a comma list of
#                                         load,exact,approximate,pgvector,memory,server (default: all)
# Environment: PGRAG_SCALE_PORT (56300), PGRAG_SCALE_MODES (modes of pg_rag.search to measure besides
# exact; default "approximate" when the setting exists), PGRAG_SCALE_QUERIES (200 for the approximate
# searches), PGRAG_SCALE_EXACT_QUERIES (10; ORDER BY scans every row), PGRAG_SCALE_BACKENDS (16),
# PGVECTOR_TARBALL (default ../shared/anchors/pgvector-0.8.6.tar.gz beside the repository or, from a
# git worktree, beside its main checkout),
# PGRAG_SCALE_DIR (where the cluster lives; a new directory under /tmp), SCALE_DIMS/SCALE_CENTRES/
# SCALE_SPREAD (gen_mixture.cpp). The cluster and its data are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-100000}"
STEPS=",${2:-load,exact,approximate,pgvector,memory,server},"
PORT="${PGRAG_SCALE_PORT:-56300}"
QUERIES="${PGRAG_SCALE_QUERIES:-200}"
EXACT_QUERIES="${PGRAG_SCALE_EXACT_QUERIES:-10}"
BACKENDS="${PGRAG_SCALE_BACKENDS:-16}"
DIMS="${SCALE_DIMS:-768}"
# ../shared/anchors beside the repository; from a git worktree, beside the main checkout too.
TARBALL="${PGVECTOR_TARBALL:-}"
if [ -z "$TARBALL" ]; then
  for root in "$(pwd)" "$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/.." && pwd)"; do
    TARBALL="$(cd "$root/.." && pwd)/shared/anchors/pgvector-0.8.6.tar.gz"
    [ -f "$TARBALL" ] && break
  done
fi
step() { [[ "$STEPS" == *",$1,"* ]]; }

DIR="${PGRAG_SCALE_DIR:-$(mktemp -d /tmp/pg_rag_scale.XXXXXX)}"
mkdir -p "$DIR"
chmod 755 "$DIR"
BG=()
cleanup() {
  for pid in "${BG[@]}"; do kill "$pid" 2>/dev/null || true; done
  bash docker/pg-cluster.sh stop "$DIR/data" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $ROWS x $DIMS, Gaussian mixture of ${SCALE_CENTRES:-1000} centres (bench/scale/gen_mixture.cpp), cosine"
g++ -O2 -std=c++17 -o "$DIR/gen_mixture" bench/scale/gen_mixture.cpp
GEN="$DIR/gen_mixture"

# The float vectors of one copy, and room for one per searching backend below the cap (today's copies).
COPY_MB=$(((ROWS * DIMS * 4 + 1048575) / 1048576))
PGRAG_PG_OPTS="-c shared_buffers=1GB -c max_connections=$((BACKENDS * 2 + 20)) -c max_parallel_workers_per_gather=0 \
  -c jit=off -c maintenance_work_mem=2GB -c max_parallel_maintenance_workers=1 -c checkpoint_timeout=30min \
  -c max_wal_size=20GB -c pg_rag.search_cache_mb=$((COPY_MB * 2 + 64)) ${PGRAG_SCALE_PG_OPTS:-}" \
  bash docker/pg-cluster.sh start "$DIR/data" "$PORT"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${PSQL[@]}" -c "CREATE DATABASE bench" postgres
Q=("${PSQL[@]}" -d bench)
"${Q[@]}" -c "CREATE EXTENSION pg_rag"
"${Q[@]}" -f bench/scale/measure.sql

# pg_rag.search (exact | approximate | auto) comes with the approximate index; without it, exact only.
HAS_SEARCH=$("${Q[@]}" -Atc "SELECT current_setting('pg_rag.search', true) IS NOT NULL")
if [ "$HAS_SEARCH" = t ]; then
  MODES="${PGRAG_SCALE_MODES:-approximate}"
  EXACT_SET="SET pg_rag.search = 'exact';"
else
  MODES=""
  EXACT_SET=""
  echo "pg_rag.search does not exist in this build: exact search only"
fi

if step load; then
  t0=$(now)
  DOC=$("${Q[@]}" -Atc "INSERT INTO rag_documents (title, content, content_hash, chunking)
                        VALUES ('scale', '', '\\x00', '{}') RETURNING id")
  "$GEN" chunks "$ROWS" "$DOC" | "${Q[@]}" -c "COPY rag_chunks (document_id, seq, content, char_start, char_end,
      embedding, embedding_model, tsv) FROM STDIN (FORMAT binary)"
  load_s=$(since "$t0")
  t0=$(now)
  "${Q[@]}" -c "VACUUM ANALYZE rag_chunks"
  vacuum_s=$(since "$t0")
  "${Q[@]}" -c "CREATE TABLE scale_queries (id int PRIMARY KEY, embedding embedding)"
  "$GEN" queries "$QUERIES" | "${Q[@]}" -c "COPY scale_queries FROM STDIN (FORMAT binary)"
  printf 'load: %s rows generated and COPied (binary) into rag_chunks in %.1f s (%.0f rows/s), VACUUM ANALYZE %.1f s\n' \
    "$ROWS" "$load_s" "$(echo "$ROWS / $load_s" | bc -l)" "$vacuum_s"
fi

RAG="SELECT array_agg(chunk_id ORDER BY distance, chunk_id) FROM rag_search_vector(\$1, 10)"
if step exact || step approximate; then
  # The exact answers are the truth for recall; in this new backend the first call loads the copy.
  "${Q[@]}" -o /dev/null -c "$EXACT_SET SELECT scale_run('exact', '$RAG', 'scale_queries', $QUERIES)"
  first_ms=$("${Q[@]}" -Atc "SELECT round(ms) FROM scale_first WHERE method = 'exact'")
fi

if step exact; then
  echo
  echo "Exact top-10, the same $EXACT_QUERIES queries (ratio = ORDER BY / rag_search; first call in a new backend: $first_ms ms, loads the copy)"
  "${Q[@]}" -o /dev/null -c "SELECT scale_run('order_by', 'SELECT array_agg(id) FROM (SELECT id FROM rag_chunks ORDER BY embedding <=> \$1, id LIMIT 10) s',
                                 'scale_queries', $EXACT_QUERIES)"
  "${Q[@]}" -P footer=off -c "
    SELECT round(o.median_ms::numeric, 1) AS \"ORDER BY median (ms)\", round(e.median_ms::numeric, 2) AS \"rag_search median (ms)\",
           round(e.p95_ms::numeric, 2) AS \"rag_search p95 (ms)\", round((o.median_ms / e.median_ms)::numeric, 1) || 'x' AS ratio,
           (SELECT count(*) FROM scale_latency a JOIN scale_latency b USING (query_id)
             WHERE a.method = 'order_by' AND b.method = 'exact' AND a.ids = b.ids) || ' of ' || o.queries AS same_rows,
           rag_kernel_info() AS kernel
    FROM scale_summary('order_by') o, scale_summary('exact', upto => $EXACT_QUERIES) e"
fi

APPROX_RECALL=""
if step approximate && [ -n "$MODES" ]; then
  echo
  # The index is built by rag_refresh_search_copies (a search in auto mode writes a base without it):
  # read every row, write the base file with the index, as the server's maintenance loop would.
  refresh_ms=$("${Q[@]}" -At -c "SET client_min_messages = debug1" \
    -c "SELECT round(extract(epoch FROM clock_timestamp() - now()) * 1000) FROM (SELECT count(*) FROM rag_refresh_search_copies(force => true)) r" \
    2>"$DIR/refresh.log" | tail -1)
  echo "rag_refresh_search_copies(force => true): $refresh_ms ms (reads every chunk, writes the base file with the approximate index, and the keyword base)"
  echo "  the vector base:$(sed -n 's/.*pg_rag: vector base of [0-9]* rows://p' "$DIR/refresh.log")"
  "${Q[@]}" -P footer=off -c "SELECT copy, dims, generation, chunks, indexed FROM rag_refresh_search_copies()"
  echo "Approximate modes, $QUERIES queries from the mixture (recall@10 against exact; ratio = exact / mode)"
  for mode in $MODES; do
    "${Q[@]}" -o /dev/null -c "SET pg_rag.search = '$mode'; SELECT scale_run('$mode', '$RAG', 'scale_queries', $QUERIES)"
    "${Q[@]}" -P footer=off -c "
      SELECT '$mode' AS mode, round(a.median_ms::numeric, 2) AS \"median (ms)\", round(a.p95_ms::numeric, 2) AS \"p95 (ms)\",
             round(a.recall::numeric, 4) AS \"recall@10\", round((e.median_ms / a.median_ms)::numeric, 2) || 'x' AS \"vs exact\",
             round(f.ms::numeric) AS \"first call in a new backend (ms, includes any build)\"
      FROM scale_summary('$mode') a, scale_summary('exact') e, scale_first f WHERE f.method = '$mode'"
    [ -n "$APPROX_RECALL" ] || APPROX_RECALL=$("${Q[@]}" -Atc "SELECT round(recall::numeric, 4) FROM scale_summary('$mode')")
  done
  # Speed against recall: pg_rag.search_probes (0: the index's default), the same queries.
  echo
  echo "pg_rag.search = approximate by pg_rag.search_probes (0: the default), $QUERIES queries"
  for probes in ${PGRAG_SCALE_PROBES:-1 2 4 8 0}; do
    "${Q[@]}" -o /dev/null -c "SET pg_rag.search = approximate; SET pg_rag.search_probes = $probes; SELECT scale_run('probes_$probes', '$RAG', 'scale_queries', $QUERIES)"
    "${Q[@]}" -At -F ' | ' -c "SELECT 'probes $probes', round(a.median_ms::numeric, 2) || ' ms', 'p95 ' || round(a.p95_ms::numeric, 2) || ' ms',
           'recall@10 ' || round(a.recall::numeric, 4), round((e.median_ms / a.median_ms)::numeric, 2) || 'x exact'
      FROM scale_summary('probes_$probes') a, scale_summary('exact') e"
  done
fi

if step pgvector; then
  echo
  if [ ! -f "$TARBALL" ]; then
    echo "pgvector: $TARBALL not found, skipped (set PGVECTOR_TARBALL)"
  else
    SHAREDIR="$(pg_config --sharedir)"
    if [ ! -f "$SHAREDIR/extension/vector.control" ]; then
      echo "pgvector: building $(basename "$TARBALL") into $(pg_config --pkglibdir) (pg_config: $(command -v pg_config))"
      mkdir -p "$DIR/pgvector"
      tar -xzf "$TARBALL" -C "$DIR/pgvector" --strip-components=1
      make -s -C "$DIR/pgvector" PG_CONFIG="$(command -v pg_config)" >"$DIR/pgvector.log" 2>&1 &&
        make -s -C "$DIR/pgvector" PG_CONFIG="$(command -v pg_config)" install >>"$DIR/pgvector.log" 2>&1 ||
        { tail -20 "$DIR/pgvector.log"; echo "pgvector: build failed, skipped"; TARBALL=""; }
    fi
    if [ -n "$TARBALL" ]; then
      "${Q[@]}" -c "CREATE EXTENSION IF NOT EXISTS vector"
      echo "pgvector $("${Q[@]}" -Atc "SELECT extversion FROM pg_extension WHERE extname = 'vector'"): same vectors, same queries"
      "${Q[@]}" -c "CREATE TABLE pgv (id bigint PRIMARY KEY, embedding vector($DIMS));
                    CREATE TABLE pgv_queries (id int PRIMARY KEY, embedding vector($DIMS))"
      "$GEN" vectors "$ROWS" | "${Q[@]}" -c "COPY pgv FROM STDIN (FORMAT binary)"
      "$GEN" queries "$QUERIES" | "${Q[@]}" -c "COPY pgv_queries FROM STDIN (FORMAT binary)"
      "${Q[@]}" -c "VACUUM ANALYZE pgv"
      # rag_chunks ids follow the COPY order from the sequence; pgv ids are 1..ROWS in the same order.
      OFFSET=$("${Q[@]}" -Atc "SELECT min(id) - 1 FROM rag_chunks")
      t0=$(now)
      "${Q[@]}" -c "CREATE INDEX pgv_hnsw ON pgv USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
      build_s=$(since "$t0")
      printf 'HNSW build (m = 16, ef_construction = 64, maintenance_work_mem 2GB, 1 parallel worker): %.1f s\n' "$build_s"
      PGV="SELECT array_agg(id + $OFFSET) FROM (SELECT id FROM pgv ORDER BY embedding <=> \$1 LIMIT 10) s"
      for ef in 10 20 40 64 100 160 250 400; do
        "${Q[@]}" -o /dev/null -c "SET hnsw.ef_search = $ef; SELECT scale_run('hnsw_ef$ef', '$PGV', 'pgv_queries', $QUERIES)"
      done
      TARGET="${APPROX_RECALL:-0.95}"
      "${Q[@]}" -P footer=off -c "
        SELECT replace(m, 'hnsw_ef', '') AS ef_search, round(s.median_ms::numeric, 2) AS \"median (ms)\",
               round(s.p95_ms::numeric, 2) AS \"p95 (ms)\", round(s.recall::numeric, 4) AS \"recall@10\",
               round((e.median_ms / s.median_ms)::numeric, 2) || 'x' AS \"vs pg_rag exact\"
        FROM unnest(ARRAY['hnsw_ef10', 'hnsw_ef20', 'hnsw_ef40', 'hnsw_ef64', 'hnsw_ef100', 'hnsw_ef160', 'hnsw_ef250', 'hnsw_ef400']) m,
             scale_summary(m) s, scale_summary('exact') e"
      echo "Side by side at recall@10 >= $TARGET (pgvector: the smallest ef_search reaching it):"
      "${Q[@]}" -P footer=off -c "
        WITH h AS (SELECT m, s.* FROM unnest(ARRAY['hnsw_ef10', 'hnsw_ef20', 'hnsw_ef40', 'hnsw_ef64', 'hnsw_ef100', 'hnsw_ef160',
                                                   'hnsw_ef250', 'hnsw_ef400']) WITH ORDINALITY u(m, o), scale_summary(m) s
                   WHERE s.recall >= $TARGET ORDER BY o LIMIT 1)
        SELECT x.method, round(x.median_ms::numeric, 2) AS \"median (ms)\", round(x.p95_ms::numeric, 2) AS \"p95 (ms)\",
               round(x.recall::numeric, 4) AS \"recall@10\",
               round(((SELECT median_ms FROM h) / x.median_ms)::numeric, 2) || 'x' AS \"speed vs HNSW\"
        FROM (SELECT 'pgvector HNSW ef_search ' || replace(m, 'hnsw_ef', '') AS method, median_ms, p95_ms, recall FROM h
              UNION ALL SELECT 'pg_rag ' || m, s.median_ms, s.p95_ms, s.recall
                        FROM unnest(string_to_array(trim('exact $MODES'), ' ')) m, scale_summary(m) s) x"
      "${Q[@]}" -c "DROP TABLE pgv, pgv_queries"
    fi
  fi
fi

# PSS of the backends whose application_name starts with $1, in kB, and how many there were.
pss_of() {
  local total=0 n=0 pid kb
  for pid in $("${Q[@]}" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name LIKE '$1%'"); do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
    total=$((total + kb))
    n=$((n + 1))
  done
  echo "$total $n"
}

# Starts up to $BACKENDS sessions named $1_i that run $2, then sleep, one after another (each waits for
# the previous to sleep); stops early, and says so, when the next copy would not fit in MemAvailable.
start_backends() {
  local i avail_mb
  STARTED=0
  for i in $(seq 1 "$BACKENDS"); do
    avail_mb=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
    if [ "$avail_mb" -lt $((COPY_MB * 3 / 2 + 1024)) ]; then
      echo "memory: stopped at $STARTED backends, MemAvailable ${avail_mb} MB would not hold another copy"
      break
    fi
    "${Q[@]}" -c "SET application_name = '$1_$i'" -c "$2" -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 &
    BG+=($!)
    for _ in $(seq 1 1200); do
      [ "$("${Q[@]}" -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1_$i' AND wait_event = 'PgSleep'")" \
        = 1 ] && break
      kill -0 "$!" 2>/dev/null || { echo "memory: backend $1_$i failed" >&2; return 1; }
      sleep 0.2
    done
    STARTED=$i
  done
}

stop_backends() {
  "${Q[@]}" -Atc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE '$1_%'" >/dev/null
  wait "${BG[@]}" 2>/dev/null || true
  BG=()
}

if step memory; then
  echo
  for mode in exact $MODES; do
    set_mode=""
    [ "$HAS_SEARCH" = t ] && set_mode="SET pg_rag.search = '$mode';"
    start_backends scale_idle "SELECT 1"
    read -r idle_kb idle_n <<<"$(pss_of scale_idle_)"
    stop_backends scale_idle
    start_backends scale_search "$set_mode SELECT count(*) FROM scale_queries q, LATERAL rag_search_vector(q.embedding, 10) WHERE q.id <= 5"
    read -r search_kb search_n <<<"$(pss_of scale_search_)"
    stop_backends scale_search
    copy_kb=$((ROWS * DIMS * 4 / 1024))
    echo "Memory, $search_n backends that each ran 5 searches ($mode), PSS from /proc/<pid>/smaps_rollup:"
    printf '  total %.0f MB; minus %s idle backends (%.0f MB): %.0f MB; one copy of the vectors: %.0f MB\n' \
      "$(echo "$search_kb / 1024" | bc -l)" "$idle_n" "$(echo "$idle_kb / 1024" | bc -l)" \
      "$(echo "($search_kb - $idle_kb) / 1024" | bc -l)" "$(echo "$copy_kb / 1024" | bc -l)"
    printf '  ratio to one copy: total %.2fx, above idle %.2fx (target <= 1.2x)\n' \
      "$(echo "$search_kb / $copy_kb" | bc -l)" "$(echo "($search_kb - $idle_kb) / $copy_kb" | bc -l)"
  done
fi

# Through the server's pool: pg_rag_server with a pool of 4 and of 16 connections, 1 and 16 clients alternating
# hybrid rag_search (top 5) and extractive rag_answer (bench_server_load), each against the same SQL
# through libpq with as many connections in the same run; then the PSS of the pool's backends against
# one copy of the vectors. Questions name their query's topic ("What does topic t<centre> say?") and
# their embeddings are the mixture's queries, put in the embedding cache under the configured provider
# (OpenAI-compatible, model scale-gmm): the provider is stopped before the load, so any query that
# missed the cache would fail.
if step server; then
  echo
  BUILD="${BUILD:-build}"
  for b in pg_rag_server fake_provider bench_server_load; do
    [ -x "$BUILD/$b" ] || { echo "server: $BUILD/$b is missing (make build)" >&2; exit 1; }
  done
  FAKE_PORT=$((PORT + 1))
  "$BUILD/fake_provider" "$FAKE_PORT" >"$DIR/fake_provider.log" 2>&1 &
  FAKE_PID=$!
  BG+=("$FAKE_PID")
  "${Q[@]}" -c "CREATE TABLE IF NOT EXISTS scale_topics (id int PRIMARY KEY, centre int NOT NULL)"
  "$GEN" topics "$QUERIES" | "${Q[@]}" -c "TRUNCATE scale_topics" -c "COPY scale_topics FROM STDIN"
  "${Q[@]}" -c "ALTER DATABASE bench SET pg_rag.embedding_provider = 'openai'" \
    -c "ALTER DATABASE bench SET pg_rag.embedding_model = 'scale-gmm'" \
    -c "ALTER DATABASE bench SET pg_rag.embedding_url = 'http://127.0.0.1:$FAKE_PORT/v1'" \
    -c "ALTER DATABASE bench SET pg_rag.answer_cache = off"
  # The fake provider's key (tests/fake_provider/fake_provider.hpp).
  "${Q[@]}" -o /dev/null -c "SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:$FAKE_PORT/v1')"
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/" && break; sleep 0.1; done
  # One real call records the cache key (provider, endpoint, model, dims) the settings resolve to.
  "${Q[@]}" -o /dev/null -c "SELECT rag_embed('pg_rag scale probe')"
  "${Q[@]}" -c "
    INSERT INTO rag_embedding_cache (provider, endpoint, model, dims, text_hash, embedding)
    SELECT p.provider, p.endpoint, p.model, p.dims,
           sha256(convert_to('What does topic t' || t.centre || ' say? (question ' || t.id || ')', 'UTF8')), q.embedding
    FROM (SELECT * FROM rag_embedding_cache WHERE text_hash = sha256(convert_to('pg_rag scale probe', 'UTF8'))) p,
         scale_queries q JOIN scale_topics t USING (id)
    ON CONFLICT DO NOTHING"
  "${Q[@]}" -Atc "SELECT 'What does topic t' || centre || ' say? (question ' || id || ')' FROM scale_topics ORDER BY id" \
    >"$DIR/questions.txt"
  kill "$FAKE_PID"
  wait "$FAKE_PID" 2>/dev/null || true
  # The approximate index exists when the base was refreshed (the approximate step, or here).
  if [ "$HAS_SEARCH" = t ]; then
    indexed=$("${Q[@]}" -Atc "SELECT bool_or(indexed) FROM rag_refresh_search_copies()")
    [ "$indexed" = t ] || "${Q[@]}" -o /dev/null -c "SELECT rag_refresh_search_copies(force => true)"
  fi
  "${Q[@]}" -Atc "SELECT 'rag_answer through SQL: ' || (a ->> 'answer') || ' (' || jsonb_array_length(a -> 'sources') || ' sources, '
                         || (a ->> 'latency_ms') || ' ms)'
                  FROM (SELECT rag_answer((SELECT 'What does topic t' || centre || ' say? (question 1)' FROM scale_topics WHERE id = 1)) a) r" | cut -c1-200
  SERVER_PORT=$((PORT + 2))
  for pool in ${PGRAG_SCALE_POOLS:-4 16}; do
    "$BUILD/pg_rag_server" --listen "127.0.0.1:$SERVER_PORT" --pool-size "$pool" \
      --database-url "host=127.0.0.1 port=$PORT dbname=bench user=postgres" 2>"$DIR/server_$pool.log" &
    SERVER_PID=$!
    BG+=("$SERVER_PID")
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$SERVER_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    for clients in ${PGRAG_SCALE_CLIENTS:-1 16}; do
      echo "== pg_rag_server, pool of $pool, $clients clients: hybrid search and extractive rag_answer vs the same SQL through libpq"
      "$BUILD/bench_server_load" --server "$pool=127.0.0.1:$SERVER_PORT" --connections "$pool" \
        --questions "$DIR/questions.txt" --clients "$clients" \
        --conninfo "host=127.0.0.1 port=$PORT dbname=bench user=postgres" \
        --seconds "${PGRAG_SCALE_SERVER_SECONDS:-20}" --rounds 1 --warmup 3
    done
    read -r pool_kb pool_n <<<"$(pss_of pg_rag_server)"
    copy_kb=$((ROWS * DIMS * 4 / 1024))
    printf 'memory: the pool'"'"'s %s backends, PSS total %.0f MB = %.2fx one copy of the vectors (%.0f MB); server RSS %.0f MB\n' \
      "$pool_n" "$(echo "$pool_kb / 1024" | bc -l)" "$(echo "$pool_kb / $copy_kb" | bc -l)" "$(echo "$copy_kb / 1024" | bc -l)" \
      "$(echo "$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status") / 1024" | bc -l)"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  done
fi
