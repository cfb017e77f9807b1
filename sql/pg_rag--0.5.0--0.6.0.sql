-- pg_rag 0.6.0: hardening. Sections, one per concern (keep them apart: several people edit this file).
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.6.0'" to load this file. \quit

-- == Documented defaults and input checks ========================================================

-- (end of defaults section)


-- == Provider keys and endpoints =================================================================

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

-- (end of fusion section)


-- == Answer contract =============================================================================

-- (end of answer contract section)
