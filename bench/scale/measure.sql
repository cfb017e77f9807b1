-- Helpers of bench/scale/run.sh: per-query latency of a search statement, recall against the exact
-- answers, and summaries. Times are taken in the server (clock_timestamp around EXECUTE), so every
-- method pays the same overheads and no client round trip.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS scale_latency (method text, query_id int, ms float8, ids bigint[]);
CREATE TABLE IF NOT EXISTS scale_first (method text PRIMARY KEY, ms float8);  -- the first, untimed-above call

-- Runs `statement` ($1 = the query vector, returns the top-10 ids as bigint[]) for the first `queries`
-- rows of `query_table`, after `warmups` warm-up runs (the first one's time goes to scale_first: in a new
-- backend it includes loading the search copy or building an index); records time and ids.
CREATE OR REPLACE FUNCTION scale_run(method text, statement text, query_table text, queries int, warmups int DEFAULT 1)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record; t0 timestamptz; found bigint[];
BEGIN
  DELETE FROM scale_latency WHERE scale_latency.method = scale_run.method;
  DELETE FROM scale_first WHERE scale_first.method = scale_run.method;
  FOR r IN EXECUTE format('SELECT id, embedding FROM %I ORDER BY id LIMIT %s', query_table, warmups) LOOP
    t0 := clock_timestamp();
    EXECUTE statement INTO found USING r.embedding;
    INSERT INTO scale_first VALUES (method, extract(epoch FROM clock_timestamp() - t0) * 1000) ON CONFLICT DO NOTHING;
  END LOOP;
  FOR r IN EXECUTE format('SELECT id, embedding FROM %I ORDER BY id LIMIT %s', query_table, queries) LOOP
    t0 := clock_timestamp();
    EXECUTE statement INTO found USING r.embedding;
    INSERT INTO scale_latency VALUES (method, r.id, extract(epoch FROM clock_timestamp() - t0) * 1000, found);
  END LOOP;
END $$;

-- Median and 95th percentile latency of a method, and its recall@10 against `truth` over the same queries
-- (the first `upto` queries only, when given).
CREATE OR REPLACE FUNCTION scale_summary(m text, truth text DEFAULT 'exact', upto int DEFAULT NULL,
  OUT queries bigint, OUT median_ms float8, OUT p95_ms float8, OUT recall float8) LANGUAGE sql AS $$
  SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY l.ms),
         avg((SELECT count(*) FROM unnest(l.ids) i WHERE i = ANY (t.ids))::float8 / greatest(cardinality(t.ids), 1))
  FROM scale_latency l LEFT JOIN scale_latency t ON t.method = truth AND t.query_id = l.query_id
  WHERE l.method = m AND (upto IS NULL OR l.query_id <= upto) $$;
