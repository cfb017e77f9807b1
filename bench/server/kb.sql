-- The knowledge base of the server benchmarks, generated deterministically (no data set is needed):
-- :docs product manuals of ~6.5 KB, each a title and 20 paragraphs. A paragraph states one attribute
-- of the product ("The battery life of the Model Kalomi is 14 hours.") followed by two sentences of
-- Zipf-distributed pseudo-words over a 20 000-word vocabulary, so keyword search sees realistic term
-- frequencies. Ingested through rag_ingest_table (default chunking, local embedder: ~7 chunks each).
-- bench_questions: 2 000 questions "What is the <attribute> of the Model <name>?" about random
-- products, the requests of the benchmarks (exported by run.sh).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;
SELECT setseed(0.25);

-- A pseudo-word per number: its base-12 digits as syllables (distinct numbers, distinct words).
CREATE FUNCTION bench_word(n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg((ARRAY['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vi', 'zo', 'pe', 'su', 'da', 'fe'])
                      [(n / (12 ^ i)::int) % 12 + 1], '' ORDER BY i DESC)
  FROM generate_series(0, floor(log(12, greatest(n, 1)))::int) i $$;

CREATE TABLE bench_vocab AS SELECT n, bench_word(n) AS w FROM generate_series(1, 20000) n;
CREATE TABLE bench_attributes (a int, attribute text, unit text, lo int, hi int);
INSERT INTO bench_attributes VALUES
  (1, 'battery life', 'hours', 4, 40), (2, 'charging time', 'minutes', 20, 240), (3, 'weight', 'grams', 90, 4000),
  (4, 'warranty period', 'months', 6, 60), (5, 'return window', 'days', 14, 90), (6, 'price', 'euros', 19, 2400),
  (7, 'shipping time to Europe', 'days', 2, 21), (8, 'maximum operating temperature', 'degrees Celsius', 30, 85),
  (9, 'noise level', 'decibels', 18, 70), (10, 'screen size', 'inches', 4, 32), (11, 'storage capacity', 'gigabytes', 16, 4096),
  (12, 'standby power', 'milliwatts', 50, 900), (13, 'water resistance depth', 'meters', 1, 100),
  (14, 'cable length', 'centimeters', 50, 300), (15, 'startup time', 'seconds', 1, 90),
  (16, 'maximum load', 'kilograms', 5, 400), (17, 'refresh rate', 'hertz', 30, 240), (18, 'range', 'meters', 10, 500),
  (19, 'filter lifetime', 'weeks', 4, 52), (20, 'support response time', 'hours', 1, 72);

CREATE TABLE bench_products AS
  SELECT d AS id, 'Model ' || initcap(bench_word(100000 + d * 37)) AS name FROM generate_series(1, :docs) d;

-- Zipf filler: floor(exp(random() * ln 20000)) favours small word numbers (frequent words); two
-- sentences (22 and 16 words) per paragraph, built in one pass and joined to the vocabulary once.
CREATE TABLE bench_filler AS
  SELECT r.p, r.a, r.s, initcap(string_agg(v.w, ' ' ORDER BY r.pos)) AS t
  FROM (SELECT p, a, s, pos, least(20000, floor(exp(random() * ln(20000)))::int) AS n
        FROM generate_series(1, :docs) p, generate_series(1, 20) a, generate_series(1, 2) s, generate_series(1, 22) pos
        WHERE s = 1 OR pos <= 16) r
  JOIN bench_vocab v USING (n)
  GROUP BY r.p, r.a, r.s;

CREATE TABLE bench_src AS
  SELECT p.id, p.name AS title,
         string_agg(format('The %s of the %s is %s %s. %s. %s.', a.attribute, p.name,
                           a.lo + ((p.id * 7919 + a.a * 104729) % (a.hi - a.lo + 1)), a.unit, f1.t, f2.t),
                    E'\n\n' ORDER BY a.a) AS body
  FROM bench_products p CROSS JOIN bench_attributes a
  JOIN bench_filler f1 ON f1.p = p.id AND f1.a = a.a AND f1.s = 1
  JOIN bench_filler f2 ON f2.p = p.id AND f2.a = a.a AND f2.s = 2
  GROUP BY p.id, p.name;

SET pg_rag.progress_every = 0;
SELECT rag_ingest_table('bench_src', 'body', 'title') IS NOT NULL AS ingested;

CREATE TABLE bench_questions AS
  SELECT q, format('What is the %s of the %s?', a.attribute, p.name) AS question
  FROM generate_series(1, 2000) q
  JOIN bench_products p ON p.id = 1 + (q * 7907) % :docs
  JOIN bench_attributes a ON a.a = 1 + (q * 13) % 20;

VACUUM ANALYZE rag_chunks;
VACUUM ANALYZE rag_documents;
SELECT count(*) AS documents, (SELECT count(*) FROM rag_chunks) AS chunks FROM rag_documents;
