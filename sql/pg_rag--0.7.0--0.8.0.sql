-- pg_rag 0.8.0: search at scale. Sections, one per concern (keep them apart: several people edit this
-- file). Every change here goes into pg_rag--0.8.0.sql too.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.8.0'" to load this file. \quit

-- == Shared search copies and the approximate index ==============================================

-- This backend's copies of the knowledge base: state ('not loaded', 'shared': a base file mapped by
-- every backend plus a private overlay, 'in memory': private, 'over cap'), chunks the caller may see,
-- full loads and incremental catch-ups so far, and of a shared copy its generation and the caller's
-- visible rows in the base and in the overlay.
DROP FUNCTION rag_search_copies();
CREATE FUNCTION rag_search_copies(OUT copy text, OUT state text, OUT chunks bigint, OUT reloads bigint,
                                  OUT updates bigint, OUT generation bigint, OUT base_rows bigint,
                                  OUT overlay_rows bigint) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rag_search_copies' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 2;

-- Rebuilds the shared search copies that are stale (their change log was pruned past them, or their
-- overlay outgrew 10% of them) or, with force, all of them: files under the data directory's
-- pg_rag/<database oid>/. Must run on its own in a READ COMMITTED transaction (copies hold committed
-- data only); pg_rag_server's maintenance loop calls it.
CREATE FUNCTION rag_refresh_search_copies(force boolean DEFAULT false)
RETURNS TABLE (copy text, dims integer, generation bigint, chunks bigint, indexed boolean, rebuilt boolean)
    AS 'MODULE_PATHNAME', 'rag_refresh_search_copies' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- How rag_search_vector (and so rag_search) would search for this query now: the path ('exact',
-- 'approximate', 'exact (filter fallback)', 'exact (private copy)', 'exact (table scan)'), the lists the
-- approximate index probed and the candidates it re-ranked, the base and overlay rows the caller may
-- see and the shared copy's generation.
CREATE FUNCTION rag_search_plan(query_embedding embedding, k integer DEFAULT 10, filter jsonb DEFAULT NULL,
                                model text DEFAULT NULL)
RETURNS TABLE (path text, probes integer, candidates bigint, base_rows bigint, overlay_rows bigint,
               generation bigint)
    AS 'MODULE_PATHNAME', 'rag_search_plan' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;
