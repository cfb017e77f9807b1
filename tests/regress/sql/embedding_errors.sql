-- Every kind of bad input gets a clear message and a specific SQLSTATE.
\set VERBOSITY sqlstate
SELECT '[1,,2]'::embedding;
SELECT '[1,2'::embedding;
SELECT '1,2'::embedding;
SELECT '[1,2]junk'::embedding;
SELECT '[1,2] 3'::embedding;
SELECT '[a]'::embedding;
SELECT '[]'::embedding;
SELECT '[NaN]'::embedding;
SELECT '[1,Infinity]'::embedding;
SELECT '[-inf]'::embedding;
SELECT '[1e39]'::embedding;
SELECT '[1e400]'::embedding;
SELECT '[1,-1e400]'::embedding;
SELECT '[1e-400]'::embedding;
SELECT array_fill(0::real, ARRAY[16001])::embedding;
SELECT ARRAY[1,NULL,3]::real[]::embedding;
SELECT ARRAY[[1,2],[3,4]]::real[]::embedding;
SELECT ARRAY['NaN']::real[]::embedding;
SELECT ARRAY['Infinity']::double precision[]::embedding;
SELECT ARRAY[1e39]::double precision[]::embedding;
SELECT ARRAY[]::real[]::embedding;
SELECT '[1,2,3]'::embedding <-> '[1,2,3,4]';
SELECT cosine_distance('[1,2,3]', '[1,2]');
SELECT '[1,2]'::embedding + '[1]';
SELECT '[3e38]'::embedding + '[3e38]';
SELECT '[3e38]'::embedding * '[10]';
SELECT '[1,2]'::embedding(3);
SELECT NULL::embedding(0);
SELECT NULL::embedding(16001);
CREATE TABLE typmod_check (e embedding(3));
INSERT INTO typmod_check VALUES ('[1,2]');
INSERT INTO typmod_check VALUES (ARRAY[1,2,3,4]);
SET pg_rag.kernel = 'sse9';
SET pg_rag.nonexistent = 'x';
\set VERBOSITY default
-- Full messages for the most common mistakes.
SELECT '[1,,2]'::embedding;
SELECT '[1,2,3]'::embedding <=> '[1,2,3,4]';
SELECT '[NaN]'::embedding;
INSERT INTO typmod_check VALUES ('[1,2]');
-- A zero vector has no direction: cosine distance is NaN, not an error.
SELECT '[0,0,0]'::embedding <=> '[1,2,3]' AS nan_distance;
DROP TABLE typmod_check;
