-- Every SQL function of the extension called with only its required arguments (the documented
-- defaults), offline: the local embedder and the extractive answerer. The catalogue list comes first
-- so a new function shows up here and gets its line below.
TRUNCATE rag_documents CASCADE;
SELECT p.oid::regprocedure AS function, pg_get_function_arguments(p.oid) LIKE '%DEFAULT%' AS has_defaults
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_rag')
 ORDER BY p.proname, p.oid::regprocedure::text;

-- The embedding type: I/O, casts, operators and aggregates have no defaults beyond typmod -1.
SELECT embedding_out(embedding_in('[1,2]', 0, -1)), embedding_typmod_in('{3}'), embedding_typmod_out(3);
-- embedding_recv takes an internal buffer, so not from SQL: embedding_type runs it through binary COPY.
SELECT embedding_send('[1,2]');
SELECT embedding('[1,2]', 2, false), array_to_embedding('{1,2}'::int[], -1, false),
       array_to_embedding('{1,2}'::real[], -1, false), array_to_embedding('{1,2}'::float8[], -1, false),
       array_to_embedding('{1,2}'::numeric[], -1, false);
SELECT embedding_to_float4('[1,2]', -1, false), embedding_to_float8('[1,2]', -1, false),
       embedding_to_numeric('[1,2]', -1, false);
SELECT l2_distance('[0,3]', '[4,0]'), cosine_distance('[1,0]', '[0,1]'), inner_product('[1,2]', '[3,4]'),
       negative_inner_product('[1,2]', '[3,4]'), l1_distance('[1,2]', '[3,5]'), l2_norm('[3,4]'),
       l2_normalize('[3,4]'), dims('[1,2,3]'), rag_kernel_info() IS NOT NULL AS kernel_info;
SELECT embedding_add('[1,2]', '[3,4]'), embedding_sub('[1,2]', '[3,4]'), embedding_mul('[1,2]', '[3,4]');
SELECT embedding_avg(embedding_combine(embedding_accum('{0}', '[1,2]'), embedding_accum('{0}', '[3,4]'))),
       embedding_sum(embedding_accum(embedding_accum('{0}', '[1,2]'), '[3,4]'));
SELECT avg(e), sum(e) FROM (VALUES ('[1,2]'::embedding), ('[3,4]')) v(e);
SELECT embedding_lt('[1]', '[2]'), embedding_le('[1]', '[2]'), embedding_eq('[1]', '[2]'), embedding_ne('[1]', '[2]'),
       embedding_ge('[1]', '[2]'), embedding_gt('[1]', '[2]'), embedding_cmp('[1]', '[2]'),
       embedding_hash('[1]') = embedding_hash('[1]') AS hash_stable;

-- Embeddings.
SELECT dims(rag_embed('hello')), cardinality(rag_embed(ARRAY['a', 'b'])), dims(rag_embed_local('hello'));
SELECT requests >= 0 AS stats FROM rag_embedding_stats();
SELECT rag_clear_embedding_cache() >= 0 AS cleared;
SELECT rag_embedding_model();
CREATE TABLE defaults_items (id int PRIMARY KEY, body text, title text, emb embedding);
INSERT INTO defaults_items VALUES (1, 'Alpha text about apples.', 'A', NULL), (2, 'Beta text about bananas.', 'B', NULL);
SELECT rag_embed_table('defaults_items', 'body', 'emb');

-- Documents in (0.5.0: rag_ingest without a source failed with 'record "old" is not assigned yet').
SELECT count(*) FROM rag_chunk('One sentence. Another one.');
SELECT rag_extract_text(convert_to('plain text', 'UTF8')), rag_guess_mime('notes.md');
SELECT rag_ingest('Title', 'Some content') > 0 AS ingested;
SELECT rag_ingest('Title', 'Some content') > 0 AS ingested_again;   -- no source: a second document
SELECT count(*), count(source), min(metadata::text), min(mime) FROM rag_documents WHERE title = 'Title';
SELECT rag_ingest_file(convert_to('A file about cherries.', 'UTF8'), 'dir/cherries.txt') > 0 AS ingested_file;
SELECT title, source, metadata FROM rag_documents WHERE source = 'dir/cherries.txt';
SELECT rag_delete_document((SELECT max(id) FROM rag_documents WHERE title = 'Title'));
SELECT rag_table_name('defaults_items'), rag_row_source('defaults_items', '7');
SELECT rag_check_columns('defaults_items', ARRAY['body', 'title']::name[]);
SELECT rag_ingest_table('defaults_items', 'body');
SELECT rag_ingest_rows('defaults_items', ARRAY['3'], ARRAY['Gamma text.'], ARRAY[NULL], 1000, NULL, 'recursive', false, 0, 1, 0,
                       NULL, NULL);
