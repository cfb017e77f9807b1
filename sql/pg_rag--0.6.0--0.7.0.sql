-- pg_rag 0.7.0: the HTTP server's database side. Sections, one per concern (keep them apart: several
-- people edit this file). Every change here goes into pg_rag--0.7.0.sql too.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.7.0'" to load this file. \quit
