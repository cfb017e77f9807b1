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
-- == Queued questions and background pruning (issue #9: POST /api/questions) =====================

-- Questions asked now and answered later by the HTTP server's question workers: claimed with a lease
-- (FOR UPDATE SKIP LOCKED), so a question whose server died is claimed again once the lease runs out;
-- retried a bounded number of times; kept for a retention period once finished. Nobody but the owner
-- touches the table: the functions below are the interface, executable only by roles granted them
-- (askers: rag_enqueue_question and rag_question; workers: all of them). owner is who asked: NULL
-- (everyone's) until users exist (issue #10 keys row visibility on it).
CREATE TABLE rag_questions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),  -- unguessable: the status URL does not enumerate
    request jsonb NOT NULL,                         -- {question, session_id, k, mode, filter}
    owner text,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- claims so far
    claimed_by text,                                -- the worker of the current attempt
    lease_until timestamptz,                        -- past it, another worker may claim the question
    retry_at timestamptz,                           -- a retry waits until then
    result jsonb,                                   -- rag_answer's JSON, when done
    error jsonb,                                    -- {message, type, code} of the last failed attempt
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,                         -- the last attempt's claim
    finished_at timestamptz,
    CHECK ((status = 'running') = (claimed_by IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL)),
    CHECK ((status = 'done') = (result IS NOT NULL)),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
-- The claim's scan (oldest first) and the pruner's.
CREATE INDEX rag_questions_pending_idx ON rag_questions (created_at, id) WHERE status IN ('queued', 'running');
CREATE INDEX rag_questions_finished_idx ON rag_questions (finished_at) WHERE status IN ('done', 'failed');
REVOKE ALL ON rag_questions FROM PUBLIC;
-- The session pruner's scan (rag_prune_sessions).
CREATE INDEX rag_sessions_updated_idx ON rag_sessions (updated_at);

-- Queues a question as POST /api/chat would take it (checked now, as rag_answer checks it); its id.
CREATE FUNCTION rag_enqueue_question(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
                                     mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    new_id uuid;
BEGIN
    IF question IS NULL OR btrim(question) = '' THEN
        RAISE EXCEPTION 'rag_enqueue_question: the question is empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF session_id IS NOT NULL AND session_id = '' THEN
        RAISE EXCEPTION 'rag_enqueue_question: session_id must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k IS NULL OR k < 1 OR k > 50 THEN
        RAISE EXCEPTION 'rag_enqueue_question: k must be between 1 and 50, not %', k
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF mode IS NULL OR mode NOT IN ('hybrid', 'vector', 'keyword') THEN
        RAISE EXCEPTION 'rag_enqueue_question: mode must be hybrid, vector or keyword, not %', coalesce(mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF filter IS NOT NULL AND jsonb_typeof(filter) <> 'object' THEN
        RAISE EXCEPTION 'rag_enqueue_question: filter must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.rag_questions (request)
    VALUES (jsonb_build_object('question', question, 'session_id', session_id, 'k', k, 'mode', mode, 'filter', filter))
    RETURNING rag_questions.id INTO new_id;
    RETURN new_id;
END $$;

-- A question's state as GET /api/questions/{id} shows it (NULL when there is none): the answer when
-- done, the error when failed.
CREATE FUNCTION rag_question(id uuid) RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('id', q.id, 'status', q.status, 'attempts', q.attempts, 'created_at', q.created_at,
                              'started_at', q.started_at, 'finished_at', q.finished_at, 'answer', q.result,
                              'error', CASE WHEN q.status = 'failed' THEN q.error END)
    FROM @extschema@.rag_questions q WHERE q.id = $1
$$;

-- The checks shared by the worker's steps: a named worker, a positive lease, retries of at least 0.
CREATE FUNCTION rag_check_question_worker(worker text, lease interval DEFAULT '1 second', retries integer DEFAULT 0)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF worker IS NULL OR worker = '' THEN
        RAISE EXCEPTION 'pg_rag: a question worker must be named' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF lease IS NULL OR lease <= interval '0' THEN
        RAISE EXCEPTION 'pg_rag: a question lease must be positive, not %', coalesce(lease::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retries IS NULL OR retries < 0 THEN
        RAISE EXCEPTION 'pg_rag: question retries must be 0 or more, not %', coalesce(retries::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- Claims the oldest question that is queued (and not waiting for a retry) or whose lease ran out,
-- for worker, until now() + lease; other workers skip the rows being claimed instead of waiting.
-- A question whose lease ran out after retries + 1 attempts is failed ("abandoned"), not claimed.
-- Returns the claimed question (no row: nothing to do).
CREATE FUNCTION rag_claim_question(worker text, lease interval, retries integer DEFAULT 3)
RETURNS TABLE (id uuid, request jsonb, attempts integer)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.rag_check_question_worker(worker, lease, retries);
    UPDATE @extschema@.rag_questions q
       SET status = 'failed', claimed_by = NULL, lease_until = NULL, finished_at = now(),
           error = jsonb_build_object('message', format('the question''s worker stopped before answering, %s times',
                                                        q.attempts),
                                      'type', 'server_error', 'code', 'abandoned')
     WHERE q.id IN (SELECT a.id FROM @extschema@.rag_questions a
                     WHERE a.status = 'running' AND a.lease_until < now() AND a.attempts > retries
                     FOR UPDATE SKIP LOCKED);
    RETURN QUERY
    UPDATE @extschema@.rag_questions q
       SET status = 'running', attempts = q.attempts + 1, claimed_by = worker, lease_until = now() + lease,
           retry_at = NULL, started_at = now()
     WHERE q.id = (SELECT n.id FROM @extschema@.rag_questions n
                    WHERE (n.status = 'queued' AND (n.retry_at IS NULL OR n.retry_at <= now()))
                       OR (n.status = 'running' AND n.lease_until < now())
                    ORDER BY n.created_at, n.id
                    LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING q.id, q.request, q.attempts;
END $$;

-- Extends worker's lease on a question it is answering; false when the question is no longer its own
-- (its lease ran out and another worker claimed it): the worker then stops.
CREATE FUNCTION rag_extend_question_lease(id uuid, worker text, lease interval) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.rag_check_question_worker(worker, lease);
    UPDATE @extschema@.rag_questions q SET lease_until = now() + lease
     WHERE q.id = rag_extend_question_lease.id AND q.status = 'running' AND q.claimed_by = worker;
    RETURN FOUND;
END $$;

-- Records worker's answer (rag_answer's JSON) and, for a question asked in a session, the session's
-- turn, in one transaction; false (and nothing written) when the question is no longer its own.
CREATE FUNCTION rag_finish_question(id uuid, worker text, answer jsonb) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    asked jsonb;
BEGIN
    IF answer IS NULL OR jsonb_typeof(answer) <> 'object' OR jsonb_typeof(answer -> 'answer') IS DISTINCT FROM 'string'
    THEN
        RAISE EXCEPTION 'rag_finish_question: answer must be an object with an "answer" string'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass rag_answer()''s result.';
    END IF;
    UPDATE @extschema@.rag_questions q
       SET status = 'done', result = answer, error = NULL, claimed_by = NULL, lease_until = NULL, finished_at = now()
     WHERE q.id = rag_finish_question.id AND q.status = 'running' AND q.claimed_by = worker
    RETURNING q.request INTO asked;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF asked ->> 'session_id' IS NOT NULL THEN
        PERFORM @extschema@.rag_record_answer(asked ->> 'session_id', asked ->> 'question', answer);
    END IF;
    RETURN true;
END $$;

-- Records a failed attempt of worker's (error: {message, type, code}): queued again after
-- retry_delay * 2^(attempts - 1) while attempts <= retries, failed after that. Returns the new status,
-- or NULL when the question is no longer its own.
CREATE FUNCTION rag_fail_question(id uuid, worker text, error jsonb, retries integer DEFAULT 3,
                                  retry_delay interval DEFAULT '2 seconds') RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    new_status text;
BEGIN
    PERFORM @extschema@.rag_check_question_worker(worker, retries => retries);
    IF error IS NULL OR jsonb_typeof(error) <> 'object' OR jsonb_typeof(error -> 'message') IS DISTINCT FROM 'string'
    THEN
        RAISE EXCEPTION 'rag_fail_question: error must be an object with a "message" string'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retry_delay IS NULL OR retry_delay < interval '0' THEN
        RAISE EXCEPTION 'rag_fail_question: retry_delay must be 0 or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE @extschema@.rag_questions q
       SET status = CASE WHEN q.attempts > retries THEN 'failed' ELSE 'queued' END,
           retry_at = CASE WHEN q.attempts <= retries
                           THEN now() + retry_delay * power(2, least(q.attempts - 1, 16)) END,
           finished_at = CASE WHEN q.attempts > retries THEN now() END,
           error = rag_fail_question.error, claimed_by = NULL, lease_until = NULL
     WHERE q.id = rag_fail_question.id AND q.status = 'running' AND q.claimed_by = worker
    RETURNING q.status INTO new_status;
    RETURN new_status;
END $$;

-- Gives a question worker holds back to the queue without counting the attempt (a server shutting
-- down mid-answer); false when it is no longer its own.
CREATE FUNCTION rag_release_question(id uuid, worker text) RETURNS boolean
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    WITH released AS (
        UPDATE @extschema@.rag_questions q
           SET status = 'queued', attempts = q.attempts - 1, claimed_by = NULL, lease_until = NULL
         WHERE q.id = $1 AND q.status = 'running' AND q.claimed_by = $2
        RETURNING 1)
    SELECT count(*) > 0 FROM released
$$;

-- Deletes questions finished (done or failed) longer ago than retention; returns how many.
CREATE FUNCTION rag_prune_questions(retention interval) RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_questions q
                   WHERE q.status IN ('done', 'failed') AND q.finished_at < now() - $1 RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Questions by status, every status listed (the server's /metrics gauge).
CREATE FUNCTION rag_question_counts() RETURNS TABLE (status text, questions bigint)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT s.status, count(q.id)
    FROM unnest(ARRAY['queued', 'running', 'done', 'failed']) WITH ORDINALITY s(status, ord)
    LEFT JOIN @extschema@.rag_questions q ON q.status = s.status
    GROUP BY s.status, s.ord ORDER BY s.ord
$$;

-- Askers and workers are granted these explicitly (README, "Queued questions").
REVOKE ALL ON FUNCTION rag_enqueue_question(text, text, integer, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_question(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_claim_question(text, interval, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_extend_question_lease(uuid, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_finish_question(uuid, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_fail_question(uuid, text, jsonb, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_release_question(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_prune_questions(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_question_counts() FROM PUBLIC;
-- Answers clients poll for outlive a dump and restore (a running claim's lease runs out after it).
SELECT pg_catalog.pg_extension_config_dump('rag_questions', '');
