-- One round of bench/sql/visibility.sql: keyword then hybrid top-10 for each caller of the stage
-- (:stage: 'shared only' or '+ private'), the callers interleaved so that load drifts hit them alike.
SELECT median_ms('SELECT * FROM rag_search($1, 10, ''keyword'')', q) AS ms FROM bench_queries \gset
INSERT INTO results (what, ms) VALUES ('keyword, superuser, ' || :'stage', :ms);
\if :has_users
SET ROLE bench_server;
BEGIN;
SELECT set_config('pg_rag.user_id', :'user', true) IS NOT NULL AS acting \gset
SELECT median_ms('SELECT * FROM rag_search($1, 10, ''keyword'')', q) AS ms FROM bench_queries \gset
COMMIT;
RESET ROLE;
INSERT INTO results (what, ms) VALUES ('keyword, a user (policies apply), ' || :'stage', :ms);
\endif
SELECT median_ms('SELECT * FROM rag_search($1, 10)', q) AS ms FROM bench_queries \gset
INSERT INTO results (what, ms) VALUES ('hybrid, superuser, ' || :'stage', :ms);
\if :has_users
SET ROLE bench_server;
BEGIN;
SELECT set_config('pg_rag.user_id', :'user', true) IS NOT NULL AS acting \gset
SELECT median_ms('SELECT * FROM rag_search($1, 10)', q) AS ms FROM bench_queries \gset
COMMIT;
RESET ROLE;
INSERT INTO results (what, ms) VALUES ('hybrid, a user (policies apply), ' || :'stage', :ms);
\endif
