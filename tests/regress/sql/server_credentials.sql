-- rag_chat_provider_credentials() (0.7.0): the HTTP server streams with the keys the database keeps, so
-- the function hands out secrets. Only superusers and roles granted EXECUTE may call it, and even they
-- get a key only for the URL it is bound to, which only a superuser (or a granted role) may choose.
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480/v1');
SET pg_rag.llm_providers = 'openai, ollama, extractive';
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/v1';
SET pg_rag.ollama_chat_url = 'http://127.0.0.1:55480/ollama';
SET pg_rag.allowed_provider_hosts = '127.0.0.1:55480';
-- A superuser: every provider in fallback order with its settings, the key bound to openai's URL.
SELECT p ->> 'provider' AS provider, p ->> 'base_url' AS base_url, p ->> 'api_key' AS api_key,
       p ->> 'max_tokens' AS max_tokens, p -> 'allowed_hosts' AS allowed_hosts
FROM jsonb_array_elements(rag_chat_provider_credentials()) p;
-- A key goes nowhere but where it is bound: a URL elsewhere gets none.
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/elsewhere/v1';
SELECT p ->> 'api_key' AS api_key FROM jsonb_array_elements(rag_chat_provider_credentials()) p
WHERE p ->> 'provider' = 'openai';
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/v1';

-- An ordinary role may not call it, however it tries.
CREATE ROLE rag_snoop;
SET ROLE rag_snoop;
SELECT rag_chat_provider_credentials();
SELECT has_function_privilege('rag_chat_provider_credentials()', 'EXECUTE') AS may_execute;
RESET ROLE;

-- The server's role, granted EXECUTE, reads the key for the configured URL...
CREATE ROLE rag_server_role;
GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials() TO rag_server_role;
SET ROLE rag_server_role;
SELECT p ->> 'api_key' AS api_key FROM jsonb_array_elements(rag_chat_provider_credentials()) p
WHERE p ->> 'provider' = 'openai';
-- ...but cannot point it anywhere else, nor read the table.
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/tag/stolen/v1';
SELECT * FROM rag_provider_keys;
RESET ROLE;

REVOKE EXECUTE ON FUNCTION rag_chat_provider_credentials() FROM rag_server_role;
DROP ROLE rag_server_role;
DROP ROLE rag_snoop;
SELECT rag_delete_provider_key('openai', 'http://127.0.0.1:55480/v1') AS deleted;
RESET pg_rag.allowed_provider_hosts;
RESET pg_rag.ollama_chat_url;
RESET pg_rag.openai_chat_url;
RESET pg_rag.llm_providers;
