-- pg_rag 0.6.0: hardening. Sections, one per concern (keep them apart: several people edit this file).
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.6.0'" to load this file. \quit

-- == Documented defaults and input checks ========================================================

-- (end of defaults section)


-- == Provider keys and endpoints =================================================================

-- (end of provider keys section)


-- == Search: BM25 in C++, incremental in-memory copies ===========================================

-- (end of search section)


-- == Search quality: hybrid fusion ===============================================================

-- 0.6.0 answers differently (extractive units, hybrid fusion) under the same cache key (settings,
-- model name, knowledge base version): drop the answers 0.5.0 cached so none of them is served again.
DELETE FROM @extschema@.rag_answer_cache;

-- (end of fusion section)


-- == Answer contract =============================================================================

-- (end of answer contract section)
