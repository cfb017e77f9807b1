// The answer contract as JSON, shared by the extension and the HTTP server: the prepared prompt
// (rag_prepare_answer), the generated answer (rag_generate), rag_answer's result and its cache key.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "answer.hpp"

namespace pgrag {

// [{role, content}] ⇄ messages; role must be "user" or "assistant", content a string.
nlohmann::json messages_to_json(const std::vector<ChatMessage>& messages);
std::vector<ChatMessage> messages_from_json(const nlohmann::json& messages);

// [{n, document_id, chunk_id, title, source, content, heading, score}] ⇄ sources. Reading takes any
// object with these keys (e.g. rag_search rows as JSON); missing or null fields read as empty or 0.
nlohmann::json sources_to_json(const std::vector<Source>& sources);
std::vector<Source> sources_from_json(const nlohmann::json& sources);

// {system, messages, sources} ⇄ prompt; a prompt without messages is refused.
nlohmann::json prompt_to_json(const Prompt& prompt);
Prompt prompt_from_json(const nlohmann::json& prompt);

// A generated answer: {answer, provider, model, usage: {prompt_tokens, completion_tokens}, fallbacks?}.
struct Generated {
    Answer answer;
    std::vector<std::string> fallbacks;  // "provider: error" of the providers that failed first
};
nlohmann::json generated_to_json(const Generated& generated);
Generated generated_from_json(const nlohmann::json& generated);

// Characters of a source's content the result shows.
constexpr size_t kSnippetChars = 240;

// [{provider, model, base_url, api_key, max_tokens, temperature, timeout_ms, connect_timeout_ms,
// max_retries, allowed_hosts}] ⇄ chat provider settings: what the HTTP server needs to stream with the
// providers the database configures (rag_chat_provider_credentials). Reading checks every field's type.
nlohmann::json chat_settings_to_json(const std::vector<ChatSettings>& providers);
std::vector<ChatSettings> chat_settings_from_json(const nlohmann::json& providers);

// The first max_chars characters (UTF-8 code points, never a split one) of text.
std::string utf8_prefix(const std::string& text, size_t max_chars);

// rag_answer's result without latency_ms: {answer, sources: [{n, document_id, chunk_id, title, source,
// heading, score, snippet}], provider, model, usage, cached: false, fallbacks?, standalone_question?}
// (standalone_question only when not empty).
nlohmann::json answer_result(const Prompt& prompt, const Generated& generated, const std::string& standalone_question);

// The question as the cache compares it: ASCII letters lower-cased, runs of spaces and ASCII
// punctuation folded into one space, trimmed (bytes of other characters are kept as they are).
std::string normalise_question(const std::string& question);

// The text the answer cache hashes: the normalised question, the search options and every setting
// that may shape an answer (name -> value). Equal texts mean an answer may be reused.
std::string answer_cache_key_text(const std::string& question, int k, const std::string& mode,
                                  const nlohmann::json& filter, const std::map<std::string, std::string>& settings);

}  // namespace pgrag
