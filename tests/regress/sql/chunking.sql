-- rag_chunk(): every strategy on real-looking text; offsets always point back into the text.
CREATE TABLE texts (name text PRIMARY KEY, body text);
INSERT INTO texts VALUES
  ('markdown', E'# Install\n\npg_rag builds on Debian.\n\n## Debian\n\nRun as root:\n\n```sh\nmake run\n\n# a comment, not a heading\nmake test\n```\n\nThen connect.\n\n# Usage\n\nCall rag_embed() from SQL. It returns an embedding.\n'),
  ('unicode', E'東京は日本の首都です。大阪は二番目に大きい都市です。 Emoji: 🍣🍜🍙 and accents: café, naïve, Ørsted.'),
  ('longword', 'a ' || repeat('x', 45) || ' b'),
  ('prose', 'Refunds are processed within five business days. Digital goods cannot be refunded! Do you ship to Europe? Yes, in seven to ten days.'),
  ('empty', ''),
  ('blank', E'  \n\n\t  ');

-- The offset contract, for every strategy and size: substr(body, char_start + 1, char_end - char_start) = content.
SELECT s.strategy, count(*) AS chunks,
       bool_and(substr(t.body, c.char_start + 1, c.char_end - c.char_start) = c.content) AS offsets_exact,
       bool_and(length(c.content) <= 40 OR s.strategy = 'tokens') AS within_size,
       bool_and(btrim(c.content, E' \n\t') <> '') AS no_blank_chunks
FROM texts t CROSS JOIN unnest(ARRAY['characters', 'recursive', 'sentences', 'markdown', 'tokens']) s(strategy)
CROSS JOIN LATERAL rag_chunk(t.body, max_chars => 40, overlap => 8, strategy => s.strategy) c
GROUP BY s.strategy ORDER BY s.strategy;

SELECT seq, char_start, char_end, heading, content FROM rag_chunk((SELECT body FROM texts WHERE name = 'markdown'), 60, 0, 'markdown');
SELECT seq, content FROM rag_chunk((SELECT body FROM texts WHERE name = 'prose'), 60, 0, 'sentences');
SELECT seq, content FROM rag_chunk((SELECT body FROM texts WHERE name = 'prose'), 60, 20, 'recursive');
SELECT seq, char_start, char_end, content FROM rag_chunk((SELECT body FROM texts WHERE name = 'unicode'), 12, 0, 'recursive');
SELECT seq, content FROM rag_chunk((SELECT body FROM texts WHERE name = 'longword'), 20, 0);
SELECT seq, content FROM rag_chunk('abcdefghij', 4, 2, 'characters');
SELECT seq, content FROM rag_chunk('one two three four five six seven eight', 4, 0, 'tokens');
-- Empty, blank and NULL input give no rows.
SELECT count(*) FROM rag_chunk('');
SELECT count(*) FROM rag_chunk((SELECT body FROM texts WHERE name = 'blank'));
SELECT count(*) FROM rag_chunk(NULL);
-- Defaults: 1000 code points, overlap a fifth of that, recursive.
SELECT count(*), max(char_end) FROM rag_chunk(repeat('word ', 1000));
-- Bad options.
SELECT * FROM rag_chunk('x', max_chars => 100, overlap => 100);
SELECT * FROM rag_chunk('x', max_chars => 0);
SELECT * FROM rag_chunk('x', strategy => 'paragraphs');
SELECT * FROM rag_chunk('x', overlap => -1);
