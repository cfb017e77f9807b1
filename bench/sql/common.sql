-- Shared by the search benchmarks: the 20 keyword queries and median_ms().
-- Queries: 1-4 words, from frequent (w2: in most chunks) to rare (w20000).
CREATE TABLE bench_queries AS SELECT ARRAY['w3 w150', 'w12 w480 w2000', 'w7', 'w25 w26', 'w100 w1000 w10000',
  'w2 w9 w77 w5000', 'w40 w3000', 'w500', 'w6 w60 w600 w6000', 'w15 w15000', 'w33 w333', 'w4 w8 w16 w32',
  'w250 w2500 w25000', 'w1100', 'w18 w81', 'w5 w55 w555', 'w2000 w20000', 'w11 w1111', 'w70 w700 w7000 w170',
  'w3000 w30'] AS q;

-- Median ms of a query over each of the benchmark queries ($1), after one warm-up run of each.
CREATE FUNCTION median_ms(sql text, queries text[]) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; times double precision[] := '{}'; q text;
BEGIN
  FOREACH q IN ARRAY queries LOOP EXECUTE sql USING q; END LOOP;
  FOREACH q IN ARRAY queries LOOP
    t0 := clock_timestamp();
    EXECUTE sql USING q;
    times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END $$;
