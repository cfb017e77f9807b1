\set n random(1, 20)
SELECT count(*) FROM rag_search((SELECT q[:n] FROM bench_queries), 10);
