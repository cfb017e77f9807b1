-- pg_rag 0.6.0: hardening. Sections, one per concern (keep them apart: several people edit this file).
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.6.0'" to load this file. \quit

-- == Documented defaults and input checks ========================================================

-- The effective value of a pg_rag.* setting from its C definition (numbers in base units without a unit,
-- booleans on/off), so no SQL repeats a default; calling it also loads the library that defines them.
CREATE FUNCTION rag_setting(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_setting' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Document metadata as stored: NULL and JSON null mean none ('{}'); anything but an object is refused.
CREATE FUNCTION rag_check_metadata(metadata jsonb, caller text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF metadata IS NULL OR jsonb_typeof(metadata) = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION '%: metadata must be a JSON object, not %', caller, jsonb_typeof(metadata)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass NULL or ''{}'' for no metadata.';
    END IF;
    RETURN metadata;
END $$;

-- As 0.3.0, except: without a source (the default) it works; metadata goes through rag_check_metadata;
-- the text search configuration comes from rag_setting. (Statements keep their 0.3.0 line numbers.)
CREATE OR REPLACE FUNCTION rag_ingest(title text, content text, metadata jsonb DEFAULT '{}', source text DEFAULT NULL,
                                      max_chars integer DEFAULT 1000, overlap integer DEFAULT NULL,
                                      strategy text DEFAULT 'recursive', mime text DEFAULT 'text/plain')
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    doc_id bigint;
    old record;
    hash bytea;
    options jsonb;
    model text;
    config regconfig;
    seqs integer[]; texts text[]; starts integer[]; ends integer[]; headings text[];
    embeddings @extschema@.embedding[];
    missing text[];
    fresh @extschema@.embedding[];
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION 'rag_ingest: content must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT array_agg(c.seq ORDER BY c.seq), array_agg(c.content ORDER BY c.seq), array_agg(c.char_start ORDER BY c.seq),
           array_agg(c.char_end ORDER BY c.seq), array_agg(c.heading ORDER BY c.seq)
      INTO seqs, texts, starts, ends, headings
      FROM @extschema@.rag_chunk(content, max_chars, overlap, strategy) c;   -- validates the options first
    model := @extschema@.rag_embedding_model();
    config := @extschema@.rag_setting('pg_rag.text_search_config')::regconfig;
    hash := sha256(convert_to(content, 'UTF8'));
    options := jsonb_build_object('max_chars', coalesce(max_chars, 1000), 'overlap', overlap,
                                  'strategy', coalesce(strategy, 'recursive'));
    metadata := @extschema@.rag_check_metadata(metadata, 'rag_ingest');

    -- Also without a source (then no row matches): the test below needs `old` assigned, if only to NULLs
    -- (0.5.0 skipped this query without a source and failed with 'record "old" is not assigned yet').
    SELECT d.id, d.content_hash, d.chunking, d.title, d.metadata, d.mime INTO old
      FROM @extschema@.rag_documents d WHERE d.source = rag_ingest.source FOR UPDATE;
    doc_id := old.id;
    IF doc_id IS NOT NULL AND old.content_hash = hash AND old.chunking = options
       AND NOT EXISTS (SELECT 1 FROM @extschema@.rag_chunks c
                       WHERE c.document_id = doc_id AND c.embedding_model IS DISTINCT FROM model) THEN
        IF old.title IS DISTINCT FROM title OR old.metadata <> metadata OR old.mime <> mime THEN
            UPDATE @extschema@.rag_documents d SET title = rag_ingest.title, metadata = rag_ingest.metadata,
                   mime = rag_ingest.mime, updated_at = now() WHERE d.id = doc_id;
        END IF;
        RETURN doc_id;   -- nothing to chunk or embed
    END IF;

    -- Embeddings of unchanged chunk texts are reused; only new texts go to the provider.
    SELECT array_agg(o.embedding ORDER BY t.i) INTO embeddings
      FROM unnest(texts) WITH ORDINALITY t(body, i)
      LEFT JOIN (SELECT DISTINCT ON (c.content) c.content, c.embedding FROM @extschema@.rag_chunks c
                  WHERE doc_id IS NOT NULL AND c.document_id = doc_id AND c.embedding_model = model
                    AND c.embedding IS NOT NULL
                  ORDER BY c.content, c.id) o ON o.content = t.body;
    missing := ARRAY(SELECT DISTINCT t.body FROM unnest(texts, embeddings) t(body, e) WHERE t.e IS NULL ORDER BY 1);
    IF cardinality(missing) > 0 THEN
        fresh := @extschema@.rag_embed(missing);
        SELECT array_agg(coalesce(t.e, m.e) ORDER BY t.i) INTO embeddings
          FROM unnest(texts, embeddings) WITH ORDINALITY t(body, e, i)
          LEFT JOIN unnest(missing, fresh) m(body, e) ON m.body = t.body;
    END IF;

    IF doc_id IS NULL THEN
        INSERT INTO @extschema@.rag_documents (title, source, mime, content_hash, metadata, content, chunking)
        VALUES (title, source, mime, hash, metadata, content, options) RETURNING id INTO doc_id;
    ELSE
        UPDATE @extschema@.rag_documents d SET title = rag_ingest.title, mime = rag_ingest.mime, content_hash = hash,
               metadata = rag_ingest.metadata, content = rag_ingest.content, chunking = options, updated_at = now()
         WHERE d.id = doc_id;
        DELETE FROM @extschema@.rag_chunks c WHERE c.document_id = doc_id;
    END IF;
    INSERT INTO @extschema@.rag_chunks (document_id, seq, content, char_start, char_end, heading, embedding,
                                        embedding_model, tsv)
    SELECT doc_id, u.seq, u.body, u.s, u.e, u.heading, u.emb, model,
           setweight(to_tsvector(config, coalesce(title, '') || ' ' || coalesce(u.heading, '')), 'A')
             || to_tsvector(config, u.body)
      FROM unnest(seqs, texts, starts, ends, headings, embeddings) u(seq, body, s, e, heading, emb);
    RETURN doc_id;
END $$;

-- As 0.3.0, except that metadata is checked as rag_ingest's (0.3.0 turned JSON null or an array into an array).
CREATE OR REPLACE FUNCTION rag_ingest_file(content bytea, filename text, metadata jsonb DEFAULT '{}',
                                           source text DEFAULT NULL, max_chars integer DEFAULT 1000,
                                           overlap integer DEFAULT NULL, strategy text DEFAULT NULL,
                                           mime text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    kind text := coalesce(mime, @extschema@.rag_guess_mime(filename, content));
    body text;
BEGIN
    IF content IS NULL OR filename IS NULL THEN
        RAISE EXCEPTION 'rag_ingest_file: content and filename must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    body := @extschema@.rag_extract_text(content, kind, filename);
    RETURN @extschema@.rag_ingest(
        regexp_replace(filename, '^.*/', ''), body,
        @extschema@.rag_check_metadata(metadata, 'rag_ingest_file') || jsonb_build_object('filename', filename),
        coalesce(source, filename), max_chars, overlap,
        coalesce(strategy, CASE WHEN kind IN ('text/markdown', 'text/html') THEN 'markdown' ELSE 'recursive' END),
        kind);
END $$;

-- As 0.3.0, except that the settings come from rag_setting (0.3.0 prefetched with the local embedder
-- when the library was not loaded yet: an unset setting read as NULL, "not local").
CREATE OR REPLACE FUNCTION rag_ingest_table(tbl regclass, text_column name, title_column name DEFAULT NULL,
                                            id_column name DEFAULT 'id', max_chars integer DEFAULT 1000,
                                            overlap integer DEFAULT NULL, strategy text DEFAULT 'recursive',
                                            batch_size integer DEFAULT 200)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    r record;
    done bigint := 0;
    total bigint;
    every integer := @extschema@.rag_setting('pg_rag.progress_every')::integer;
    prefetch boolean := @extschema@.rag_setting('pg_rag.embedding_provider') <> 'local'
                        AND @extschema@.rag_setting('pg_rag.embedding_cache')::boolean;
    ids text[] := '{}';
    bodies text[] := '{}';
    titles text[] := '{}';
BEGIN
    PERFORM @extschema@.rag_check_columns(tbl, ARRAY[text_column, title_column, id_column]);
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', tbl, text_column) INTO total;
    FOR r IN EXECUTE format('SELECT %I::text AS id, %I::text AS body, %s AS title FROM %s WHERE %I IS NOT NULL ORDER BY 1',
                            id_column, text_column,
                            CASE WHEN title_column IS NULL THEN 'NULL::text' ELSE format('%I::text', title_column) END,
                            tbl, text_column)
    LOOP
        ids := ids || r.id; bodies := bodies || r.body; titles := titles || r.title;
        CONTINUE WHEN cardinality(ids) < batch_size;
        done := done + @extschema@.rag_ingest_rows(tbl, ids, bodies, titles, max_chars, overlap, strategy, prefetch,
                                                   done, total, every);
        ids := '{}'; bodies := '{}'; titles := '{}';
    END LOOP;
    IF cardinality(ids) > 0 THEN
        done := done + @extschema@.rag_ingest_rows(tbl, ids, bodies, titles, max_chars, overlap, strategy, prefetch,
                                                   done, total, every);
    END IF;
    RETURN done;
END $$;

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

-- Which chunks each transaction added, changed or removed, so that every backend can bring its
-- in-memory copies (vectors, BM25 index) up to the state its snapshot sees by re-reading just those
-- chunks. Written by statement-level triggers (transition tables); chunk_ids NULL means "all" (TRUNCATE).
CREATE TABLE rag_chunk_changes (
    id bigserial PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    chunk_ids bigint[]
);
CREATE INDEX rag_chunk_changes_xid_idx ON rag_chunk_changes (xid);
REVOKE ALL ON rag_chunk_changes FROM PUBLIC;
-- Every log row of a transaction older than pruned_before has been deleted: a backend whose last
-- synchronised snapshot is older than that cannot know what it missed, and reloads.
CREATE TABLE rag_chunk_changes_horizon (pruned_before xid8 NOT NULL);
INSERT INTO rag_chunk_changes_horizon VALUES ('0');
REVOKE ALL ON rag_chunk_changes_horizon FROM PUBLIC;

CREATE FUNCTION rag_log_chunk_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
    horizon xid8;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids)
        SELECT array_agg(n.id) FROM new_rows n HAVING count(*) > 0 RETURNING id INTO new_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids)
        SELECT array_agg(o.id) FROM old_rows o HAVING count(*) > 0 RETURNING id INTO new_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids)
        SELECT array_agg(DISTINCT x.id) FROM (SELECT o.id FROM old_rows o UNION ALL SELECT n.id FROM new_rows n) x
        HAVING count(*) > 0 RETURNING id INTO new_id;
    ELSE  -- TRUNCATE
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids) VALUES (NULL) RETURNING id INTO new_id;
    END IF;
    IF new_id % 1000 = 0 THEN
        -- Keep about the last 10 000 rows, never those of a transaction some snapshot still waits for.
        -- Pruning is optional: when another session is pruning, or under a serialization conflict, skip it.
        BEGIN
            PERFORM 1 FROM @extschema@.rag_chunk_changes_horizon FOR UPDATE NOWAIT;
            horizon := least((SELECT c.xid FROM @extschema@.rag_chunk_changes c ORDER BY c.id DESC OFFSET 10000 LIMIT 1),
                             pg_snapshot_xmin(pg_current_snapshot()));
            IF horizon IS NOT NULL THEN
                UPDATE @extschema@.rag_chunk_changes_horizon SET pruned_before = greatest(pruned_before, horizon);
                DELETE FROM @extschema@.rag_chunk_changes c WHERE c.xid < horizon;
            END IF;
        EXCEPTION WHEN lock_not_available OR serialization_failure THEN
            NULL;
        END;
    END IF;
    RETURN NULL;
