-- Keyword search (BM25 in C++ over the in-memory index) ranks exactly as a reference BM25 written in
-- plain SQL: same chunk ids in the same order, scores within 1e-9; also inside a transaction that
-- writes, after savepoint and transaction rollbacks, with filters and web-search syntax.
TRUNCATE rag_documents CASCADE;
SET client_min_messages = warning;
SET plan_cache_mode = force_custom_plan;  -- the reference is slow with a generic plan

-- The reference: BM25 as the SQL implementation before 0.6.0 computed it, summed in lexeme order (in
-- any order, chunks that tie exactly could differ in the last bit and swap, as the plan changes).
CREATE FUNCTION ref_bm25(query text, k int, filter jsonb DEFAULT NULL) RETURNS TABLE (chunk_id bigint, score float8)
LANGUAGE sql STABLE AS $$
WITH cfg AS (SELECT coalesce(nullif(current_setting('pg_rag.text_search_config', true), ''), 'english')::regconfig AS c),
terms AS (SELECT DISTINCT u.lexeme FROM cfg, unnest(to_tsvector(cfg.c, query)) u),
tsq AS (SELECT CASE WHEN query ~ '"|(^|\s)-\S|\s(or|OR)\s' THEN websearch_to_tsquery(cfg.c, query)
                    ELSE (SELECT array_to_string(array_agg(quote_literal(t.lexeme)), ' | ')::tsquery FROM terms t) END AS q
        FROM cfg),
stats AS (SELECT count(*) AS n, greatest(coalesce(avg(token_count), 0)::float8, 1) AS avgdl FROM rag_chunks),
df AS MATERIALIZED (SELECT t.lexeme, (SELECT count(*) FROM rag_chunks c WHERE c.tsv @@ quote_literal(t.lexeme)::tsquery) AS df
                    FROM terms t),
cand AS (SELECT c.id, c.tsv, c.token_count FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id, tsq
         WHERE c.tsv @@ tsq.q AND (filter IS NULL OR d.metadata @> filter))
SELECT cand.id,
       sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
           * (u.tf * (current_setting('pg_rag.bm25_k1')::float8 + 1))
           / (u.tf + current_setting('pg_rag.bm25_k1')::float8 * (1 - current_setting('pg_rag.bm25_b')::float8
                     + current_setting('pg_rag.bm25_b')::float8 * cand.token_count / stats.avgdl)) ORDER BY u.lexeme)::float8 AS bm25
FROM cand CROSS JOIN stats
CROSS JOIN LATERAL (SELECT x.lexeme, coalesce(array_length(x.positions, 1), 1) AS tf FROM unnest(cand.tsv) x) u
JOIN df ON df.lexeme = u.lexeme
GROUP BY cand.id ORDER BY bm25 DESC, cand.id LIMIT k
$$;

-- True when rag_bm25 and the reference agree on ids, order and scores (1e-9).
CREATE FUNCTION same_ranking(query text, k int, filter jsonb DEFAULT NULL) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    got_ids bigint[]; got_scores float8[]; want_ids bigint[]; want_scores float8[];
BEGIN
    SELECT coalesce(array_agg(chunk_id ORDER BY o), '{}'), coalesce(array_agg(score ORDER BY o), '{}')
      INTO got_ids, got_scores FROM rag_bm25(query, k, filter) WITH ORDINALITY r(chunk_id, score, o);
    SELECT coalesce(array_agg(r.chunk_id ORDER BY r.score DESC, r.chunk_id), '{}'),
           coalesce(array_agg(r.score ORDER BY r.score DESC, r.chunk_id), '{}')
      INTO want_ids, want_scores FROM ref_bm25(query, k, filter) r;  -- (inlined: no WITH ORDINALITY)
    RETURN got_ids = want_ids
       AND coalesce((SELECT bool_and(abs(a - b) <= 1e-9) FROM unnest(got_scores, want_scores) u(a, b)), true);
END $$;

-- A Zipf-like corpus: 3000 chunks of 5-80 words over 600 words, in 60 documents.
SELECT setseed(0.25);
INSERT INTO rag_documents (title, content, content_hash, chunking, metadata)
  SELECT 'doc ' || g, '', '\x00', '{}', jsonb_build_object('group', g % 3) FROM generate_series(1, 60) g;
CREATE FUNCTION zipf_text(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg('w' || w || (ARRAY['alpha', 'beta', 'gamma', 'delta'])[1 + w % 4], ' ')
  FROM (SELECT least(600, floor(exp(random() * ln(600)))::int) AS w FROM generate_series(1, n)) x
$$;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT (SELECT min(id) FROM rag_documents) + g % 60, g, t, 0, 0,
         setweight(to_tsvector('english', 'title ' || (g % 60)), 'A') || to_tsvector('english', t)
  FROM (SELECT g, zipf_text(5 + (g * 7) % 76) AS t FROM generate_series(1, 3000) g) x;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)   -- exact ties and empty chunks
  SELECT (SELECT min(id) FROM rag_documents), 10000 + g, '', 0, 0,
         CASE WHEN g <= 5 THEN to_tsvector('english', 'w7delta w7delta w300alpha') ELSE ''::tsvector END
  FROM generate_series(1, 10) g;

