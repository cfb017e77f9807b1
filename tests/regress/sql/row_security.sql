-- Per-user visibility enforced by Postgres (0.7.0): two users, alice and bob, and the shared knowledge
-- base. Not one row of a user's documents, chunks, sessions, messages or cached answers reaches the
-- other, through any SQL function or table, in any search mode, with or without filters, over the
-- in-memory copies (also right after the other user loaded them on the same connection) or the SQL
-- fallbacks; BM25's statistics are those of what the caller may see. Both as plain roles (SET ROLE) and
-- as identities a server role asserts with set_config(..., true) on one connection.
TRUNCATE rag_documents CASCADE;
TRUNCATE rag_sessions CASCADE;
TRUNCATE rag_answer_cache;
CREATE ROLE alice;
CREATE ROLE bob;
CREATE ROLE rag_server;
SELECT rag_grant_user_access('alice'), rag_grant_user_access('bob'),
       rag_grant_user_access('rag_server', sets_identity => true);

-- The shared knowledge base, added by a superuser (an admin: shared unless told otherwise).
SELECT rag_ingest('Refund policy', 'Refunds take five business days. Bananas ship in crates.',
                  '{"kind": "notes"}', source => 'kb/refunds') > 0 AS shared_1;
SELECT rag_ingest('Shipping', 'Shipping to Europe takes a week. Bananas travel by sea.', '{"kind": "notes"}') > 0 AS shared_2;
-- Each user's own documents, with words no one else has (zebracorn: alice's; quokkafish: bob's).
SET ROLE alice;
SELECT rag_ingest('Alice plan', 'Alice plans the zebracorn merger. Bananas for the board.', '{"kind": "notes"}',
                  source => 'kb/refunds') > 0 AS alice_1;   -- the shared document's source: her own document
SELECT rag_ingest('Alice diary', 'Zebracorn zebracorn: the secret codename of the merger, bananas.',
                  '{"kind": "notes"}') > 0 AS alice_2;
RESET ROLE;
SET ROLE bob;
SELECT rag_ingest('Bob salary', 'Bob earns a quokkafish bonus, paid in bananas.', '{"kind": "notes"}',
                  source => 'kb/refunds') > 0 AS bob_1;
SELECT rag_ingest('Bob review', 'Quokkafish quokkafish: bob reviews bananas and the merger.', '{"kind": "notes"}') > 0 AS bob_2;
RESET ROLE;
-- Who owns what, as a superuser sees it (everything); chunks follow their documents.
SELECT title, source, owner_id, tenant_id FROM rag_documents ORDER BY id;
SELECT count(*) AS chunks_not_owned_as_their_document FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
WHERE c.owner_id IS DISTINCT FROM d.owner_id OR c.tenant_id IS DISTINCT FROM d.tenant_id;

-- The probe: every path a chunk can come back through, for the current identity, with what it returned
-- classified by owner (the truth is a view owned by the superuser, so it sees every chunk).
CREATE VIEW rls_truth AS SELECT id AS chunk_id, document_id, owner_id FROM rag_chunks;
GRANT SELECT ON rls_truth TO PUBLIC;
CREATE FUNCTION rls_seen(q text) RETURNS TABLE (path text, chunk_id bigint) LANGUAGE sql VOLATILE AS $$
    SELECT 'search vector', s.chunk_id FROM rag_search(q, 50, 'vector') s
    UNION ALL SELECT 'search keyword', s.chunk_id FROM rag_search(q, 50, 'keyword') s
    UNION ALL SELECT 'search hybrid', s.chunk_id FROM rag_search(q, 50, 'hybrid') s
    UNION ALL SELECT 'search vector, filter', s.chunk_id FROM rag_search(q, 50, 'vector', '{"kind": "notes"}') s
    UNION ALL SELECT 'search keyword, filter', s.chunk_id FROM rag_search(q, 50, 'keyword', '{"kind": "notes"}') s
    UNION ALL SELECT 'search hybrid, filter', s.chunk_id FROM rag_search(q, 50, 'hybrid', '{"kind": "notes"}') s
    UNION ALL SELECT 'search by embedding', s.chunk_id FROM rag_search(rag_embed(q), 50) s
    UNION ALL SELECT 'search_ranked', s.chunk_id FROM rag_search_ranked(q, NULL, 50, 'hybrid', NULL) s
    UNION ALL SELECT 'search_vector', s.chunk_id FROM rag_search_vector(rag_embed(q), 50) s
    UNION ALL SELECT 'bm25', s.chunk_id FROM rag_bm25(q, 50) s
    UNION ALL SELECT 'bm25 web syntax', s.chunk_id FROM rag_bm25(replace(q, ' ', ' or '), 50) s
    UNION ALL SELECT 'answer sources', (x ->> 'chunk_id')::bigint
              FROM jsonb_array_elements(rag_answer(q, k => 50, mode => 'keyword') -> 'sources') x
    UNION ALL SELECT 'chunks table', c.id FROM rag_chunks c
    UNION ALL SELECT 'documents table', t.chunk_id FROM rag_documents d JOIN rls_truth t ON t.document_id = d.id
