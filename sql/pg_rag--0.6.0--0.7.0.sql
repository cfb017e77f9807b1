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

-- == The answer cache in two steps (streamed answers of the server use it too) ====================

-- The answer cache's two steps, shared by rag_answer and the HTTP server's streamed answers: the answer
-- cached for a question asked without a session (NULL on a miss, or when pg_rag.answer_cache is off)...
CREATE FUNCTION rag_cached_answer(question text, k integer DEFAULT 5, mode text DEFAULT 'hybrid',
                                  filter jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT c.answer || jsonb_build_object('cached', true)
    FROM @extschema@.rag_answer_cache c
    WHERE @extschema@.rag_setting('pg_rag.answer_cache')::boolean
      AND c.key = @extschema@.rag_answer_cache_key($1, $2, $3, $4)
      AND c.kb_version = @extschema@.rag_kb_version()
$$;

-- ...and keeping a new one (a no-op when pg_rag.answer_cache is off).
CREATE FUNCTION rag_cache_answer(question text, k integer, mode text, filter jsonb, answer jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    version text := @extschema@.rag_kb_version();
BEGIN
    IF question IS NULL OR answer IS NULL OR NOT @extschema@.rag_setting('pg_rag.answer_cache')::boolean THEN
        RETURN;
    END IF;
    -- Answers of older states are never served: drop them once per change of the knowledge base (the
    -- newest entry tells, through the created_at index), not with a scan on every answer.
    IF (SELECT c.kb_version FROM @extschema@.rag_answer_cache c ORDER BY c.created_at DESC LIMIT 1)
       IS DISTINCT FROM version THEN
        DELETE FROM @extschema@.rag_answer_cache c WHERE c.kb_version <> version;
    END IF;
    INSERT INTO @extschema@.rag_answer_cache (key, kb_version, question, answer)
    VALUES (@extschema@.rag_answer_cache_key(question, k, mode, filter), version, question,
            answer - 'cached' - 'latency_ms')
    ON CONFLICT (key) DO UPDATE SET kb_version = EXCLUDED.kb_version, answer = EXCLUDED.answer, created_at = now();
END $$;

-- Retrieves with rag_search, packs the best chunks into a prompt, generates with the first provider of
-- pg_rag.llm_providers that answers, and returns the documented result (README, "Answers"). With a
-- session, earlier turns join the prompt and the follow-up is made standalone for retrieval; the
-- exchange is recorded. Without one, answers are cached until the knowledge base or a setting changes.
-- PL/pgSQL only orchestrates: the cache key, the prompt and the result come from C.
CREATE OR REPLACE FUNCTION rag_answer(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
                           mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    started timestamptz := clock_timestamp();
    history jsonb := '[]';
    retrieval_question text := question;
    hit jsonb;
    sources jsonb;     -- rag_search's rows
    prompt jsonb;      -- rag_prepare_answer: {system, messages, sources}
    generated jsonb;   -- rag_generate: {answer, provider, model, usage, fallbacks?}
    result jsonb;      -- rag_answer_result: the documented shape (README, "Answers")
BEGIN
    IF question IS NULL OR btrim(question) = '' THEN
        RAISE EXCEPTION 'rag_answer: the question is empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k IS NULL OR k < 1 OR k > 50 THEN
        RAISE EXCEPTION 'rag_answer: k must be between 1 and 50, not %', k USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF session_id IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object('role', m.role, 'content', m.content) ORDER BY m.id), '[]')
          INTO history
          FROM (SELECT * FROM @extschema@.rag_messages x WHERE x.session_id = rag_answer.session_id
                ORDER BY x.id DESC LIMIT 20) m;
        IF jsonb_array_length(history) > 0 THEN
            retrieval_question := @extschema@.rag_rewrite_question(question, history);
        END IF;
    ELSE
        hit := @extschema@.rag_cached_answer(question, k, mode, filter);
        IF hit IS NOT NULL THEN
            RETURN hit || jsonb_build_object('latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
        END IF;
    END IF;

    -- Search rows as JSON objects, best first: rag_prepare_answer reads the fields it needs by name
    -- (chunk_id, document_id, title, source, content, heading, score) and ignores the others, so new
    -- columns of rag_search need no change here.
    SELECT coalesce(jsonb_agg(to_jsonb(s) - 'ordinality' ORDER BY s.ordinality), '[]')
      INTO sources
      FROM @extschema@.rag_search(retrieval_question, k, mode, filter) WITH ORDINALITY s;
    -- The numbered sources and earlier turns within pg_rag.max_context_tokens, then the first provider
    -- that answers, then the result's shape: each a C function of the core's contract (answer_json.hpp),
    -- which the HTTP server calls step by step to stream the generation itself.
    prompt := @extschema@.rag_prepare_answer(question, history, sources);
    generated := @extschema@.rag_generate(prompt);
    result := @extschema@.rag_answer_result(prompt, generated, nullif(retrieval_question, question));
    IF session_id IS NOT NULL THEN
        PERFORM @extschema@.rag_record_answer(session_id, question, result);
    ELSE
        PERFORM @extschema@.rag_cache_answer(question, k, mode, filter, result);
    END IF;
    RETURN result || jsonb_build_object('latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
END $$;

-- == Users: API keys and usage events (the HTTP server's callers) ===============================

-- The HTTP server's API keys. Only a key's SHA-256 is kept (a key carries 256 random bits: no slow hash
-- is needed) and its prefix, which names it in listings. Owner-only: the functions below (SECURITY
-- DEFINER; EXECUTE for superusers and the roles an administrator grants it to) are the only way in.
-- Kept by pg_dump: a hash reveals no key, and restored keys go on working.
CREATE TABLE rag_api_keys (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    user_id text NOT NULL,
    tenant_id text,
    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']),
    prefix text NOT NULL UNIQUE,
    key_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz
);
REVOKE ALL ON rag_api_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rag_api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('rag_api_keys_id_seq', '');

-- Makes a key for user_id (and tenant_id) with scopes out of read, write, admin, valid until expires
-- (NULL: until revoked), and returns it: the only time the key is shown. Called through the server on
-- behalf of a caller (pg_rag.user_id set), only an admin caller may.
CREATE FUNCTION rag_create_api_key(name text, user_id text, scopes text[] DEFAULT '{read,write}',
                                   expires timestamptz DEFAULT NULL, tenant_id text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key_prefix text;
    key text;
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') <> ''
       AND NOT coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false) THEN
        RAISE EXCEPTION 'rag_create_api_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only admin callers may make API keys.';
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'rag_create_api_key: the name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF user_id IS NULL OR btrim(user_id) = '' OR user_id ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'rag_create_api_key: user_id must be a non-empty string without control characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tenant_id IS NOT NULL AND (btrim(tenant_id) = '' OR tenant_id ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'rag_create_api_key: tenant_id must be NULL or a non-empty string without control characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF scopes IS NULL OR cardinality(scopes) = 0 OR array_position(scopes, NULL) IS NOT NULL
       OR NOT scopes <@ ARRAY['read', 'write', 'admin'] THEN
        RAISE EXCEPTION 'rag_create_api_key: scopes must be a non-empty list of read, write and admin, not %', scopes
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF expires IS NOT NULL AND expires <= now() THEN
        RAISE EXCEPTION 'rag_create_api_key: expires must be in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- gen_random_uuid draws 122 bits from pg_strong_random: three of them hashed give the 256-bit secret.
    key_prefix := substr(replace(gen_random_uuid()::text, '-', ''), 1, 12);
    key := 'prag_' || key_prefix || '_' || encode(sha256(convert_to(
        gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex');
    INSERT INTO @extschema@.rag_api_keys (name, user_id, tenant_id, scopes, prefix, key_hash, expires_at)
    VALUES (btrim(rag_create_api_key.name), rag_create_api_key.user_id, rag_create_api_key.tenant_id,
            ARRAY(SELECT DISTINCT s FROM unnest(rag_create_api_key.scopes) s ORDER BY s), key_prefix,
            sha256(convert_to(key, 'UTF8')), expires);
    RETURN key;
END $$;

-- Revokes a key: true when it was valid until now. The server stops accepting it within seconds.
CREATE FUNCTION rag_revoke_api_key(id bigint) RETURNS boolean
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') <> ''
       AND NOT coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false) THEN
        RAISE EXCEPTION 'rag_revoke_api_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only admin callers may revoke API keys.';
    END IF;
    UPDATE @extschema@.rag_api_keys k SET revoked_at = now() WHERE k.id = rag_revoke_api_key.id AND k.revoked_at IS NULL;
    RETURN FOUND;
END $$;

-- The keys, never their hashes.
CREATE FUNCTION rag_api_keys()
RETURNS TABLE (id bigint, name text, user_id text, tenant_id text, scopes text[], prefix text,
               created_at timestamptz, last_used_at timestamptz, expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') <> ''
       AND NOT coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false) THEN
        RAISE EXCEPTION 'rag_api_keys: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only admin callers may list API keys.';
    END IF;
    RETURN QUERY SELECT k.id, k.name, k.user_id, k.tenant_id, k.scopes, k.prefix, k.created_at, k.last_used_at,
                        k.expires_at, k.revoked_at
                 FROM @extschema@.rag_api_keys k ORDER BY k.id;
END $$;

-- For the server: who a key speaks for. No row for an unknown or malformed key; status 'valid',
-- 'revoked' or 'expired'. A hash lookup by index (no timing to learn from); last_used_at is written
-- at most once a minute per key.
CREATE FUNCTION rag_verify_api_key(key text)
RETURNS TABLE (user_id text, tenant_id text, scopes text[], key_id bigint, expires_at timestamptz, status text)
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k record;
BEGIN
    IF key !~ '^prag_[0-9a-f]{12}_[0-9a-f]{64}$' THEN
        RETURN;
    END IF;
    SELECT a.id, a.user_id, a.tenant_id, a.scopes, a.expires_at, a.revoked_at, a.last_used_at INTO k
    FROM @extschema@.rag_api_keys a WHERE a.key_hash = sha256(convert_to(key, 'UTF8'));
    IF NOT FOUND THEN
        RETURN;
    END IF;
    status := CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked' WHEN k.expires_at <= now() THEN 'expired' ELSE 'valid' END;
    IF status = 'valid' AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute') THEN
        UPDATE @extschema@.rag_api_keys a SET last_used_at = now() WHERE a.id = k.id;
    END IF;
    user_id := k.user_id;
    tenant_id := k.tenant_id;
    scopes := k.scopes;
    key_id := k.id;
    expires_at := k.expires_at;
    RETURN NEXT;
END $$;

-- What the server's callers did: questions, answers (provider, model, tokens, latency), uploads,
-- deletes and failed sign-ins (user NULL, the client's address in detail).
CREATE TABLE rag_usage_events (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL CHECK (event IN ('question', 'answer', 'upload', 'delete', 'sign_in_failure')),
    user_id text,
    tenant_id text,
    key_id bigint,
    provider text,
    model text,
    prompt_tokens integer,
    completion_tokens integer,
    latency_ms integer,
    detail jsonb
);
CREATE INDEX rag_usage_events_occurred_idx ON rag_usage_events (occurred_at);
REVOKE ALL ON rag_usage_events FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rag_usage_events', '');
SELECT pg_catalog.pg_extension_config_dump('rag_usage_events_id_seq', '');

-- For the server, which batches its events: a JSON array of {event, occurred_at, user_id, tenant_id,
-- key_id, provider, model, prompt_tokens, completion_tokens, latency_ms, detail}; returns how many.
CREATE FUNCTION rag_record_usage(events jsonb) RETURNS integer
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH added AS (
        INSERT INTO @extschema@.rag_usage_events (occurred_at, event, user_id, tenant_id, key_id, provider, model,
                                                  prompt_tokens, completion_tokens, latency_ms, detail)
        SELECT coalesce(e.occurred_at, now()), e.event, e.user_id, e.tenant_id, e.key_id, e.provider, e.model,
               e.prompt_tokens, e.completion_tokens, e.latency_ms, e.detail
        FROM jsonb_to_recordset($1) AS e(occurred_at timestamptz, event text, user_id text, tenant_id text,
                                         key_id bigint, provider text, model text, prompt_tokens integer,
                                         completion_tokens integer, latency_ms integer, detail jsonb)
        RETURNING 1)
    SELECT count(*)::integer FROM added
$$;

-- Usage by day (UTC) and user from since (NULL: 30 days ago) until before until (NULL: now on), of
-- for_user only when given. Called through the server on behalf of a caller who is not an admin, only
-- that caller's own rows.
CREATE FUNCTION rag_usage_summary(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                                  for_user text DEFAULT NULL)
RETURNS TABLE (day date, user_id text, tenant_id text, questions bigint, answers bigint, uploads bigint,
               deletes bigint, sign_in_failures bigint, prompt_tokens bigint, completion_tokens bigint,
               avg_latency_ms integer)
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, e.user_id, e.tenant_id,
           count(*) FILTER (WHERE e.event = 'question'), count(*) FILTER (WHERE e.event = 'answer'),
           count(*) FILTER (WHERE e.event = 'upload'), count(*) FILTER (WHERE e.event = 'delete'),
           count(*) FILTER (WHERE e.event = 'sign_in_failure'), coalesce(sum(e.prompt_tokens), 0),
           coalesce(sum(e.completion_tokens), 0), round(avg(e.latency_ms) FILTER (WHERE e.event = 'answer'))::integer
    FROM @extschema@.rag_usage_events e
    WHERE e.occurred_at >= coalesce($1, now() - interval '30 days')
      AND ($2 IS NULL OR e.occurred_at < $2)
      AND ($3 IS NULL OR e.user_id = $3)
      AND (coalesce(current_setting('pg_rag.user_id', true), '') = ''
           OR coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false)
           OR e.user_id = current_setting('pg_rag.user_id', true))
    GROUP BY 1, 2, 3
    ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST
$$;

-- Key management and usage are for superusers, the server's role and the roles an administrator
-- grants them to.
REVOKE ALL ON FUNCTION rag_create_api_key(text, text, text[], timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_revoke_api_key(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_api_keys() FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_verify_api_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_record_usage(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_usage_summary(timestamptz, timestamptz, text) FROM PUBLIC;
