#include "answer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

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

struct ChatDefaults {
    const char* name;
    const char* model;
    const char* url;
    bool needs_key;
};

const ChatDefaults kChatDefaults[] = {
    {"openai", "gpt-4o-mini", "https://api.openai.com/v1", true},
    {"ollama", "llama3.1", "http://127.0.0.1:11434", false},
    {"anthropic", "claude-3-5-haiku-latest", "https://api.anthropic.com", true},
    {"gemini", "gemini-1.5-flash", "https://generativelanguage.googleapis.com", true},
    {"extractive", "pg_rag-extractive-v1", "", false},
};

const ChatDefaults& defaults_for(const std::string& provider) {
    for (const auto& d : kChatDefaults)
        if (provider == d.name) return d;
    throw Error(ErrorCode::InvalidParameterValue, "unknown answer provider \"" + provider + "\"", "",
                "Valid providers are openai, ollama, anthropic, gemini and extractive.");
}

std::string base(const ChatSettings& s) { return http::trim_slash(s.base_url.empty() ? defaults_for(s.provider).url : s.base_url); }

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

json get_path(const json& doc, std::initializer_list<const char*> path) {
    const json* cur = &doc;
    for (const char* key : path) {
        if (!cur->is_object() || !cur->contains(key)) return json();
        cur = &(*cur)[key];
    }
    return *cur;
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

std::string resolved_chat_model(const ChatSettings& s) { return s.model.empty() ? defaults_for(s.provider).model : s.model; }

std::string resolved_chat_url(const ChatSettings& s) { return base(s); }

bool is_chat_provider(const std::string& provider) {
    for (const auto& d : kChatDefaults)
        if (provider == d.name) return true;
    return false;
}

http::Request chat_request(const ChatSettings& s, const Prompt& prompt) {
    std::string model = resolved_chat_model(s);
    json turns = json::array();
    if (s.provider == "openai" || s.provider == "ollama") {
        turns.push_back({{"role", "system"}, {"content", prompt.system}});
        for (const auto& m : prompt.messages) turns.push_back({{"role", m.role}, {"content", m.content}});
        if (s.provider == "openai") {
            json body = {{"model", model}, {"messages", turns}, {"temperature", s.temperature}, {"max_tokens", s.max_tokens}};
            return http::json_post(base(s) + "/chat/completions", body.dump(), {s.api_key.empty() ? "" : "Authorization: Bearer " + s.api_key});
        }
        json body = {{"model", model}, {"messages", turns}, {"stream", false},
                     {"options", {{"temperature", s.temperature}, {"num_predict", s.max_tokens}}}};
        return http::json_post(base(s) + "/api/chat", body.dump(), {});
    }
    if (s.provider == "anthropic") {
        for (const auto& m : prompt.messages) turns.push_back({{"role", m.role}, {"content", m.content}});
        json body = {{"model", model}, {"system", prompt.system}, {"messages", turns}, {"max_tokens", s.max_tokens},
                     {"temperature", s.temperature}};
        return http::json_post(base(s) + "/v1/messages", body.dump(), {"x-api-key: " + s.api_key, "anthropic-version: 2023-06-01"});
    }
    if (s.provider == "gemini") {
        for (const auto& m : prompt.messages)
            turns.push_back({{"role", m.role == "assistant" ? "model" : "user"}, {"parts", json::array({{{"text", m.content}}})}});
        json body = {{"systemInstruction", {{"parts", json::array({{{"text", prompt.system}}})}}},
                     {"contents", turns},
                     {"generationConfig", {{"temperature", s.temperature}, {"maxOutputTokens", s.max_tokens}}}};
        std::string name = model.rfind("models/", 0) == 0 ? model : "models/" + model;
        return http::json_post(base(s) + "/v1beta/" + name + ":generateContent", body.dump(), {"x-goog-api-key: " + s.api_key});
    }
    throw Error(ErrorCode::InvalidParameterValue, "provider " + s.provider + " makes no HTTP requests");
}

Answer parse_chat_response(const ChatSettings& s, const std::string& body) {
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw Error(ErrorCode::InvalidResponse, "response is not valid JSON");
    Answer a;
    a.provider = s.provider;
    a.model = resolved_chat_model(s);
    json text;
    if (s.provider == "openai") {
        const json& choices = doc.contains("choices") ? doc["choices"] : json();
        if (choices.is_array() && !choices.empty()) text = get_path(choices[0], {"message", "content"});
        a.prompt_tokens = get_path(doc, {"usage", "prompt_tokens"}).is_number() ? doc["usage"]["prompt_tokens"].get<int64_t>() : 0;
        a.completion_tokens = get_path(doc, {"usage", "completion_tokens"}).is_number() ? doc["usage"]["completion_tokens"].get<int64_t>() : 0;
    } else if (s.provider == "ollama") {
        text = get_path(doc, {"message", "content"});
        a.prompt_tokens = doc.value("prompt_eval_count", 0);
        a.completion_tokens = doc.value("eval_count", 0);
    } else if (s.provider == "anthropic") {
        if (doc.contains("content") && doc["content"].is_array()) {
            std::string joined;
            for (const auto& block : doc["content"])
                if (block.value("type", "") == "text" && block.contains("text")) joined += block["text"].get<std::string>();
            if (!doc["content"].empty()) text = joined;
        }
        a.prompt_tokens = get_path(doc, {"usage", "input_tokens"}).is_number() ? doc["usage"]["input_tokens"].get<int64_t>() : 0;
        a.completion_tokens = get_path(doc, {"usage", "output_tokens"}).is_number() ? doc["usage"]["output_tokens"].get<int64_t>() : 0;
    } else if (s.provider == "gemini") {
        const json& candidates = doc.contains("candidates") ? doc["candidates"] : json();
        if (candidates.is_array() && !candidates.empty()) {
            json parts = get_path(candidates[0], {"content", "parts"});
            if (parts.is_array()) {
                std::string joined;
                for (const auto& p : parts)
                    if (p.contains("text")) joined += p["text"].get<std::string>();
                text = joined;
            }
        }
        a.prompt_tokens = get_path(doc, {"usageMetadata", "promptTokenCount"}).is_number() ? doc["usageMetadata"]["promptTokenCount"].get<int64_t>() : 0;
        a.completion_tokens = get_path(doc, {"usageMetadata", "candidatesTokenCount"}).is_number() ? doc["usageMetadata"]["candidatesTokenCount"].get<int64_t>() : 0;
    }
    if (!text.is_string() || text.get<std::string>().empty())
        throw Error(ErrorCode::InvalidResponse, "response has no answer text");
    a.text = text.get<std::string>();
    return a;
}

Answer generate(const ChatSettings& s, const Prompt& prompt, http::Client& client, const http::InterruptCheck& interrupted) {
    if (s.provider == "extractive") {
        std::string question = prompt.messages.back().content;
        auto at = question.rfind("\nQuestion: ");
        return extractive_answer(at == std::string::npos ? question : question.substr(at + 11), prompt.sources);
    }
    if (defaults_for(s.provider).needs_key && s.api_key.empty())
        throw Error(ErrorCode::InvalidParameterValue, "pg_rag: no API key configured for provider " + s.provider);
    auto responses = client.send_all({chat_request(s, prompt)}, s.http, interrupted);
    const http::Response& r = responses.at(0);
    if (r.status < 200 || r.status >= 300) throw_provider_failure(s.provider, "chat", r, s.api_key, s.http.timeout_ms);
    try {
        return parse_chat_response(s, r.body);
    } catch (const Error& e) {
        throw Error(ErrorCode::InvalidResponse, "pg_rag: " + s.provider + " chat returned an invalid response: " + e.what(),
                    "Model " + resolved_chat_model(s) + ".");
    }
}

namespace {

// Turns a provider's streamed bytes into text pieces and usage, line by line.
class StreamDecoder {
  public:
    StreamDecoder(const ChatSettings& s, Answer& answer, const std::function<void(const std::string&)>& on_text)
        : s_(s), answer_(answer), on_text_(on_text) {}

    void feed(std::string_view bytes) {
        buffer_.append(bytes);
        for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            handle(line);
        }
    }
    void finish() {
        if (!buffer_.empty()) handle(buffer_);
        buffer_.clear();
    }

  private:
    void emit(const json& text) {
        if (!text.is_string()) return;
        std::string piece = text.get<std::string>();
        if (piece.empty()) return;
        answer_.text += piece;
        on_text_(piece);
    }

    void handle(const std::string& line) {
        std::string payload;
        if (s_.provider == "ollama") payload = line;                   // JSON lines
        else if (line.rfind("data:", 0) == 0) payload = line.substr(5);  // server-sent events
        else return;                                                    // event:, id:, comments, blank lines
        payload.erase(0, payload.find_first_not_of(' '));
        if (payload.empty() || payload == "[DONE]") return;
        json doc = json::parse(payload, nullptr, false);
        if (doc.is_discarded()) throw Error(ErrorCode::InvalidResponse, "stream event is not valid JSON");
        if (s_.provider == "openai") {
            if (doc.contains("choices") && doc["choices"].is_array() && !doc["choices"].empty())
                emit(get_path(doc["choices"][0], {"delta", "content"}));
            if (get_path(doc, {"usage", "prompt_tokens"}).is_number()) {
                answer_.prompt_tokens = doc["usage"]["prompt_tokens"].get<int64_t>();
                answer_.completion_tokens = doc["usage"].value("completion_tokens", static_cast<int64_t>(0));
            }
        } else if (s_.provider == "ollama") {
            emit(get_path(doc, {"message", "content"}));
            if (doc.value("done", false)) {
                answer_.prompt_tokens = doc.value("prompt_eval_count", 0);
                answer_.completion_tokens = doc.value("eval_count", 0);
            }
        } else if (s_.provider == "anthropic") {
            std::string type = doc.value("type", "");
            if (type == "content_block_delta") emit(get_path(doc, {"delta", "text"}));
            else if (type == "message_start") answer_.prompt_tokens = get_path(doc, {"message", "usage", "input_tokens"}).is_number() ? doc["message"]["usage"]["input_tokens"].get<int64_t>() : 0;
            else if (type == "message_delta") answer_.completion_tokens = get_path(doc, {"usage", "output_tokens"}).is_number() ? doc["usage"]["output_tokens"].get<int64_t>() : 0;
            else if (type == "error") throw Error(ErrorCode::ExternalRoutineException, "pg_rag: anthropic chat failed: " + get_path(doc, {"error", "message"}).dump());
        } else if (s_.provider == "gemini") {
            if (doc.contains("candidates") && doc["candidates"].is_array() && !doc["candidates"].empty()) {
                json parts = get_path(doc["candidates"][0], {"content", "parts"});
                if (parts.is_array())
                    for (const auto& p : parts) emit(p.contains("text") ? p["text"] : json());
            }
            if (get_path(doc, {"usageMetadata", "promptTokenCount"}).is_number()) {
                answer_.prompt_tokens = doc["usageMetadata"]["promptTokenCount"].get<int64_t>();
                answer_.completion_tokens = doc["usageMetadata"].value("candidatesTokenCount", static_cast<int64_t>(0));
            }
        }
    }

    const ChatSettings& s_;
    Answer& answer_;
    const std::function<void(const std::string&)>& on_text_;
    std::string buffer_;
};

// The streaming form of chat_request's request.
http::Request stream_request(const ChatSettings& s, const Prompt& prompt) {
    http::Request r = chat_request(s, prompt);
    json body = json::parse(r.body);
    if (s.provider == "gemini") {
        r.url.replace(r.url.rfind(":generateContent"), std::string(":generateContent").size(), ":streamGenerateContent?alt=sse");
    } else {
        body["stream"] = true;
        if (s.provider == "openai") body["stream_options"] = {{"include_usage", true}};
    }
    r.body = body.dump();
    return r;
}

}  // namespace