SELECT rag_ingest_document(NULL, NULL, 'Shared by default', 'Owner and tenant given: a superuser may give any.') > 0 AS ingested;
SELECT rag_sync_owner('defaults_items');
SELECT rag_sync_table('defaults_items', 'body');
INSERT INTO defaults_items VALUES (4, 'Delta text about dates.', 'D', NULL);
SELECT count(*) AS synced FROM rag_documents WHERE source LIKE 'table:public.defaults_items:%';
SELECT rag_drop_sync_triggers('defaults_items');
SELECT rag_unsync_table('defaults_items');
-- rag_sync_trigger, rag_note_change, rag_count_tokens, rag_chunk_owner and rag_document_owner_changed are
-- trigger functions (not callable from SQL): the inserts above ran them (the last one runs below).
UPDATE rag_documents SET owner_id = 'defaults-user' WHERE title = 'Shared by default';
SELECT count(*) AS chunks_followed FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
 WHERE d.title = 'Shared by default' AND c.owner_id = 'defaults-user';
SELECT count(*) > 0 AS changes_noted FROM rag_kb_changes;

-- Metadata: NULL and JSON null mean none; anything but an object is refused (0.5.0 failed on each).
SELECT rag_ingest('M1', 'Metadata test one.', NULL) AS m1, rag_ingest('M2', 'Metadata test two.', 'null') AS m2,
       rag_ingest('M3', 'Metadata test three.', '{"lang": "en"}') AS m3 \gset
SELECT id = :m1 AS m1, id = :m2 AS m2, metadata FROM rag_documents WHERE id IN (:m1, :m2, :m3) ORDER BY id;
SELECT rag_ingest('M4', 'Metadata test four.', '[1]');
SELECT rag_ingest_file(convert_to('x', 'UTF8'), 'm.txt', '"text"');
\set VERBOSITY sqlstate
SELECT rag_ingest('M4', 'Metadata test four.', '[1]');
SELECT rag_ingest('M5', 'Metadata test five.', '5');
\set VERBOSITY default
SELECT rag_ingest_file(convert_to('x', 'UTF8'), 'm2.txt', 'null') > 0 AS ingested_file;
SELECT metadata FROM rag_documents WHERE source = 'm2.txt';
SELECT count(*) AS refused_left_nothing FROM rag_documents WHERE title IN ('M4', 'M5', 'm.txt');
SELECT rag_check_metadata(NULL, 'f'), rag_check_metadata('null', 'f'), rag_check_metadata('{"a": 1}', 'f');

-- Search.
SELECT rag_kb_version() IS NOT NULL AS kb_version, chunks > 0 AS kb_stats FROM rag_kb_stats();
SELECT count(*) > 0 AS found FROM rag_search_vector(rag_embed('apples'));
SELECT count(*) > 0 AS found FROM rag_bm25('apples');
SELECT count(*) > 0 AS found FROM rag_search('apples');
SELECT count(*) > 0 AS found FROM rag_search(rag_embed('apples'));
-- Search internals: the metric's operator, this backend's copies, ranked ids (every argument required).
SELECT rag_distance_operator();
SELECT copy, state FROM rag_search_copies() ORDER BY 1;
SELECT path FROM rag_search_plan(rag_embed('apples'));
SELECT copy, rebuilt FROM rag_refresh_search_copies();
SELECT count(*) > 0 AS found FROM rag_search_ranked('apples', NULL, 5, 'keyword', NULL);
SELECT count(*) AS found FROM rag_search_table('defaults_items', 'emb', rag_embed('apples'));

-- Answers (extractive: no network).
SELECT rag_answer('What is the text about apples?') ->> 'answer' AS answer;
SELECT jsonb_array_length(rag_prepare_answer('Q?') -> 'messages') AS messages;
SELECT rag_generate(rag_prepare_answer('Q?')) ->> 'provider' AS provider;
SELECT rag_rewrite_question('And bananas?', '[{"role": "user", "content": "What about apples?"}]');
SELECT rag_rewrite_question('And bananas?', NULL);
SELECT rag_answer_settings() IS NOT NULL AS answer_settings;
SELECT rag_chat_provider_credentials() -> 0 ->> 'provider' AS first_provider;
SELECT rag_record_answer('defaults-session', 'Q?', '{"answer": "A.", "provider": "extractive", "model": "m"}');
SELECT role, content FROM rag_session_messages('defaults-session');
SELECT rag_delete_session('defaults-session'), rag_prune_sessions('1 day');
SELECT rag_answer_result(rag_prepare_answer('Q?'), '{"answer": "A.", "provider": "p", "model": "m"}') - 'sources';
SELECT length(rag_answer_cache_key('Q?')) AS key_bytes;
SELECT rag_cache_answer('Cached Q?', 5, 'hybrid', NULL, '{"answer": "A.", "provider": "p", "model": "m", "latency_ms": 3}');
SELECT rag_cached_answer('cached q') AS cached;