$$;
CREATE FUNCTION rls_probe(q text) RETURNS TABLE (path text, returned bigint, own bigint, shared bigint, others bigint)
LANGUAGE sql VOLATILE AS $$
    SELECT s.path, count(*), count(*) FILTER (WHERE t.owner_id = rag_current_user()),
           count(*) FILTER (WHERE t.owner_id IS NULL), count(*) FILTER (WHERE t.owner_id <> rag_current_user())
    FROM rls_seen(q) s LEFT JOIN rls_truth t USING (chunk_id) GROUP BY 1 ORDER BY 1
$$;

-- A superuser sees everything, as before 0.7.0.
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger');

-- 1. Plain roles, one after the other in this backend: the copies, loaded by the first search, serve
--    both (no reload), and each sees shared and own only.
SET ROLE bob;
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger');
RESET ROLE;
SELECT copy, reloads AS reloads_before FROM rag_search_copies() ORDER BY 1;
SET ROLE alice;
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger');
SELECT count(*) AS alice_finds_quokkafish FROM rag_search('quokkafish', 50, 'keyword');
RESET ROLE;
SELECT copy, reloads AS reloads_after FROM rag_search_copies() ORDER BY 1;

-- 2. The same identities asserted by the server's role on ONE connection, switching between
--    transactions; alice right after bob loaded the copies, then the other way round.
SET ROLE rag_server;
BEGIN;
SELECT set_config('pg_rag.user_id', 'bob', true) AS acting_as;
SELECT count(*) AS bob_results FROM rag_search('quokkafish merger', 50, 'hybrid');
COMMIT;
BEGIN;
SELECT set_config('pg_rag.user_id', 'alice', true) AS acting_as;
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger');
COMMIT;
BEGIN;
SELECT set_config('pg_rag.user_id', 'bob', true) AS acting_as;
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger');
COMMIT;
-- The server's own identity (no user asserted) is a user with nothing of its own.
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger');
RESET ROLE;

-- 3. Over pg_rag.search_cache_mb the searches run in SQL: the policies decide, the same answers.
SET pg_rag.search_cache_mb = 0;
SET ROLE alice;
SELECT * FROM rls_probe('bananas zebracorn quokkafish merger') WHERE path ~ 'search|bm25';
RESET ROLE;
RESET pg_rag.search_cache_mb;

-- 4. BM25 ranks with the statistics of what the caller may see: bob adding documents full of a word
--    changes neither alice's scores nor her corpus statistics (a superuser's do change).
SET ROLE alice;
CREATE TEMP TABLE alice_before AS SELECT chunk_id, score FROM rag_bm25('bananas merger', 50);
CREATE TEMP TABLE alice_stats AS SELECT * FROM rag_kb_stats();
RESET ROLE;
CREATE TEMP TABLE superuser_before AS SELECT chunk_id, score FROM rag_bm25('bananas merger', 50);
SET ROLE bob;
SELECT count(rag_ingest('Bob extra ' || i, repeat('bananas merger quokkafish ', i * 20))) AS bob_added
FROM generate_series(1, 5) i;
RESET ROLE;
GRANT SELECT ON alice_before, alice_stats TO alice;
SET ROLE alice;
SELECT count(*) AS alice_results, count(*) FILTER (WHERE a.score IS DISTINCT FROM b.score) AS alice_scores_changed
FROM rag_bm25('bananas merger', 50) a FULL JOIN alice_before b USING (chunk_id);
SELECT (SELECT row(s.*)::text FROM rag_kb_stats() s) = (SELECT row(s.*)::text FROM alice_stats s) AS alice_stats_unchanged;
SELECT copy, state, chunks AS alice_sees_chunks FROM rag_search_copies() WHERE copy = 'keyword';
RESET ROLE;
SELECT count(*) FILTER (WHERE a.score IS DISTINCT FROM b.score) > 0 AS superuser_scores_changed
FROM rag_bm25('bananas merger', 50) a JOIN superuser_before b USING (chunk_id);

