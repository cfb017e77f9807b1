-- rag_sync_table(): a user's own table kept in the knowledge base by triggers.
CREATE TABLE posts (id int PRIMARY KEY, title text, body text, views int DEFAULT 0);
INSERT INTO posts VALUES (1, 'Refunds', 'Refunds take five business days.'), (2, 'Shipping', 'Shipping takes a week.');
SELECT rag_sync_table('posts', text_column => 'body', title_column => 'title') AS backfilled;
SELECT source, title, metadata FROM rag_documents WHERE source LIKE 'table:public.posts:%' ORDER BY source;

-- Insert, update of the text, update of an unrelated column (no re-embedding), delete.
INSERT INTO posts VALUES (3, 'Europe', 'We ship to Europe.');
UPDATE posts SET body = 'Refunds take three business days.' WHERE id = 1;
SELECT updated_at AS before_unrelated FROM rag_documents WHERE source = 'table:public.posts:2' \gset
UPDATE posts SET views = views + 1;
SELECT updated_at = :'before_unrelated' AS unrelated_update_left_document_alone FROM rag_documents WHERE source = 'table:public.posts:2';
DELETE FROM posts WHERE id = 2;
UPDATE posts SET id = 30 WHERE id = 3;
UPDATE posts SET body = NULL WHERE id = 30;
SELECT d.source, d.title, c.content FROM rag_documents d JOIN rag_chunks c ON c.document_id = d.id
 WHERE d.source LIKE 'table:public.posts:%' ORDER BY d.source;

-- The provider down during a write: the write fails with the provider's error; nothing is lost.
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');
SET pg_rag.embedding_provider = 'openai';
SET pg_rag.embedding_url = 'http://127.0.0.1:55480/fault/500always/v1';
SET pg_rag.max_retries = 0;
INSERT INTO posts VALUES (4, 'Down', 'Written while the provider is down.');
SELECT count(*) AS rows_written FROM posts WHERE id = 4;
RESET pg_rag.embedding_url;
RESET pg_rag.embedding_provider;
RESET pg_rag.max_retries;
INSERT INTO posts VALUES (4, 'Down', 'Written once the provider is back.');
SELECT count(*) FROM rag_documents WHERE source = 'table:public.posts:4';

-- A plain user who may write the table keeps the knowledge base in sync without rights on it.
CREATE ROLE rag_writer;
GRANT INSERT, UPDATE, DELETE, SELECT ON posts TO rag_writer;
SET ROLE rag_writer;
INSERT INTO posts VALUES (5, 'By a user', 'Written by a plain user.');
SELECT count(*) FROM rag_documents;
RESET ROLE;
SELECT count(*) FROM rag_documents WHERE source = 'table:public.posts:5';

-- Truncate empties the table's documents; unsync stops following the table.
TRUNCATE posts;
SELECT count(*) FROM rag_documents WHERE source LIKE 'table:public.posts:%';
SELECT rag_unsync_table('posts');
INSERT INTO posts VALUES (6, 'After', 'Not synced any more.');
SELECT count(*) FROM rag_documents WHERE source LIKE 'table:public.posts:%';
SELECT rag_sync_table('posts', 'nope');
REVOKE ALL ON posts FROM rag_writer;
DROP ROLE rag_writer;
