-- Exact k-NN and full-scan distance over :rows random 768-dimension embeddings, and the storage choice.
-- Every figure is a median of repeated runs, printed as rows per second next to a baseline measured
-- in the same run on the same table: a plain scan (count(*)) that reads the same pages.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;

-- Median wall time in ms of running a query `reps` times.
CREATE OR REPLACE FUNCTION bench_ms(query text, reps int DEFAULT 5) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; times double precision[] := '{}';
BEGIN
  EXECUTE query;  -- warm-up: pages into shared buffers
  FOR i IN 1..reps LOOP
    t0 := clock_timestamp();
    EXECUTE query;
    times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END $$;

-- One random unit-free vector per row, generated in SQL.
CREATE TABLE items_main (id bigint, emb embedding(768));
INSERT INTO items_main
  SELECT i, (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 768) WHERE i > 0)::embedding
  FROM generate_series(1, :rows) i;
CREATE TABLE items_external (id bigint, emb embedding(768));
ALTER TABLE items_external ALTER COLUMN emb SET STORAGE external;
INSERT INTO items_external SELECT * FROM items_main;
CREATE TABLE items_extended (id bigint, emb embedding(768));
ALTER TABLE items_extended ALTER COLUMN emb SET STORAGE extended;
INSERT INTO items_extended SELECT * FROM items_main;
VACUUM ANALYZE items_main, items_external, items_extended;

CREATE TEMP TABLE q AS SELECT emb FROM items_main WHERE id = 4242;

CREATE TEMP TABLE results (what text, storage text, ms double precision, rows_per_s double precision, vs_baseline text);
DO $$
DECLARE
  s text; n bigint; base double precision; t double precision;
BEGIN
  FOREACH s IN ARRAY ARRAY['main', 'external', 'extended'] LOOP
    EXECUTE format('SELECT count(*) FROM items_%s', s) INTO n;
    base := bench_ms(format('SELECT count(*) FROM items_%s', s));
    INSERT INTO results VALUES ('baseline: count(*)', s, base, n / base * 1000, '1.00x');
    t := bench_ms(format('SELECT sum(emb <=> (SELECT emb FROM q)) FROM items_%s', s));
    INSERT INTO results VALUES ('sum(emb <=> q)', s, t, n / t * 1000, to_char(base / t, 'FM990.00') || 'x');
    t := bench_ms(format('SELECT id FROM items_%s ORDER BY emb <=> (SELECT emb FROM q) LIMIT 10', s));
    INSERT INTO results VALUES ('ORDER BY emb <=> q LIMIT 10', s, t, n / t * 1000, to_char(base / t, 'FM990.00') || 'x');
    t := bench_ms(format('SELECT id FROM items_%s ORDER BY emb <-> (SELECT emb FROM q) LIMIT 10', s));
    INSERT INTO results VALUES ('ORDER BY emb <-> q LIMIT 10', s, t, n / t * 1000, to_char(base / t, 'FM990.00') || 'x');
  END LOOP;
END $$;

\echo
\echo Exact search over :rows rows x 768 dimensions (median of 5; vs_baseline = speed relative to count(*) on the same table)
SELECT what, storage, round(ms::numeric, 1) AS ms, round(rows_per_s::numeric) AS rows_per_s, vs_baseline FROM results;
SELECT s AS storage, pg_size_pretty(pg_relation_size('items_' || s)) AS heap,
       pg_size_pretty(pg_total_relation_size('items_' || s) - pg_relation_size('items_' || s)) AS toast_and_indexes
FROM unnest(ARRAY['main', 'external', 'extended']) s;
SELECT rag_kernel_info() AS kernel_path;
