-- pg_rag 0.4.0: search over the knowledge base (vector, keyword/BM25, hybrid).
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.4.0'" to load this file. \quit

-- Change log ----------------------------------------------------------------------------------------
-- Every statement that changes documents or chunks adds a row (transactionally, no shared row to lock),
-- so caches keyed on rag_kb_version() see exactly the changes their snapshot sees.
CREATE TABLE rag_kb_changes (id bigserial PRIMARY KEY, changed_at timestamptz NOT NULL DEFAULT now());
REVOKE ALL ON rag_kb_changes FROM PUBLIC;

CREATE FUNCTION rag_note_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE new_id bigint;
BEGIN
    INSERT INTO @extschema@.rag_kb_changes DEFAULT VALUES RETURNING id INTO new_id;
    IF new_id % 100 = 0 THEN   -- keep the log short; a version only needs recent rows to change
        DELETE FROM @extschema@.rag_kb_changes WHERE id < new_id - 100;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rag_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rag_documents
    FOR EACH STATEMENT EXECUTE FUNCTION rag_note_change();
CREATE TRIGGER rag_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rag_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION rag_note_change();

-- The visible state of the knowledge base, as a value that changes whenever it does.
CREATE FUNCTION rag_kb_version() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT count(*)::text || ':' || coalesce(sum(id), 0)::text FROM @extschema@.rag_kb_changes
$$;

-- BM25 needs each chunk's length in tokens (all positions, not distinct lexemes).
ALTER TABLE rag_chunks ADD COLUMN token_count integer NOT NULL DEFAULT 0;
CREATE FUNCTION rag_count_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.token_count := (SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0) FROM unnest(NEW.tsv) u);
    RETURN NEW;
END $$;
CREATE TRIGGER rag_count_tokens BEFORE INSERT OR UPDATE OF tsv ON rag_chunks
    FOR EACH ROW EXECUTE FUNCTION rag_count_tokens();
UPDATE rag_chunks SET tsv = tsv;

-- Search ---------------------------------------------------------------------------------------------

-- Exact nearest chunks to an embedding (same dimensions only; optionally one embedding model and a
-- metadata filter), ordered by distance then chunk id: the rows ORDER BY embedding <op> q, id LIMIT k
-- returns. Volatile: it keeps a per-backend copy of the vectors, refreshed when the knowledge base changes.
CREATE FUNCTION rag_search_vector(query embedding, k integer DEFAULT 10, filter jsonb DEFAULT NULL,
                                  model text DEFAULT NULL, metric text DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, distance double precision)
    AS 'MODULE_PATHNAME', 'rag_search_vector' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

-- BM25's corpus statistics: number of chunks and their average length in tokens.
CREATE FUNCTION rag_kb_stats(OUT chunks bigint, OUT average_tokens double precision) RETURNS record
    AS 'MODULE_PATHNAME', 'rag_kb_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Keyword search ranked by BM25 (k1 = pg_rag.bm25_k1, b = pg_rag.bm25_b), over the chunks' tsv with
