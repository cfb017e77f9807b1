-- Keyword search at 1M chunks (bench/sql/run.sh keyword-large [CHUNKS]): rag_bm25 top-10 against
-- ts_rank_cd top-10 in the same run, on the corpus of corpus.sql. The 0.5.0 SQL BM25 is left out here
-- (at 100k it already takes ~10 s per query: keyword.sql has that ratio); ts_rank_cd runs on the first 3
-- queries only (seconds each). The GIN index is built after loading, as a bulk load would.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;
SET pg_rag.search_cache_mb = 16384;
SET max_parallel_workers_per_gather = 0;
SET maintenance_work_mem = '1GB';

\i bench/sql/common.sql

DROP INDEX rag_chunks_tsv_idx;
\set with_embeddings false
\i bench/sql/corpus.sql
CREATE INDEX rag_chunks_tsv_idx ON rag_chunks USING gin (tsv);
ANALYZE rag_chunks;

CREATE TEMP TABLE results (what text, ms float8);
DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
  PERFORM * FROM rag_bm25('w1', 10);
  INSERT INTO results VALUES ('first call (builds the index)', extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
INSERT INTO results SELECT 'rag_bm25 top-10 (median of 20 queries)', median_ms('SELECT * FROM rag_bm25($1, 10)', q) FROM bench_queries;
INSERT INTO results SELECT 'rag_bm25 top-10 (median of the first 3 queries)', median_ms('SELECT * FROM rag_bm25($1, 10)', q[1:3]) FROM bench_queries;
INSERT INTO results SELECT 'ts_rank_cd top-10 (median of the first 3 queries)',
  median_ms('SELECT id FROM rag_chunks WHERE tsv @@ to_tsquery(''english'', replace($1, '' '', '' | ''))
             ORDER BY ts_rank_cd(tsv, to_tsquery(''english'', replace($1, '' '', '' | ''))) DESC, id LIMIT 10', q[1:3])
  FROM bench_queries;
\echo Keyword top-10 over :chunks chunks
SELECT what, round(ms::numeric, 2) AS ms FROM results;
SELECT round(((SELECT ms FROM results WHERE what LIKE 'ts_rank_cd%') /
              (SELECT ms FROM results WHERE what LIKE 'rag_bm25 top-10 (median of the first 3%'))::numeric, 1) AS ts_rank_cd_over_rag_bm25;
SELECT pg_size_pretty(pg_total_relation_size('rag_chunks')) AS rag_chunks_size, (SELECT count(*) FROM rag_chunks) AS chunks;
