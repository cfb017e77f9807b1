-- The answer contract in the core: rag_answer is the public steps composed (as the HTTP server will
-- compose them), its result shape comes from rag_answer_result, its cache key from rag_answer_cache_key.
TRUNCATE rag_documents CASCADE;
TRUNCATE rag_answer_cache;
SELECT rag_ingest('Refund policy', 'Refunds are processed within five business days after we receive the return. '
                  'Digital goods cannot be refunded once downloaded.', source => 'kb/refunds') > 0 AS ingested;
SELECT rag_ingest('Café', repeat('Les remboursements prennent cinq jours ouvrés à compter du retour. ', 8),
                  source => 'kb/cafe') > 0 AS ingested;

-- rag_answer = search, rag_prepare_answer, rag_generate, rag_answer_result (plus latency_ms).
SET pg_rag.answer_cache = off;
WITH s AS (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'ordinality' ORDER BY x.ordinality), '[]') AS sources
             FROM rag_search('How long do refunds take?', 5, 'hybrid', NULL) WITH ORDINALITY x),
     p AS (SELECT rag_prepare_answer('How long do refunds take?', '[]', s.sources) AS prompt FROM s)
SELECT rag_answer_result(p.prompt, rag_generate(p.prompt)) = rag_answer('How long do refunds take?') - 'latency_ms'
       AS same_as_the_steps
  FROM p;
RESET pg_rag.answer_cache;

-- The documented shape: keys of the result and of each source; snippets are 240 characters, not bytes.
SELECT array_agg(k ORDER BY k) AS result_keys FROM jsonb_object_keys(rag_answer('How long do refunds take?')) k;
SELECT DISTINCT array_agg(k ORDER BY k) AS source_keys
  FROM jsonb_array_elements(rag_answer('How long do refunds take?') -> 'sources') WITH ORDINALITY s(x, i),
       jsonb_object_keys(s.x) k GROUP BY i;
SELECT x ->> 'title' AS title, length(x ->> 'snippet') AS chars, octet_length(x ->> 'snippet') > 240 AS multibyte
  FROM jsonb_array_elements(rag_answer('Combien de jours pour les remboursements ?') -> 'sources') x
 WHERE x ->> 'source' = 'kb/cafe';

-- rag_answer_result on its own: fallbacks and standalone_question only when there are any.
SELECT jsonb_pretty(rag_answer_result(
    '{"system": "S", "messages": [{"role": "user", "content": "Q?"}],
      "sources": [{"n": 1, "document_id": 4, "chunk_id": 9, "title": "T", "source": "kb/t", "content": "Body.",
                   "heading": "", "score": 0.5}]}',
    '{"answer": "Body. [1]", "provider": "openai", "model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 2},
      "fallbacks": ["anthropic: overloaded"]}',
    'Standalone?'));
SELECT rag_answer_result('{"messages": [{"role": "user", "content": "Q?"}]}', '{"answer": "A"}', NULL) ? 'fallbacks' AS has_fallbacks,
       rag_answer_result('{"messages": [{"role": "user", "content": "Q?"}]}', '{"answer": "A"}', '') ? 'standalone_question' AS has_standalone;

-- Bad shapes: a clear message and SQLSTATE 22023 (22004 for NULL), never a crash or a silent default.
SELECT rag_answer_result(NULL, '{}');
SELECT rag_answer_result('[1]', '{}');
SELECT rag_answer_result('{"messages": [{"role": "system", "content": "x"}]}', '{}');
SELECT rag_answer_result('{"messages": [{"role": "user", "content": "x"}]}', '{"fallbacks": "x"}');
SELECT rag_prepare_answer('Q?', '{"role": "user"}');
SELECT rag_prepare_answer('Q?', '[]', '[{"content": 5}]');
SELECT rag_prepare_answer(NULL);
SELECT rag_rewrite_question(NULL, '[]');   -- 0.5.0 read the NULL question as text
SELECT rag_generate('{"messages": [{"role": "tool", "content": "x"}]}');
SELECT rag_record_answer('s1', 'Q?', '{"text": "A"}');
SELECT rag_record_answer('s1', NULL, '{"answer": "A"}');
SELECT count(*) AS turns_recorded FROM rag_messages WHERE session_id = 's1';
\set VERBOSITY sqlstate
SELECT rag_answer_result(NULL, '{}');
SELECT rag_prepare_answer('Q?', '[1]');
SELECT rag_generate('"prompt"');
\set VERBOSITY default

-- The cache key: the normalised question, k, mode, filter and every pg_rag setting but the secrets.
SELECT rag_answer_cache_key('How long do refunds take?') = rag_answer_cache_key('  how LONG do refunds take ') AS normalised,
       rag_answer_cache_key('q', 5) = rag_answer_cache_key('q', 6) AS same_k,
       rag_answer_cache_key('q', 5, 'hybrid') = rag_answer_cache_key('q', 5, 'keyword') AS same_mode,
       rag_answer_cache_key('q', 5, 'hybrid', '{"a": 1}') = rag_answer_cache_key('q', 5, 'hybrid') AS same_filter;
SELECT rag_answer_cache_key('q') AS before_key \gset
SELECT rag_set_provider_key('openai', 'sk-rotated-0123456789');
SELECT rag_answer_cache_key('q') = :'before_key' AS same_after_a_key_change;
SELECT rag_delete_provider_key('openai');
-- A search setting shapes the sources, so it misses the cache (0.5.0 served the answer of the old ranking).
TRUNCATE rag_answer_cache;
SELECT rag_answer('How long do refunds take?') -> 'cached' AS cached;
SELECT rag_answer('How long do refunds take?') -> 'cached' AS cached;
SET pg_rag.rrf_k = 61;
SELECT rag_answer('How long do refunds take?') -> 'cached' AS cached_after_rrf_k;
RESET pg_rag.rrf_k;
SET pg_rag.text_search_config = 'simple';
SELECT rag_answer('How long do refunds take?') -> 'cached' AS cached_after_text_search_config;
RESET pg_rag.text_search_config;

TRUNCATE rag_documents CASCADE;
TRUNCATE rag_answer_cache;
