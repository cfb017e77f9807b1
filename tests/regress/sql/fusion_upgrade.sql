-- Upgrading to 0.6.0 drops the answers 0.5.0 cached: the extractive answerer and hybrid fusion answer
-- differently now under the same cache key, so an old answer must not be served again.
SET client_min_messages = warning;
DROP EXTENSION pg_rag CASCADE;
RESET client_min_messages;
CREATE EXTENSION pg_rag VERSION '0.5.0';
SELECT rag_ingest('FAQ', E'faq[0].q: How long do refunds take?\nfaq[0].a: Five business days.', source => 'faq.json') > 0 AS ingested;
-- An answer 0.5.0 cached (searching needs the 0.6.0 objects once the 0.6.0 library is installed:
-- until ALTER EXTENSION ... UPDATE it says so).
\set SHOW_CONTEXT never
SELECT rag_search('refunds');
\set SHOW_CONTEXT errors
INSERT INTO rag_answer_cache (key, kb_version, question, answer)
VALUES (sha256('how long do refunds take'), rag_kb_version(), 'How long do refunds take?',
        '{"answer": "faq[0].q: How long do refunds take? [1]", "cached": false}');
SELECT count(*) AS cached_answers FROM rag_answer_cache;
ALTER EXTENSION pg_rag UPDATE TO '0.6.0';
SELECT count(*) AS cached_answers FROM rag_answer_cache;
-- Answered again, by 0.6.0: the FAQ's answer, not its question.
SELECT r -> 'cached' AS cached, r ->> 'answer' AS answer FROM (SELECT rag_answer('How long do refunds take?') AS r) a;
SET client_min_messages = warning;
DROP EXTENSION pg_rag CASCADE;
RESET client_min_messages;
CREATE EXTENSION pg_rag;
