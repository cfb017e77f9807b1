-- avg/sum aggregates (with parallel combine), DISTINCT, GROUP BY and unique indexes.
CREATE TABLE agg (g int, e embedding(2));
INSERT INTO agg VALUES (1, '[1,2]'), (1, '[3,4]'), (2, '[10,20]'), (2, '[10,20]'), (3, NULL);
SELECT g, avg(e), sum(e) FROM agg GROUP BY g ORDER BY g;
SELECT avg(e), sum(e) FROM agg WHERE false;
SELECT avg(e) FROM agg;
SELECT DISTINCT e FROM agg WHERE e IS NOT NULL ORDER BY e;
SELECT e, count(*) FROM agg GROUP BY e ORDER BY e NULLS LAST;
SET enable_sort = off;
SELECT e, count(*) FROM agg GROUP BY e ORDER BY count(*) DESC, e NULLS LAST;
RESET enable_sort;
CREATE UNIQUE INDEX agg_unique ON agg (e) WHERE g <> 2;
INSERT INTO agg VALUES (4, '[1,2]');
-- Mixed dimensions in one group are an error.
SELECT avg(x) FROM (VALUES ('[1,2]'::embedding), ('[1,2,3]')) v(x);

-- Parallel aggregation uses the combine function and gives the same result.
CREATE TABLE big AS SELECT ARRAY[(i % 7)::real, (i % 11)::real, 1]::embedding AS e FROM generate_series(1, 200000) i;
ANALYZE big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(e) FROM big;
SELECT avg(e), sum(e) FROM big;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
SELECT avg(e), sum(e) FROM big;
DROP TABLE big;