-- Queued questions: a worker's round with the default retries (3) and retry delay.
SELECT rag_enqueue_question('What is the text about apples?') IS NOT NULL AS enqueued;
SELECT attempts, request FROM rag_claim_question('defaults-worker', '1 minute');
SELECT rag_check_question_worker('defaults-worker');
SELECT rag_extend_question_lease(id, 'defaults-worker', '1 minute') FROM rag_questions;
SELECT rag_fail_question(id, 'defaults-worker', '{"message": "once"}') FROM rag_questions;
UPDATE rag_questions SET retry_at = NULL;
SELECT attempts FROM rag_claim_question('defaults-worker', '1 minute');
SELECT rag_release_question(id, 'defaults-worker') FROM rag_questions;
SELECT attempts FROM rag_claim_question('defaults-worker', '1 minute');
SELECT rag_finish_question(id, 'defaults-worker', '{"answer": "A."}') FROM rag_questions;
SELECT rag_question(id) ->> 'status' AS status FROM rag_questions;
SELECT * FROM rag_question_counts();
SELECT rag_prune_questions('0 seconds') AS pruned;
-- Who is calling, and access for a role (a superuser: its own name, an admin, no tenant; shared by default).
SELECT rag_current_user() = current_user AS current_user, rag_current_tenant() AS tenant, rag_is_admin() AS admin;
SELECT rag_may_write(NULL, NULL) AS may_write_shared, rag_new_document_owner(NULL, 'f') AS new_owner;
CREATE ROLE defaults_role;
SELECT rag_grant_user_access('defaults_role'), rag_revoke_user_access('defaults_role');
DROP ROLE defaults_role;
-- API keys and usage (the HTTP server's callers).
SELECT rag_create_api_key('defaults', 'defaults-user') ~ '^prag_' AS key_made;
SELECT name, user_id, tenant_id, scopes, expires_at, revoked_at FROM rag_api_keys();
SELECT count(*) AS verified FROM rag_verify_api_key('prag_000000000000_' || repeat('0', 64));
SELECT rag_revoke_api_key(id) FROM rag_api_keys();
SELECT rag_record_usage('[{"event": "question", "user_id": "defaults-user"}]') AS recorded;
SELECT day = (now() AT TIME ZONE 'UTC')::date AS today, user_id, questions FROM rag_usage_summary();
DELETE FROM rag_api_keys;
DELETE FROM rag_usage_events;

-- Citus is not installed here: the knowledge base is not distributed, and rag_distribute says why.
SELECT rag_knowledge_base_distributed() AS distributed, rag_kb_local_version() = rag_kb_version() AS one_node_version;
SELECT rag_propagate_identity();
SELECT rag_distribute();
SELECT round(rag_bm25_score(to_tsvector('english', 'refund refund policy'), 3, ARRAY['refund'], ARRAY[1.5], 1.2, 0.75, 3)::numeric, 6) AS bm25;

-- Settings from their C definitions: every pg_rag setting, numbers in base units without a unit.
SELECT rag_setting('pg_rag.rrf_k'), rag_setting('pg_rag.request_timeout'), rag_setting('pg_rag.search_cache_mb'),
       rag_setting('pg_rag.answer_cache'), rag_setting('pg_rag.llm_providers'), rag_setting('pg_rag.system_prompt');
SELECT name FROM pg_settings WHERE name LIKE 'pg_rag.%' AND unit IS NULL
   AND rag_setting(name) IS DISTINCT FROM current_setting(name);
SET pg_rag.answer_cache = off;
SELECT rag_setting('pg_rag.answer_cache')::boolean AS answer_cache;
RESET pg_rag.answer_cache;
SELECT rag_setting('work_mem');
SELECT rag_setting('pg_rag.nope');
SELECT rag_setting(NULL) IS NULL AS strict;
-- API keys are not settings (rag_set_provider_key keeps them), so no setting can reveal one.
SELECT rag_setting('pg_rag.openai_api_key');
-- Provider keys: base_url defaults to the provider's own URL.
SELECT rag_set_provider_key('openai', 'sk-defaults-0123456789');
SELECT provider, base_url FROM rag_provider_keys() WHERE base_url LIKE 'https://%';
SELECT rag_delete_provider_key('openai');

DROP TABLE defaults_items;
TRUNCATE rag_documents CASCADE;
