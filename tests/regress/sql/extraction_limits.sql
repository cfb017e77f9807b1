-- Extraction, chunking and local embedding at their limits: deep nesting, bytes text cannot hold,
-- document order, and statement_timeout inside long loops.
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 20,000 nested JSON arrays crashed the backend (recursive walk): now a limit error (54000).
SELECT rag_extract_text(convert_to(repeat('[', 20000) || '1' || repeat(']', 20000), 'UTF8'), mime => 'application/json');
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text(convert_to(repeat('{"a":', 50000) || '1' || repeat('}', 50000), 'UTF8'), 'application/json')$$);
-- the documented limit itself is fine
SELECT length(rag_extract_text(convert_to(repeat('[', 1000) || '1' || repeat(']', 1000), 'UTF8'), mime => 'application/json'));
-- through rag_ingest_file, a 40 KB upload: an error, and the backend survives
SELECT pg_temp.sqlstate_of($$SELECT rag_ingest_file(convert_to(repeat('[', 20000) || '1' || repeat(']', 20000), 'UTF8'), 'deep.json')$$);
SELECT count(*) AS documents_left FROM rag_documents WHERE source = 'deep.json';

-- JSON keys in document order (an FAQ's question before its answer); duplicates kept.
SELECT rag_extract_text(convert_to('{"faq": [{"q": "How long?", "a": "Five days."}], "z": 1, "z": 2}', 'UTF8'), 'application/json');
-- "x\u0000y" lost "y": NUL cannot be stored in text, so it is an error naming the offset.
SELECT rag_extract_text(convert_to('{"k": "x\u0000y"}', 'UTF8'), 'application/json');
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text(convert_to('{"k": "x\u0000y"}', 'UTF8'), 'application/json')$$);

-- HTML nested 300 levels: the text after the deep part is kept (libxml2 stopped at 256 levels).
SELECT rag_extract_text(convert_to('<html><body>' || repeat('<div>', 300) || 'deep' || repeat('</div>', 300)
                                   || '<p>after</p></body></html>', 'UTF8'), 'text/html');
-- 0xFF in UTF-8 HTML became 'ÿ'; a NUL byte vanished: errors with the offset.
SELECT rag_extract_text('\x3c703e636166ff3c2f703e'::bytea, 'text/html');
SELECT rag_extract_text('\x3c703e6100623c2f703e'::bytea, 'text/html');
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text('\x3c703e636166ff3c2f703e'::bytea, 'text/html')$$);
-- a declared charset is honoured: Latin-1 0xE9 is é
SELECT rag_extract_text(convert_to('<html><head><meta charset="iso-8859-1"></head><body><p>caf', 'UTF8')
                        || '\xe9'::bytea || convert_to('</p></body></html>', 'UTF8'), 'text/html');

-- SQLSTATEs the README documents.
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text('\x89504e47'::bytea, 'image/png')$$) AS unsupported_type;
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/encrypted.pdf'), 'application/pdf')$$) AS encrypted_pdf;
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/truncated.pdf'), 'application/pdf')$$) AS truncated_pdf;
SELECT pg_temp.sqlstate_of($$SELECT rag_extract_text('\x6f6bc328'::bytea, 'text/plain')$$) AS invalid_utf8;

-- statement_timeout ends long chunking and local embedding inside the core loops
-- (rag_chunk of 50 MB ignored it for 13 s, the local embedder for 7 s).
SET statement_timeout = '1s';
SELECT count(*) FROM rag_chunk(repeat('x ', 25000000), 1000);
SELECT rag_embed_local(repeat('word ', 10000000), 8) IS NOT NULL;
SET pg_rag.embedding_provider = 'local';
SELECT rag_embed(repeat('word ', 10000000)) IS NOT NULL;
RESET pg_rag.embedding_provider;
-- the repro as reported (the core work alone takes well over this)
SET statement_timeout = '300ms';
SELECT count(*) FROM rag_chunk(repeat('x', 50000000), 1000);
RESET statement_timeout;
