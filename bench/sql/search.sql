-- rag_search (vector mode, top 10) against the plain SQL query it must equal,
-- SELECT id FROM rag_chunks ORDER BY embedding <=> q, id LIMIT 10, on the same table, at 10k, 100k
-- and 300k chunks x 768 dimensions: median latency of 7 runs after a warm-up, and whether both
-- return exactly the same rows for every query.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;
SET pg_rag.search_cache_mb = 2048;

CREATE FUNCTION median_ms(query text, q embedding, reps int DEFAULT 7) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; times double precision[] := '{}';
BEGIN
  EXECUTE query USING q;   -- warm-up (for rag_search: loads the vectors once)
  FOR i IN 1..reps LOOP
    t0 := clock_timestamp();
    EXECUTE query USING q;
    times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END $$;

CREATE TEMP TABLE results (chunks int, plain_ms float8, rag_search_ms float8, first_call_ms float8, same_results text);
INSERT INTO rag_documents (title, content, content_hash, chunking) VALUES ('bench', '', '\x00', '{}');

-- Measures one size: median latency of both queries and whether they agree on 5 random queries.
CREATE FUNCTION measure() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  q embedding := (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 768))::embedding;
  plain float8; ours float8; first float8; t0 timestamptz; same int;
BEGIN
  plain := median_ms('SELECT id FROM rag_chunks ORDER BY embedding <=> $1, id LIMIT 10', q);
  t0 := clock_timestamp();
  PERFORM * FROM rag_search_vector(q, 10);   -- the first call after a change loads the vectors
  first := extract(epoch FROM clock_timestamp() - t0) * 1000;
  ours := median_ms('SELECT * FROM rag_search_vector($1, 10)', q);
  SELECT count(*) INTO same FROM generate_series(1, 5) g,
    LATERAL (SELECT (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 768) WHERE g > 0)::embedding AS e) x
    WHERE (SELECT array_agg(s.chunk_id ORDER BY s.distance, s.chunk_id) FROM rag_search_vector(x.e, 10) s)
        = (SELECT array_agg(id) FROM (SELECT id FROM rag_chunks ORDER BY embedding <=> x.e, id LIMIT 10) b);
  INSERT INTO results VALUES ((SELECT count(*) FROM rag_chunks), plain, ours, first, same || ' of 5');
END $$;

-- Adds chunks up to n (random 768-dimension embeddings).
CREATE FUNCTION grow(n int) RETURNS void LANGUAGE sql AS $$
  INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT min(id) FROM rag_documents), i, '', 0, 0,
         (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 768) WHERE i > 0)::embedding, 'bench', ''
  FROM generate_series((SELECT count(*) FROM rag_chunks) + 1, n) i
$$;

SELECT grow(10000);
VACUUM ANALYZE rag_chunks;
SELECT measure();
SELECT grow(100000);
VACUUM ANALYZE rag_chunks;
SELECT measure();
SELECT grow(300000);
VACUUM ANALYZE rag_chunks;
SELECT measure();

\echo
\echo Exact top-10 over N x 768 (median of 7 after a warm-up; ratio = plain / rag_search)
SELECT chunks, round(plain_ms::numeric, 1) AS "ORDER BY <=> LIMIT 10 (ms)", round(rag_search_ms::numeric, 1) AS "rag_search (ms)",
       round((plain_ms / rag_search_ms)::numeric, 2) || 'x' AS ratio, round(first_call_ms::numeric) AS "first call, loads vectors (ms)",
       same_results FROM results ORDER BY chunks;
SELECT rag_kernel_info() AS kernel_path;
