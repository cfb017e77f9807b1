SELECT count(*) FROM rag_search_vector((SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 384))::embedding, 10);
