-- The per-backend copies (vectors and the BM25 index) follow the knowledge base incrementally and
-- exactly: another session's uncommitted, committed and rolled-back writes, repeatable-read snapshots,
-- a pruned change log, and pg_rag.search_cache_mb set and reset.
TRUNCATE rag_documents CASCADE;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
INSERT INTO rag_documents (title, content, content_hash, chunking) VALUES ('copies', '', '\x00', '{}');
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT min(id) FROM rag_documents), i, 'c' || i, 0, 0,
         (SELECT array_agg(sin(i * 3.3 + j)::real) FROM generate_series(1, 16) j WHERE i > 0)::embedding, 'test',
         to_tsvector('english', 'common word' || (i % 10))
  FROM generate_series(1, 500) i;
CREATE TEMP TABLE probe AS SELECT (SELECT array_agg(cos(j)::real) FROM generate_series(1, 16) j)::embedding AS e;
-- Top-5 ids by vector and the count of keyword hits for a rare word, as this session sees them now.
CREATE FUNCTION seen(word text) RETURNS text LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM rag_bm25(word, 100)) || ' keyword, nearest is ' ||
         (SELECT c.content FROM rag_search_vector((SELECT e FROM probe), 1) s JOIN rag_chunks c ON c.id = s.chunk_id)
$$;
-- True when the vector copy answers exactly as ORDER BY does.
CREATE FUNCTION vector_exact() RETURNS boolean LANGUAGE sql AS $$
  SELECT (SELECT array_agg(chunk_id ORDER BY distance, chunk_id) FROM rag_search_vector((SELECT e FROM probe), 20))
       = (SELECT array_agg(id) FROM (SELECT id FROM rag_chunks ORDER BY embedding <=> (SELECT e FROM probe), id LIMIT 20) b)
$$;
SELECT seen('zebra');
SELECT copy, state, chunks, reloads, updates FROM rag_search_copies() ORDER BY copy;

SELECT dblink_connect('other', 'host=127.0.0.1 port=' || current_setting('port') || ' dbname=' || current_database()
                      || ' user=' || current_user);
-- Another session's uncommitted chunk is not seen; once committed it is, without a full reload.
SELECT dblink_exec('other', 'BEGIN');
SELECT dblink_exec('other', $$INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding,
  embedding_model, tsv) SELECT min(id), 1000, 'the zebra', 0, 0, (SELECT e FROM (SELECT (SELECT array_agg(cos(j)::real)
  FROM generate_series(1, 16) j)::embedding AS e) p), 'test', to_tsvector('english', 'zebra zebra') FROM rag_documents$$);
SELECT seen('zebra');
SELECT dblink_exec('other', 'COMMIT');
SELECT seen('zebra');
SELECT copy, state, chunks, reloads, updates FROM rag_search_copies() ORDER BY copy;
-- A repeatable-read transaction keeps seeing its snapshot while the other session deletes.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT seen('zebra');
SELECT dblink_exec('other', $$DELETE FROM rag_chunks WHERE content = 'the zebra'$$);
SELECT seen('zebra');
SELECT vector_exact();
COMMIT;
SELECT seen('zebra');
-- An ingest rolled back in the other session is never seen.
SELECT dblink_exec('other', 'BEGIN');
SELECT dblink_exec('other', $$UPDATE rag_chunks SET tsv = to_tsvector('english', 'zebra'), embedding = (SELECT
  (SELECT array_agg(cos(j)::real) FROM generate_series(1, 16) j)::embedding) WHERE seq = 7$$);
SELECT seen('zebra');
SELECT dblink_exec('other', 'ROLLBACK');
SELECT seen('zebra'), vector_exact();
-- Our own rolled-back update, and a savepoint rolled back.
BEGIN;
UPDATE rag_chunks SET tsv = to_tsvector('english', 'zebra'), embedding = (SELECT e FROM probe) WHERE seq = 9;
SELECT seen('zebra');
SAVEPOINT s;
DELETE FROM rag_chunks WHERE seq = 9;
SELECT seen('zebra');
ROLLBACK TO SAVEPOINT s;
SELECT seen('zebra');
ROLLBACK;
SELECT seen('zebra'), vector_exact();
SELECT copy, reloads, updates > 1 AS incremental FROM rag_search_copies() ORDER BY copy;

-- The log is pruned as it grows; a session whose last catch-up predates the pruned range reloads.
SELECT reloads AS reloads_before FROM rag_search_copies() WHERE copy = 'vector' \gset
DO $$
BEGIN
    FOR i IN 1..11000 LOOP
        UPDATE rag_chunks SET content = content WHERE seq = 1;
        COMMIT;
    END LOOP;
END $$;
SELECT count(*) < 11000 AS log_pruned FROM rag_chunk_changes;
SELECT dblink_exec('other', $$INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding,
  embedding_model, tsv) SELECT min(id), 1001, 'another zebra', 0, 0, (SELECT (SELECT array_agg(cos(j)::real)
  FROM generate_series(1, 16) j)::embedding), 'test', to_tsvector('english', 'zebra') FROM rag_documents$$);
SELECT seen('zebra'), vector_exact();
SELECT reloads - :reloads_before AS reloads_after_pruning FROM rag_search_copies() WHERE copy = 'vector';
SELECT dblink_disconnect('other');

-- pg_rag.search_cache_mb decides afresh whenever it changes (RESET brings the copy back). It caps the
-- private memory only: the vectors' shared base stays mapped, and an overlay over the cap searches the
-- table instead.
SET pg_rag.search_cache_mb = 0;
SELECT vector_exact();
SELECT copy, state FROM rag_search_copies() ORDER BY copy;
BEGIN;
UPDATE rag_chunks SET embedding = (SELECT e FROM probe) WHERE seq = 3;
SELECT vector_exact();
SELECT copy, state FROM rag_search_copies() ORDER BY copy;
ROLLBACK;
RESET pg_rag.search_cache_mb;
SELECT vector_exact();
SELECT copy, state FROM rag_search_copies() ORDER BY copy;

-- rag_search_table: one metric map, jsonb built for the k nearest rows only, same rows as ORDER BY.
SELECT m, rag_distance_operator(m) FROM unnest(ARRAY['cosine', 'l2', 'inner_product']) m;
SELECT rag_distance_operator(NULL);
SELECT rag_distance_operator('hamming');
CREATE TABLE copies_items (id int PRIMARY KEY, emb embedding(16));
INSERT INTO copies_items SELECT i, (SELECT array_agg(sin(i * 1.7 + j)::real) FROM generate_series(1, 16) j WHERE i > 0)::embedding
  FROM generate_series(1, 300) i;
SELECT (SELECT array_agg((row_data ->> 'id')::int) FROM rag_search_table('copies_items', 'emb', (SELECT e FROM probe), 7, 'l2'))
     = (SELECT array_agg(id) FROM (SELECT id FROM copies_items ORDER BY emb <-> (SELECT e FROM probe) LIMIT 7) b) AS same_rows;
DROP TABLE copies_items;
