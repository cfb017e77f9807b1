-- pg_rag 0.7.0: the HTTP server's database side. Sections, one per concern (keep them apart: several
-- people edit this file). Every change here goes into pg_rag--0.7.0.sql too.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.7.0'" to load this file. \quit

-- == The HTTP server's provider credentials =====================================================

-- The chat providers with the keys bound to their URLs, for pg_rag_server to stream with: secrets, so
-- nobody may call it but superusers and the roles an administrator grants it to (the server's role).
CREATE FUNCTION rag_chat_provider_credentials() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_chat_provider_credentials' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION rag_chat_provider_credentials() FROM PUBLIC;
COMMENT ON FUNCTION rag_chat_provider_credentials() IS
    'The chat providers with their bound API keys, for pg_rag_server: GRANT EXECUTE to the server''s role only.';
