#!/usr/bin/env bash
# rag_answer of 0.5.0 (shapes and cache key in PL/pgSQL) vs 0.6.0 (in the C++ core), same library, same
# data, alternating rounds in one run: ms per answer on a cache miss (extractive, 200 documents) and
# on a cache hit. Usage: bench/sql/answer_overhead.sh PORT   (a running cluster with pg_rag installed)
set -euo pipefail
PORT="${1:?port}"
P="psql -X -h 127.0.0.1 -p $PORT -U postgres -v ON_ERROR_STOP=1"
for v in 0.5.0 0.6.0; do
  db="bench_answer_${v//./_}"
  $P -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" postgres
  $P -q -d "$db" -c "CREATE EXTENSION pg_rag VERSION '$v'" \
     -c "SELECT count(rag_ingest('Doc ' || i, 'Document number ' || i || ' explains refunds, shipping and returns. '
         'Refunds take ' || i || ' days. Shipping to region ' || i || ' takes a week.', source => 'd' || i))
         FROM generate_series(1, 200) i" >/dev/null
done
BODY=$(cat <<'SQL'
CREATE FUNCTION pg_temp.t(n int, cache boolean) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE s timestamptz; r jsonb;
BEGIN
  PERFORM set_config('pg_rag.answer_cache', CASE WHEN cache THEN 'on' ELSE 'off' END, true);
  PERFORM rag_answer('How long do refunds take for document 7?');  -- warm; fills the cache when on
  s := clock_timestamp();
  FOR i IN 1..n LOOP r := rag_answer('How long do refunds take for document 7?'); END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - s) * 1000 / n;
END $$;
SELECT round(pg_temp.t(200, false)::numeric, 2) || ' ' || round(pg_temp.t(2000, true)::numeric, 4);
SQL
)
printf '%-8s %-6s %12s %12s\n' version round miss_ms hit_ms
for round in 1 2 3; do
  for v in 0.5.0 0.6.0; do
    read -r miss hit < <(echo "$BODY" | $P -qAt -d "bench_answer_${v//./_}" | tail -1)
    printf '%-8s %-6s %12s %12s\n' "$v" "$round" "$miss" "$hit"
  done
done
for v in 0.5.0 0.6.0; do $P -qc "DROP DATABASE bench_answer_${v//./_}" postgres; done
