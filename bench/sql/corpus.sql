-- A synthetic knowledge base of :chunks chunks for the search benchmarks (:with_embeddings: random
-- 384-dimension vectors under the local embedder's model name).
-- The corpus: 50 000 fragments of 50 Zipf-distributed words over a 30 000-word vocabulary; each chunk
-- joins three random fragments (150 words), 20 chunks per document.
SELECT setseed(0.5);
CREATE TABLE fragments AS
  SELECT f, string_agg('w' || least(30000, floor(exp(random() * ln(30000)))::int), ' ') AS t
  FROM generate_series(1, 50000) f, generate_series(1, 50) g GROUP BY f;
CREATE INDEX ON fragments (f);
INSERT INTO rag_documents (title, content, content_hash, chunking, metadata)
  SELECT 'doc ' || d, '', '\x00', '{}', jsonb_build_object('g', d % 10) FROM generate_series(1, :chunks / 20) d;
ALTER TABLE rag_chunks SET (autovacuum_enabled = off);
INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv, embedding, embedding_model)
  SELECT (SELECT min(id) FROM rag_documents) + (i - 1) / 20, i, x.t, 0, 0, to_tsvector('english', x.t),
         CASE WHEN :with_embeddings THEN (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 384)
                                          WHERE i > 0)::embedding END,
         CASE WHEN :with_embeddings THEN rag_embedding_model() END
  FROM generate_series(1, :chunks) i
  CROSS JOIN LATERAL (SELECT string_agg(f.t, ' ') AS t FROM fragments f
                      WHERE f.f IN (1 + (i::bigint * 7919) % 50000, 1 + (i::bigint * 104729 + 17) % 50000, 1 + (i::bigint * 1299709 + 3) % 50000)
                        AND i > 0) x;
VACUUM ANALYZE rag_chunks;
VACUUM ANALYZE rag_documents;

