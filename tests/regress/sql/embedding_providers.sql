-- rag_embed() through every remote provider against the fake provider on 127.0.0.1:55480, with
-- failure injection. `\! curl .../count/KEY` shows how many requests the fake really received.
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/sql-openai/v1';
SET pg_rag.max_retries = 2;
SELECT rag_clear_embedding_cache() >= 0 AS cleared;

-- The fake embeds with the local embedder at 8 dimensions, so results are checkable.
SELECT rag_embed('hello') = rag_embed_local('hello', 8) AS correct;
SELECT rag_embed('hello') = rag_embed_local('hello', 8) AS from_cache;
\! curl -s http://127.0.0.1:55480/count/sql-openai
SELECT requests, retries, texts_embedded, cache_hits, cache_misses FROM rag_embedding_stats();
-- A batch: one request for the three new texts, results in input order, duplicates sent once.
SELECT e[1] = rag_embed_local('b1', 8) AND e[3] = rag_embed_local('b3', 8) AND e[4] = e[1] AND e[2] = rag_embed('hello') AS ok
  FROM (SELECT rag_embed(ARRAY['b1', 'hello', 'b3', 'b1']) AS e) s;
\! curl -s http://127.0.0.1:55480/count/sql-openai
\! curl -s http://127.0.0.1:55480/last/openai
SELECT provider, model, dims, count(*) FROM rag_embedding_cache GROUP BY 1, 2, 3;
-- Requested dimensions go on the wire and into the cache key.
SET pg_rag.embedding_dimensions = 5;
SELECT dims(rag_embed('hello'));
\! curl -s http://127.0.0.1:55480/last/openai
RESET pg_rag.embedding_dimensions;
-- Overrides per call; a model override is a different cache key.
SELECT dims(rag_embed('hello', provider => 'local')) AS local_dims;
SELECT rag_embed('hello', model => 'text-embedding-3-large') = rag_embed_local('hello', 8) AS other_model;
\! curl -s http://127.0.0.1:55480/count/sql-openai
-- With the cache off, every call reaches the provider.
SET pg_rag.embedding_cache = off;
SELECT dims(rag_embed('hello')), dims(rag_embed('hello'));
\! curl -s http://127.0.0.1:55480/count/sql-openai
RESET pg_rag.embedding_cache;

-- Failures: each with the provider's message and status; nothing stored.
CREATE TEMP TABLE cache_before AS SELECT count(*) AS n FROM rag_embedding_cache;
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/401/v1';
SELECT rag_embed('f401');
\! curl -s http://127.0.0.1:55480/count/401
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/500always/v1';
SELECT rag_embed('f500');
\! curl -s http://127.0.0.1:55480/count/500always
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/500once-sql/v1';
SELECT rag_embed('f500once') = rag_embed_local('f500once', 8) AS recovered;
\! curl -s http://127.0.0.1:55480/count/500once-sql
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/429once-sql/v1';
SELECT rag_embed('f429once') = rag_embed_local('f429once', 8) AS recovered_after_retry_after;
\! curl -s http://127.0.0.1:55480/count/429once-sql
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/malformed/v1';
SELECT rag_embed('fmalformed');
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/wrongcount/v1';
SELECT rag_embed(ARRAY['w1', 'w2', 'w3']);
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/wrongdims/v1';
SELECT rag_embed(ARRAY['d1', 'd2', 'd3']);
-- (Ollama, which needs no key: no key is bound to port 1.)
SET pg_rag.embedding_provider = 'ollama';
SET pg_rag.embedding_url = 'http://127.0.0.1:1';
\set VERBOSITY sqlstate
SELECT rag_embed('refused');
\set VERBOSITY default
SET pg_rag.embedding_provider = 'openai';
SELECT count(*) AS stored_by_failures FROM rag_embedding_cache
 WHERE text_hash IN (SELECT sha256(convert_to(t, 'UTF8'))
                     FROM unnest(ARRAY['f401', 'f500', 'fmalformed', 'w1', 'w2', 'w3', 'd1', 'd2', 'd3', 'refused']) t);
SELECT (SELECT count(*) FROM rag_embedding_cache) - n AS stored_by_the_two_recoveries FROM cache_before;
-- A wrong key: the provider's message quotes it, the error never does.
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/v1';
SELECT rag_set_provider_key('openai', 'sk-wrong-secret-999999', 'http://127.0.0.1:55480');
SELECT rag_embed('wrong key');
SELECT rag_delete_provider_key('openai', 'http://127.0.0.1:55480');
SELECT rag_embed('no key');
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');

-- A hanging provider is stopped by statement_timeout in about the timeout, and rolls back cleanly.
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/hang/v1';
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS at;
SET statement_timeout = '500ms';
SELECT rag_embed('slow');
RESET statement_timeout;
SELECT clock_timestamp() - at < interval '1500 ms' AS stopped_within_a_second_or_so FROM t0;
SELECT count(*) FROM rag_embedding_cache WHERE text_hash = sha256('slow');

-- Ollama and Gemini (its key from the server's GEMINI_API_KEY environment variable).
SET pg_rag.embedding_provider = 'ollama';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480';
SELECT rag_embed('ollama text') = rag_embed_local('ollama text', 8) AS ollama_ok;
SELECT rag_embed('x', model => 'missing-model');
SET pg_rag.embedding_provider = 'gemini';
SELECT rag_embed('gemini text') = rag_embed_local('gemini text', 8) AS gemini_ok;
\! curl -s http://127.0.0.1:55480/last/gemini

-- Keys are secrets: a non-superuser can use the configured provider but never read or set the key
-- (keys are not settings at all: see provider_keys.sql).
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/v1';
CREATE ROLE rag_reader;
SET ROLE rag_reader;
SHOW pg_rag.openai_api_key;
SELECT count(*) FROM pg_settings WHERE name LIKE 'pg_rag.%key';
SET pg_rag.openai_api_key = 'sk-mine';
SELECT current_setting('pg_rag.openai_api_key');
SELECT rag_embed('from a plain user') = rag_embed_local('from a plain user', 8) AS works_for_users;
SELECT count(*) FROM rag_embedding_cache;
SELECT rag_clear_embedding_cache();
RESET ROLE;
DROP ROLE rag_reader;
SELECT count(*) > 0 AS user_call_was_cached FROM rag_embedding_cache WHERE text_hash = sha256('from a plain user');
SELECT rag_clear_embedding_cache(provider => 'gemini') AS gemini_rows_cleared;