CREATE TEMP TABLE queries (q text);
INSERT INTO queries VALUES ('w1beta'), ('w2gamma w3delta'), ('w7delta w300alpha'), ('w5beta w50gamma w500alpha'),
  ('w1beta w2gamma w3delta w4alpha w9beta'), ('w599delta'), ('nothing here matches'), ('title 7 w11delta'),
  ('"w1beta w2gamma"'), ('w2gamma -w1beta'), ('w400alpha or w401beta'), ('W13BETA, w13beta!');
SELECT count(*) AS queries, count(*) FILTER (WHERE same_ranking(q, 10)) AS top10_identical,
       count(*) FILTER (WHERE same_ranking(q, 1)) AS top1_identical,
       count(*) FILTER (WHERE same_ranking(q, 200)) AS top200_identical,
       count(*) FILTER (WHERE same_ranking(q, 10, '{"group": 1}')) AS filtered_identical
FROM queries;
SELECT count(*) AS results FROM rag_bm25('w1beta', 25);
SELECT * FROM rag_kb_stats() s, (SELECT count(*) AS chunks, avg(token_count)::float8 AS average_tokens FROM rag_chunks) r
WHERE s.chunks <> r.chunks OR abs(s.average_tokens - r.average_tokens) > 1e-9;
-- Other BM25 parameters.
SET pg_rag.bm25_k1 = 0.5;
SET pg_rag.bm25_b = 0.3;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_other_params FROM queries;
RESET pg_rag.bm25_k1;
RESET pg_rag.bm25_b;

-- Inside a writing transaction: own uncommitted writes count, rolled-back ones never do, and the
-- copy follows incrementally (no full reload).
SELECT reloads AS reloads_before FROM rag_search_copies() WHERE copy = 'keyword' \gset
BEGIN;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT (SELECT min(id) FROM rag_documents), 20000 + g, '', 0, 0, to_tsvector('english', 'w1beta w1beta zz' || g)
  FROM generate_series(1, 30) g;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_insert FROM queries;
SAVEPOINT s;
DELETE FROM rag_chunks WHERE id IN (SELECT chunk_id FROM rag_bm25('w2gamma', 5));
UPDATE rag_chunks SET tsv = to_tsvector('english', 'w599delta w599delta') WHERE seq IN (1, 2, 3);
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_delete_update FROM queries;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_savepoint_rollback FROM queries;
DELETE FROM rag_chunks WHERE seq BETWEEN 100 AND 400;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_bulk_delete FROM queries;
ROLLBACK;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_rollback FROM queries;
SELECT count(*) AS rolled_back_chunks_found FROM rag_bm25('zz1 zz2 zz3', 10);
SELECT reloads - :reloads_before AS full_reloads, updates > 0 AS caught_up_incrementally
FROM rag_search_copies() WHERE copy = 'keyword';
-- Committed changes, then a TRUNCATE rolled back.
UPDATE rag_chunks SET tsv = to_tsvector('english', 'w599delta') WHERE seq = 10;
DELETE FROM rag_chunks WHERE seq = 11;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_commits FROM queries;
BEGIN;
TRUNCATE rag_chunks;
SELECT count(*) AS found_after_truncate FROM rag_bm25('w1beta', 10);
ROLLBACK;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_after_truncate_rollback FROM queries;

-- A role that may not read the chunks gets "permission denied", copy or not.
CREATE ROLE rag_kw_outsider;
SET ROLE rag_kw_outsider;
SELECT * FROM rag_bm25('w1beta', 3);
RESET ROLE;
DROP ROLE rag_kw_outsider;

-- Over pg_rag.search_cache_mb, BM25 runs in SQL: the same ranking.
SET pg_rag.search_cache_mb = 0;
SELECT count(*) FILTER (WHERE same_ranking(q, 10)) AS identical_over_cap FROM queries;
SELECT state FROM rag_search_copies() WHERE copy = 'keyword';
RESET pg_rag.search_cache_mb;
SELECT count(*) FROM rag_bm25('w1beta', 3);
SELECT state FROM rag_search_copies() WHERE copy = 'keyword';

-- Bad input.
SELECT * FROM rag_bm25('w1beta', 0);
SELECT * FROM rag_bm25(NULL, 3);
SELECT count(*) FROM rag_bm25('the of and', 3);