-- 5. Writing: only one's own documents; a non-admin never writes shared ones, nor another user's.
SET ROLE alice;
SELECT rag_ingest('Fake shared', 'Everyone must read this.', shared => true);
SELECT rag_ingest_file(convert_to('Fake shared file.', 'UTF8'), 'fake.txt', shared => true);
SELECT rag_ingest_document(NULL, NULL, 'Fake shared', 'Everyone must read this.');
SELECT rag_ingest_document('bob', NULL, 'Planted', 'A document planted in bob''s name.');
SELECT rag_ingest_document('alice', 'acme', 'Other tenant', 'Alice has no tenant.');
INSERT INTO rag_documents (title, content, content_hash, chunking) VALUES ('Direct', 'x', '\x00', '{}');
INSERT INTO rag_documents (title, content, content_hash, chunking, owner_id) VALUES ('Direct', 'x', '\x00', '{}', 'bob');
-- Chunks into a shared or bob's document are owned as the document: refused.
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv)
SELECT min(t.document_id), 99, 'planted', 0, 0, to_tsvector('planted') FROM rls_truth t WHERE t.owner_id IS NULL;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv, owner_id)
SELECT t.document_id, 99, 'planted', 0, 0, to_tsvector('planted'), 'alice' FROM rls_truth t WHERE t.owner_id = 'bob' LIMIT 1;
-- Updates and deletes reach her own rows only; she cannot give her document away or share it.
UPDATE rag_documents SET title = 'Defaced' WHERE owner_id IS NULL OR owner_id = 'bob';
UPDATE rag_documents SET owner_id = NULL WHERE title = 'Alice plan';
UPDATE rag_documents SET owner_id = 'bob' WHERE title = 'Alice plan';
UPDATE rag_chunks SET owner_id = NULL WHERE owner_id = 'alice';   -- a chunk stays owned as its document
SELECT bool_or(rag_delete_document(t.document_id)) AS deleted_any
FROM rls_truth t WHERE t.owner_id IS NULL OR t.owner_id = 'bob';
BEGIN;
WITH gone AS (DELETE FROM rag_chunks RETURNING owner_id) SELECT owner_id, count(*) AS deleted_chunks FROM gone GROUP BY 1;
WITH gone AS (DELETE FROM rag_documents RETURNING owner_id) SELECT owner_id, count(*) AS deleted_documents FROM gone GROUP BY 1;
ROLLBACK;
-- rag_set_document_owner (0.9.0) follows the same rules: she can neither give hers away nor take bob's.
SELECT rag_set_document_owner((SELECT id FROM rag_documents WHERE title = 'Alice plan'), 'bob', NULL);
SELECT rag_set_document_owner((SELECT min(document_id) FROM rls_truth WHERE owner_id = 'bob'), 'alice', NULL) AS alice_takes_bobs;
RESET ROLE;
-- The knowledge base's owner moves one to carol and back: its chunks follow both times. To bob it
-- fails as an UPDATE would: he has a document of the same source.
SELECT rag_set_document_owner(id, 'bob', NULL) AS moved FROM rag_documents WHERE title = 'Alice plan';
SELECT rag_set_document_owner(id, 'carol', NULL) AS moved FROM rag_documents WHERE title = 'Alice plan';
SELECT owner_id, count(*) > 0 AS has_chunks FROM rag_chunks
WHERE document_id = (SELECT id FROM rag_documents WHERE title = 'Alice plan') GROUP BY 1;
SELECT rag_set_document_owner(id, 'alice', NULL) AS moved_back FROM rag_documents WHERE title = 'Alice plan';
SELECT rag_set_document_owner(-1, 'bob', NULL) AS missing_document;
SELECT count(*) AS chunks_not_owned_as_their_document FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
WHERE c.owner_id IS DISTINCT FROM d.owner_id OR c.tenant_id IS DISTINCT FROM d.tenant_id;
SELECT owner_id, count(*) AS documents, string_agg(title, ', ' ORDER BY title) FILTER (WHERE title NOT LIKE 'Bob extra%') AS titles
FROM rag_documents GROUP BY owner_id ORDER BY owner_id NULLS FIRST;

-- 6. Sessions: another user can neither read, continue nor delete them; the same id is their own session.
SET ROLE alice;
SELECT rag_answer('What is the zebracorn merger?', session_id => 's1') ->> 'answer' AS alice_answer;
RESET ROLE;
SET ROLE bob;
SELECT count(*) AS bob_reads_alice_s1 FROM rag_session_messages('s1');
SELECT rag_delete_session('s1') AS bob_deletes_alice_s1;
SELECT count(*) AS sessions, (SELECT count(*) FROM rag_messages) AS messages FROM rag_sessions;
INSERT INTO rag_messages (session_id, role, content, owner_id) VALUES ('s1', 'user', 'planted', 'alice');
UPDATE rag_messages SET content = 'defaced';
-- bob's s1 is his own session: his question, no history of alice's, sources his and shared only.
SELECT r ->> 'standalone_question' AS rewritten,
       (SELECT count(*) FROM jsonb_array_elements(r -> 'sources') x JOIN rls_truth t ON t.chunk_id = (x ->> 'chunk_id')::bigint
        WHERE t.owner_id = 'alice') AS alice_sources
