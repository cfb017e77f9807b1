-- pg_rag 0.2.0: embeddings from SQL (rag_embed) with HTTP providers, a local embedder and a cache.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.2.0'" to load this file. \quit

-- Embeddings already paid for, keyed by provider, model, requested dimensions and the text's SHA-256.
-- Written and read by rag_embed() as the table's owner; other roles have no direct access.
CREATE TABLE rag_embedding_cache (
    provider text NOT NULL,
    model text NOT NULL,
    dims integer NOT NULL,
    text_hash bytea NOT NULL,
    embedding embedding NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, model, dims, text_hash)
);
REVOKE ALL ON rag_embedding_cache FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rag_embedding_cache', '');

-- Volatile and parallel-unsafe: it may call a provider and writes the cache. Not strict: a NULL
-- model or provider means "the configured one"; a NULL input gives NULL.
CREATE FUNCTION rag_embed(input text, model text DEFAULT NULL, provider text DEFAULT NULL) RETURNS embedding
    AS 'MODULE_PATHNAME', 'rag_embed_text' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION rag_embed(input text[], model text DEFAULT NULL, provider text DEFAULT NULL) RETURNS embedding[]
    AS 'MODULE_PATHNAME', 'rag_embed_array' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The built-in embedder alone: a pure function of its arguments, usable in generated columns and indexes.
CREATE FUNCTION rag_embed_local(input text, dims integer DEFAULT 384) RETURNS embedding
    AS 'MODULE_PATHNAME', 'rag_embed_local' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- This backend's counters; backend-local state, so it runs in the leader only.
CREATE FUNCTION rag_embedding_stats(OUT requests bigint, OUT retries bigint, OUT texts_embedded bigint,
                                    OUT cache_hits bigint, OUT cache_misses bigint) RETURNS record
    AS 'MODULE_PATHNAME', 'rag_embedding_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Empties the cache (all of it, or one provider/model); needs DELETE on it (the owner, a superuser).
CREATE FUNCTION rag_clear_embedding_cache(provider text DEFAULT NULL, model text DEFAULT NULL) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (
        DELETE FROM @extschema@.rag_embedding_cache c
        WHERE ($1 IS NULL OR c.provider = $1) AND ($2 IS NULL OR c.model = $2)
        RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Fills an embedding column of any table in batches: one provider request per batch, not per row.
-- Runs with the caller's privileges; identifiers are quoted. Returns the number of rows updated.
CREATE FUNCTION rag_embed_table(tbl regclass, text_column name, embedding_column name,
                                only_missing boolean DEFAULT true, batch_size integer DEFAULT 1000)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    rows_done bigint := 0;
    ids tid[];
    texts text[];
    embeddings @extschema@.embedding[];
    r record;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ids := '{}'; texts := '{}';
    FOR r IN EXECUTE format('SELECT ctid AS id, %I::text AS body FROM %s WHERE %I IS NOT NULL %s',
                            text_column, tbl, text_column,
                            CASE WHEN only_missing THEN format('AND %I IS NULL', embedding_column) ELSE '' END)
    LOOP
        ids := ids || r.id; texts := texts || r.body;
        IF cardinality(ids) >= batch_size THEN
            embeddings := @extschema@.rag_embed(texts);
            EXECUTE format('UPDATE %s t SET %I = u.e FROM unnest($1, $2) u(id, e) WHERE t.ctid = u.id', tbl, embedding_column)
                USING ids, embeddings;
            rows_done := rows_done + cardinality(ids);
            ids := '{}'; texts := '{}';
        END IF;
    END LOOP;
    IF cardinality(ids) > 0 THEN
        embeddings := @extschema@.rag_embed(texts);
        EXECUTE format('UPDATE %s t SET %I = u.e FROM unnest($1, $2) u(id, e) WHERE t.ctid = u.id', tbl, embedding_column)
            USING ids, embeddings;
        rows_done := rows_done + cardinality(ids);
    END IF;
    RETURN rows_done;
END $$;
