#include "answer_json.hpp"

#include "error.hpp"

namespace pgrag {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorCode::InvalidParameterValue, message); }

// A string member; missing or null reads as "", any other type is refused.
std::string string_member(const json& o, const char* key, const char* what) {
    if (!o.contains(key) || o[key].is_null()) return "";
    if (!o[key].is_string()) bad(std::string(what) + "." + key + " must be a string");
    return o[key].get<std::string>();
}

// An integer member; missing or null reads as 0.
int64_t integer_member(const json& o, const char* key, const char* what) {
    if (!o.contains(key) || o[key].is_null()) return 0;
    if (!o[key].is_number_integer()) bad(std::string(what) + "." + key + " must be an integer");
    return o[key].get<int64_t>();
}

double number_member(const json& o, const char* key, const char* what) {
    if (!o.contains(key) || o[key].is_null()) return 0;
    if (!o[key].is_number()) bad(std::string(what) + "." + key + " must be a number");
    return o[key].get<double>();
}

// The array member `key` of an object (missing or null: empty).
json array_member(const json& o, const char* key, const char* what) {
    if (!o.contains(key) || o[key].is_null()) return json::array();
    if (!o[key].is_array()) bad(std::string(what) + "." + key + " must be an array");
    return o[key];
}

bool is_ascii_punct(unsigned char c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}
bool is_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

json messages_to_json(const std::vector<ChatMessage>& messages) {
    json out = json::array();
    for (const auto& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
    return out;
}

std::vector<ChatMessage> messages_from_json(const json& messages) {
    if (messages.is_null()) return {};
    if (!messages.is_array()) bad("the history must be a JSON array of {role, content} objects");
    std::vector<ChatMessage> out;
    out.reserve(messages.size());
    for (const auto& m : messages) {
        if (!m.is_object()) bad("each message must be an object with role and content");
        ChatMessage msg{string_member(m, "role", "message"), string_member(m, "content", "message")};
        if (msg.role != "user" && msg.role != "assistant")
            bad("message.role must be \"user\" or \"assistant\", not \"" + msg.role + "\"");
        out.push_back(std::move(msg));
    }
    return out;
}

json sources_to_json(const std::vector<Source>& sources) {
    json out = json::array();
    for (const auto& s : sources)
        out.push_back({{"n", s.n},
                       {"document_id", s.document_id},
                       {"chunk_id", s.chunk_id},
                       {"title", s.title},
                       {"source", s.source},
                       {"content", s.content},
                       {"heading", s.heading},
                       {"score", s.score}});
    return out;
}

std::vector<Source> sources_from_json(const json& sources) {
    if (sources.is_null()) return {};
    if (!sources.is_array()) bad("the sources must be a JSON array of objects");
    std::vector<Source> out;
    out.reserve(sources.size());
    for (const auto& x : sources) {
        if (!x.is_object()) bad("each source must be an object");
        Source s;
        s.n = static_cast<int>(integer_member(x, "n", "source"));
        s.document_id = integer_member(x, "document_id", "source");
        s.chunk_id = integer_member(x, "chunk_id", "source");
        s.title = string_member(x, "title", "source");
        s.source = string_member(x, "source", "source");
        s.content = string_member(x, "content", "source");
        s.heading = string_member(x, "heading", "source");
        s.score = number_member(x, "score", "source");
        out.push_back(std::move(s));
    }
    return out;
}

json prompt_to_json(const Prompt& p) {
    return {{"system", p.system}, {"messages", messages_to_json(p.messages)}, {"sources", sources_to_json(p.sources)}};
}

Prompt prompt_from_json(const json& j) {
    if (!j.is_object()) bad("the prompt must be a JSON object {system, messages, sources}");
    Prompt p;
    p.system = string_member(j, "system", "prompt");
    p.messages = messages_from_json(array_member(j, "messages", "prompt"));
    p.sources = sources_from_json(array_member(j, "sources", "prompt"));
    if (p.messages.empty()) bad("the prompt has no messages");
    return p;
}

json generated_to_json(const Generated& g) {
    const Answer& a = g.answer;
    json out = {{"answer", a.text},
                {"provider", a.provider},
                {"model", a.model},
                {"usage", {{"prompt_tokens", a.prompt_tokens}, {"completion_tokens", a.completion_tokens}}}};
    if (!g.fallbacks.empty()) out["fallbacks"] = g.fallbacks;
    return out;
}

Generated generated_from_json(const json& j) {
    if (!j.is_object()) bad("the generated answer must be a JSON object {answer, provider, model, usage}");
    Generated g;
    g.answer.text = string_member(j, "answer", "generated");
    g.answer.provider = string_member(j, "provider", "generated");
    g.answer.model = string_member(j, "model", "generated");
    if (j.contains("usage") && !j["usage"].is_null()) {
        if (!j["usage"].is_object()) bad("generated.usage must be an object");
        g.answer.prompt_tokens = integer_member(j["usage"], "prompt_tokens", "usage");
        g.answer.completion_tokens = integer_member(j["usage"], "completion_tokens", "usage");
    }
    for (const auto& f : array_member(j, "fallbacks", "generated")) {
        if (!f.is_string()) bad("generated.fallbacks must be an array of strings");
        g.fallbacks.push_back(f.get<std::string>());
    }
    return g;
}

json chat_settings_to_json(const std::vector<ChatSettings>& providers) {
    json out = json::array();
    for (const auto& c : providers)
        out.push_back({{"provider", c.provider},
                       {"model", c.model},
                       {"base_url", c.base_url},
                       {"api_key", c.api_key},
                       {"max_tokens", c.max_tokens},
                       {"temperature", c.temperature},
                       {"timeout_ms", c.http.timeout_ms},
                       {"connect_timeout_ms", c.http.connect_timeout_ms},
                       {"max_retries", c.http.max_retries},
                       {"allowed_hosts", c.http.allowed_hosts}});
    return out;
}

std::vector<ChatSettings> chat_settings_from_json(const json& providers) {
    if (!providers.is_array()) bad("the chat providers must be a JSON array");
    std::vector<ChatSettings> out;
    for (const auto& p : providers) {
        if (!p.is_object()) bad("each chat provider must be a JSON object");
        ChatSettings c;
        c.provider = string_member(p, "provider", "provider");
        if (!is_chat_provider(c.provider)) bad("provider.provider: unknown chat provider \"" + c.provider + "\"");
        c.model = string_member(p, "model", "provider");
        c.base_url = string_member(p, "base_url", "provider");
        c.api_key = string_member(p, "api_key", "provider");
        c.max_tokens = static_cast<int>(integer_member(p, "max_tokens", "provider"));
        c.temperature = number_member(p, "temperature", "provider");
        c.http.timeout_ms = integer_member(p, "timeout_ms", "provider");
        c.http.connect_timeout_ms = integer_member(p, "connect_timeout_ms", "provider");
        c.http.max_retries = static_cast<int>(integer_member(p, "max_retries", "provider"));
        for (const auto& h : array_member(p, "allowed_hosts", "provider")) {
            if (!h.is_string()) bad("provider.allowed_hosts must be an array of strings");
            c.http.allowed_hosts.push_back(h.get<std::string>());
        }
        out.push_back(std::move(c));
    }
    return out;
}

std::string utf8_prefix(const std::string& text, size_t max_chars) {
    size_t chars = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        // A character starts at every byte that is not a continuation byte (10xxxxxx).
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars) return text.substr(0, i);
    }
    return text;
}

