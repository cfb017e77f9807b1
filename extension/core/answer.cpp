#include "answer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "chat_providers.hpp"
#include "chunker.hpp"
#include "embedding_providers.hpp"
#include "error.hpp"
#include "extractive.hpp"

namespace pgrag {

using nlohmann::json;

const char* const kDefaultSystemPrompt =
    "You answer questions using only the numbered sources provided. Cite every statement with the number "
    "of its source in square brackets, like [1] or [2][3]. If the sources do not contain the answer, say that "
    "you do not know; never use outside knowledge and never invent sources.";

namespace {

// The user turn carrying the numbered sources and the question.
std::string sources_message(const std::string& question, const std::vector<Source>& sources) {
    std::string text = "Sources:\n";
    for (const auto& src : sources) {
        text += "\n[" + std::to_string(src.n) + "] " + (src.title.empty() ? src.source : src.title);
        if (!src.heading.empty()) text += " — " + src.heading;
        text += "\n" + src.content + "\n";
    }
    text += "\nQuestion: " + question;
    return text;
}

}  // namespace

Prompt build_prompt(const std::string& question, const std::vector<ChatMessage>& history,
                    const std::vector<Source>& sources, const std::string& system_prompt, int max_tokens) {
    Prompt p;
    p.system = system_prompt.empty() ? kDefaultSystemPrompt : system_prompt;
    size_t budget = static_cast<size_t>(std::max(1, max_tokens));
    size_t used = approximate_tokens(p.system) + approximate_tokens(question) + 16;
    for (const auto& src : sources) {
        size_t cost = approximate_tokens(src.content) + approximate_tokens(src.title) + 8;
        if (!p.sources.empty() && used + cost > budget) break;  // rank order: the best always goes in
        Source numbered = src;
        numbered.n = static_cast<int>(p.sources.size()) + 1;
        p.sources.push_back(numbered);
        used += cost;
    }
    // Earlier turns, newest first, as long as they fit; kept in conversation order.
    std::vector<ChatMessage> kept;
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
        size_t cost = approximate_tokens(it->content) + 4;
        if (used + cost > budget) break;
        kept.push_back(*it);
        used += cost;
    }
    std::reverse(kept.begin(), kept.end());
    if (!kept.empty() && kept.front().role == "assistant") kept.erase(kept.begin());  // start on a user turn
    p.messages = kept;
    p.messages.push_back({"user", sources_message(question, p.sources)});
    return p;
}

std::string resolved_chat_model(const ChatSettings& s) {
    return s.model.empty() ? chat_codec(s.provider).default_model : s.model;
}

std::string resolved_chat_url(const ChatSettings& s) {
    return http::trim_slash(s.base_url.empty() ? chat_codec(s.provider).default_url : s.base_url);
}

bool is_chat_provider(const std::string& provider) {
    for (const auto& name : chat_provider_names())
        if (provider == name) return true;
    return false;
}

http::Request chat_request(const ChatSettings& s, const Prompt& prompt) {
    const ChatCodec& codec = chat_codec(s.provider);
    if (!codec.request)
        throw Error(ErrorCode::InvalidParameterValue, "provider " + s.provider + " makes no HTTP requests");
    return codec.request(s, resolved_chat_model(s), prompt, false);
}

Answer parse_chat_response(const ChatSettings& s, const std::string& body) {
    const ChatCodec& codec = chat_codec(s.provider);
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw Error(ErrorCode::InvalidResponse, "response is not valid JSON");
    Answer a;
    a.provider = s.provider;
    a.model = resolved_chat_model(s);
    if (codec.parse) codec.parse(doc, a);
    if (a.text.empty()) throw Error(ErrorCode::InvalidResponse, "response has no answer text");
    return a;
}

namespace {

// Refuses a call that needs a key before any request is made.
void require_key(const ChatSettings& s, const ChatCodec& codec) {
    if (codec.key_env && s.api_key.empty())
        throw Error(ErrorCode::InvalidParameterValue, "pg_rag: no API key configured for provider " + s.provider);
}

}  // namespace