Answer generate_stream(const ChatSettings& s, const Prompt& prompt, http::Client& client,
                       const http::InterruptCheck& interrupted, const std::function<void(const std::string&)>& on_text) {
    if (s.provider == "extractive") {
        Answer a = generate(s, prompt, client, interrupted);
        on_text(a.text);
        return a;
    }
    if (defaults_for(s.provider).needs_key && s.api_key.empty())
        throw Error(ErrorCode::InvalidParameterValue, "pg_rag: no API key configured for provider " + s.provider);
    Answer a;
    a.provider = s.provider;
    a.model = resolved_chat_model(s);
    StreamDecoder decoder(s, a, on_text);
    http::Request r = stream_request(s, prompt);
    r.on_data = [&](std::string_view bytes) { decoder.feed(bytes); };
    auto responses = client.send_all({r}, s.http, interrupted);
    const http::Response& res = responses.at(0);
    if (res.status < 200 || res.status >= 300) throw_provider_failure(s.provider, "chat", res, s.api_key, s.http.timeout_ms);
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
    p.system = "Rewrite the follow-up question as one standalone question that can be understood without the "
               "conversation. Answer with the question only.";
    std::string convo;
    for (const auto& m : history) convo += (m.role == "user" ? "User: " : "Assistant: ") + m.content + "\n";
    p.messages.push_back({"user", "Conversation:\n" + convo + "\nFollow-up question: " + question});
    return p;
}

}  // namespace pgrag
