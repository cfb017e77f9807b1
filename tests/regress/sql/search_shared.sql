-- Shared search copies (0.8.0): one base file per database, chunk table and dimension, mapped by every
-- backend, plus each backend's private overlay. Two sessions map the same generation; a search stays
-- exactly what its snapshot sees (own uncommitted writes, rollbacks, savepoints, deletes, truncate, a
-- rebuild under a repeatable-read snapshot); the approximate index returns exact distances and k rows
-- under filters; rag_search_plan says which path ran; a cancelled build leaves the old base; a user
-- never gets another user's rows out of the shared base.
TRUNCATE rag_documents CASCADE;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
INSERT INTO rag_documents (title, content, content_hash, chunking, metadata)
  SELECT 'shared ' || d, '', '\x00', '{}', jsonb_build_object('part', d % 10) FROM generate_series(0, 39) d;
-- 4 000 chunks in 40 documents, clustered around 20 centres (like embeddings, unlike uniform noise).
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT min(id) FROM rag_documents) + i % 40, i, 'c' || i, 0, 0,
         (SELECT array_agg((sin((i % 20) * 7.1 + j) + 0.3 * sin(i * 1.3 + j * 2.9))::real)
          FROM generate_series(1, 32) j WHERE i > 0)::embedding, 'test', to_tsvector('english', 'w')
  FROM generate_series(1, 4000) i;
CREATE TEMP TABLE probe AS SELECT (SELECT array_agg(cos(j * 1.1)::real) FROM generate_series(1, 32) j)::embedding AS e;
-- The k nearest as ORDER BY sees them, and whether the copy answers exactly that.
CREATE FUNCTION truth(k int, f jsonb DEFAULT NULL) RETURNS bigint[] LANGUAGE sql AS $$
  SELECT array_agg(id) FROM (SELECT c.id FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
    WHERE f IS NULL OR d.metadata @> f ORDER BY c.embedding <=> (SELECT e FROM probe), c.id LIMIT k) b
$$;
CREATE FUNCTION exact(k int DEFAULT 20) RETURNS boolean LANGUAGE sql AS $$
  SELECT (SELECT array_agg(chunk_id ORDER BY distance, chunk_id) FROM rag_search_vector((SELECT e FROM probe), k))
         IS NOT DISTINCT FROM truth(k)
$$;
CREATE FUNCTION nearest() RETURNS text LANGUAGE sql AS $$
  SELECT c.content FROM rag_search_vector((SELECT e FROM probe), 1) s JOIN rag_chunks c ON c.id = s.chunk_id
$$;
CREATE FUNCTION copy_state() RETURNS TABLE (state text, generation bigint, base_rows bigint, overlay_rows bigint)
LANGUAGE sql AS $$ SELECT state, generation, base_rows, overlay_rows FROM rag_search_copies() WHERE copy = 'vector' $$;
-- The files of this database's copies (the test runs as a superuser).
CREATE FUNCTION snap_files() RETURNS TABLE (snapshots bigint, temporary bigint) LANGUAGE sql AS $$
  SELECT count(*) FILTER (WHERE f LIKE '%.snap'), count(*) FILTER (WHERE f LIKE '%.tmp.%')
  FROM pg_ls_dir('pg_rag/' || (SELECT oid FROM pg_database WHERE datname = current_database()), true, false) f
  WHERE f LIKE 'vectors-%-32-%'
$$;

-- The first search writes the base; the other session maps the same generation, reading nothing.
SELECT exact();
SELECT state, generation > 0 AS has_generation, base_rows, overlay_rows FROM copy_state();
SELECT generation AS g1 FROM copy_state() \gset
SELECT * FROM snap_files();
SELECT dblink_connect('other', 'host=127.0.0.1 port=' || current_setting('port') || ' dbname=' || current_database()
                      || ' user=' || current_user);
SELECT * FROM dblink('other', $$SELECT count(*) FROM rag_search_vector((SELECT (SELECT array_agg(cos(j * 1.1)::real)
  FROM generate_series(1, 32) j)::embedding), 5)$$) AS t(n bigint);
SELECT state, generation = :g1 AS same_generation, base_rows, overlay_rows, reloads
FROM dblink('other', 'SELECT state, generation, base_rows, overlay_rows, reloads FROM rag_search_copies() WHERE copy = ''vector''')
  AS t(state text, generation bigint, base_rows bigint, overlay_rows bigint, reloads bigint);

-- Our own uncommitted insert: seen by us only, over the base; rolled back, never again.
BEGIN;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT min(id), 0, 'own insert', 0, 0, (SELECT e FROM probe), 'test', to_tsvector('english', 'w') FROM rag_documents;
SELECT nearest(), exact();
SELECT state, generation = :g1 AS same_generation, overlay_rows FROM copy_state();
SELECT * FROM dblink('other', $$SELECT c.content FROM rag_search_vector((SELECT (SELECT array_agg(cos(j * 1.1)::real)
  FROM generate_series(1, 32) j)::embedding), 1) s JOIN rag_chunks c ON c.id = s.chunk_id$$) AS t(content text);
