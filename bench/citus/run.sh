#!/usr/bin/env bash
# rag_search top-10 at 8 clients (pgbench), vector / keyword / hybrid, on one node against a local Citus
# cluster (coordinator + 2 workers) holding the same knowledge base: latency, queries/s and the ratio.
#   bench/citus/run.sh [CHUNKS] [SECONDS]     (default 20000 chunks of 384 dimensions, 15 s per run)
# Ports: PGRAG_CITUS_BENCH_PORT_BASE (default 56440) + 1, 10, 11, 12. Needs Citus and pg_rag installed in
# the PostgreSQL of pg_config (tests/citus/build-citus.sh builds Citus).
set -euo pipefail
cd "$(dirname "$0")/../.."
chunks="${1:-20000}"
seconds="${2:-15}"
base="${PGRAG_CITUS_BENCH_PORT_BASE:-56440}"
single=$((base + 1)) coordinator=$((base + 10))
# Each coordinator backend keeps its connections to the workers across queries (Citus keeps 1 by default
# and opens the others per query: most of a small query's time).
export PGRAG_PG_OPTS="${PGRAG_PG_OPTS:--c citus.max_cached_conns_per_worker=8}"
dir="$(mktemp -d /tmp/pg_rag_citus_bench.XXXXXX)"
chmod 755 "$dir"
trap 'bash tests/citus/cluster.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/citus/cluster.sh start "$dir" "$base" >"$dir/start.log" 2>&1 || { cat "$dir/start.log"; tail -5 "$dir"/*/server.log; exit 1; }
run() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p "$1" -d kb "${@:2}"; }
run "$coordinator" -tAc "SELECT rag_distribute(shard_count => ${PGRAG_CITUS_BENCH_SHARDS:-8})" >/dev/null
model=$(run "$single" -tAc "SELECT rag_embedding_model()")
# The same synthetic corpus on both: documents of 10 chunks, words drawn Zipf-like by hashing (a
# function of the database, not pg_temp: on the cluster the workers compute the chunks of their shards).
load="
SET client_min_messages = warning;
CREATE FUNCTION bench_words(seed text, n int) RETURNS text LANGUAGE sql IMMUTABLE AS \$\$
  SELECT string_agg((ARRAY['refund', 'shipping', 'invoice', 'warranty', 'battery', 'screen', 'delivery', 'return',
                           'account', 'password', 'order', 'payment', 'discount', 'coupon', 'store', 'support'])
                     [1 + (abs(hashtext(seed || ':' || i)) % 16)] || ' w' ||
                     floor(exp((abs(hashtext(seed || '/' || i)) % 1000) / 1000.0 * ln(5000)))::int, ' ' ORDER BY i)
  FROM generate_series(1, n) i
\$\$;
INSERT INTO rag_documents (title, content, content_hash, chunking, metadata)
  SELECT 'doc ' || g, '', '\\x00', '{}', jsonb_build_object('group', g % 3) FROM generate_series(1, $chunks / 10) g;
-- (In two steps, with immutable expressions only: Citus pushes both down to the shards.)
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT d.id, s, bench_words(d.id::text || '-' || s::text, (40 + (d.id * s) % 80)::int), 0, 0, ''::tsvector
  FROM rag_documents d, generate_series(1, 10) s;
UPDATE rag_chunks SET char_end = length(content), tsv = to_tsvector('english'::regconfig, content),
                      embedding = rag_embed_local(content), embedding_model = '$model';
CREATE TABLE bench_questions (id int PRIMARY KEY, q text);
INSERT INTO bench_questions SELECT g, bench_words('question' || g, 3 + g % 4) FROM generate_series(1, 50) g;"
vacuum() { run "$1" -c "VACUUM ANALYZE rag_documents" -c "VACUUM ANALYZE rag_chunks" >/dev/null; }
t0=$(date +%s.%N); run "$single" -c "$load" >/dev/null; vacuum "$single"; t1=$(date +%s.%N)
run "$coordinator" -c "$load" >/dev/null; vacuum "$coordinator"; t2=$(date +%s.%N)
echo "loaded $chunks chunks: one node $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s, cluster $(printf '%.1f' "$(echo "$t2 - $t1" | bc)") s"
echo "mode     one node: ms/query  q/s  | cluster (2 workers): ms/query  q/s | cluster/one node latency"
for mode in vector keyword hybrid; do
  printf '\\set i random(1, 50)\nSELECT count(*) FROM rag_search((SELECT q FROM bench_questions WHERE id = :i), 10, %s);\n' \
    "'$mode'" >"$dir/$mode.sql"
  declare -A lat tps
  for port in "$single" "$coordinator"; do
    # Warm-up: every backend loads what it keeps (the one node's in-memory copies).
    pgbench -n -h 127.0.0.1 -U postgres -p "$port" -c 8 -j 2 -T 3 -f "$dir/$mode.sql" kb >/dev/null 2>&1
    out=$(pgbench -n -h 127.0.0.1 -U postgres -p "$port" -c 8 -j 2 -T "$seconds" -f "$dir/$mode.sql" kb 2>&1)
    lat[$port]=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
    tps[$port]=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  done
  printf '%-8s %18s %6s | %27s %6s | %.2fx\n' "$mode" "${lat[$single]}" "$(printf '%.0f' "${tps[$single]}")" \
    "${lat[$coordinator]}" "$(printf '%.0f' "${tps[$coordinator]}")" "$(echo "${lat[$coordinator]} / ${lat[$single]}" | bc -l)"
done
