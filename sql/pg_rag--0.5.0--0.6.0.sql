-- pg_rag 0.6.0: hardening. Sections, one per concern (keep them apart: several people edit this file).
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.6.0'" to load this file. \quit

-- == Documented defaults and input checks ========================================================

-- (end of defaults section)


-- == Provider keys and endpoints =================================================================

-- API keys are not settings (a placeholder setting is readable by anyone, and pg_db_role_setting shows
-- per-database values to everyone): they live in this owner-only table, each bound to the base URL it
-- may be sent to. Deliberately not registered with pg_extension_config_dump: pg_dump never writes keys.
CREATE TABLE rag_provider_keys (
    provider text NOT NULL CHECK (provider IN ('openai', 'ollama', 'gemini', 'anthropic')),
    base_url text NOT NULL,
    api_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, base_url)
);
REVOKE ALL ON rag_provider_keys FROM PUBLIC;

-- Stores (or replaces) the key of provider bound to base_url (NULL: the provider's default URL); the
-- key is only ever sent to that URL or paths below it. Superuser only.
CREATE FUNCTION rag_set_provider_key(provider text, api_key text, base_url text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    url text := rtrim(coalesce(base_url, CASE provider
        WHEN 'openai' THEN 'https://api.openai.com/v1'
        WHEN 'ollama' THEN 'http://127.0.0.1:11434'
        WHEN 'gemini' THEN 'https://generativelanguage.googleapis.com'
        WHEN 'anthropic' THEN 'https://api.anthropic.com' END), '/');
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_set_provider_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only superusers may store provider API keys.';
    END IF;
    IF provider IS NULL OR provider NOT IN ('openai', 'ollama', 'gemini', 'anthropic') THEN
        RAISE EXCEPTION 'rag_set_provider_key: unknown provider "%"', provider USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Keys are kept for openai, ollama, gemini and anthropic.';
    END IF;
    IF api_key IS NULL OR api_key = '' OR api_key ~ '[[:cntrl:]]' THEN
        -- A control character would let the key inject headers into the request.
        RAISE EXCEPTION 'rag_set_provider_key: the key must be a non-empty string without control characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF url !~* '^https?://[^/?#@[:space:]]+(/[^?#[:space:]]*)?$' OR url ~* '/(\.|%2e){1,2}(/|$)' THEN
        RAISE EXCEPTION 'rag_set_provider_key: invalid base URL "%"', url USING ERRCODE = 'invalid_parameter_value',
            HINT = 'An http:// or https:// URL without user info, query, fragment or "."/".." segments.';
    END IF;
    INSERT INTO @extschema@.rag_provider_keys AS k (provider, base_url, api_key) VALUES (provider, url, api_key)
        ON CONFLICT ON CONSTRAINT rag_provider_keys_pkey DO UPDATE SET api_key = excluded.api_key, created_at = now();
END
$$;

-- Deletes the key of provider bound to base_url (NULL: the provider's default URL); true when one was
-- deleted. Superuser only.
CREATE FUNCTION rag_delete_provider_key(provider text, base_url text DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    url text := rtrim(coalesce(base_url, CASE provider
        WHEN 'openai' THEN 'https://api.openai.com/v1'
        WHEN 'ollama' THEN 'http://127.0.0.1:11434'
        WHEN 'gemini' THEN 'https://generativelanguage.googleapis.com'
        WHEN 'anthropic' THEN 'https://api.anthropic.com' END), '/');
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_delete_provider_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only superusers may manage provider API keys.';
    END IF;
    DELETE FROM @extschema@.rag_provider_keys k WHERE k.provider = rag_delete_provider_key.provider AND k.base_url = url;
    RETURN FOUND;
END
$$;

-- The stored keys' providers and bound URLs, never the keys. Superuser only.
CREATE FUNCTION rag_provider_keys() RETURNS TABLE (provider text, base_url text, created_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_provider_keys: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only superusers may list provider API keys.';
    END IF;
    RETURN QUERY SELECT k.provider, k.base_url, k.created_at FROM @extschema@.rag_provider_keys k
        ORDER BY k.provider, k.base_url;
END
$$;

REVOKE ALL ON FUNCTION rag_set_provider_key(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_delete_provider_key(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_provider_keys() FROM PUBLIC;

-- The embedding cache is keyed on the endpoint too: vectors from a server a role chose are never served
-- to another endpoint's callers. Old entries cannot say which endpoint made them: they go.
DELETE FROM rag_embedding_cache;
ALTER TABLE rag_embedding_cache ADD COLUMN endpoint text NOT NULL;
ALTER TABLE rag_embedding_cache DROP CONSTRAINT rag_embedding_cache_pkey;
ALTER TABLE rag_embedding_cache ADD PRIMARY KEY (provider, endpoint, model, dims, text_hash);

-- (end of provider keys section)


-- == Search: BM25 in C++, incremental in-memory copies ===========================================

-- (end of search section)


-- == Search quality: hybrid fusion ===============================================================

-- (end of fusion section)


-- == Answer contract =============================================================================

-- (end of answer contract section)