Answer generate(const ChatSettings& s, const Prompt& prompt, http::Client& client,
                const http::InterruptCheck& interrupted) {
    const ChatCodec& codec = chat_codec(s.provider);
    if (codec.local) return codec.local(s, prompt);
    require_key(s, codec);
    auto responses = client.send_all({chat_request(s, prompt)}, s.http, interrupted);
    const http::Response& r = responses.at(0);
    if (r.status < 200 || r.status >= 300) throw_provider_failure(s.provider, "chat", r, s.api_key, s.http.timeout_ms);
    try {
        return parse_chat_response(s, r.body);
    } catch (const Error& e) {
        throw Error(ErrorCode::InvalidResponse,
                    "pg_rag: " + s.provider + " chat returned an invalid response: " + e.what(),
                    "Model " + resolved_chat_model(s) + ".");
    }
}

Answer generate_stream(const ChatSettings& s, const Prompt& prompt, http::Client& client,
                       const http::InterruptCheck& interrupted,
                       const std::function<void(const std::string&)>& on_text) {
    const ChatCodec& codec = chat_codec(s.provider);
    if (codec.local) {
        Answer a = codec.local(s, prompt);
        // Sentence by sentence, so the default set-up streams too; a consumer that gives up stops it.
        for (const std::string& piece : sentence_pieces(a.text)) {
            if (interrupted && interrupted())
                throw Error(ErrorCode::QueryCanceled, "canceling statement due to user request");
            on_text(piece);
        }
        return a;
    }
    require_key(s, codec);
    Answer a;
    a.provider = s.provider;
    a.model = resolved_chat_model(s);
    ChatStreamDecoder decoder(codec, a, on_text);
    http::Request r = codec.request(s, a.model, prompt, true);
    r.on_data = [&](std::string_view bytes) { decoder.feed(bytes); };
    std::vector<http::Response> responses;
    try {
        responses = client.send_all({r}, s.http, interrupted);
    } catch (const Error& e) {
        // An error event in the stream carries the provider's words: keys redacted, as in any failure.
        throw Error(e.code(), redact_secrets(e.what(), s.api_key), e.detail(), e.hint());
    }
    const http::Response& res = responses.at(0);
    if (res.status < 200 || res.status >= 300)
        throw_provider_failure(s.provider, "chat", res, s.api_key, s.http.timeout_ms);
    decoder.finish();
    if (a.text.empty())
        throw Error(ErrorCode::InvalidResponse, "pg_rag: " + s.provider + " chat stream carried no answer text",
                    "Model " + a.model + ".");
    return a;
}

Answer generate_with_fallback(const std::vector<ChatSettings>& providers, const Prompt& prompt, http::Client& client,
                              const http::InterruptCheck& interrupted, std::vector<std::string>* failures) {
    if (providers.empty()) throw Error(ErrorCode::InvalidParameterValue, "pg_rag.llm_providers is empty");
    for (size_t i = 0; i < providers.size(); ++i) {
        try {
            return generate(providers[i], prompt, client, interrupted);
        } catch (const Error& e) {
            if (e.code() == ErrorCode::QueryCanceled || i + 1 == providers.size()) throw;
            if (failures) failures->push_back(providers[i].provider + ": " + e.what());
        }
    }
    throw Error(ErrorCode::InternalError, "unreachable");
}

Prompt rewrite_prompt(const std::string& question, const std::vector<ChatMessage>& history) {
    Prompt p;
    p.system =
        "Rewrite the follow-up question as one standalone question that can be understood without the "
        "conversation. Answer with the question only.";
    std::string convo;
    for (const auto& m : history) convo += (m.role == "user" ? "User: " : "Assistant: ") + m.content + "\n";
    p.messages.push_back({"user", "Conversation:\n" + convo + "\nFollow-up question: " + question});
    return p;
}

std::string standalone_question(const std::vector<ChatSettings>& providers, const std::string& question,
                                const std::vector<ChatMessage>& history, http::Client& client,
                                const http::InterruptCheck& interrupted) {
    if (history.empty()) return question;
    std::string previous;
    for (auto it = history.rbegin(); it != history.rend(); ++it)
        if (it->role == "user") {
            previous = it->content;
            break;
        }
    std::vector<ChatSettings> llms;
    for (const auto& c : providers)
        if (c.provider != "extractive") llms.push_back(c);
    if (!llms.empty() && providers.front().provider != "extractive") {
        try {
            std::string rewritten =
                generate_with_fallback(llms, rewrite_prompt(question, history), client, interrupted, nullptr).text;
            if (!rewritten.empty()) return rewritten;
        } catch (const Error& e) {
            if (e.code() == ErrorCode::QueryCanceled) throw;  // no LLM could rewrite: combine terms instead
        }
    }
    return previous.empty() ? question : standalone_question_extractive(question, previous);
}

}  // namespace pgrag