-- A savepoint rolled back takes its delete back.
SAVEPOINT s;
DELETE FROM rag_chunks WHERE content = 'own insert';
SELECT nearest() <> 'own insert' AS deleted_within, exact();
ROLLBACK TO SAVEPOINT s;
SELECT nearest(), exact();
ROLLBACK;
SELECT nearest() <> 'own insert' AS rolled_back, exact();
-- Another session's uncommitted insert is not seen; committed it is, through the overlay.
SELECT dblink_exec('other', 'BEGIN');
SELECT dblink_exec('other', $$INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding,
  embedding_model, tsv) SELECT min(id), 0, 'their insert', 0, 0, (SELECT (SELECT array_agg(cos(j * 1.1)::real)
  FROM generate_series(1, 32) j)::embedding), 'test', to_tsvector('english', 'w') FROM rag_documents$$);
SELECT nearest() <> 'their insert' AS uncommitted_unseen, exact();
SELECT dblink_exec('other', 'COMMIT');
SELECT nearest(), exact();
SELECT state, generation = :g1 AS same_generation, overlay_rows FROM copy_state();
-- A deleted base row is never returned (masked in the base).
DELETE FROM rag_chunks WHERE id IN (SELECT chunk_id FROM rag_search_vector((SELECT e FROM probe), 3));
SELECT exact(), exact(50);

-- A rebuild while this session holds an older, repeatable-read snapshot: it keeps answering exactly
-- what its snapshot sees, then maps the new generation once its transaction is over.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT nearest(), exact();
SELECT dblink_exec('other', $$UPDATE rag_chunks SET content = 'their move', embedding = (SELECT
  (SELECT array_agg(cos(j * 1.1)::real) FROM generate_series(1, 32) j)::embedding) WHERE seq = 500$$);
SELECT * FROM dblink('other', 'SELECT rebuilt, generation > ' || :g1 || ' FROM rag_refresh_search_copies(true)
  WHERE dims = 32') AS t(rebuilt boolean, newer boolean);
SELECT nearest(), exact();
SELECT generation = :g1 AS still_old_generation FROM copy_state();
COMMIT;
SELECT nearest(), exact();
SELECT state, generation > :g1 AS newer_generation, overlay_rows FROM copy_state();
SELECT * FROM snap_files();  -- the old generation was removed by the builder (we still map ours)
SELECT generation AS g2 FROM copy_state() \gset

-- Truncate in our transaction: nothing is found; rolled back, all is back.
BEGIN;
TRUNCATE rag_chunks CASCADE;
SELECT count(*) AS after_truncate FROM rag_search_vector((SELECT e FROM probe), 5);
ROLLBACK;
SELECT exact();

-- The approximate index: built into the base when pg_rag.search is approximate (or the base has
-- pg_rag.search_index_rows chunks); exact distances, k rows under filters, the plan says so.
SET pg_rag.search = approximate;
SELECT copy, dims, rebuilt, indexed, chunks FROM rag_refresh_search_copies(true) WHERE dims = 32;
SELECT path, probes > 0 AS probed, candidates >= 10 AS reranked, base_rows, overlay_rows
FROM rag_search_plan((SELECT e FROM probe), 10);
-- Every distance it returns is the exact one; its top 10 are nearly all the exact top 10.
SELECT bool_and(s.distance = (c.embedding <=> (SELECT e FROM probe))::float8) AS exact_distances,
       count(*) FILTER (WHERE s.chunk_id = ANY (truth(10))) >= 9 AS recall_at_least_90_percent
FROM rag_search_vector((SELECT e FROM probe), 10) s JOIN rag_chunks c ON c.id = s.chunk_id;
-- A filter matching one document in forty still gets k rows, all of them matching.
SELECT count(*) AS rows, bool_and(d.metadata @> '{"part": 3}') AS all_match
FROM rag_search_vector((SELECT e FROM probe), 50, '{"part": 3}') s
  JOIN rag_chunks c ON c.id = s.chunk_id JOIN rag_documents d ON d.id = c.document_id;
SELECT path IN ('approximate', 'exact (filter fallback)') AS filtered_path
FROM rag_search_plan((SELECT e FROM probe), 50, '{"part": 3}');
-- Changes since the base are searched exactly in the overlay and merged in.
UPDATE rag_chunks SET embedding = (SELECT e FROM probe), content = 'moved here' WHERE seq = 77;
SELECT nearest(), path, overlay_rows FROM rag_search_plan((SELECT e FROM probe), 10);
-- exact forces the scan; another metric than the index's is exact too.
SET pg_rag.search = exact;
SELECT path FROM rag_search_plan((SELECT e FROM probe), 10);
SELECT exact();
RESET pg_rag.search;
SELECT path FROM rag_search_plan((SELECT e FROM probe), 10);  -- auto: 4 000 rows are below search_index_rows
SET pg_rag.search = approximate;
SET pg_rag.distance_metric = l2;
SELECT path FROM rag_search_plan((SELECT e FROM probe), 10);
RESET pg_rag.distance_metric;
RESET pg_rag.search;
-- Refreshing needs a transaction that has not written.
BEGIN;
UPDATE rag_chunks SET content = content WHERE seq = 1;
SELECT * FROM rag_refresh_search_copies();
ROLLBACK;
-- A fresh base is not rebuilt without force.
SELECT rebuilt FROM rag_refresh_search_copies() WHERE dims = 32;

-- A build cancelled by statement_timeout leaves no file behind and the previous base in place.
SELECT generation AS g3 FROM copy_state() \gset
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT min(id) FROM rag_documents), i, 'big' || i, 0, 0,
         (SELECT array_agg(sin(i * 0.37 + j)::real) FROM generate_series(1, 32) j WHERE i > 0)::embedding, 'test',
         to_tsvector('english', 'w')
  FROM generate_series(10001, 70000) i;