END $$;
-- (transition tables allow one event per trigger)
CREATE TRIGGER rag_log_chunk_insert AFTER INSERT ON rag_chunks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();
CREATE TRIGGER rag_log_chunk_update AFTER UPDATE ON rag_chunks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();
CREATE TRIGGER rag_log_chunk_delete AFTER DELETE ON rag_chunks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();
CREATE TRIGGER rag_log_chunk_truncate AFTER TRUNCATE ON rag_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();

-- Keyword search ranked by BM25 (k1 = pg_rag.bm25_k1, b = pg_rag.bm25_b), over the chunks' tsv with
-- pg_rag.text_search_config. Plain words match chunks containing any of them; a query using web search
-- syntax ("a phrase", -word, or) is matched with websearch_to_tsquery as written. Scored in C++ over a
-- per-backend inverted index kept in step with the knowledge base (MaxScore top-k).
CREATE OR REPLACE FUNCTION rag_bm25(query text, k integer DEFAULT 10, filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, score double precision)
    AS 'MODULE_PATHNAME', 'rag_bm25' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

-- BM25's corpus statistics: number of chunks and their average length in tokens (from the same copy).
-- (unchanged signature; still C)

-- This backend's in-memory copies of the knowledge base: state ('not loaded', 'in memory', 'over cap'),
-- chunks held, full loads and incremental catch-ups so far.
CREATE FUNCTION rag_search_copies(OUT copy text, OUT state text, OUT chunks bigint, OUT reloads bigint,
                                  OUT updates bigint) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rag_search_copies' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 2;

