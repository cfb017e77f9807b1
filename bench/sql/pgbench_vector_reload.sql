SELECT set_config('pg_rag.search_cache_mb', CASE current_setting('pg_rag.search_cache_mb') WHEN '4096' THEN '4095' ELSE '4096' END, false);
SELECT count(*) FROM rag_search_vector((SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 384))::embedding, 10);