\set VERBOSITY terse
SET statement_timeout = '20ms';
SELECT * FROM rag_refresh_search_copies(true);
RESET statement_timeout;
\set VERBOSITY default
SELECT * FROM snap_files();
SELECT count(*) AS previous_generation_kept FROM pg_ls_dir('pg_rag/' || (SELECT oid FROM pg_database
  WHERE datname = current_database())) f WHERE f LIKE 'vectors-%-32-' || :g3 || '.snap';
-- The next search finds 60 000 changed rows, past the overlay's limit on a small base: it rebuilds.
SELECT count(*) FROM rag_search_vector((SELECT e FROM probe), 5);
SELECT generation > :g3 AS rebuilt_inline, base_rows, overlay_rows FROM copy_state();
DELETE FROM rag_chunks WHERE content LIKE 'big%';
SELECT exact();

-- Another user searching the shared base: never a row of someone else's, in any path.
CREATE ROLE mallory;
SELECT rag_grant_user_access('mallory');
INSERT INTO rag_documents (title, content, content_hash, chunking, owner_id)
  VALUES ('victim secret', '', '\x01', '{}', 'victim');
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT id FROM rag_documents WHERE title = 'victim secret'), i, 'secret' || i, 0, 0,
         (SELECT array_agg((cos(j * 1.1) + i * 0.0001)::real) FROM generate_series(1, 32) j)::embedding, 'test',
         to_tsvector('english', 'w')
  FROM generate_series(1, 30) i;
SELECT count(*) AS victim_chunks FROM rag_chunks WHERE owner_id = 'victim';
SET pg_rag.search = approximate;
SELECT rebuilt, indexed FROM rag_refresh_search_copies(true) WHERE dims = 32;  -- the secrets are in the base now
RESET pg_rag.search;
CREATE TEMP TABLE seen_by_mallory (mode text, chunk_id bigint);
GRANT ALL ON seen_by_mallory, probe TO mallory;
SET ROLE mallory;
INSERT INTO seen_by_mallory SELECT 'exact', chunk_id FROM rag_search_vector((SELECT e FROM probe), 100);
SET pg_rag.search = approximate;
INSERT INTO seen_by_mallory SELECT 'approximate', chunk_id FROM rag_search_vector((SELECT e FROM probe), 100);
INSERT INTO seen_by_mallory SELECT 'approximate, filter', chunk_id
  FROM rag_search_vector((SELECT e FROM probe), 100, '{"part": 3}');
SELECT path, base_rows FROM rag_search_plan((SELECT e FROM probe), 100);
SELECT state, base_rows FROM copy_state();  -- counts what mallory may see
SELECT count(*) FROM rag_refresh_search_copies(force => true);  -- refused: only the owner forces rebuilds
SELECT count(*) >= 0 AS refreshed FROM rag_refresh_search_copies();  -- stale copies: anyone
RESET pg_rag.search;
RESET ROLE;
SELECT mode, count(*) AS returned, count(*) FILTER (WHERE c.owner_id IS NOT NULL) AS others
FROM seen_by_mallory s JOIN rag_chunks c ON c.id = s.chunk_id GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE c.owner_id = 'victim') > 0 AS superuser_sees_secrets
FROM rag_search_vector((SELECT e FROM probe), 100) s JOIN rag_chunks c ON c.id = s.chunk_id;
DELETE FROM rag_documents WHERE title = 'victim secret';
SELECT rag_revoke_user_access('mallory');
REVOKE ALL ON seen_by_mallory, probe FROM mallory;
DROP ROLE mallory;
SELECT dblink_disconnect('other');
TRUNCATE rag_documents CASCADE;
