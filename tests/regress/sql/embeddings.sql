-- rag_embed() with the built-in local embedder (the default: no network, no configuration).
SELECT dims(rag_embed('How do refunds work?'));
SHOW pg_rag.embedding_provider;
SELECT rag_embed('How do refunds work?') = rag_embed_local('How do refunds work?') AS same_as_local;
SELECT rag_embed(NULL::text) IS NULL AS null_in_null_out;
SELECT cardinality(e) AS n, e[2] IS NULL AS null_kept, e[3] = rag_embed('second text') AS in_order
  FROM (SELECT rag_embed(ARRAY['first text', NULL, 'second text']) AS e) s;
SELECT rag_embed(ARRAY[]::text[]) AS empty_batch;
SET pg_rag.local_dims = 16;
SELECT dims(rag_embed('short'));
RESET pg_rag.local_dims;
SELECT dims(rag_embed_local('x', 7)), l2_norm(rag_embed_local('Refunds take five days')) BETWEEN 0.999 AND 1.001 AS unit;
-- A text without words embeds to the zero vector (cosine distance to it is NaN and sorts last).
SELECT l2_norm(rag_embed_local('... !!!'));

-- Lexical search with the local embedder: shared vocabulary ranks first.
CREATE TABLE faq (id int PRIMARY KEY, body text, emb embedding(384));
INSERT INTO faq (id, body) VALUES
  (1, 'Refunds are processed within five business days after we receive the return.'),
  (2, 'Shipping to Europe takes seven to ten days.'),
  (3, 'Digital goods cannot be refunded once downloaded.'),
  (4, 'Our office is closed on public holidays.');
UPDATE faq SET emb = rag_embed(body);
-- Both documents that share a word with the question come first (lexical: "takes" counts like "refunds").
SELECT id FROM (SELECT id FROM faq ORDER BY emb <=> rag_embed('how long do refunds take') LIMIT 2) top ORDER BY id;
SELECT id FROM faq ORDER BY emb <=> rag_embed('shipping to europe') LIMIT 1;

-- rag_embed_table fills a column in batches, only where it is missing by default.
CREATE TABLE notes (id serial PRIMARY KEY, body text, emb embedding);
INSERT INTO notes (body) SELECT 'note number ' || i FROM generate_series(1, 25) i;
INSERT INTO notes (body) VALUES (NULL);
SELECT rag_embed_table('notes', 'body', 'emb', batch_size => 10) AS embedded;
SELECT count(*) FILTER (WHERE emb IS NOT NULL) AS with_emb, count(*) FILTER (WHERE emb = rag_embed(body)) AS correct FROM notes;
SELECT rag_embed_table('notes', 'body', 'emb') AS nothing_left;
SELECT rag_embed_table('notes', 'body', 'emb', batch_size => 0);
SELECT rag_embed_table('notes', 'no_such_column', 'emb');

-- Bad input.
SELECT rag_embed('x', provider => 'nope');
SET pg_rag.embedding_provider = 'nope';
SELECT rag_embed_local('x', 0);
SELECT rag_embed(ARRAY[['a'],['b']]);
-- Volatility and parallel markings are true.
SELECT proname, provolatile, proparallel, proisstrict FROM pg_proc
 WHERE proname IN ('rag_embed', 'rag_embed_local', 'rag_embedding_stats', 'rag_embed_table', 'rag_clear_embedding_cache')
 ORDER BY proname, pronargs, provolatile;
