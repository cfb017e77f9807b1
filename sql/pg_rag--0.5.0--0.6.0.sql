-- pg_rag 0.6.0: hardening. Sections, one per concern (keep them apart: several people edit this file).
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.6.0'" to load this file. \quit

-- == Documented defaults and input checks ========================================================

-- (end of defaults section)


-- == Provider keys and endpoints =================================================================

-- (end of provider keys section)


-- == Search: BM25 in C++, incremental in-memory copies ===========================================

-- (end of search section)


-- == Search quality: hybrid fusion ===============================================================

-- (end of fusion section)


-- == Answer contract =============================================================================

-- (end of answer contract section)
