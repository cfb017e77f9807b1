-- Benchmark-only copies of pg_rag 0.5.0's SQL search functions (the baselines of keyword.sql and hybrid.sql).
-- pg_rag 0.5.0's rag_bm25, verbatim except the name (materialized: the df CTE computed once).
CREATE FUNCTION bench_old_bm25(query text, k integer DEFAULT 10, filter jsonb DEFAULT NULL, materialized boolean DEFAULT false)
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
    IF cardinality(terms) = 0 THEN RETURN; END IF;
    IF query ~ '"|(^|\s)-\S|\s(or|OR)\s' THEN
        tsq := websearch_to_tsquery(config, query);
    ELSE
        tsq := array_to_string(ARRAY(SELECT quote_literal(t) FROM unnest(terms) t), ' | ')::tsquery;
    END IF;
    SELECT count(*), greatest(coalesce(avg(token_count), 0)::float8, 1) INTO n_chunks, avgdl FROM rag_chunks;
    IF materialized THEN
    RETURN QUERY
    WITH df AS MATERIALIZED (
        SELECT t AS lexeme, (SELECT count(*) FROM rag_chunks c WHERE c.tsv @@ quote_literal(t)::tsquery) AS df
        FROM unnest(terms) t),
    candidates AS (
        SELECT c.id, c.tsv, c.token_count FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
        WHERE c.tsv @@ tsq AND (filter IS NULL OR d.metadata @> filter))
    SELECT cand.id, sum(ln(1 + (n_chunks - df.df + 0.5) / (df.df + 0.5))
               * (u.tf * (k1 + 1)) / (u.tf + k1 * (1 - b + b * cand.token_count / avgdl)))::float8 AS bm25
    FROM candidates cand
    CROSS JOIN LATERAL (SELECT x.lexeme, coalesce(array_length(x.positions, 1), 1) AS tf FROM unnest(cand.tsv) x) u
    JOIN df ON df.lexeme = u.lexeme GROUP BY cand.id ORDER BY bm25 DESC, cand.id LIMIT k;
    ELSE
    RETURN QUERY
    WITH df AS (
        SELECT t AS lexeme, (SELECT count(*) FROM rag_chunks c WHERE c.tsv @@ quote_literal(t)::tsquery) AS df
        FROM unnest(terms) t),
    candidates AS (
        SELECT c.id, c.tsv, c.token_count FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
        WHERE c.tsv @@ tsq AND (filter IS NULL OR d.metadata @> filter))
    SELECT cand.id, sum(ln(1 + (n_chunks - df.df + 0.5) / (df.df + 0.5))
               * (u.tf * (k1 + 1)) / (u.tf + k1 * (1 - b + b * cand.token_count / avgdl)))::float8 AS bm25
    FROM candidates cand
    CROSS JOIN LATERAL (SELECT x.lexeme, coalesce(array_length(x.positions, 1), 1) AS tf FROM unnest(cand.tsv) x) u
    JOIN df ON df.lexeme = u.lexeme GROUP BY cand.id ORDER BY bm25 DESC, cand.id LIMIT k;
    END IF;
END $$;

-- pg_rag 0.5.0's rag_search (hybrid part), over the materialized 0.5.0 BM25: the "before" of pgbench.
CREATE FUNCTION bench_old_search(query text, k integer DEFAULT 5)
RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    q embedding := rag_embed(query);
    candidates integer := greatest(4 * k, 40);
BEGIN
    RETURN QUERY
    WITH v AS (
        SELECT s.chunk_id AS id, row_number() OVER (ORDER BY s.distance, s.chunk_id)::integer AS r
        FROM rag_search_vector(q, candidates, NULL, rag_embedding_model()) s),
    kw AS (
        SELECT s.chunk_id AS id, row_number() OVER (ORDER BY s.score DESC, s.chunk_id)::integer AS r
        FROM bench_old_bm25(query, candidates, NULL, true) s),
    fused AS (
        SELECT coalesce(v.id, kw.id) AS id, coalesce(1 / (60.0 + v.r), 0) + coalesce(1 / (60.0 + kw.r), 0) AS s
        FROM v FULL JOIN kw ON v.id = kw.id)
    SELECT c.id, f.s::float8 FROM fused f JOIN rag_chunks c ON c.id = f.id
    JOIN rag_documents d ON d.id = c.document_id ORDER BY f.s DESC, c.id LIMIT k;
END $$;

-- pg_rag 0.5.0's rag_search_table: to_jsonb for every row before the sort.
CREATE FUNCTION bench_old_search_table(tbl regclass, embedding_column name, query embedding, k integer DEFAULT 10)
RETURNS TABLE (row_data jsonb, distance double precision) LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT to_jsonb(t) - %L, (t.%I OPERATOR(public.<=>) $1)::float8 AS d FROM %s t
         WHERE t.%I IS NOT NULL ORDER BY d LIMIT $2', embedding_column, embedding_column, tbl, embedding_column) USING query, k;
END $$;
