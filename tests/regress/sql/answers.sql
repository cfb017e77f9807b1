-- rag_answer(): the extractive answerer, every generation provider through the fake, fallback order,
-- sessions with follow-up rewriting, the answer cache, and bad input.
TRUNCATE rag_documents CASCADE;
SELECT rag_ingest('Refund policy', 'Refunds are processed within five business days after we receive the return. '
                  'Digital goods cannot be refunded once downloaded.', source => 'kb/refunds') > 0 AS ingested;
SELECT rag_ingest('Shipping', 'Shipping to Europe takes seven to ten days. Express shipping costs extra.',
                  source => 'kb/shipping') > 0 AS ingested;
SELECT rag_ingest('Office', 'Our office in Lyon is closed on public holidays.', source => 'kb/office') > 0 AS ingested;

-- Extractive (the default, no network): verbatim sentences with [n], the right source, and "I don't know".
SELECT r ->> 'answer' AS answer, r ->> 'provider' AS provider, r -> 'cached' AS cached,
       (SELECT x ->> 'source' FROM jsonb_array_elements(r -> 'sources') x WHERE (x ->> 'n')::int = 1) AS source_1
FROM (SELECT rag_answer('How long do refunds take?') AS r) a;
SELECT rag_answer('How long does shipping to Europe take?') ->> 'answer';
SELECT rag_answer('Is the office in Lyon open on public holidays?', k => 2) ->> 'answer';
SELECT rag_answer('What is the capital of Mongolia?') ->> 'answer';
SELECT jsonb_object_keys(rag_answer('How long do refunds take?', k => 1, mode => 'keyword')) ORDER BY 1;

-- The answer cache: a repeat (normalised) is served without any provider; any change misses.
SELECT rag_set_provider_key('openai', 'sk-test-0123456789abcdef', 'http://127.0.0.1:55480');
SET pg_rag.llm_providers = 'openai';
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/tag/ans-cache/v1';
SELECT rag_answer('How long does shipping take?') - 'latency_ms' - 'sources';
SELECT rag_answer('how long does SHIPPING take') -> 'cached' AS cached_after_normalising;
\! curl -s http://127.0.0.1:55480/count/ans-cache
SELECT rag_ingest('Shipping', 'Shipping to Europe takes five to eight days. Express shipping costs extra.', source => 'kb/shipping') > 0 AS changed;
SELECT rag_answer('How long does shipping take?') -> 'cached' AS cached_after_a_change;
SELECT count(*) AS stale_answers_kept FROM rag_answer_cache WHERE kb_version <> rag_kb_version();
\! curl -s http://127.0.0.1:55480/count/ans-cache
SET pg_rag.max_answer_tokens = 100;
SELECT rag_answer('How long does shipping take?') -> 'cached' AS cached_after_a_setting_change;
RESET pg_rag.max_answer_tokens;
SET pg_rag.answer_cache = off;
SELECT rag_answer('How long does shipping take?') -> 'cached' AS cached_with_cache_off;
RESET pg_rag.answer_cache;
\! curl -s http://127.0.0.1:55480/count/ans-cache
\! curl -s http://127.0.0.1:55480/last/openai-chat | head -c 400; echo

-- Every provider's wire format through the fake (Anthropic's and Gemini's keys come from the environment).
SET pg_rag.answer_cache = off;
SET pg_rag.llm_providers = 'ollama';
SET pg_rag.ollama_chat_url = 'http://127.0.0.1:55480';
SELECT r ->> 'answer', r ->> 'provider', r ->> 'model', r -> 'usage' FROM (SELECT rag_answer('How long do refunds take?') r) a;
SET pg_rag.llm_providers = 'anthropic';
SET pg_rag.anthropic_chat_url = 'http://127.0.0.1:55480';
SELECT r ->> 'answer', r ->> 'provider', r ->> 'model', r -> 'usage' FROM (SELECT rag_answer('How long do refunds take?') r) a;
\! curl -s http://127.0.0.1:55480/last/anthropic | head -c 160; echo
SET pg_rag.llm_providers = 'gemini';
SET pg_rag.gemini_chat_url = 'http://127.0.0.1:55480';
SET pg_rag.gemini_chat_model = 'gemini-2.0-flash';
SELECT r ->> 'answer', r ->> 'provider', r ->> 'model', r -> 'usage' FROM (SELECT rag_answer('How long do refunds take?') r) a;

