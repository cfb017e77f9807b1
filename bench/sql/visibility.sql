-- Per-user visibility and search speed: keyword and hybrid rag_search top-10 over the keyword/hybrid
-- corpus (:chunks shared chunks x 384), as a superuser (row-level security does not apply: no
-- visibility filter) and as a user it applies to (asserted by a server role with set_config; the same
-- per-backend copies, filtered per caller); then again with :users users' private documents added
-- (50 chunks each), that user being one of them. Each figure is the median of 3 interleaved rounds,
-- each round the median over the 20 queries; ratio = ms / the superuser's ms of the same mode and
-- stage, measured in the same run. A build without per-user visibility (before 0.7.0's users and
-- tenants) runs the superuser rows only, for a before/after of the shared-only case across builds.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_rag;
ALTER DATABASE bench SET pg_rag.search_cache_mb = 4096;
SET pg_rag.search_cache_mb = 4096;
SET max_parallel_workers_per_gather = 0;
\i bench/sql/common.sql
\set with_embeddings true
\i bench/sql/corpus.sql
SELECT to_regproc('rag_current_user') IS NOT NULL AS has_users \gset
CREATE TEMP TABLE results (what text, ms float8);
\if :has_users
CREATE ROLE bench_server;
SELECT rag_grant_user_access('bench_server', sets_identity => true);
GRANT SELECT ON bench_queries TO bench_server;
\endif
\set user user7

\set stage 'shared only'
\i bench/sql/visibility_round.sql
\i bench/sql/visibility_round.sql
\i bench/sql/visibility_round.sql

\if :has_users
-- :users users' private documents of 50 chunks each, from the same fragments.
INSERT INTO rag_documents (title, content, content_hash, chunking, owner_id)
  SELECT 'private ' || u, '', '\x00', '{}', 'user' || u FROM generate_series(1, :users) u;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv, embedding, embedding_model)
  SELECT d.id, s, x.t, 0, 0, to_tsvector('english', x.t),
         (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 384) WHERE s > 0)::embedding,
         rag_embedding_model()
  FROM rag_documents d CROSS JOIN generate_series(1, 50) s
  CROSS JOIN LATERAL (SELECT f.t FROM fragments f WHERE f.f = 1 + (d.id * 50 + s) % 50000) x
  WHERE d.owner_id IS NOT NULL;
VACUUM ANALYZE rag_chunks;
SELECT count(*) FILTER (WHERE owner_id IS NULL) AS shared_chunks, count(*) FILTER (WHERE owner_id IS NOT NULL) AS private_chunks
FROM rag_chunks;
\set stage '+ private'
\i bench/sql/visibility_round.sql
\i bench/sql/visibility_round.sql
\i bench/sql/visibility_round.sql
\endif

\echo
\echo rag_search top-10, :chunks shared chunks x 384 (median of 3 rounds of the median over 20 queries; ratio = ms / the superuser ms, same mode and stage)
SELECT r.what, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms)::numeric, 2) AS ms,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms) /
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY b.ms) FROM results b
                WHERE b.what = split_part(r.what, ',', 1) || ', superuser,' || split_part(r.what, ',', 3)))::numeric, 2)
         || 'x' AS ratio,
       string_agg(round(r.ms::numeric, 2)::text, ' / ') AS rounds
FROM results r GROUP BY r.what ORDER BY split_part(r.what, ',', 1) DESC, split_part(r.what, ',', 3) DESC, r.what DESC;
