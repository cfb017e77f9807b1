-- The knowledge base: ingest, incremental re-ingest (counting provider calls on the fake), files,
-- delete cascade, bulk loading with progress, and failures that leave everything as it was.
SELECT rag_embedding_model();
SELECT rag_ingest('Refund policy', E'Refunds are processed within five business days.\n\nDigital goods cannot be refunded.',
                  '{"lang": "en"}', source => 'kb/refunds.txt', max_chars => 60) AS refunds_id \gset
SELECT id = :refunds_id AS same_id, title, source, mime, metadata, chunking, length(content) FROM rag_documents;
SELECT seq, content, char_start, char_end, embedding_model, dims(embedding), tsv @@ to_tsquery('english', 'refund') AS matches_refund
  FROM rag_chunks ORDER BY seq;
SELECT count(*) FILTER (WHERE c.embedding = rag_embed_local(c.content)) AS local_embeddings FROM rag_chunks c;

-- Through a provider (the fake), counting what it receives.
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/kb/v1';
SET pg_rag.embedding_cache = off;   -- so that every embedding the provider is spared is spared by rag_ingest itself
SELECT rag_ingest('Shipping', E'Shipping to Europe takes seven to ten days.\n\nShipping to Asia takes two weeks.\n\nExpress costs extra.',
                  source => 'kb/shipping.md', max_chars => 50, overlap => 0) AS shipping_id \gset
\! curl -s http://127.0.0.1:55480/count/kb
-- Same content again: nothing changes, no provider call.
SELECT rag_ingest('Shipping', E'Shipping to Europe takes seven to ten days.\n\nShipping to Asia takes two weeks.\n\nExpress costs extra.',
                  source => 'kb/shipping.md', max_chars => 50, overlap => 0) = :shipping_id AS same_document;
\! curl -s http://127.0.0.1:55480/count/kb
-- New title and metadata only: updated, still no provider call.
SELECT rag_ingest('Shipping times', E'Shipping to Europe takes seven to ten days.\n\nShipping to Asia takes two weeks.\n\nExpress costs extra.',
                  '{"lang": "en"}', source => 'kb/shipping.md', max_chars => 50, overlap => 0) = :shipping_id AS same_document;
\! curl -s http://127.0.0.1:55480/count/kb
SELECT title, metadata FROM rag_documents WHERE id = :shipping_id;
-- One paragraph changed: one request, carrying only the new chunk text.
SELECT rag_ingest('Shipping times', E'Shipping to Europe takes seven to ten days.\n\nShipping to Asia takes three weeks.\n\nExpress costs extra.',
                  '{"lang": "en"}', source => 'kb/shipping.md', max_chars => 50, overlap => 0) = :shipping_id AS same_document;
\! curl -s http://127.0.0.1:55480/count/kb
\! curl -s http://127.0.0.1:55480/last/openai
SELECT seq, content, embedding_model FROM rag_chunks WHERE document_id = :shipping_id ORDER BY seq;
SELECT count(*) FILTER (WHERE embedding = rag_embed_local(content, 8)) AS correct_embeddings FROM rag_chunks WHERE document_id = :shipping_id;
-- Changing the embedding model re-embeds everything (and the model is recorded per chunk).
SET pg_rag.embedding_model = 'text-embedding-3-large';
SELECT rag_ingest('Shipping times', E'Shipping to Europe takes seven to ten days.\n\nShipping to Asia takes three weeks.\n\nExpress costs extra.',
                  '{"lang": "en"}', source => 'kb/shipping.md', max_chars => 50, overlap => 0) = :shipping_id AS same_document;
\! curl -s http://127.0.0.1:55480/count/kb
SELECT DISTINCT embedding_model FROM rag_chunks WHERE document_id = :shipping_id;
RESET pg_rag.embedding_model;