-- Fallback in order: Anthropic overloaded (529, retried), then OpenAI failing with 500, then extractive.
SET pg_rag.max_retries = 1;
SET pg_rag.anthropic_chat_url = 'http://127.0.0.1:55480/fault/overloaded';
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/fault/500always/v1';
SET pg_rag.llm_providers = 'anthropic, openai, extractive';
SELECT r ->> 'provider' AS answered_by, r ->> 'answer' AS answer, r -> 'fallbacks' AS fallbacks
FROM (SELECT rag_answer('How long do refunds take?') r) a;
-- Garbage from a provider counts as a failure too; with nothing to fall back on, the error is the provider's.
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/fault/malformed/v1';
SET pg_rag.llm_providers = 'openai,extractive';
SELECT rag_answer('How long do refunds take?') ->> 'provider' AS answered_by;
SET pg_rag.llm_providers = 'openai';
SELECT rag_answer('How long do refunds take?');
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/fault/hang/v1';
SET statement_timeout = '500ms';
SELECT rag_answer('How long do refunds take?', session_id => 'timeout-session');
RESET statement_timeout;
SELECT count(*) AS half_written_turns FROM rag_messages WHERE session_id = 'timeout-session';
RESET pg_rag.max_retries;

-- Sessions: with an LLM, the follow-up is rewritten by the model for retrieval; history joins the prompt.
SET pg_rag.openai_chat_url = 'http://127.0.0.1:55480/v1';
SET pg_rag.llm_providers = 'openai';
SELECT rag_answer('How long do refunds take?', session_id => 'c0ffee') ->> 'answer';
SELECT r ->> 'answer' AS answer, r ->> 'standalone_question' AS standalone
FROM (SELECT rag_answer('And for digital goods?', session_id => 'c0ffee') r) a;
\! curl -s http://127.0.0.1:55480/last/openai-chat | grep -o '"role":"[a-z]*"' | tr '\n' ' '; echo
-- With extractive, the follow-up borrows the previous question's words.
SET pg_rag.llm_providers = 'extractive';
SELECT rag_answer('How long do refunds take?', session_id => 'tea') ->> 'answer';
SELECT r ->> 'answer' AS answer, r ->> 'standalone_question' AS standalone
FROM (SELECT rag_answer('And for digital goods?', session_id => 'tea') r) a;
SELECT role, content, provider FROM rag_session_messages('c0ffee');
SELECT rag_delete_session('tea'), rag_delete_session('tea');
SELECT rag_prune_sessions('1 hour') AS pruned_recent, rag_prune_sessions('-1 second') AS pruned_all;
SELECT count(*) FROM rag_messages;

-- The steps on their own, as the HTTP server will use them.
SELECT jsonb_array_length(p -> 'messages') AS messages, jsonb_array_length(p -> 'sources') AS sources,
       p ->> 'system' LIKE 'You answer questions using only the numbered sources%' AS default_system_prompt
FROM (SELECT rag_prepare_answer('Q?', '[{"role":"user","content":"earlier"},{"role":"assistant","content":"reply"}]',
             '[{"title":"t","content":"c"},{"title":"u","content":"d"}]') p) x;
SET pg_rag.max_context_tokens = 100;
SELECT jsonb_array_length(rag_prepare_answer('Q?', '[]', jsonb_build_array(
         jsonb_build_object('content', repeat('word ', 300)), jsonb_build_object('content', 'second'))) -> 'sources')
       AS sources_within_budget;
RESET pg_rag.max_context_tokens;
SET pg_rag.system_prompt = 'Answer like a pirate, from the sources only.';
SELECT rag_prepare_answer('Q?') ->> 'system';
RESET pg_rag.system_prompt;

-- Bad input.
SELECT rag_answer('');
SELECT rag_answer('Why?', k => 0);
SET pg_rag.llm_providers = 'openai, nope';
SET pg_rag.llm_providers = '';
SELECT rag_generate('{"messages": []}');
