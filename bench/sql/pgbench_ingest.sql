INSERT INTO rag_chunks (document_id, seq, content, char_start, char_end, tsv, embedding, embedding_model)
  SELECT 1, (random() * 1e9)::int, 'ingested', 0, 0, to_tsvector('english', 'ingested w7'),
         (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, 384))::embedding, rag_embedding_model();