json answer_result(const Prompt& prompt, const Generated& g, const std::string& standalone_question) {
    json sources = json::array();
    for (const auto& s : prompt.sources)
        sources.push_back({{"n", s.n},
                           {"document_id", s.document_id},
                           {"chunk_id", s.chunk_id},
                           {"title", s.title},
                           {"source", s.source},
                           {"heading", s.heading},
                           {"score", s.score},
                           {"snippet", utf8_prefix(s.content, kSnippetChars)}});
    json out = generated_to_json(g);
    out["sources"] = sources;
    out["cached"] = false;
    if (!standalone_question.empty()) out["standalone_question"] = standalone_question;
    return out;
}

std::string normalise_question(const std::string& question) {
    std::string out;
    out.reserve(question.size());
    bool gap = false;
    for (unsigned char c : question) {
        if (is_ascii_space(c) || is_ascii_punct(c)) {
            gap = true;
            continue;
        }
        if (gap && !out.empty()) out += ' ';
        gap = false;
        out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return out;
}

std::string answer_cache_key_text(const std::string& question, int k, const std::string& mode, const json& filter,
                                  const std::map<std::string, std::string>& settings) {
    json options = json::array({normalise_question(question), k, mode, filter});
    std::string text = options.dump(-1, ' ', false, json::error_handler_t::replace);
    // Settings as name=length:value lines: unambiguous, and far cheaper than escaping them as JSON
    // (the built-in system prompt alone is 300 bytes; this runs on every cache lookup).
    for (const auto& [name, value] : settings)
        text.append("\n").append(name).append("=").append(std::to_string(value.size())).append(":").append(value);
    return text;
}

}  // namespace pgrag
