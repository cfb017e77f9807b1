-- The first statements of a new session, before any pg_rag function runs: pg_rag is preloaded
-- (shared_preload_libraries), so its settings exist and a misspelt pg_rag.* name is an error.
SET pg_rag.kernal = 'avx2';
SELECT current_setting('pg_rag.kernal', true) IS NULL AS typo_not_set;
SHOW pg_rag.distance_metric;
SET pg_rag.distance_metric = 'euclid';
