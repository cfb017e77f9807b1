-- Keyword search over the shared base: the first search writes the BM25 index into a snapshot file,
-- other backends map it and catch up from its snapshot through the change log (no full read of the
-- table), and every backend ranks exactly as the SQL reference (ids, order, scores within 1e-9),
-- through commits, its own uncommitted writes, a rollback and a rebuild of the base.
TRUNCATE rag_documents CASCADE;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SET plan_cache_mode = force_custom_plan;

-- The reference: BM25 in plain SQL, as in search_bm25 (summed in lexeme order).
CREATE FUNCTION shared_ref_bm25(query text, k int) RETURNS TABLE (chunk_id bigint, score float8)
LANGUAGE sql STABLE AS $$
WITH terms AS (SELECT DISTINCT u.lexeme FROM unnest(to_tsvector('english', query)) u),
tsq AS (SELECT array_to_string(array_agg(quote_literal(t.lexeme)), ' | ')::tsquery AS q FROM terms t),
stats AS (SELECT count(*) AS n, greatest(coalesce(avg(token_count), 0)::float8, 1) AS avgdl FROM rag_chunks),
df AS MATERIALIZED (SELECT t.lexeme, (SELECT count(*) FROM rag_chunks c WHERE c.tsv @@ quote_literal(t.lexeme)::tsquery) AS df
                    FROM terms t),
cand AS (SELECT c.id, c.tsv, c.token_count FROM rag_chunks c, tsq WHERE c.tsv @@ tsq.q)
SELECT cand.id,
       sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * (u.tf * (1.2 + 1))
           / (u.tf + 1.2 * (1 - 0.75 + 0.75 * cand.token_count / stats.avgdl)) ORDER BY u.lexeme)::float8 AS bm25
