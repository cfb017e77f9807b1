-- rag_search(): vector (exact), keyword (BM25), hybrid (RRF), filters, and rag_search_table.
TRUNCATE rag_documents CASCADE;  -- this test starts from an empty knowledge base
SELECT rag_ingest('Refund policy', 'Refunds are processed within five business days after we receive the return.',
                  '{"lang": "en", "topic": "refunds"}', source => 's/refunds');
SELECT rag_ingest('Shipping', 'Shipping to Europe takes seven to ten days. Express shipping costs extra.',
                  '{"lang": "en", "topic": "shipping"}', source => 's/shipping');
SELECT rag_ingest('Digitale Waren', 'Digital goods cannot be refunded once downloaded.',
                  '{"lang": "de", "topic": "refunds"}', source => 's/digital');
SELECT rag_ingest('Holidays', 'Our office is closed on public holidays.', '{"lang": "en"}', source => 's/holidays');

SELECT title, round(score::numeric, 4) AS score, vector_rank, keyword_rank FROM rag_search('how do refunds work', k => 3);
SELECT title, round(score::numeric, 4) AS score, vector_rank, keyword_rank FROM rag_search('refund', k => 10, mode => 'keyword');
SELECT title, round(score::numeric, 4) AS score FROM rag_search('refund shipping', k => 10, mode => 'keyword');
SELECT title FROM rag_search('"express shipping"', k => 10, mode => 'keyword');
SELECT title FROM rag_search('shipping -express', k => 10, mode => 'keyword');
SELECT title, round(score::numeric, 4) AS score, vector_rank FROM rag_search('shipping to europe', k => 2, mode => 'vector');
SELECT title, source, metadata FROM rag_search('refund', k => 10, mode => 'keyword', filter => '{"lang": "en"}');
SELECT title FROM rag_search('refund', k => 10, mode => 'hybrid', filter => '{"topic": "refunds"}') ORDER BY title;
SELECT title FROM rag_search(rag_embed('refunds'), k => 2);
-- Only stop-words: keyword search finds nothing, hybrid still answers from vectors.
SELECT count(*) FROM rag_search('the of and', k => 5, mode => 'keyword');
SELECT count(*) > 0 AS vector_side_answers FROM rag_search('the of and', k => 5);

-- Exactness: on 20 000 random embeddings, vector search returns exactly the brute-force top-k.
INSERT INTO rag_documents (title, content, content_hash, chunking, metadata)
  SELECT 'random ' || g, '', '\x00', '{}', jsonb_build_object('half', g % 2) FROM generate_series(1, 2) g;
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT min(id) FROM rag_documents WHERE title LIKE 'random%') + i % 2, i, 'r' || i, 0, 0,
         (SELECT array_agg(sin(i * 13.7 + j * 3.1 + i * j * 0.001)::real) FROM generate_series(1, 48) j WHERE i > 0)::embedding,
         'test', ''
  FROM generate_series(1, 20000) i;
CREATE TEMP TABLE queries AS
  SELECT q, (SELECT array_agg(cos(q * 7.3 + j)::real) FROM generate_series(1, 48) j WHERE q > 0)::embedding AS e
  FROM generate_series(1, 20) q;
SELECT m.metric,
       count(*) FILTER (WHERE (SELECT array_agg(s.chunk_id ORDER BY s.distance, s.chunk_id) FROM rag_search_vector(q.e, 25, metric => m.metric) s)
                            = (SELECT array_agg(id) FROM (SELECT c.id FROM rag_chunks c WHERE dims(c.embedding) = 48
                                 ORDER BY CASE m.metric WHEN 'cosine' THEN c.embedding <=> q.e WHEN 'l2' THEN c.embedding <-> q.e
                                          ELSE c.embedding <#> q.e END, c.id LIMIT 25) b)) AS identical_top25,
       count(*) AS queries
FROM queries q CROSS JOIN unnest(ARRAY['cosine', 'l2', 'inner_product']) m(metric)
GROUP BY m.metric ORDER BY m.metric;
-- The distances are the operators' own, to the last bit.
SELECT bool_and(s.distance = (c.embedding <=> q.e)) AS same_distances
FROM queries q CROSS JOIN LATERAL rag_search_vector(q.e, 5) s JOIN rag_chunks c ON c.id = s.chunk_id;
-- A filter on document metadata never returns fewer than k rows when k match.
SELECT count(*) AS rows, bool_and(d.metadata @> '{"half": 1}') AS all_match
FROM rag_search_vector((SELECT e FROM queries WHERE q = 1), 25, '{"half": 1}') s JOIN rag_documents d ON d.id = s.document_id;
-- A change is seen at once (the per-backend copy follows the knowledge base).
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, embedding, embedding_model, tsv)
  SELECT (SELECT min(id) FROM rag_documents WHERE title LIKE 'random%'), 99999, 'the query itself', 0, 0, e, 'test', ''
  FROM queries WHERE q = 1;
SELECT c.content, s.distance FROM rag_search_vector((SELECT e FROM queries WHERE q = 1), 1) s JOIN rag_chunks c ON c.id = s.chunk_id;
-- Over the memory budget, the plain-scan path gives the same answer.
SET pg_rag.search_cache_mb = 0;
SELECT bool_and((SELECT array_agg(s.chunk_id ORDER BY s.distance, s.chunk_id) FROM rag_search_vector(q.e, 10) s) =
                (SELECT array_agg(id) FROM (SELECT c.id FROM rag_chunks c WHERE dims(c.embedding) = 48
                                            ORDER BY c.embedding <=> q.e, c.id LIMIT 10) b)) AS fallback_identical
FROM queries q;
RESET pg_rag.search_cache_mb;

-- The in-memory copy never serves a role that may not read the chunks (SET ROLE in the same backend).
SELECT e AS q1 FROM queries WHERE q = 1 \gset
SELECT count(*) AS loaded_as_owner FROM rag_search_vector(:'q1', 5);
CREATE ROLE rag_outsider;
SET ROLE rag_outsider;
SELECT count(*) FROM rag_search_vector(:'q1', 5);
RESET ROLE;
DROP ROLE rag_outsider;

-- Search on a table of your own, with your privileges.
CREATE TABLE my_items (id int PRIMARY KEY, body text, emb embedding(3));
INSERT INTO my_items VALUES (1, 'a', '[1,0,0]'), (2, 'b', '[0,1,0]'), (3, 'c', '[0.9,0.1,0]'), (4, 'no vector', NULL);
SELECT row_data, round(distance::numeric, 4) FROM rag_search_table('my_items', 'emb', '[1,0,0]', 2);
SELECT row_data ->> 'id' AS id FROM rag_search_table('my_items', 'emb', '[1,0,0]', 3, metric => 'l2');
CREATE ROLE rag_searcher;
SET ROLE rag_searcher;
SELECT * FROM rag_search_table('my_items', 'emb', '[1,0,0]', 2);
RESET ROLE;
DROP ROLE rag_searcher;
SELECT * FROM rag_search_table('my_items', 'body', '[1,0,0]', 2);
SELECT * FROM rag_search_table('my_items', 'emb"; DROP TABLE my_items; --', '[1,0,0]', 2);

-- Bad input.
SELECT * FROM rag_search('', k => 5);
SELECT * FROM rag_search('refund', k => 0);
SELECT * FROM rag_search('refund', k => 5, mode => 'semantic');
SELECT * FROM rag_search_vector('[1,2,3]', 0);
SET pg_rag.distance_metric = 'hamming';
