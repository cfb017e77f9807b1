-- The knowledge base of the equivalence test, loaded the same way into the single node and into the
-- cluster's coordinator (psql -v files=DIR): shared documents, two users' own documents, files, a synced
-- table, re-ingested and deleted documents. Deterministic: the same ids everywhere.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DO $$ BEGIN CREATE ROLE rag_alice LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE rag_bob LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE rag_srv LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
SELECT rag_grant_user_access('rag_alice'), rag_grant_user_access('rag_bob');
-- rag_srv asserts who its callers are (as the HTTP server does): SET on the identity settings, on the
-- workers too in a cluster (Citus does not propagate GRANT ... ON PARAMETER).
SELECT rag_grant_user_access('rag_srv', sets_identity => true);
DO $$ BEGIN
  IF to_regproc('run_command_on_workers') IS NOT NULL THEN
    PERFORM run_command_on_workers('GRANT SET ON PARAMETER pg_rag.user_id, pg_rag.tenant_id, pg_rag.user_admin TO rag_srv');
  END IF;
END $$;

-- Sentences of words drawn Zipf-like from a vocabulary, by hashing (no random(): same text everywhere).
CREATE FUNCTION pg_temp.words(seed text, n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(CASE WHEN i % 11 = 0 THEN w || '.' ELSE w END, ' ' ORDER BY i)
  FROM (SELECT i, (ARRAY['refund', 'shipping', 'invoice', 'warranty', 'battery', 'screen', 'delivery', 'return',
                         'account', 'password', 'order', 'payment', 'discount', 'coupon', 'store', 'support'])
                   [1 + (abs(hashtext(seed || ':' || i)) % 16)] || CASE WHEN abs(hashtext(seed || '#' || i)) % 3 = 0
                   THEN ' w' || floor(exp((abs(hashtext(seed || '/' || i)) % 1000) / 1000.0 * ln(400)))::int ELSE '' END AS w
        FROM generate_series(1, n) i) x
$$;

-- Shared documents (the superuser is an admin), with metadata for the filters.
SELECT count(rag_ingest('Doc ' || g, pg_temp.words('doc' || g, 120 + (g * 37) % 300),
                        jsonb_build_object('group', g % 3, 'lang', CASE WHEN g % 5 = 0 THEN 'fr' ELSE 'en' END),
                        'gen/' || g)) AS shared_docs
FROM generate_series(1, 150) g;

-- Files of tests/data, through extraction.
SELECT count(rag_ingest_file(pg_read_binary_file(:'files' || '/' || f), f, '{"group": 1}'))
FROM unnest(ARRAY['guide.md', 'faq.json', 'products.csv', 'store.html', 'refund-policy.pdf']) f;

-- On the cluster, the knowledge base so far is distributed now (copied to the shards by rag_distribute);
-- everything after this is written to a distributed knowledge base.
SELECT CASE WHEN to_regproc('create_distributed_table') IS NOT NULL THEN rag_distribute(shard_count => 8) END AS shards;

-- Each user's own documents.
SET ROLE rag_alice;
SELECT count(rag_ingest('Alice ' || g, pg_temp.words('alice' || g, 150), jsonb_build_object('group', g % 3),
                        'alice/' || g)) AS alice_docs FROM generate_series(1, 20) g;
RESET ROLE;
SET ROLE rag_bob;
SELECT count(rag_ingest('Bob ' || g, pg_temp.words('bob' || g, 150), jsonb_build_object('group', g % 3),
                        'bob/' || g)) AS bob_docs FROM generate_series(1, 20) g;
SELECT rag_delete_document((SELECT min(id) FROM rag_documents WHERE source = 'bob/3')) AS bob_deleted;
RESET ROLE;
-- Through the trusted role, for alice: her documents, written and deleted as hers (the id looked up
-- through pg_rag's functions: a plain query of the tables on a cluster is checked on the workers as
-- the connecting role; see the README).
SET ROLE rag_srv;
SET pg_rag.user_id = 'rag_alice';
SELECT count(rag_ingest('Alice via server ' || g, pg_temp.words('alice-srv' || g, 150), '{"group": 1}',
                        'alice/server/' || g)) AS alice_server_docs FROM generate_series(1, 4) g;
SELECT document_id AS server_doc FROM rag_search('Alice via server 2', 1, 'keyword', '{"group": 1}') \gset
SELECT rag_delete_document(:server_doc) AS alice_server_deleted;
RESET pg_rag.user_id;
RESET ROLE;

-- Re-ingesting: same content (nothing changes), new content (chunks replaced), new metadata.
SELECT count(rag_ingest('Doc ' || g, pg_temp.words('doc' || g, 120 + (g * 37) % 300),
                        jsonb_build_object('group', g % 3, 'lang', CASE WHEN g % 5 = 0 THEN 'fr' ELSE 'en' END),
                        'gen/' || g)) AS unchanged FROM generate_series(1, 10) g;
SELECT count(rag_ingest('Doc ' || g || ' (v2)', pg_temp.words('doc-v2-' || g, 200), '{"group": 2}', 'gen/' || g))
    AS changed FROM generate_series(11, 20) g;
-- (ids first: in a query over rag_documents, Citus would push the call down to the shards)
SELECT array_agg(id) AS gone FROM rag_documents WHERE source IN ('gen/30', 'gen/31', 'gen/32') \gset
SELECT count(rag_delete_document(id)) AS deleted FROM unnest(:'gone'::bigint[]) id;

-- A synced table: its rows follow through the triggers.
CREATE TABLE kb_notes (id int PRIMARY KEY, title text, body text);
INSERT INTO kb_notes SELECT g, 'Note ' || g, pg_temp.words('note' || g, 60) FROM generate_series(1, 15) g;
SELECT rag_sync_table('kb_notes', 'body', 'title') AS synced;
INSERT INTO kb_notes VALUES (16, 'Note 16', pg_temp.words('note16', 80));
UPDATE kb_notes SET body = pg_temp.words('note-v2-2', 70) WHERE id = 2;
DELETE FROM kb_notes WHERE id IN (5, 6);
SELECT (SELECT count(*) FROM rag_documents) AS documents, (SELECT count(*) FROM rag_chunks) AS chunks;