FROM (SELECT rag_answer('And the zebracorn?', session_id => 's1') AS r) a;
SELECT role, content FROM rag_session_messages('s1');
RESET ROLE;
SET ROLE alice;
SELECT role, left(content, 30) AS content FROM rag_session_messages('s1');
SELECT rag_delete_session('s1') AS alice_deletes_her_s1;
RESET ROLE;
SELECT owner_id, id FROM rag_sessions ORDER BY 1, 2;

-- 7. The answer cache: the same question by two users is answered twice, each from what they may see.
SET ROLE alice;
SELECT r -> 'cached' AS cached, (SELECT string_agg(x ->> 'title', ', ' ORDER BY x ->> 'title')
                                 FROM jsonb_array_elements(r -> 'sources') x) AS sources
FROM (SELECT rag_answer('Who plans the merger?', mode => 'keyword') r) a;
SELECT rag_answer('Who plans the merger?', mode => 'keyword') -> 'cached' AS cached_for_alice;
RESET ROLE;
SET ROLE bob;
SELECT rag_cached_answer('Who plans the merger?', mode => 'keyword') IS NULL AS nothing_cached_for_bob;
SELECT r -> 'cached' AS cached, t.owner_id AS sources_of, count(*)
FROM (SELECT rag_answer('Who plans the merger?', mode => 'keyword') r) a
CROSS JOIN jsonb_array_elements(r -> 'sources') x JOIN rls_truth t ON t.chunk_id = (x ->> 'chunk_id')::bigint
GROUP BY 1, 2 ORDER BY 2;
SELECT owner_id, count(*) AS cached_answers_bob_sees FROM rag_answer_cache GROUP BY 1;
UPDATE rag_answer_cache SET answer = '{"answer": "poisoned"}' WHERE question = 'Who plans the merger?';
DELETE FROM rag_answer_cache WHERE question = 'Who plans the merger?';
RESET ROLE;
SELECT owner_id, answer ->> 'answer' LIKE 'Alice%' AS alice_answer_intact FROM rag_answer_cache
WHERE question = 'Who plans the merger?' ORDER BY 1;
SELECT count(DISTINCT key) = count(*) AS keys_differ_by_asker FROM rag_answer_cache;

-- 8. Tenants: a tenant's shared documents reach that tenant's users only; an admin asserted by the
--    server writes them, and the shared knowledge base of no tenant.
SET ROLE rag_server;
BEGIN;
SELECT set_config('pg_rag.user_id', 'olga', true), set_config('pg_rag.tenant_id', 'acme', true),
       set_config('pg_rag.user_admin', 'on', true);
SELECT rag_ingest('Acme handbook', 'Acme staff get wombatberry vouchers.') > 0 AS acme_shared;
SELECT rag_ingest('Olga notes', 'Olga keeps wombatberry notes.', shared => false) > 0 AS olga_own;
COMMIT;
BEGIN;
SELECT set_config('pg_rag.user_id', 'alice', true), set_config('pg_rag.tenant_id', 'acme', true);
SELECT string_agg(title, ', ' ORDER BY title) AS alice_at_acme FROM rag_search('wombatberry', 10, 'keyword');
SELECT rag_ingest('Alice at acme', 'Alice writes wombatberry notes at acme.') > 0 AS alice_acme_doc;
SELECT string_agg(title, ', ' ORDER BY title) AS alice_at_acme FROM rag_search('wombatberry', 10, 'keyword');
SELECT title, owner_id, tenant_id FROM rag_documents WHERE title LIKE 'Alice at%';
COMMIT;
BEGIN;
SELECT set_config('pg_rag.user_id', 'alice', true), set_config('pg_rag.tenant_id', 'globex', true);
SELECT count(*) AS alice_at_globex FROM rag_search('wombatberry', 10, 'keyword');
COMMIT;
BEGIN;
SELECT set_config('pg_rag.user_id', 'alice', true);
SELECT string_agg(title, ', ' ORDER BY title) AS alice_without_tenant FROM rag_search('wombatberry', 10, 'keyword');
SELECT count(*) AS tenant_documents_alice_reads FROM rag_documents WHERE tenant_id IS NOT NULL;
COMMIT;
RESET ROLE;
SET ROLE alice;
SELECT count(*) AS alice_role FROM rag_search('wombatberry', 10, 'keyword');
RESET ROLE;
-- The admin of a tenant writes that tenant's shared documents only, not another tenant's nor those of
-- every tenant (each statement in its own savepoint).
\set ON_ERROR_ROLLBACK on
SET ROLE rag_server;
BEGIN;
SELECT set_config('pg_rag.user_id', 'olga', true), set_config('pg_rag.tenant_id', 'acme', true),
       set_config('pg_rag.user_admin', 'on', true);
