-- Ingest throughput: documents and chunks per second into the knowledge base, with the local
-- embedder and with the fake provider answering after 50 ms per request, against a baseline measured
-- in the same run: a plain INSERT of the same documents into a table (no chunking, no embedding).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;
SET pg_rag.progress_every = 0;

-- :docs documents of ~3 KB (3-4 chunks of up to 1000 characters each), all different.
CREATE TABLE src AS
  SELECT i AS id, 'Document ' || i AS title,
         string_agg(format('Paragraph %s of document %s: refunds are processed within %s business days after the '
                           'returned item arrives, and shipping to region %s takes %s days. ', p, i, p % 7, i % 13, p % 11),
                    E'\n\n') AS body
  FROM generate_series(1, :docs) i, generate_series(1, 18) p GROUP BY i;
CREATE TABLE plain (id int, title text, body text);

CREATE TEMP TABLE results (what text, seconds double precision, docs bigint, chunks bigint);
CREATE FUNCTION run(label text, query text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); BEGIN
  EXECUTE query;
  INSERT INTO results VALUES (label, extract(epoch FROM clock_timestamp() - t0),
                              (SELECT count(*) FROM src), (SELECT count(*) FROM rag_chunks));
END $$;

SELECT run('baseline: INSERT INTO plain', 'INSERT INTO plain SELECT * FROM src');
SELECT run('rag_ingest_table, local embedder', $$SELECT rag_ingest_table('src', 'body', 'title')$$);
TRUNCATE rag_documents CASCADE;

SET pg_rag.embedding_provider = 'openai';
SET pg_rag.openai_api_key = 'sk-test-0123456789abcdef';
SELECT set_config('pg_rag.embedding_url', 'http://127.0.0.1:' || :'fake_port' || '/latency/50/v1', false);
SELECT run('rag_ingest_table, provider at 50 ms (batched)', $$SELECT rag_ingest_table('src', 'body', 'title')$$);
TRUNCATE rag_documents CASCADE;
SELECT rag_clear_embedding_cache();
-- Without the cache there is no prefetch: one request per document, the way a per-row loop works.
SET pg_rag.embedding_cache = off;
SELECT run('rag_ingest per row, provider at 50 ms', $$SELECT rag_ingest(title, body, source => 'src:' || id) FROM src WHERE id <= 100$$);
UPDATE results SET docs = 100 WHERE what LIKE 'rag_ingest per row%';

\echo
\echo Ingest throughput (:docs documents of ~3 KB; ratios against the plain INSERT measured in this run)
SELECT what, round(seconds::numeric, 2) AS seconds, docs, chunks,
       round((docs / seconds)::numeric, 1) AS docs_per_s, round((chunks / seconds)::numeric, 1) AS chunks_per_s,
       round((seconds / docs / (SELECT seconds / docs FROM results WHERE what LIKE 'baseline%'))::numeric, 0) || 'x slower' AS vs_plain_insert
FROM results;