-- pg_rag.text_search_config. Plain words match chunks containing any of them (ranked by BM25); a query
-- using web search syntax ("a phrase", -word, or) is matched with websearch_to_tsquery as written.
CREATE FUNCTION rag_bm25(query text, k integer DEFAULT 10, filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    config regconfig := coalesce(nullif(current_setting('pg_rag.text_search_config', true), ''), 'english')::regconfig;
    k1 double precision := coalesce(nullif(current_setting('pg_rag.bm25_k1', true), '')::float8, 1.2);
    b double precision := coalesce(nullif(current_setting('pg_rag.bm25_b', true), '')::float8, 0.75);
    terms text[];
    tsq tsquery;
    n_chunks bigint;
    avgdl double precision;
BEGIN
    terms := ARRAY(SELECT DISTINCT u.lexeme FROM unnest(to_tsvector(config, query)) u ORDER BY 1);
    IF cardinality(terms) = 0 THEN RETURN; END IF;   -- nothing but stop-words
    IF query ~ '"|(^|\s)-\S|\s(or|OR)\s' THEN
        tsq := websearch_to_tsquery(config, query);
    ELSE
        tsq := array_to_string(ARRAY(SELECT quote_literal(t) FROM unnest(terms) t), ' | ')::tsquery;
    END IF;
    SELECT s.chunks, greatest(s.average_tokens, 1) INTO n_chunks, avgdl FROM @extschema@.rag_kb_stats() s;
    RETURN QUERY
    WITH df AS (
        SELECT t AS lexeme, (SELECT count(*) FROM @extschema@.rag_chunks c WHERE c.tsv @@ quote_literal(t)::tsquery) AS df
        FROM unnest(terms) t),
    candidates AS (
        SELECT c.id, c.tsv, c.token_count FROM @extschema@.rag_chunks c
        JOIN @extschema@.rag_documents d ON d.id = c.document_id
        WHERE c.tsv @@ tsq AND (filter IS NULL OR d.metadata @> filter))
    SELECT cand.id,
           sum(ln(1 + (n_chunks - df.df + 0.5) / (df.df + 0.5))
               * (u.tf * (k1 + 1)) / (u.tf + k1 * (1 - b + b * cand.token_count / avgdl)))::float8 AS bm25
    FROM candidates cand
    CROSS JOIN LATERAL (SELECT x.lexeme, coalesce(array_length(x.positions, 1), 1) AS tf FROM unnest(cand.tsv) x) u
    JOIN df ON df.lexeme = u.lexeme
    GROUP BY cand.id
    ORDER BY bm25 DESC, cand.id
    LIMIT k;
END $$;

-- Search the knowledge base by text: 'vector' (exact, the configured metric), 'keyword' (BM25) or
-- 'hybrid' (both, fused by reciprocal rank fusion: w_v / (rrf_k + vector_rank) + w_k / (rrf_k + keyword_rank)).
-- score: vector 1 - cosine distance (or -distance for l2 and inner_product), keyword BM25, hybrid RRF.
CREATE FUNCTION rag_search(query text, k integer DEFAULT 5, mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, title text, source text, content text, heading text,
               score double precision, vector_rank integer, keyword_rank integer, metadata jsonb)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    q @extschema@.embedding;
    candidates integer;
    metric text := coalesce(nullif(current_setting('pg_rag.distance_metric', true), ''), 'cosine');
    rrf double precision := coalesce(nullif(current_setting('pg_rag.rrf_k', true), '')::float8, 60);
    wv double precision := coalesce(nullif(current_setting('pg_rag.hybrid_vector_weight', true), '')::float8, 1);
    wk double precision := coalesce(nullif(current_setting('pg_rag.hybrid_keyword_weight', true), '')::float8, 1);
BEGIN
    IF query IS NULL OR btrim(query) = '' THEN
        RAISE EXCEPTION 'rag_search: the query is empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k IS NULL OR k < 1 OR k > 1000 THEN
        RAISE EXCEPTION 'rag_search: k must be between 1 and 1000, not %', k USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF mode IS NULL OR mode NOT IN ('vector', 'keyword', 'hybrid') THEN
        RAISE EXCEPTION 'rag_search: unknown mode "%"', mode USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Valid modes are vector, keyword and hybrid.';
    END IF;
    candidates := CASE WHEN mode = 'hybrid' THEN greatest(4 * k, 40) ELSE k END;
    IF mode <> 'keyword' THEN q := @extschema@.rag_embed(query); END IF;
    RETURN QUERY
    WITH v AS (
        SELECT s.chunk_id AS id, row_number() OVER (ORDER BY s.distance, s.chunk_id)::integer AS r, s.distance
        FROM @extschema@.rag_search_vector(q, candidates, filter, @extschema@.rag_embedding_model()) s
        WHERE mode <> 'keyword'),
    kw AS (
        SELECT s.chunk_id AS id, row_number() OVER (ORDER BY s.score DESC, s.chunk_id)::integer AS r, s.score
        FROM @extschema@.rag_bm25(query, candidates, filter) s
        WHERE mode <> 'vector'),
    fused AS (
        SELECT coalesce(v.id, kw.id) AS id, v.r AS vr, kw.r AS kr,
               CASE mode
                 WHEN 'vector' THEN CASE WHEN metric = 'cosine' THEN 1 - v.distance ELSE -v.distance END
                 WHEN 'keyword' THEN kw.score
                 ELSE coalesce(wv / (rrf + v.r), 0) + coalesce(wk / (rrf + kw.r), 0)
               END AS s
        FROM v FULL JOIN kw ON v.id = kw.id)
    SELECT c.id, c.document_id, d.title, d.source, c.content, c.heading, f.s, f.vr, f.kr, d.metadata
    FROM fused f
    JOIN @extschema@.rag_chunks c ON c.id = f.id
    JOIN @extschema@.rag_documents d ON d.id = c.document_id
    ORDER BY f.s DESC, c.id
    LIMIT k;
END $$;

-- Search the knowledge base by embedding (vector mode; any chunk whose embedding has its dimensions).
CREATE FUNCTION rag_search(query_embedding embedding, k integer DEFAULT 5, filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, title text, source text, content text, heading text,
               score double precision, vector_rank integer, keyword_rank integer, metadata jsonb)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    metric text := coalesce(nullif(current_setting('pg_rag.distance_metric', true), ''), 'cosine');
BEGIN
    IF k IS NULL OR k < 1 OR k > 1000 THEN
        RAISE EXCEPTION 'rag_search: k must be between 1 and 1000, not %', k USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT c.id, c.document_id, d.title, d.source, c.content, c.heading,
           CASE WHEN metric = 'cosine' THEN 1 - s.distance ELSE -s.distance END,
           (row_number() OVER (ORDER BY s.distance, s.chunk_id))::integer, NULL::integer, d.metadata
    FROM @extschema@.rag_search_vector(query_embedding, k, filter) s
    JOIN @extschema@.rag_chunks c ON c.id = s.chunk_id
    JOIN @extschema@.rag_documents d ON d.id = c.document_id
    ORDER BY s.distance, s.chunk_id;
END $$;

-- Exact nearest rows of any table by an embedding column, with the caller's privileges (a table the
-- caller cannot SELECT stays unreadable); identifiers are quoted. Rows come back as jsonb.
CREATE FUNCTION rag_search_table(tbl regclass, embedding_column name, query embedding, k integer DEFAULT 10,
                                 metric text DEFAULT NULL)
RETURNS TABLE (row_data jsonb, distance double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    op text := CASE coalesce(metric, nullif(current_setting('pg_rag.distance_metric', true), ''), 'cosine')
                 WHEN 'cosine' THEN '<=>' WHEN 'l2' THEN '<->' WHEN 'inner_product' THEN '<#>' END;
BEGIN
    IF op IS NULL THEN
        RAISE EXCEPTION 'unknown distance metric "%"', metric USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k IS NULL OR k < 1 THEN
        RAISE EXCEPTION 'k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = embedding_column
                   AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = '@extschema@.embedding'::regtype) THEN
        RAISE EXCEPTION 'column "%" of % is not an embedding column', embedding_column, tbl
              USING ERRCODE = 'undefined_column';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT to_jsonb(t) - %L, (t.%I OPERATOR(@extschema@.%s) $1)::float8 AS d FROM %s t
         WHERE t.%I IS NOT NULL ORDER BY d LIMIT $2',
        embedding_column, embedding_column, op, tbl, embedding_column) USING query, k;
END $$;
