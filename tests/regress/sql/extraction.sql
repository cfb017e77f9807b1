-- rag_extract_text(): each file type from small real files, and broken ones (files in tests/data).
SELECT rag_guess_mime('a.PDF'), rag_guess_mime('b.md'), rag_guess_mime('c.htm'), rag_guess_mime('d.csv'),
       rag_guess_mime('e.json'), rag_guess_mime('f.txt'), rag_guess_mime('photo.png') IS NULL AS png_unknown;
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/refund-policy.pdf'), filename => 'refund-policy.pdf');
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/store.html'), 'text/html');
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/products.csv'), filename => 'products.csv');
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/faq.json'), filename => 'faq.json');
SELECT rag_extract_text(convert_to('plain text', 'UTF8')) AS sniffed_plain_text;
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/guide.md'), filename => 'guide.md')
     = convert_from(pg_read_binary_file('/tmp/pg_rag_test_files/guide.md'), 'UTF8') AS markdown_kept_as_is;
-- Broken input: clear errors naming the type.
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/encrypted.pdf'), filename => 'encrypted.pdf');
SELECT rag_extract_text(pg_read_binary_file('/tmp/pg_rag_test_files/truncated.pdf'), filename => 'truncated.pdf');
SELECT rag_extract_text('\x00010203'::bytea, 'application/pdf');
SELECT rag_extract_text('\x6f6bc328'::bytea, 'text/plain');
SELECT rag_extract_text('\x610062'::bytea, 'text/plain');
SELECT rag_extract_text(convert_to('a,"b', 'UTF8'), 'text/csv');
SELECT rag_extract_text(convert_to('{"a":', 'UTF8'), 'application/json');
SELECT rag_extract_text('\x89504e47'::bytea, filename => 'photo.png');
SELECT rag_extract_text('\x89504e47'::bytea, 'image/png');
SELECT rag_extract_text(NULL) IS NULL AS null_in_null_out;