FROM cand CROSS JOIN stats
CROSS JOIN LATERAL (SELECT x.lexeme, coalesce(array_length(x.positions, 1), 1) AS tf FROM unnest(cand.tsv) x) u
JOIN df ON df.lexeme = u.lexeme
GROUP BY cand.id ORDER BY bm25 DESC, cand.id LIMIT k
$$;
CREATE FUNCTION shared_same_ranking(query text, k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    got_ids bigint[]; got_scores float8[]; want_ids bigint[]; want_scores float8[];
BEGIN
    SELECT coalesce(array_agg(chunk_id ORDER BY o), '{}'), coalesce(array_agg(score ORDER BY o), '{}')
      INTO got_ids, got_scores FROM rag_bm25(query, k) WITH ORDINALITY r(chunk_id, score, o);
    SELECT coalesce(array_agg(r.chunk_id ORDER BY r.score DESC, r.chunk_id), '{}'),
           coalesce(array_agg(r.score ORDER BY r.score DESC, r.chunk_id), '{}')
      INTO want_ids, want_scores FROM shared_ref_bm25(query, k) r;
    RETURN got_ids = want_ids
       AND coalesce((SELECT bool_and(abs(a - b) <= 1e-9) FROM unnest(got_scores, want_scores) u(a, b)), true);
END $$;
-- The keyword base files of this database.
CREATE FUNCTION shared_bm25_files() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT f FROM pg_ls_dir('pg_rag/' || (SELECT oid FROM pg_database WHERE datname = current_database())) f
  WHERE f LIKE 'bm25-%.snap' ORDER BY f
$$;

SELECT setseed(0.5);
INSERT INTO rag_documents (title, content, content_hash, chunking) SELECT 'doc ' || g, '', '\x00', '{}' FROM generate_series(1, 20) g;
CREATE FUNCTION shared_text(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg('w' || w || (ARRAY['alpha', 'beta', 'gamma'])[1 + w % 3], ' ')
  FROM (SELECT least(400, floor(exp(random() * ln(400)))::int) AS w FROM generate_series(1, n)) x
$$;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT (SELECT min(id) FROM rag_documents) + g % 20, g, t, 0, 0, to_tsvector('english', t)
  FROM (SELECT g, shared_text(5 + (g * 7) % 60) AS t FROM generate_series(1, 2000) g) x;
CREATE TABLE shared_queries (q text);
INSERT INTO shared_queries VALUES ('w1beta'), ('w2gamma w3alpha'), ('w7beta w300alpha'), ('w5gamma w50gamma w250gamma'),
  ('w1beta w2gamma w3alpha w4beta w9alpha'), ('w399alpha'), ('zebra'), ('zebra w1beta'), ('nothing matches');

-- The first search writes the base and maps it.
SELECT count(*) AS queries, count(*) FILTER (WHERE shared_same_ranking(q, 10)) AS identical FROM shared_queries;
SELECT state, reloads FROM rag_search_copies() WHERE copy = 'keyword';
SELECT count(*) AS base_files FROM shared_bm25_files();
SELECT shared_bm25_files() AS first_base \gset

-- Changes committed since the base: chunks added, deleted and rewritten.
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT (SELECT min(id) FROM rag_documents), 5000 + g, 'zebra', 0, 0, to_tsvector('english', repeat('zebra ', g) || 'w1beta')
  FROM generate_series(1, 12) g;
DELETE FROM rag_chunks WHERE seq % 97 = 0;
UPDATE rag_chunks SET tsv = to_tsvector('english', 'zebra w2gamma'), token_count = 2 WHERE seq % 89 = 0;

-- Another backend maps the same base and catches up: the same rankings, without reading the table.
SELECT dblink_connect('b', 'host=127.0.0.1 port=' || current_setting('port') || ' dbname=' || current_database()
                      || ' user=' || current_user);
SELECT * FROM dblink('b', $$SET plan_cache_mode = force_custom_plan;
  SELECT count(*), count(*) FILTER (WHERE shared_same_ranking(q, 10)), count(*) FILTER (WHERE shared_same_ranking(q, 500))
  FROM shared_queries$$) AS t(queries bigint, top10_identical bigint, top500_identical bigint);
SELECT * FROM dblink('b', $$SELECT state, reloads, updates FROM rag_search_copies() WHERE copy = 'keyword'$$)
  AS t(state text, reloads bigint, updates bigint);
SELECT * FROM dblink('b', $$SELECT s.chunks = r.chunks AND abs(s.average_tokens - r.average_tokens) <= 1e-9
  FROM rag_kb_stats() s, (SELECT count(*) AS chunks, avg(token_count)::float8 AS average_tokens FROM rag_chunks) r$$)
  AS t(same_statistics boolean);
-- And this backend, which wrote the base, follows too.
SELECT count(*) FILTER (WHERE shared_same_ranking(q, 10)) AS identical_after_changes FROM shared_queries;

-- The other backend's own uncommitted chunk counts for it alone; once rolled back, for nobody.
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT min(id), 9000, 'okapi', 0, 0, to_tsvector('english', 'okapi okapi zebra') FROM rag_documents$$);
SELECT * FROM dblink('b', $$SELECT (SELECT count(*) FROM rag_bm25('okapi', 10)), shared_same_ranking('okapi zebra', 20)$$)
  AS t(okapi_hits bigint, identical boolean);
SELECT count(*) AS okapi_hits_here FROM rag_bm25('okapi', 10);
SELECT dblink_exec('b', 'ROLLBACK');
SELECT * FROM dblink('b', $$SELECT (SELECT count(*) FROM rag_bm25('okapi', 10)), shared_same_ranking('okapi zebra', 20)$$)
  AS t(okapi_hits bigint, identical boolean);

-- Past 10 000 changed chunks the overlay is folded into a new base (its older file removed), which
-- the other backend then maps instead of its overlay.
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
  SELECT (SELECT min(id) FROM rag_documents) + g % 20, 10000 + g, '', 0, 0, to_tsvector('english', shared_text(8))
  FROM generate_series(1, 10500) g;
SELECT count(*) FILTER (WHERE shared_same_ranking(q, 10)) AS identical_after_rebuild FROM shared_queries;
SELECT state, reloads FROM rag_search_copies() WHERE copy = 'keyword';
SELECT count(*) AS base_files, min(f) <> :'first_base' AS rebuilt FROM shared_bm25_files() f;
SELECT * FROM dblink('b', $$SELECT count(*) FILTER (WHERE shared_same_ranking(q, 10)) FROM shared_queries$$)
  AS t(identical bigint);
SELECT * FROM dblink('b', $$SELECT state, reloads FROM rag_search_copies() WHERE copy = 'keyword'$$)
  AS t(state text, reloads bigint);
SELECT dblink_disconnect('b');

DROP TABLE shared_queries;
DROP FUNCTION shared_same_ranking(text, int);
DROP FUNCTION shared_ref_bm25(text, int);
DROP FUNCTION shared_bm25_files();
DROP FUNCTION shared_text(int);