-- A provider failure leaves the knowledge base exactly as it was.
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM rag_documents) AS docs, (SELECT count(*) FROM rag_chunks) AS chunks,
                                  (SELECT content_hash FROM rag_documents WHERE id = :shipping_id) AS hash;
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/500always/v1';
SET pg_rag.max_retries = 0;
SELECT rag_ingest('New', 'A brand new document.', source => 'kb/new.txt');
SELECT rag_ingest('Shipping times', 'Completely rewritten shipping page.', source => 'kb/shipping.md');
SELECT (SELECT count(*) FROM rag_documents) = docs AND (SELECT count(*) FROM rag_chunks) = chunks
       AND (SELECT content_hash FROM rag_documents WHERE id = :shipping_id) = hash AS unchanged FROM before;
RESET pg_rag.max_retries;
RESET pg_rag.embedding_cache;
RESET pg_rag.embedding_url;
RESET pg_rag.embedding_provider;

-- Files of every type, through rag_ingest_file (type from the name, title and source from it too).
CREATE TEMP TABLE files AS
  SELECT f AS file, rag_ingest_file(pg_read_binary_file('/tmp/pg_rag_test_files/' || f), f) AS id
  FROM unnest(ARRAY['refund-policy.pdf', 'store.html', 'products.csv', 'faq.json', 'guide.md']) f;
SELECT file, (SELECT count(*) FROM rag_chunks c WHERE c.document_id = files.id) AS chunks FROM files ORDER BY file;
SELECT title, source, mime, chunking ->> 'strategy' AS strategy FROM rag_documents WHERE source IN ('store.html', 'guide.md', 'refund-policy.pdf') ORDER BY source;
SELECT c.heading, left(c.content, 30) AS starts_with FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id
 WHERE d.source = 'guide.md' ORDER BY seq;
-- Loading the same file again is a no-op; a corrupt file is an error and stores nothing.
SELECT rag_ingest_file(pg_read_binary_file('/tmp/pg_rag_test_files/guide.md'), 'guide.md') =
       (SELECT id FROM rag_documents WHERE source = 'guide.md') AS same_document;
SELECT rag_ingest_file(pg_read_binary_file('/tmp/pg_rag_test_files/truncated.pdf'), 'truncated.pdf');
SELECT count(*) FROM rag_documents WHERE source = 'truncated.pdf';

-- Delete cascades to the chunks.
SELECT rag_delete_document(:refunds_id), rag_delete_document(:refunds_id);
SELECT count(*) FROM rag_chunks WHERE document_id = :refunds_id;

-- Bulk loading reports progress and is one transaction.
CREATE TABLE articles (id int PRIMARY KEY, title text, body text);
INSERT INTO articles SELECT i, 'Article ' || i, 'Body of article number ' || i FROM generate_series(1, 25) i;
SET pg_rag.progress_every = 10;
SELECT rag_ingest_table('articles', 'body', 'title');
RESET pg_rag.progress_every;
SELECT count(*), min(source), max((metadata ->> 'source_id')::int) FROM rag_documents WHERE source LIKE 'table:public.articles:%';

-- Through a provider, a bulk load embeds each batch of rows in one call: 3 requests for 25 rows.
CREATE TABLE bulk_notes (id int PRIMARY KEY, body text);
INSERT INTO bulk_notes SELECT i, 'Note ' || i || ': refunds and shipping, paragraph ' || i FROM generate_series(1, 25) i;
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/tag/bulk/v1';
SELECT rag_ingest_table('bulk_notes', 'body', batch_size => 10);
\! curl -s http://127.0.0.1:55480/count/bulk
-- Again, unchanged: no request at all.
SELECT rag_ingest_table('bulk_notes', 'body', batch_size => 10);
\! curl -s http://127.0.0.1:55480/count/bulk
-- Cancelling a bulk load (here: statement_timeout while the provider hangs) rolls all of it back.
UPDATE bulk_notes SET body = body || ' (edited)';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/hang/v1';
SET statement_timeout = '500ms';
SELECT rag_ingest_table('bulk_notes', 'body');
RESET statement_timeout;
SELECT count(*) AS still_unedited FROM rag_documents WHERE source LIKE 'table:public.bulk_notes:%' AND content NOT LIKE '%(edited)';
RESET pg_rag.embedding_url;
RESET pg_rag.embedding_provider;

-- Bad input.
SELECT rag_ingest('x', NULL);
SELECT rag_ingest('x', 'y', max_chars => 10, overlap => 20);
SELECT rag_ingest_table('articles', 'nope');
