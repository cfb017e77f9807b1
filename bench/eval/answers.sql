-- Answer quality of rag_answer (the configured provider; the extractive one by default) on the
-- questions of qa.jsonl that have relevance judgments: does the answer contain a gold span, and
-- SQuAD exact match / F1 after the usual normalisation (lowercase, no punctuation, no a/an/the,
-- single spaces), with the [n] citations removed. Extractive answers are whole sentences, so exact
-- match is expected to be near zero; "contains gold" and F1 say more.
CREATE FUNCTION squad_norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT btrim(regexp_replace(regexp_replace(regexp_replace(lower(t), '[[:punct:]]', ' ', 'g'),
                 '\m(a|an|the)\M', ' ', 'g'), '\s+', ' ', 'g'))
$$;
CREATE FUNCTION squad_f1(prediction text, gold text) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    WITH p AS (SELECT t, count(*) AS c FROM unnest(string_to_array(squad_norm(prediction), ' ')) t WHERE t <> '' GROUP BY t),
         g AS (SELECT t, count(*) AS c FROM unnest(string_to_array(squad_norm(gold), ' ')) t WHERE t <> '' GROUP BY t),
         common AS (SELECT coalesce(sum(least(p.c, g.c)), 0) AS n FROM p JOIN g USING (t))
    SELECT CASE WHEN common.n = 0 THEN 0
                ELSE 2 * (common.n / (SELECT sum(c) FROM p)) * (common.n / (SELECT sum(c) FROM g))
                       / ((common.n / (SELECT sum(c) FROM p)) + (common.n / (SELECT sum(c) FROM g))) END
    FROM common
$$;

CREATE TABLE qa AS
  SELECT q ->> 'id' AS id, q ->> 'question' AS question,
         ARRAY(SELECT a ->> 'text' FROM jsonb_array_elements(q -> 'answers') a) AS gold
  FROM qa_raw WHERE q ->> 'id' IN (SELECT query_id FROM qrels);
SET pg_rag.answer_cache = off;
CREATE TABLE answered AS
  SELECT qa.id, qa.gold, regexp_replace(r ->> 'answer', '\s*\[\d+\]', '', 'g') AS answer, r ->> 'provider' AS provider
  FROM qa, LATERAL (SELECT rag_answer(qa.question, k => 5) AS r) x;

\echo
\echo Answer quality (rag_answer, k = 5)
SELECT provider, count(*) AS questions,
       round(avg(CASE WHEN EXISTS (SELECT 1 FROM unnest(gold) g WHERE position(squad_norm(g) IN squad_norm(answer)) > 0)
                      THEN 1 ELSE 0 END)::numeric, 4) AS contains_gold,
       round(avg((SELECT max(CASE WHEN squad_norm(g) = squad_norm(answer) THEN 1 ELSE 0 END) FROM unnest(gold) g))::numeric, 4)
         AS exact_match,
       round(avg((SELECT max(squad_f1(answer, g)) FROM unnest(gold) g))::numeric, 4) AS f1,
       round(avg(CASE WHEN answer LIKE 'I don''t know%' THEN 1 ELSE 0 END)::numeric, 4) AS says_dont_know
FROM answered GROUP BY provider;

\if :{?out}
\set answers_file :out '/answers.tsv'
COPY (SELECT a.id, q.question, a.answer, array_to_string(a.gold, ' | ') FROM answered a JOIN qa q USING (id) ORDER BY 1)
  TO :'answers_file';
\endif
