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
RETURNS jsonb LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- Off: the table is not even read (a role may use rag_answer without any right on the cache).
    IF NOT @extschema@.rag_setting('pg_rag.answer_cache')::boolean THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT c.answer || jsonb_build_object('cached', true)
            FROM @extschema@.rag_answer_cache c
            WHERE c.key = @extschema@.rag_answer_cache_key(rag_cached_answer.question, rag_cached_answer.k,
                                                           rag_cached_answer.mode, rag_cached_answer.filter)
              AND c.kb_version = @extschema@.rag_kb_version());
END $$;

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
