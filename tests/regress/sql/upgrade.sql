-- The released 0.1.0 script plus the upgrade gives the same extension as a fresh install.
SET client_min_messages = warning;
DROP EXTENSION pg_rag CASCADE;
RESET client_min_messages;
CREATE EXTENSION pg_rag VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
SELECT '[1,2,3]'::embedding <-> '[1,2,4]';
ALTER EXTENSION pg_rag UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
SELECT dims(rag_embed('after the upgrade'));
CREATE TEMP TABLE upgraded AS
  SELECT pg_describe_object(classid, objid, objsubid) AS member FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_rag');
DROP EXTENSION pg_rag;
CREATE EXTENSION pg_rag;
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
CREATE TEMP TABLE fresh AS
  SELECT pg_describe_object(classid, objid, objsubid) AS member FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_rag');
SELECT (SELECT count(*) FROM fresh) AS members,
       (SELECT count(*) FROM (SELECT member FROM fresh EXCEPT SELECT member FROM upgraded) a) AS only_in_fresh,
       (SELECT count(*) FROM (SELECT member FROM upgraded EXCEPT SELECT member FROM fresh) b) AS only_in_upgraded;
