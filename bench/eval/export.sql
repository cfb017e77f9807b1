-- Each query's vector and keyword rankings (chunk level, with their scores and the chunk's document),
-- for offline analysis of fusion policies (bench/eval/fusion.py). Needs -v out=DIR.
CREATE TEMP TABLE rankings AS
  SELECT q.id AS query_id, 'vector' AS side, row_number() OVER (PARTITION BY q.id ORDER BY s.distance, s.chunk_id) AS rank,
         s.chunk_id, 1 - s.distance AS score
  FROM queries q, LATERAL rag_search_vector(rag_embed(q.text), 80, NULL, rag_embedding_model()) s
  UNION ALL
  SELECT q.id, 'keyword', row_number() OVER (PARTITION BY q.id ORDER BY s.score DESC, s.chunk_id), s.chunk_id, s.score
  FROM queries q, LATERAL rag_bm25(q.text, 80) s;
\set rankings_file :out '/rankings.tsv'

\set qrels_file :out '/qrels.tsv'
COPY (SELECT r.query_id, r.side, r.rank, r.chunk_id, d.source, r.score FROM rankings r
      JOIN rag_chunks c ON c.id = r.chunk_id JOIN rag_documents d ON d.id = c.document_id
      ORDER BY 1, 2, 3) TO :'rankings_file';
COPY (SELECT q.id, r.corpus_id FROM queries q JOIN qrels r ON r.query_id = q.id AND r.score > 0 ORDER BY 1, 2)
  TO :'qrels_file';