-- The distance operator of a metric (NULL: pg_rag.distance_metric): '<=>', '<->' or '<#>'.
CREATE FUNCTION rag_distance_operator(metric text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_distance_operator' LANGUAGE C STABLE PARALLEL SAFE;

-- Ranked retrieval behind rag_search: chunk ids with score and ranks, best first.
CREATE FUNCTION rag_search_ranked(query text, query_embedding embedding, k integer, mode text, filter jsonb)
RETURNS TABLE (chunk_id bigint, score double precision, vector_rank integer, keyword_rank integer)
    AS 'MODULE_PATHNAME', 'rag_search_ranked' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;  -- embeds: a provider call

-- Search the knowledge base by text: 'vector' (exact, the configured metric), 'keyword' (BM25) or
-- 'hybrid' (both, fused: pg_rag.rrf_k, pg_rag.hybrid_vector_weight, pg_rag.hybrid_keyword_weight).
-- score: vector 1 - cosine distance (or -distance for l2 and inner_product), keyword BM25, hybrid fused.
CREATE OR REPLACE FUNCTION rag_search(query text, k integer DEFAULT 5, mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, title text, source text, content text, heading text,
               score double precision, vector_rank integer, keyword_rank integer, metadata jsonb)
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT c.id, c.document_id, d.title, d.source, c.content, c.heading, r.score, r.vector_rank, r.keyword_rank, d.metadata
    FROM @extschema@.rag_search_ranked($1, NULL, $2, $3, $4) WITH ORDINALITY r(chunk_id, score, vector_rank, keyword_rank, ord)
    JOIN @extschema@.rag_chunks c ON c.id = r.chunk_id
    JOIN @extschema@.rag_documents d ON d.id = c.document_id
    ORDER BY r.ord
$$;

-- Search the knowledge base by embedding (vector mode; any chunk whose embedding has its dimensions).
CREATE OR REPLACE FUNCTION rag_search(query_embedding embedding, k integer DEFAULT 5, filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, title text, source text, content text, heading text,
               score double precision, vector_rank integer, keyword_rank integer, metadata jsonb)
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT c.id, c.document_id, d.title, d.source, c.content, c.heading, r.score, r.vector_rank, r.keyword_rank, d.metadata
    FROM @extschema@.rag_search_ranked(NULL, $1, $2, 'vector', $3) WITH ORDINALITY r(chunk_id, score, vector_rank, keyword_rank, ord)
    JOIN @extschema@.rag_chunks c ON c.id = r.chunk_id
    JOIN @extschema@.rag_documents d ON d.id = c.document_id
    ORDER BY r.ord
$$;

-- Exact nearest rows of any table by an embedding column, with the caller's privileges (a table the
-- caller cannot SELECT stays unreadable); identifiers are quoted. Rows come back as jsonb, built for the
-- k nearest rows only (found by ctid first).
CREATE OR REPLACE FUNCTION rag_search_table(tbl regclass, embedding_column name, query embedding, k integer DEFAULT 10,
                                            metric text DEFAULT NULL)
