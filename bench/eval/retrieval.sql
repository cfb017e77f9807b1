-- nDCG@10 and recall@10 of rag_search in each mode over a BEIR-layout data set (one document per
-- passage, chunked with the defaults), with the configured embedding provider (the local one here).
SET client_min_messages = warning;
CREATE EXTENSION pg_rag;
-- corpus_raw, queries_raw, qrels (and qa_raw) were loaded by bench/eval/run.sh.

SELECT count(rag_ingest(doc ->> 'title', doc ->> 'text', jsonb_build_object('beir_id', doc ->> '_id'),
                        source => doc ->> '_id')) AS documents FROM corpus_raw;
SELECT count(*) AS chunks FROM rag_chunks;

CREATE TABLE queries AS
  SELECT q ->> '_id' AS id, q ->> 'text' AS text FROM queries_raw WHERE q ->> '_id' IN (SELECT query_id FROM qrels);
CREATE TABLE runs AS
  SELECT q.id, m.mode, s.rank, s.source
  FROM queries q
  CROSS JOIN unnest(ARRAY['vector', 'keyword', 'hybrid']) m(mode)
  CROSS JOIN LATERAL (
      -- chunks to documents: a document's best chunk counts once, at its first rank
      SELECT row_number() OVER (ORDER BY min(r.rank)) AS rank, r.source
      FROM (SELECT row_number() OVER () AS rank, x.source FROM rag_search(q.text, k => 20, mode => m.mode) x) r
      GROUP BY r.source ORDER BY min(r.rank) LIMIT 10) s;

\echo
\echo Retrieval quality (binary relevance from qrels; one relevant passage per question in XQuAD)
SELECT m.mode, count(*) AS queries,
       round(avg(coalesce(g.dcg, 0) / i.idcg)::numeric, 4) AS "nDCG@10",
       round(avg(coalesce(g.hits, 0)::numeric / i.relevant), 4) AS "recall@10",
       round(avg(CASE WHEN g.first_rank = 1 THEN 1 ELSE 0 END)::numeric, 4) AS "hit@1"
FROM queries q
CROSS JOIN unnest(ARRAY['vector', 'keyword', 'hybrid']) m(mode)
CROSS JOIN LATERAL (
    SELECT count(*) AS relevant,
           sum(1 / log(2, n + 1.0)) FILTER (WHERE n <= 10) AS idcg
    FROM (SELECT row_number() OVER () AS n FROM qrels r WHERE r.query_id = q.id AND r.score > 0) rel) i
LEFT JOIN LATERAL (
    SELECT sum(1 / log(2, rn.rank + 1.0)) AS dcg, count(*) AS hits, min(rn.rank) AS first_rank
    FROM runs rn JOIN qrels r ON r.query_id = rn.id AND r.corpus_id = rn.source AND r.score > 0
    WHERE rn.id = q.id AND rn.mode = m.mode) g ON true
GROUP BY m.mode ORDER BY m.mode;
