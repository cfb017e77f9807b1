-- Provider keys and endpoints (0.6.0). Each block plays an attacker: a role without superuser rights
-- (rag_attacker), or one trusted to choose endpoints (rag_endpointer, granted SET on the URL settings).
-- The fake provider on 127.0.0.1:55480 shows what it received: /count/TAG, /lastauth/ENDPOINT.
SET pg_rag.answer_cache = off;
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/keys/v1';
CREATE ROLE rag_attacker;
CREATE ROLE rag_endpointer;
-- (Answers here search by keyword: no embedding call before the chat call.)
GRANT SELECT ON rag_documents, rag_chunks TO rag_endpointer;

-- 1. Keys are not settings: nobody but a superuser reads them, however they were configured.
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET pg_rag.openai_api_key = %L', current_database(), 'sk-db-secret'); END $$;
SET pg_rag.openai_api_key = 'sk-session-secret';
SET ROLE rag_attacker;
SELECT count(*) AS keys_in_db_settings FROM pg_db_role_setting WHERE array_to_string(setconfig, ' ') LIKE '%secret%';
SELECT count(*) AS keys_in_pg_settings FROM pg_settings WHERE setting LIKE '%sk-%' OR name LIKE '%api_key%';
SHOW pg_rag.openai_api_key;
SELECT current_setting('pg_rag.openai_api_key', true) AS key_setting;
SELECT * FROM rag_provider_keys;
SELECT * FROM rag_provider_keys();
SELECT rag_set_provider_key('openai', 'sk-attacker', 'http://localhost:55480/v1');
SELECT rag_delete_provider_key('openai', 'http://127.0.0.1:55480');
-- Users still use the key, without seeing it.
SELECT rag_embed('a user embeds') = rag_embed_local('a user embeds', 8) AS users_can_embed;
RESET ROLE;
-- The functions check for a superuser themselves, even when EXECUTE was granted by mistake.
GRANT EXECUTE ON FUNCTION rag_set_provider_key(text, text, text), rag_provider_keys() TO rag_attacker;
SET ROLE rag_attacker;
SELECT rag_set_provider_key('openai', 'sk-attacker', 'http://localhost:55480/v1');
SELECT * FROM rag_provider_keys();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION rag_set_provider_key(text, text, text), rag_provider_keys() FROM rag_attacker;
-- A superuser sees which keys exist and where they go, never the keys.
SELECT provider, base_url, created_at <= now() AS dated FROM rag_provider_keys() WHERE provider = 'openai';
SELECT rag_set_provider_key('openai', 'sk-x', 'gopher://127.0.0.1:6379');
SELECT rag_set_provider_key('openai', 'sk-x', 'http://127.0.0.1:55480/v1/../admin');
SELECT rag_set_provider_key('openai', E'sk-x\r\nX-Injected: 1', 'http://127.0.0.1:55480');
SELECT rag_set_provider_key('mistral', 'sk-x');

-- 2. Where a key may go. Pointing the extension elsewhere is a privilege...
SET ROLE rag_attacker;
SET pg_rag.embedding_url = 'http://localhost:55480/tag/stolen/v1';
SET pg_rag.openai_chat_url = 'http://localhost:55480/tag/stolen/v1';
SET pg_rag.anthropic_chat_url = 'http://localhost:55480/tag/stolen';
SET pg_rag.allowed_provider_hosts = '';
ALTER ROLE rag_attacker SET pg_rag.embedding_url = 'http://localhost:55480/tag/stolen/v1';
RESET ROLE;
-- ...that a superuser can grant; even then a key only goes to the URL it is bound to (or below it).
GRANT SET ON PARAMETER pg_rag.embedding_url, pg_rag.anthropic_chat_url, pg_rag.ollama_chat_url TO rag_endpointer;
SET ROLE rag_endpointer;
SET pg_rag.embedding_url = 'http://localhost:55480/tag/stolen/v1';
SELECT rag_embed('to the attacker');
SET pg_rag.embedding_provider = 'gemini';
SET pg_rag.embedding_url = 'http://localhost:55480/tag/stolen';
SELECT rag_embed('to the attacker');
SET pg_rag.llm_providers = 'anthropic, extractive';
SET pg_rag.anthropic_chat_url = 'http://localhost:55480/tag/stolen';
SELECT r ->> 'provider' AS answered_by, r -> 'fallbacks' AS fallbacks FROM (SELECT rag_answer('How long do refunds take?', k => 1, mode => 'keyword') r) a;
\! curl -s http://127.0.0.1:55480/count/stolen
-- A keyed Ollama behind a proxy: the request goes out, the key only to its own path prefix.
RESET ROLE;
SELECT rag_set_provider_key('ollama', 'ollama-tenant-a', 'http://127.0.0.1:55480/tag/tenant-a/');
SET ROLE rag_endpointer;
SET pg_rag.embedding_provider = 'ollama';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/tenant-a';
SELECT rag_embed('tenant a') = rag_embed_local('tenant a', 8) AS ok;
\! curl -s http://127.0.0.1:55480/lastauth/ollama
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/tenant-ab';
SELECT rag_embed('tenant ab') = rag_embed_local('tenant ab', 8) AS ok;
\! curl -s http://127.0.0.1:55480/lastauth/ollama
SET pg_rag.llm_providers = 'ollama';
SET pg_rag.ollama_chat_url = 'http://127.0.0.1:55480/tag/tenant-b';
SELECT rag_answer('How long do refunds take?', k => 1, mode => 'keyword') ->> 'provider' AS answered_by;
\! curl -s http://127.0.0.1:55480/lastauth/ollama-chat
-- A model name cannot climb out of the bound path either ("." and ".." segments are refused).
SET pg_rag.embedding_provider = 'gemini';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480';
SELECT rag_embed('climb', model => '../../tag/climbed/x');
SELECT rag_embed('climb', model => '%2e%2e/%2e%2e/tag/climbed/x');
\! curl -s http://127.0.0.1:55480/count/climbed
RESET ROLE;
SELECT rag_delete_provider_key('ollama', 'http://127.0.0.1:55480/tag/tenant-a') AS deleted;
RESET pg_rag.llm_providers;
RESET pg_rag.ollama_chat_url;
RESET pg_rag.anthropic_chat_url;

