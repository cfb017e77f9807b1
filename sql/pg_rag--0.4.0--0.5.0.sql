-- pg_rag 0.5.0: rag_answer(): grounded answers with citations, sessions and an answer cache.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.5.0'" to load this file. \quit

CREATE TABLE rag_sessions (
    id text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rag_messages (
    id bigserial PRIMARY KEY,
    session_id text NOT NULL REFERENCES rag_sessions (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    sources jsonb,
    provider text,
    model text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rag_messages_session_idx ON rag_messages (session_id, id);
-- Answers to questions asked without a session, valid for one state of the knowledge base.
CREATE TABLE rag_answer_cache (
    key bytea PRIMARY KEY,            -- sha256 of the normalised question, search options and answer settings
    kb_version text NOT NULL,         -- rag_kb_version() when answered: any change to the knowledge base misses
    question text NOT NULL,
    answer jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rag_answer_cache_created_idx ON rag_answer_cache (created_at);
SELECT pg_catalog.pg_extension_config_dump('rag_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('rag_messages', '');
SELECT pg_catalog.pg_extension_config_dump('rag_messages_id_seq', '');

-- The steps of rag_answer, callable on their own (the HTTP server streams generation itself).
CREATE FUNCTION rag_prepare_answer(question text, history jsonb DEFAULT '[]', sources jsonb DEFAULT '[]') RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_prepare_answer' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION rag_generate(prompt jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_generate' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION rag_rewrite_question(question text, history jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_rewrite_question' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION rag_answer_settings() RETURNS text
    AS 'MODULE_PATHNAME', 'rag_answer_settings' LANGUAGE C STABLE PARALLEL SAFE;

-- Records a finished exchange in a session: the question and the answer, together or not at all.
CREATE FUNCTION rag_record_answer(session_id text, question text, answer jsonb) RETURNS void
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    INSERT INTO @extschema@.rag_sessions (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET updated_at = now();
    INSERT INTO @extschema@.rag_messages (session_id, role, content) VALUES ($1, 'user', $2);
    INSERT INTO @extschema@.rag_messages (session_id, role, content, sources, provider, model)
    VALUES ($1, 'assistant', $3 ->> 'answer', $3 -> 'sources', $3 ->> 'provider', $3 ->> 'model');
$$;

-- Retrieves with rag_search, packs the best chunks into a prompt, generates with the first provider of
-- pg_rag.llm_providers that answers, and returns
-- {answer, sources: [{n, document_id, chunk_id, title, source, score, snippet}], provider, model, usage,
--  cached, latency_ms[, fallbacks]}. With a session, earlier turns join the prompt and the follow-up is
-- made standalone for retrieval; the exchange is recorded. Without one, answers are cached until the
-- knowledge base or an answer setting changes.
CREATE FUNCTION rag_answer(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
                           mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    started timestamptz := clock_timestamp();
    history jsonb := '[]';
    retrieval_question text := question;
    use_cache boolean := session_id IS NULL
                         AND coalesce(current_setting('pg_rag.answer_cache', true), 'on') NOT IN ('off', 'false');
    version text;
    cache_key bytea;
    hit jsonb;
    sources jsonb;
    prompt jsonb;
    generated jsonb;
    result jsonb;
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
    ELSIF use_cache THEN
        version := @extschema@.rag_kb_version();
        cache_key := sha256(convert_to(jsonb_build_array(
            btrim(regexp_replace(lower(question), '[[:space:][:punct:]]+', ' ', 'g')), k, mode, filter,
            @extschema@.rag_answer_settings(), @extschema@.rag_embedding_model(),
            current_setting('pg_rag.distance_metric', true), current_setting('pg_rag.text_search_config', true))::text, 'UTF8'));
        SELECT c.answer INTO hit FROM @extschema@.rag_answer_cache c WHERE c.key = cache_key AND c.kb_version = version;
        IF hit IS NOT NULL THEN
            RETURN hit || jsonb_build_object('cached', true,
                                             'latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
        END IF;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object('document_id', s.document_id, 'chunk_id', s.chunk_id, 'title', s.title,
                                                 'source', s.source, 'content', s.content, 'heading', s.heading,
                                                 'score', s.score) ORDER BY s.ord), '[]')
      INTO sources
      FROM @extschema@.rag_search(retrieval_question, k, mode, filter) WITH ORDINALITY s(chunk_id, document_id, title, source,
           content, heading, score, vector_rank, keyword_rank, metadata, ord);
    prompt := @extschema@.rag_prepare_answer(question, history, sources);
    generated := @extschema@.rag_generate(prompt);
    result := jsonb_build_object(
        'answer', generated -> 'answer',
        'sources', (SELECT coalesce(jsonb_agg(jsonb_build_object('n', x -> 'n', 'document_id', x -> 'document_id',
                                                                 'chunk_id', x -> 'chunk_id', 'title', x -> 'title',
                                                                 'source', x -> 'source', 'score', x -> 'score',
                                                                 'snippet', left(x ->> 'content', 240))), '[]')
                    FROM jsonb_array_elements(prompt -> 'sources') x),
        'provider', generated -> 'provider', 'model', generated -> 'model', 'usage', generated -> 'usage',
        'cached', false);
    IF generated ? 'fallbacks' THEN result := result || jsonb_build_object('fallbacks', generated -> 'fallbacks'); END IF;
    IF session_id IS NOT NULL THEN
        IF retrieval_question <> question THEN
            result := result || jsonb_build_object('standalone_question', retrieval_question);
        END IF;
        PERFORM @extschema@.rag_record_answer(session_id, question, result);
    ELSIF use_cache THEN
        -- Answers of older states are never served: drop them once per change of the knowledge base (the
        -- newest entry tells, through the created_at index), not with a scan on every answer.
        IF (SELECT c.kb_version FROM @extschema@.rag_answer_cache c ORDER BY c.created_at DESC LIMIT 1)
           IS DISTINCT FROM version THEN
            DELETE FROM @extschema@.rag_answer_cache c WHERE c.kb_version <> version;
        END IF;
        INSERT INTO @extschema@.rag_answer_cache (key, kb_version, question, answer)
        VALUES (cache_key, version, question, result)
        ON CONFLICT (key) DO UPDATE SET kb_version = EXCLUDED.kb_version, answer = EXCLUDED.answer, created_at = now();
    END IF;
    RETURN result || jsonb_build_object('latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
END $$;

-- A session's turns, oldest first.
CREATE FUNCTION rag_session_messages(session_id text)
RETURNS TABLE (id bigint, role text, content text, sources jsonb, provider text, model text, created_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT m.id, m.role, m.content, m.sources, m.provider, m.model, m.created_at
    FROM @extschema@.rag_messages m WHERE m.session_id = $1 ORDER BY m.id
$$;

-- Deletes a session and its messages; false when there was none.
CREATE FUNCTION rag_delete_session(session_id text) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_sessions s WHERE s.id = $1 RETURNING 1) SELECT count(*) > 0 FROM gone
$$;

-- Deletes sessions untouched for longer than older_than; returns how many.
CREATE FUNCTION rag_prune_sessions(older_than interval) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_sessions s WHERE s.updated_at < now() - $1 RETURNING 1)
    SELECT count(*) FROM gone
$$;