RETURNS TABLE (row_data jsonb, distance double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    op text := @extschema@.rag_distance_operator(metric);
BEGIN
    IF k IS NULL OR k < 1 THEN
        RAISE EXCEPTION 'k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = embedding_column
                   AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = '@extschema@.embedding'::regtype) THEN
        RAISE EXCEPTION 'column "%" of % is not an embedding column', embedding_column, tbl
              USING ERRCODE = 'undefined_column';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT to_jsonb(t) - %L, n.d FROM (SELECT t.ctid AS tid, (t.%I OPERATOR(@extschema@.%s) $1)::float8 AS d
         FROM %s t WHERE t.%I IS NOT NULL ORDER BY d LIMIT $2) n JOIN %s t ON t.ctid = n.tid ORDER BY n.d, n.tid',
        embedding_column, embedding_column, op, tbl, embedding_column, tbl) USING query, k;
END $$;

-- (end of search section)


-- == Search quality: hybrid fusion ===============================================================

-- 0.6.0 answers differently (extractive units, hybrid fusion) under the same cache key (settings,
-- model name, knowledge base version): drop the answers 0.5.0 cached so none of them is served again.
DELETE FROM @extschema@.rag_answer_cache;

-- (end of fusion section)


-- == Answer contract =============================================================================

-- rag_answer's result (without latency_ms) from a prepared prompt and a generated answer: the shape
-- lives in the C++ core (answer_json.hpp), shared with the HTTP server.
CREATE FUNCTION rag_answer_result(prompt jsonb, generated jsonb, standalone_question text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_answer_result' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- The answer cache key: sha256 of the normalised question, the search options and every pg_rag setting
-- but the secrets (any change misses).
CREATE FUNCTION rag_answer_cache_key(question text, k integer DEFAULT 5, mode text DEFAULT 'hybrid',
                                     filter jsonb DEFAULT NULL) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rag_answer_cache_key' LANGUAGE C STABLE PARALLEL SAFE;
-- As 0.5.0, with its inputs checked: an answer of another shape was stored as an empty turn or failed
-- on a NOT NULL constraint.
CREATE OR REPLACE FUNCTION rag_record_answer(session_id text, question text, answer jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
    IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'rag_record_answer: session_id, question and answer must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof($3) <> 'object' OR jsonb_typeof($3 -> 'answer') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'rag_record_answer: answer must be an object with an "answer" string'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass rag_answer_result()''s result.';
    END IF;
    INSERT INTO @extschema@.rag_sessions (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET updated_at = now();
    INSERT INTO @extschema@.rag_messages (session_id, role, content) VALUES ($1, 'user', $2);
    INSERT INTO @extschema@.rag_messages (session_id, role, content, sources, provider, model)
    VALUES ($1, 'assistant', $3 ->> 'answer', $3 -> 'sources', $3 ->> 'provider', $3 ->> 'model');
END $$;

-- Keys of 0.5.0 are never computed again.
TRUNCATE rag_answer_cache;

-- As 0.5.0, but PL/pgSQL only orchestrates: the cache key, the prompt and the result come from C.
CREATE OR REPLACE FUNCTION rag_answer(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
                                      mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    started timestamptz := clock_timestamp();
    history jsonb := '[]';
    retrieval_question text := question;
    use_cache boolean := session_id IS NULL
                         AND @extschema@.rag_setting('pg_rag.answer_cache')::boolean;
    version text;
    cache_key bytea;
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
    ELSIF use_cache THEN
        version := @extschema@.rag_kb_version();
        cache_key := @extschema@.rag_answer_cache_key(question, k, mode, filter);
        SELECT c.answer INTO hit FROM @extschema@.rag_answer_cache c WHERE c.key = cache_key AND c.kb_version = version;
        IF hit IS NOT NULL THEN
            RETURN hit || jsonb_build_object('cached', true,
                                             'latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
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

-- (end of answer contract section)
