\set n random(1, 20)
SELECT count(*) FROM bench_old_search((SELECT q[:n] FROM bench_queries), 10);
