#include "chat_providers.hpp"

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "extractive.hpp"

namespace pgrag {
namespace {

using nlohmann::json;

// The value at a path of object keys, or null when any step is missing.
json get_path(const json& doc, std::initializer_list<const char*> path) {
    const json* cur = &doc;
    for (const char* key : path) {
        if (!cur->is_object() || !cur->contains(key)) return json();
        cur = &(*cur)[key];
    }
    return *cur;
}

int64_t count_at(const json& doc, std::initializer_list<const char*> path) {
    json v = get_path(doc, path);
    return v.is_number() ? v.get<int64_t>() : 0;
}

// The first element of an array member, or null.
json first_of(const json& doc, const char* key) {
    return doc.is_object() && doc.contains(key) && doc[key].is_array() && !doc[key].empty() ? doc[key][0] : json();
}

void emit_text(const json& text, const TextSink& emit) {
    if (text.is_string() && !text.get_ref<const std::string&>().empty()) emit(text.get<std::string>());
}

std::string base(const ChatSettings& s, const ChatCodec& c) {
    return http::trim_slash(s.base_url.empty() ? c.default_url : s.base_url);
}

json role_turns(const Prompt& p) {
    json turns = json::array();
    for (const auto& m : p.messages) turns.push_back({{"role", m.role}, {"content", m.content}});
    return turns;
}

// ---- OpenAI-compatible: POST {url}/chat/completions ------------------------------------------------

http::Request openai_request(const ChatSettings& s, const std::string& model, const Prompt& p, bool stream) {
    json turns = json::array({{{"role", "system"}, {"content", p.system}}});
    for (auto& t : role_turns(p)) turns.push_back(t);
    json body = {{"model", model}, {"messages", turns}, {"temperature", s.temperature}, {"max_tokens", s.max_tokens}};
    if (stream) {
        body["stream"] = true;
        body["stream_options"] = {{"include_usage", true}};  // the last event carries usage
    }
    return http::json_post(base(s, chat_codec("openai")) + "/chat/completions", body.dump(),
                           {s.api_key.empty() ? "" : "Authorization: Bearer " + s.api_key});
}

void openai_parse(const json& doc, Answer& a) {
    json text = get_path(first_of(doc, "choices"), {"message", "content"});
    if (text.is_string()) a.text = text.get<std::string>();
    a.prompt_tokens = count_at(doc, {"usage", "prompt_tokens"});
    a.completion_tokens = count_at(doc, {"usage", "completion_tokens"});
}

// A stream's error event ({"error": {...}} or {"error": "..."}, as OpenAI-compatible servers and Ollama
// send when generation fails after the response began): the provider's failure, never a silent end.
void throw_stream_error(const char* provider, const json& doc) {
    json err = get_path(doc, {"error"});
    if (err.is_null()) return;
    json message = err.is_object() ? get_path(err, {"message"}) : err;
    throw Error(ErrorCode::ExternalRoutineException,
                std::string("pg_rag: ") + provider +
                    " chat failed mid-stream: " + (message.is_string() ? message.get<std::string>() : err.dump()));
}

void openai_event(const json& doc, Answer& a, const TextSink& emit) {
    throw_stream_error("openai", doc);
    emit_text(get_path(first_of(doc, "choices"), {"delta", "content"}), emit);
    if (get_path(doc, {"usage", "prompt_tokens"}).is_number()) {
        a.prompt_tokens = count_at(doc, {"usage", "prompt_tokens"});
        a.completion_tokens = count_at(doc, {"usage", "completion_tokens"});
    }
}

// ---- Ollama: POST {url}/api/chat, JSON lines when streaming -----------------------------------------

http::Request ollama_request(const ChatSettings& s, const std::string& model, const Prompt& p, bool stream) {
    json turns = json::array({{{"role", "system"}, {"content", p.system}}});
    for (auto& t : role_turns(p)) turns.push_back(t);
    json body = {{"model", model},
                 {"messages", turns},
                 {"stream", stream},
                 {"options", {{"temperature", s.temperature}, {"num_predict", s.max_tokens}}}};
    return http::json_post(base(s, chat_codec("ollama")) + "/api/chat", body.dump(), {});
}

void ollama_parse(const json& doc, Answer& a) {
    json text = get_path(doc, {"message", "content"});
    if (text.is_string()) a.text = text.get<std::string>();
    a.prompt_tokens = count_at(doc, {"prompt_eval_count"});
    a.completion_tokens = count_at(doc, {"eval_count"});
}

void ollama_event(const json& doc, Answer& a, const TextSink& emit) {
    throw_stream_error("ollama", doc);
    emit_text(get_path(doc, {"message", "content"}), emit);
    if (get_path(doc, {"done"}) == json(true)) {
        a.prompt_tokens = count_at(doc, {"prompt_eval_count"});
        a.completion_tokens = count_at(doc, {"eval_count"});
    }
}

// ---- Anthropic: POST {url}/v1/messages ----------------------------------------------------------------

http::Request anthropic_request(const ChatSettings& s, const std::string& model, const Prompt& p, bool stream) {
    json body = {{"model", model},
                 {"system", p.system},
                 {"messages", role_turns(p)},
                 {"max_tokens", s.max_tokens},
                 {"temperature", s.temperature}};
    if (stream) body["stream"] = true;
    return http::json_post(base(s, chat_codec("anthropic")) + "/v1/messages", body.dump(),
                           {"x-api-key: " + s.api_key, "anthropic-version: 2023-06-01"});
}

void anthropic_parse(const json& doc, Answer& a) {
    json blocks = get_path(doc, {"content"});
    if (blocks.is_array())
        for (const auto& block : blocks)
            if (get_path(block, {"type"}) == json("text") && get_path(block, {"text"}).is_string())
                a.text += block["text"].get<std::string>();
    a.prompt_tokens = count_at(doc, {"usage", "input_tokens"});
    a.completion_tokens = count_at(doc, {"usage", "output_tokens"});
}

void anthropic_event(const json& doc, Answer& a, const TextSink& emit) {
    json type = get_path(doc, {"type"});
    if (type == json("content_block_delta"))
        emit_text(get_path(doc, {"delta", "text"}), emit);
    else if (type == json("message_start"))
        a.prompt_tokens = count_at(doc, {"message", "usage", "input_tokens"});
    else if (type == json("message_delta"))
        a.completion_tokens = count_at(doc, {"usage", "output_tokens"});
    else if (type == json("error"))
        throw Error(ErrorCode::ExternalRoutineException,
                    "pg_rag: anthropic chat failed: " + get_path(doc, {"error", "message"}).dump());
}

// ---- Gemini: POST {url}/v1beta/models/{model}:generateContent (streaming: server-sent events) ----------

http::Request gemini_request(const ChatSettings& s, const std::string& model, const Prompt& p, bool stream) {
    json turns = json::array();
    for (const auto& m : p.messages)
        turns.push_back(
            {{"role", m.role == "assistant" ? "model" : "user"}, {"parts", json::array({{{"text", m.content}}})}});
    json body = {{"systemInstruction", {{"parts", json::array({{{"text", p.system}}})}}},
                 {"contents", turns},
                 {"generationConfig", {{"temperature", s.temperature}, {"maxOutputTokens", s.max_tokens}}}};
    std::string name = model.rfind("models/", 0) == 0 ? model : "models/" + model;
    return http::json_post(base(s, chat_codec("gemini")) + "/v1beta/" + name +
                               (stream ? ":streamGenerateContent?alt=sse" : ":generateContent"),
                           body.dump(), {"x-goog-api-key: " + s.api_key});
}

// The text parts of the first candidate, joined; null when it has none.
json gemini_text(const json& doc) {
    json parts = get_path(first_of(doc, "candidates"), {"content", "parts"});
    if (!parts.is_array()) return json();
    std::string joined;
    for (const auto& part : parts)
        if (get_path(part, {"text"}).is_string()) joined += part["text"].get<std::string>();
    return joined;
}

void gemini_parse(const json& doc, Answer& a) {
    json text = gemini_text(doc);
    if (text.is_string()) a.text = text.get<std::string>();
    a.prompt_tokens = count_at(doc, {"usageMetadata", "promptTokenCount"});
    a.completion_tokens = count_at(doc, {"usageMetadata", "candidatesTokenCount"});
}

void gemini_event(const json& doc, Answer& a, const TextSink& emit) {
    json parts = get_path(first_of(doc, "candidates"), {"content", "parts"});
    if (parts.is_array())
        for (const auto& part : parts) emit_text(get_path(part, {"text"}), emit);
    if (get_path(doc, {"usageMetadata", "promptTokenCount"}).is_number()) {
        a.prompt_tokens = count_at(doc, {"usageMetadata", "promptTokenCount"});
        a.completion_tokens = count_at(doc, {"usageMetadata", "candidatesTokenCount"});
    }
}

// ---- extractive: in process (core/extractive.*) ---------------------------------------------------------

Answer extractive_local(const ChatSettings&, const Prompt& p) {
    // The question is the end of the last user turn (build_prompt's sources_message).
    std::string last = p.messages.empty() ? "" : p.messages.back().content;
    auto at = last.rfind("\nQuestion: ");
    return extractive_answer(at == std::string::npos ? last : last.substr(at + 11), p.sources);
}

const ChatCodec kChatCodecs[] = {
    {"openai", "gpt-4o-mini", "https://api.openai.com/v1", "OPENAI_API_KEY", false, openai_request, openai_parse,
     openai_event, nullptr},
    {"ollama", "llama3.1", "http://127.0.0.1:11434", nullptr, true, ollama_request, ollama_parse, ollama_event,
     nullptr},
    {"anthropic", "claude-3-5-haiku-latest", "https://api.anthropic.com", "ANTHROPIC_API_KEY", false, anthropic_request,
     anthropic_parse, anthropic_event, nullptr},
    {"gemini", "gemini-1.5-flash", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", false, gemini_request,
     gemini_parse, gemini_event, nullptr},
    // A literal, not kExtractiveModel: this table is initialised before other files' constants (tested equal).
    {"extractive", "pg_rag-extractive-v1", "", nullptr, false, nullptr, nullptr, nullptr, extractive_local},
};

}  // namespace

const ChatCodec& chat_codec(const std::string& provider) {
    for (const auto& c : kChatCodecs)
        if (provider == c.name) return c;
    throw Error(ErrorCode::InvalidParameterValue, "unknown answer provider \"" + provider + "\"", "",
                "Valid providers are openai, ollama, anthropic, gemini and extractive.");
}

std::vector<std::string> chat_provider_names() {
    std::vector<std::string> out;
    for (const auto& c : kChatCodecs) out.push_back(c.name);
    return out;
}

ChatStreamDecoder::ChatStreamDecoder(const ChatCodec& codec, Answer& answer, const TextSink& on_text)
    : codec_(codec), answer_(answer), emit_([this, on_text](const std::string& piece) {
          answer_.text += piece;
          on_text(piece);
      }) {}

void ChatStreamDecoder::feed(std::string_view bytes) {
    buffer_.append(bytes);
    size_t start = 0;
    for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string line = buffer_.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        handle(line);
    }
    buffer_.erase(0, start);  // once per feed: no quadratic copying of long chunks
}

void ChatStreamDecoder::finish() {
    if (!buffer_.empty()) handle(buffer_);
    buffer_.clear();
}

void ChatStreamDecoder::handle(const std::string& line) {
    std::string payload;
    if (codec_.json_lines)
        payload = line;  // one JSON document per line
    else if (line.rfind("data:", 0) == 0)
        payload = line.substr(5);  // server-sent events
    else
        return;  // event:, id:, comments, blank lines
    payload.erase(0, payload.find_first_not_of(' '));
    if (payload.empty() || payload == "[DONE]") return;
    json doc = json::parse(payload, nullptr, false);
    if (doc.is_discarded()) throw Error(ErrorCode::InvalidResponse, "stream event is not valid JSON");
    codec_.stream_event(doc, answer_, emit_);
}

}  // namespace pgrag
