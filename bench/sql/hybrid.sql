-- Hybrid rag_search against its two sides, queries/s with 8 clients (pgbench) before/after, vector
-- search during a steady ingest (incremental catch-up vs a full reload per change), the first search
-- after a small ingest, and rag_search_table against the ORDER BY it runs. :chunks chunks, 384 dims.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;
ALTER DATABASE bench SET pg_rag.search_cache_mb = 4096;
SET pg_rag.search_cache_mb = 4096;
\i bench/sql/old_search.sql
\set with_embeddings true
\i bench/sql/corpus.sql

\i bench/sql/common.sql
CREATE FUNCTION elapsed_ms(sql text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  EXECUTE sql;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;

CREATE TEMP TABLE results (what text, ms float8, baseline text);
INSERT INTO results SELECT 'rag_search vector top-10', median_ms('SELECT * FROM rag_search($1, 10, ''vector'')', q), '' FROM bench_queries;
INSERT INTO results SELECT 'rag_search keyword top-10', median_ms('SELECT * FROM rag_search($1, 10, ''keyword'')', q), '' FROM bench_queries;
INSERT INTO results SELECT 'rag_search hybrid top-10', median_ms('SELECT * FROM rag_search($1, 10)', q), 'slower side' FROM bench_queries;
INSERT INTO results SELECT '0.5.0 hybrid (df materialized) top-10', median_ms('SELECT * FROM bench_old_search($1, 10)', q[1:5]), 'hybrid'
  FROM bench_queries;

-- The first vector search after a 1-chunk ingest: incremental catch-up vs a full reload (a changed
-- pg_rag.search_cache_mb reloads: what 0.5.0 did after every change).
SELECT * FROM rag_search_vector((SELECT embedding FROM rag_chunks LIMIT 1), 10);
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv, embedding, embedding_model)
  SELECT min(id), 999999999, 'new', 0, 0, to_tsvector('english', 'new'), (SELECT embedding FROM rag_chunks LIMIT 1),
         rag_embedding_model() FROM rag_documents;
INSERT INTO results SELECT 'first vector search after a 1-chunk ingest, incremental',
  elapsed_ms('SELECT * FROM rag_search_vector((SELECT embedding FROM rag_chunks LIMIT 1), 10)'), 'full reload';
SET pg_rag.search_cache_mb = 4095;
INSERT INTO results SELECT 'full reload', elapsed_ms('SELECT * FROM rag_search_vector((SELECT embedding FROM rag_chunks LIMIT 1), 10)'), '';
RESET pg_rag.search_cache_mb;

\echo
\echo rag_search over :chunks chunks x 384 (median over 20 queries; ratio = ms / baseline ms)
SELECT r.what, round(r.ms::numeric, 2) AS ms, r.baseline,
       round((r.ms / CASE r.baseline WHEN 'slower side' THEN greatest(v.ms, kw.ms) WHEN 'hybrid' THEN h.ms
                                     WHEN 'full reload' THEN fr.ms END)::numeric, 3) || 'x' AS ratio
FROM results r, (SELECT ms FROM results WHERE what = 'rag_search vector top-10') v,
     (SELECT ms FROM results WHERE what = 'rag_search keyword top-10') kw,
     (SELECT ms FROM results WHERE what = 'rag_search hybrid top-10') h,
     (SELECT ms FROM results WHERE what = 'full reload') fr;

-- Queries/s with 8 clients (pgbench; every client builds its copies in its first query, so the
-- progress lines after the first 30 s are the steady state).
\echo
\echo hybrid rag_search, 8 clients: new (progress every 15 s)
\! pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 8 -j 2 -T 90 -P 15 -f bench/sql/pgbench_hybrid.sql bench 2>&1 | grep -E '^tps|failed|^progress'
\echo hybrid 0.5.0 (df materialized), 8 clients: old
\! pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 8 -j 2 -T 60 -P 15 -f bench/sql/pgbench_hybrid_old.sql bench 2>&1 | grep -E '^tps|failed|^progress'

-- Vector search queries/s during a steady ingest (one client inserting single chunks, one searching).
\echo
\echo vector search during ingest: incremental catch-up
\! (pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 1 -T 20 -f bench/sql/pgbench_ingest.sql bench >/dev/null 2>&1 &) ; pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 1 -T 20 -f bench/sql/pgbench_vector.sql bench 2>&1 | grep -E '^tps'
\! sleep 2
\echo vector search during ingest: full reload on every change (0.5.0 behaviour, forced by alternating the cap)
\! (pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 1 -T 20 -f bench/sql/pgbench_ingest.sql bench >/dev/null 2>&1 &) ; pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 1 -T 20 -f bench/sql/pgbench_vector_reload.sql bench 2>&1 | grep -E '^tps'
\! sleep 2
\echo vector search, no ingest
\! pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -c 1 -T 10 -f bench/sql/pgbench_vector.sql bench 2>&1 | grep -E '^tps'

-- rag_search_table over 100 000 rows x 768 against the ORDER BY ... LIMIT it runs, and 0.5.0's version.
CREATE TABLE items (id bigint, body text, emb embedding(768));
INSERT INTO items SELECT i, 'row ' || i, (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 768) WHERE i > 0)::embedding
  FROM generate_series(1, 100000) i;
VACUUM ANALYZE items;
CREATE TEMP TABLE q768 AS SELECT (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 768))::embedding AS e;
CREATE FUNCTION median5(sql text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; times double precision[] := '{}'; q embedding := (SELECT e FROM q768);
BEGIN
  EXECUTE sql USING q;
  FOR i IN 1..5 LOOP t0 := clock_timestamp(); EXECUTE sql USING q; times := times || extract(epoch FROM clock_timestamp() - t0) * 1000; END LOOP;
  RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END $$;
CREATE TEMP TABLE table_results AS
  SELECT median5('SELECT id, emb <=> $1 AS d FROM items WHERE emb IS NOT NULL ORDER BY d LIMIT 10') AS order_by,
         median5('SELECT * FROM rag_search_table(''items'', ''emb'', $1, 10)') AS rag_search_table,
         median5('SELECT * FROM bench_old_search_table(''items'', ''emb'', $1, 10)') AS old_rag_search_table;
\echo
\echo rag_search_table top-10 over 100 000 x 768 (median of 5; ratio = ms / ORDER BY ms)
SELECT round(order_by::numeric, 1) AS "ORDER BY LIMIT 10 (ms)", round(rag_search_table::numeric, 1) AS "rag_search_table (ms)",
       round((rag_search_table / order_by)::numeric, 2) || 'x' AS ratio, round(old_rag_search_table::numeric, 1) AS "0.5.0 (ms)",
       round((old_rag_search_table / order_by)::numeric, 2) || 'x' AS "0.5.0 ratio"
FROM table_results;
