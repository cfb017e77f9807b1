// A chat turn in the server's steps: retrieve and prepare through SQL on a pooled connection (then
// released), generate with the core library while streaming, record the finished turn through SQL.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "caller.hpp"
#include "core/answer.hpp"
#include "core/answer_json.hpp"
#include "pool.hpp"
#include "provider_config.hpp"
#include "usage.hpp"

namespace pgrag::server {

struct ChatRequest {
    std::string question;
    std::optional<std::string> session_id;  // history from the session, and the turn recorded there
    std::vector<ChatMessage> history;       // given history (OpenAI messages), when there is no session
    int k = 5;
    std::string mode = "hybrid";
    std::optional<std::string> filter;  // JSON object text
    std::optional<int> max_tokens;
    std::optional<double> temperature;
};

// POST /api/chat's body {question, session_id?, k?, mode?, filter?, stream?} (stream only when
// allow_stream: POST /api/questions takes the rest); nulls read as absent. Throws a 400 ApiError.
ChatRequest read_chat_request(const nlohmann::json& body, bool allow_stream);

struct PreparedChat {
    // The answer cache's result for a question without history (rag_cached_answer): when set, nothing
    // was retrieved and "generating" replays it.
    std::optional<nlohmann::json> cached;
    bool cacheable = false;  // no session, no history: a new answer goes into the cache
    Prompt prompt;
    std::string standalone_question;  // "" when the question was used as it is
    std::vector<ProviderConfig> providers;
    std::chrono::steady_clock::time_point started;
};

// The cached answer (rag_cached_answer) for a question without history, else retrieval and the prompt
// through SQL (rag_search, rag_rewrite_question, rag_prepare_answer) as who; the connection is returned
// before this returns. Throws DbError / ApiError.
PreparedChat prepare_chat(Pool& pool, const DbIdentity& who, const ChatRequest& req, long request_timeout_ms);

// Generates with the first provider that works, falling back only while no text has been sent;
// on_text receives each piece. interrupted() true stops it (throws pgrag::Error QueryCanceled).
Generated generate_chat(const PreparedChat& chat, const std::function<bool()>& interrupted,
                        const std::function<void(const std::string&)>& on_text);

// rag_answer's result: the core's shape, "cached": false and "latency_ms".
nlohmann::json chat_result(const PreparedChat& chat, const Generated& generated);

// The numbered sources as the result shows them (for the first event of a stream).
nlohmann::json chat_sources(const PreparedChat& chat);

// Records question and answer in the session, both or neither (rag_record_answer).
void record_turn(Pool& pool, const DbIdentity& who, const std::string& session_id, const std::string& question,
                 const nlohmann::json& result);

// Keeps a finished answer as rag_answer would: in the session when there is one, else in the answer
// cache (rag_cache_answer) when the question had no history and was not itself a cache hit.
void remember_answer(Pool& pool, const DbIdentity& who, const ChatRequest& req, const PreparedChat& chat,
                     const nlohmann::json& result);

// The usage event of a finished answer: provider, model, the tokens a provider was paid for (none for a
// replayed cached answer), latency.
nlohmann::json answer_usage_event(const Caller& caller, const PreparedChat& chat, const Generated& generated,
                                  bool streamed);

}  // namespace pgrag::server