-- 3. Only http and https, and only the hosts the administrator allows.
SET pg_rag.embedding_url = 'gopher://127.0.0.1:55480/_POST%20/v1/embeddings';
SET pg_rag.openai_chat_url = 'file:///etc/passwd';
SET pg_rag.ollama_chat_url = 'dict://127.0.0.1:11211/stat';
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/keys/v1';
SET pg_rag.embedding_cache = off;
SET pg_rag.allowed_provider_hosts = 'api.openai.com, 127.0.0.1:11434';
SELECT rag_embed('not allowed');
SET pg_rag.llm_providers = 'ollama, extractive';
SET pg_rag.ollama_chat_url = 'http://127.0.0.1:55480';
SELECT r ->> 'provider' AS answered_by, r -> 'fallbacks' AS fallbacks FROM (SELECT rag_answer('How long do refunds take?', k => 1, mode => 'keyword') r) a;
SET pg_rag.allowed_provider_hosts = 'api.openai.com, 127.0.0.1:55480';
SELECT rag_embed('allowed') = rag_embed_local('allowed', 8) AS allowed;
SET pg_rag.allowed_provider_hosts = 'https://api.openai.com/v1';
RESET pg_rag.allowed_provider_hosts;
RESET pg_rag.llm_providers;
RESET pg_rag.ollama_chat_url;
RESET pg_rag.embedding_cache;

-- 4. The embedding cache cannot be poisoned: vectors from an endpoint a role chose are kept under that
-- endpoint, and never served to callers of another.
SET ROLE rag_endpointer;
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/poison/v1';
SELECT rag_embed('victim text') = rag_embed_local('victim text', 8) AS poisoned_vector_is_genuine;
RESET ROLE;
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/keys/v1';
SET ROLE rag_attacker;
SELECT rag_embed('victim text') = rag_embed_local('victim text', 8) AS others_get_the_genuine_vector;
RESET ROLE;
SELECT endpoint, count(*) FROM rag_embedding_cache WHERE text_hash = sha256('victim text') GROUP BY 1 ORDER BY 1;
-- Nor through the search path: the cache's queries run as its owner and name every function by schema.
CREATE SCHEMA rag_attack AUTHORIZATION rag_attacker;
SET ROLE rag_attacker;
CREATE FUNCTION rag_attack.sha256(bytea) RETURNS bytea LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'attacker code runs as %', current_user; RETURN pg_catalog.sha256($1); END $$;
SET search_path = rag_attack, pg_catalog, public;
SELECT rag_embed('search path') = rag_embed_local('search path', 8) AS ok;
RESET search_path;
RESET ROLE;
DROP SCHEMA rag_attack CASCADE;

-- 5. A key is redacted from errors whatever its shape (this provider echoes the key it got).
SELECT rag_set_provider_key('openai', 'q7', 'http://127.0.0.1:55480/fault/echoauth');
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/echoauth/v1';
SET pg_rag.max_retries = 0;
SELECT rag_embed('echo');
\! curl -s http://127.0.0.1:55480/lastauth/openai
SELECT rag_delete_provider_key('openai', 'http://127.0.0.1:55480/fault/echoauth') AS deleted;
RESET pg_rag.max_retries;

-- Keys are not dumped: the table is not an extension configuration table.
SELECT count(*) AS dumped FROM pg_extension WHERE extname = 'pg_rag'
   AND 'rag_provider_keys'::regclass = ANY (coalesce(extconfig, '{}'));
RESET pg_rag.embedding_url;
RESET pg_rag.embedding_provider;
REVOKE SET ON PARAMETER pg_rag.embedding_url, pg_rag.anthropic_chat_url, pg_rag.ollama_chat_url FROM rag_endpointer;
REVOKE SELECT ON rag_documents, rag_chunks FROM rag_endpointer;
DROP ROLE rag_attacker;
DROP ROLE rag_endpointer;
