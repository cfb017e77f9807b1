-- A different pg_rag.search_cache_mb on every search forces a full reload: what 0.5.0 did after every change.
SELECT set_config('pg_rag.search_cache_mb', (3000 + (random() * 1000)::int)::text, false);
SELECT count(*) FROM rag_search_vector((SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 384))::embedding, 10);