SELECT rag_ingest_document(NULL, NULL, 'Everyone', 'For all tenants.');
SELECT rag_ingest_document(NULL, 'globex', 'Globex', 'For globex.');
UPDATE rag_documents SET tenant_id = NULL WHERE title = 'Acme handbook';
UPDATE rag_documents SET tenant_id = 'globex' WHERE title = 'Acme handbook';
ROLLBACK;
\set ON_ERROR_ROLLBACK off
RESET ROLE;

-- 9. Synced tables: their documents are the table owner's; the trigger writes for the owner whoever
--    writes the table, and attaching it to a table of one's own gives documents of one's own.
CREATE SCHEMA rls_play;
GRANT USAGE, CREATE ON SCHEMA rls_play TO alice, bob;
SET search_path = rls_play, public;
CREATE TABLE rls_posts (id int PRIMARY KEY, body text);
GRANT SELECT, TRIGGER ON rls_posts TO alice;
SET ROLE alice;
SELECT rag_sync_table('rls_posts', 'body');
CREATE TABLE alice_notes (id int PRIMARY KEY, body text);
INSERT INTO alice_notes VALUES (1, 'Alice synced a platypod note.');
SELECT rag_sync_table('alice_notes', 'body');
GRANT INSERT ON alice_notes TO bob;
RESET ROLE;
SET ROLE bob;
INSERT INTO alice_notes VALUES (2, 'Bob writes a platypod row into alice''s table.');
CREATE TABLE bob_table (id int PRIMARY KEY, body text);
CREATE TRIGGER planted AFTER INSERT ON bob_table FOR EACH ROW EXECUTE FUNCTION rag_sync_trigger('body', '', 'id');
INSERT INTO bob_table VALUES (1, 'Bob''s trigger plants a platypod document.');
SELECT count(*) AS bob_sees_platypod FROM rag_search('platypod', 10, 'keyword');
RESET ROLE;
SELECT title, source, owner_id FROM rag_documents WHERE content LIKE '%platypod%' ORDER BY source;
SET ROLE alice;
SELECT rag_unsync_table('alice_notes', delete_documents => true) AS alice_unsynced;
DROP TABLE alice_notes;
RESET ROLE;
SET ROLE bob;
DROP TABLE bob_table;
RESET ROLE;

-- 10. The copies are read as the tables' owner with search_path = pg_catalog, pg_temp: look-alike
--     functions and operators of the caller's never run with the owner's rights (the change log's
--     catch-up calls pg_current_snapshot(); a reload compares dimensions with int4 =).
CREATE SCHEMA rls_evil AUTHORIZATION alice;
SET ROLE alice;
CREATE FUNCTION rls_evil.pg_current_snapshot() RETURNS pg_snapshot LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'attacker code runs as %', current_user; RETURN pg_catalog.pg_current_snapshot(); END $$;
CREATE FUNCTION rls_evil.int4eq(a int4, b int4) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'attacker operator runs as %', current_user; RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR rls_evil.= (LEFTARG = int4, RIGHTARG = int4, FUNCTION = rls_evil.int4eq);
SET search_path = rls_evil, pg_catalog, public;
SELECT count(*) AS found FROM rag_bm25('bananas', 5);
SET pg_rag.search_cache_mb = 1023;   -- another cap: the vectors reload
SELECT count(*) AS found FROM rag_search_vector(rag_embed('bananas'), 5);
RESET pg_rag.search_cache_mb;
RESET search_path;
RESET ROLE;
DROP SCHEMA rls_evil CASCADE;

-- Clean up (the roles' grants and their rows: DROP OWNED, then the roles).
TRUNCATE rag_documents CASCADE;
TRUNCATE rag_sessions CASCADE;
TRUNCATE rag_answer_cache;
DROP TABLE rls_play.rls_posts;
DROP SCHEMA rls_play;
DROP FUNCTION rls_probe(text), rls_seen(text);
DROP VIEW rls_truth;
DROP OWNED BY alice, bob, rag_server;
DROP ROLE alice, bob, rag_server;
