-- Checks of the distributed knowledge base on the coordinator (psql -tA): where the tables live, that
-- Citus pushes the per-shard top-k down, that the shards carry the policies and the token-count trigger,
-- that the answer cache's version follows changes. One line each: PASS name or FAIL name.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TEMP TABLE results (name text, ok boolean, detail text);

INSERT INTO results
SELECT 'documents and chunks are hash-distributed and co-located', count(*) = 2 AND count(DISTINCT colocationid) = 1, NULL
FROM pg_dist_partition WHERE logicalrelid IN ('rag_documents'::regclass, 'rag_chunks'::regclass) AND partmethod = 'h';
INSERT INTO results
SELECT 'every other table stays on the coordinator', count(*) = 0, string_agg(logicalrelid::text, ', ')
FROM pg_dist_partition WHERE logicalrelid::text LIKE 'rag_%' AND logicalrelid NOT IN ('rag_documents'::regclass, 'rag_chunks'::regclass);

-- The top-k queries pushed down: each shard's task sorts and limits (Citus then merges).
CREATE FUNCTION pg_temp.task_query(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; found text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
    IF line LIKE '%Query: %' THEN found := line; END IF;
  END LOOP;
  RETURN found;
END $$;
INSERT INTO results
SELECT 'vector top-k: ORDER BY distance, id LIMIT k runs on every shard', t ~ 'ORDER BY .* LIMIT', t
FROM pg_temp.task_query($$SELECT c.id, c.document_id, (c.embedding OPERATOR(public.<=>) rag_embed_local('refund'))::float8
  FROM rag_chunks c WHERE c.embedding IS NOT NULL AND dims(c.embedding) = 384 ORDER BY 3, 1 LIMIT 10$$) t;
INSERT INTO results
SELECT 'keyword top-k: BM25 per shard with ORDER BY score DESC, id LIMIT k', t ~ 'rag_bm25_score.*ORDER BY .* LIMIT', t
FROM pg_temp.task_query($$SELECT c.id, c.document_id, rag_bm25_score(c.tsv, c.token_count, '{refund}', '{1.5}', 1.2, 0.75, 100)
  FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id WHERE c.tsv @@ 'refund'::tsquery AND d.metadata @> '{"group": 1}'
  ORDER BY 3 DESC, 1 LIMIT 10$$) t;
INSERT INTO results
SELECT 'the terms'' document frequencies are counted on the shards (GIN), merged here', t ~ 'count' AND t ~ 'unnest', t
FROM pg_temp.task_query($$SELECT t.i, count(*) FROM unnest('{refund,shipping}'::text[]) WITH ORDINALITY t(q, i)
  JOIN rag_chunks c ON c.tsv @@ t.q::tsquery GROUP BY t.i$$) t;

-- Every shard has the row-level security policies and the token-count trigger.
INSERT INTO results
SELECT format('shards of %s have its %s policies and row-level security on', t, want),
       bool_and(r.result = want::text), string_agg(DISTINCT r.result, ',')
FROM (VALUES ('rag_documents', 4), ('rag_chunks', 4)) v(t, want),
     LATERAL run_command_on_shards(t, $$SELECT count(*) FILTER (WHERE (SELECT relrowsecurity FROM pg_class WHERE oid = '%s'::regclass))
                                         FROM pg_policy WHERE polrelid = '%1$s'::regclass$$) r
GROUP BY t, want;
INSERT INTO results
SELECT 'shards of rag_chunks count tokens (trigger rag_count_tokens)', bool_and(r.result = '1'), string_agg(DISTINCT r.result, ',')
FROM run_command_on_shards('rag_chunks', $$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname LIKE 'rag_count_tokens%%'$$) r;
INSERT INTO results
SELECT 'no chunk without its token count', count(*) = 0, count(*)::text
FROM rag_chunks WHERE token_count = 0 AND tsv <> ''::tsvector;

-- The answer cache's key: rag_kb_version() changes with every change on the shards.
SELECT rag_kb_version() AS v1 \gset
SELECT rag_ingest('Version probe', 'A document that only probes the version.', source => 'probe/1') AS probe \gset
SELECT rag_kb_version() AS v2 \gset
SELECT rag_delete_document(:probe) AS probe_deleted \gset
SELECT rag_kb_version() AS v3 \gset
INSERT INTO results SELECT 'rag_kb_version follows an ingest and a delete on the shards', :'v1' <> :'v2' AND :'v2' <> :'v3', :'v1' || ' ' || :'v2' || ' ' || :'v3';

-- Ingesting a source again finds its document on whichever shard (no duplicate, same id).
INSERT INTO results
SELECT 'ingesting a source again updates its document', a = b AND n = 1, a || ' ' || b || ' ' || n
FROM (SELECT rag_ingest('Doc 40', 'Replaced text of doc 40.', source => 'gen/40')::text AS a) x,
     LATERAL (SELECT rag_ingest('Doc 40', 'Replaced text of doc 40, again.', source => 'gen/40')::text AS b) y,
     LATERAL (SELECT count(*) AS n FROM rag_documents WHERE source = 'gen/40') z;

-- The per-backend copies behind rag_bm25 and rag_search_vector still answer right (reloaded per call).
INSERT INTO results
SELECT 'rag_bm25 called directly agrees with rag_search keyword', a = b, a::text || ' vs ' || b::text
FROM (SELECT array_agg(chunk_id ORDER BY o) AS a FROM rag_bm25('refund shipping', 10) WITH ORDINALITY r(chunk_id, s, o)) x,
     (SELECT array_agg(chunk_id ORDER BY o) AS b FROM rag_search('refund shipping', 10, 'keyword') WITH ORDINALITY r(chunk_id, d, t, s, c, h, sc, vr, kr, m, o)) y;
INSERT INTO results
SELECT 'rag_search_vector called directly agrees with rag_search vector', a = b, a::text || ' vs ' || b::text
FROM (SELECT array_agg(chunk_id ORDER BY o) AS a FROM rag_search_vector(rag_embed('refund shipping'), 10) WITH ORDINALITY r(chunk_id, d, dist, o)) x,
     (SELECT array_agg(chunk_id ORDER BY o) AS b FROM rag_search('refund shipping', 10, 'vector') WITH ORDINALITY r(chunk_id, d, t, s, c, h, sc, vr, kr, m, o)) y;

-- A document's owner: a plain UPDATE is refused on the shards (the chunks would keep the former owner),
-- rag_set_document_owner moves the document and its chunks together.
INSERT INTO results
SELECT 'shards of rag_documents carry the owner guard (trigger rag_document_owner_guard)', bool_and(r.result = '1'),
       string_agg(DISTINCT r.result, ',')
FROM run_command_on_shards('rag_documents', $$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname LIKE 'rag_document_owner_guard%%'$$) r;
SELECT min(id) AS alice_doc FROM rag_documents WHERE owner_id = 'rag_alice' AND source LIKE 'alice/%' \gset
DO $$ BEGIN
  UPDATE rag_documents SET owner_id = 'rag_bob' WHERE id = (SELECT min(id) FROM rag_documents WHERE owner_id = 'rag_alice' AND source LIKE 'alice/%');
  INSERT INTO pg_temp.results VALUES ('a plain UPDATE of a distributed document''s owner is refused', false, 'accepted');
EXCEPTION WHEN feature_not_supported THEN
  INSERT INTO pg_temp.results VALUES ('a plain UPDATE of a distributed document''s owner is refused', true, NULL); END $$;
INSERT INTO results
SELECT 'the refused UPDATE left the document and its chunks as they were', d = 'rag_alice' AND c = 0, d || ' ' || c
FROM (SELECT owner_id AS d FROM rag_documents WHERE id = :alice_doc) x,
     (SELECT count(*) AS c FROM rag_chunks WHERE document_id = :alice_doc AND owner_id IS DISTINCT FROM 'rag_alice') y;
SET ROLE rag_alice;
SELECT count(*) AS alice_sees_before FROM rag_search('refund shipping invoice', 1000, 'keyword') WHERE document_id = :alice_doc \gset
SELECT rag_set_document_owner((SELECT min(id) FROM rag_documents WHERE source LIKE 'gen/%'), 'rag_alice', NULL) AS alice_took_shared \gset
RESET ROLE;
INSERT INTO results
SELECT 'a user cannot take a shared document with rag_set_document_owner', NOT :'alice_took_shared'::boolean, :'alice_took_shared';
-- (Called on its own: in a query over the distributed tables Citus would push the call to a shard.)
SELECT rag_set_document_owner(:alice_doc, 'rag_bob', NULL) AS moved \gset
INSERT INTO results
SELECT 'rag_set_document_owner gives a document and its chunks to another user', :'moved'::boolean AND d = 'rag_bob' AND c > 0 AND stale = 0,
       concat_ws(' ', :'moved', d, c, stale)
FROM (SELECT owner_id AS d FROM rag_documents WHERE id = :alice_doc) x,
     LATERAL (SELECT count(*) FILTER (WHERE owner_id = 'rag_bob') AS c,
                     count(*) FILTER (WHERE owner_id IS DISTINCT FROM 'rag_bob') AS stale
              FROM rag_chunks WHERE document_id = :alice_doc) y;
SET ROLE rag_alice;
SELECT count(*) AS alice_sees_after FROM rag_search('refund shipping invoice', 1000, 'keyword') WHERE document_id = :alice_doc \gset
SET ROLE rag_bob;
SELECT count(*) AS bob_sees_after FROM rag_search('refund shipping invoice', 1000, 'keyword') WHERE document_id = :alice_doc \gset
RESET ROLE;
INSERT INTO results
SELECT 'after the move the former owner finds none of its chunks and the new owner finds them',
       :alice_sees_before > 0 AND :alice_sees_after = 0 AND :bob_sees_after = :alice_sees_before,
       concat_ws(' ', :alice_sees_before, :alice_sees_after, :bob_sees_after);
SELECT rag_set_document_owner(-1, 'rag_bob', NULL) AS moved_missing \gset
INSERT INTO results SELECT 'rag_set_document_owner of a missing document is false', NOT :'moved_missing'::boolean, NULL;
SELECT rag_set_document_owner(:alice_doc, 'rag_alice', NULL) AS moved_back \gset
-- With a document of the same source, bob cannot be given hers: refused as the unique index refuses it
-- on one node.
SELECT source AS alice_source FROM rag_documents WHERE id = :alice_doc \gset
SET ROLE rag_bob;
SELECT rag_ingest('Twin', 'A document of bob''s with the source of one of alice''s.', source => :'alice_source') AS twin \gset
RESET ROLE;
SELECT set_config('pgrag_test.alice_doc', :'alice_doc', false) IS NOT NULL AS noted \gset
DO $$ BEGIN
  PERFORM rag_set_document_owner(current_setting('pgrag_test.alice_doc')::bigint, 'rag_bob', NULL);
  INSERT INTO pg_temp.results VALUES ('moving a document to an owner who has its source already is refused (23505)', false, 'moved');
EXCEPTION WHEN unique_violation THEN
  INSERT INTO pg_temp.results VALUES ('moving a document to an owner who has its source already is refused (23505)', true, NULL); END $$;
SELECT rag_delete_document(:twin) AS twin_deleted \gset

-- rag_distribute refuses what it cannot do, and is idempotent.
INSERT INTO results SELECT 'rag_distribute again keeps the shards', rag_distribute(shard_count => 8) = 8, NULL;
DO $$ BEGIN PERFORM rag_distribute(by => 'tenant'); INSERT INTO pg_temp.results VALUES ('rag_distribute by tenant is refused', false, 'accepted');
EXCEPTION WHEN invalid_parameter_value THEN INSERT INTO pg_temp.results VALUES ('rag_distribute by tenant is refused', true, NULL); END $$;

-- rag_bm25_score refuses what it cannot score, with the right SQLSTATE.
DO $$ BEGIN PERFORM rag_bm25_score('a:1'::tsvector, 1, '{a,b}', '{1}', 1.2, 0.75, 1);
  INSERT INTO pg_temp.results VALUES ('rag_bm25_score refuses terms and idf of different lengths', false, 'accepted');
EXCEPTION WHEN invalid_parameter_value THEN
  INSERT INTO pg_temp.results VALUES ('rag_bm25_score refuses terms and idf of different lengths', true, NULL); END $$;
DO $$ BEGIN PERFORM rag_bm25_score('a:1'::tsvector, 1, ARRAY['a', NULL], '{1,2}', 1.2, 0.75, 1);
  INSERT INTO pg_temp.results VALUES ('rag_bm25_score refuses a NULL term', false, 'accepted');
EXCEPTION WHEN null_value_not_allowed THEN
  INSERT INTO pg_temp.results VALUES ('rag_bm25_score refuses a NULL term', true, NULL); END $$;
INSERT INTO results
SELECT 'rag_bm25_score: tf from positions, BM25 of one term', abs(s - want) < 1e-12, s::text || ' vs ' || want::text
FROM (SELECT rag_bm25_score('a:1,2,3 b:4'::tsvector, 4, '{a,zz}', '{2.0,5.0}', 1.2, 0.75, 8) AS s,
             2.0 * (3 * 2.2) / (3 + 1.2 * (1 - 0.75 + 0.75 * 4 / 8.0)) AS want) x;

SELECT CASE WHEN ok THEN 'PASS ' ELSE 'FAIL ' END || name || coalesce(CASE WHEN NOT ok THEN ': ' || detail END, '')
FROM results ORDER BY ok, name;
