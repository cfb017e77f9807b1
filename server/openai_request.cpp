// Checks of /v1/chat/completions and /v1/embeddings bodies.
#include "openai_request.hpp"

#include "json_errors.hpp"
#include "request_json.hpp"

namespace pgrag::server {

namespace {

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// A message's text: a string, or the text parts of an array of content parts (images are not read).
std::string message_text(const nlohmann::json& m) {
    auto it = m.find("content");
    if (it == m.end() || it->is_null()) return "";
    if (it->is_string()) return *it;
    if (!it->is_array()) throw bad_request("message content must be a string or an array of content parts");
    std::string text;
    for (const auto& part : *it) {
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
            throw bad_request("each content part must be an object with a \"type\"");
        if (part["type"] != "text") continue;
        if (!part.contains("text") || !part["text"].is_string())
            throw bad_request("a text content part needs a string \"text\"");
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
    }
    return text;
}

// The last message is the user's question; the user and assistant messages before it are the history.
void read_messages(const nlohmann::json& body, ChatRequest& r) {
    auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty()) throw bad_request("\"messages\" must be a non-empty array");
    std::vector<ChatMessage> messages;
    for (const auto& m : *it) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            throw bad_request("each message must be an object with a string \"role\"");
        std::string role = m["role"];
        std::string text = message_text(m);
        if (role == "system" || role == "developer") continue;  // the database's system prompt applies
        if (role != "user" && role != "assistant")
            throw bad_request("message role must be system, developer, user or assistant, not \"" + role + "\"");
        messages.push_back({role, text});
    }
    if (messages.empty() || messages.back().role != "user")
        throw bad_request("the last message must be the user's question");
    r.question = messages.back().content;
    if (blank(r.question)) throw bad_request("the question (the last user message) is empty");
    messages.pop_back();
    r.history = std::move(messages);
}

// pg_rag's own options: {append_sources, k, mode, filter}.
void read_pg_rag_options(const nlohmann::json& body, CompletionRequest& out) {
    auto it = body.find("pg_rag");
    if (it == body.end() || it->is_null()) return;
    if (!it->is_object()) throw bad_request("\"pg_rag\" must be an object");
    only_fields(*it, {"append_sources", "k", "mode", "filter"});
    if (auto a = opt_bool(*it, "append_sources")) out.append_sources = *a;
    if (auto k = opt_int(*it, "k", 1, 50)) out.chat.k = static_cast<int>(*k);
    if (auto mode = opt_string(*it, "mode")) {
        if (*mode != "hybrid" && *mode != "vector" && *mode != "keyword")
            throw bad_request("\"mode\" must be hybrid, vector or keyword, not \"" + *mode + "\"");
        out.chat.mode = *mode;
    }
    out.chat.filter = opt_object_text(*it, "filter");
}

}  // namespace

const std::vector<std::string>& openai_model_ids() {
    static const std::vector<std::string> ids = {"pg_rag"};
    return ids;
}

std::string checked_model(const nlohmann::json& body) {
    auto model = opt_string(body, "model");
    if (!model) return openai_model_ids().front();
    for (const auto& id : openai_model_ids())
        if (*model == id) return id;
    throw ApiError(404, "invalid_request_error", "model_not_found",
                   "The model `" + *model + "` does not exist: GET /v1/models lists the models of this server");
}

CompletionRequest read_completion_request(const nlohmann::json& body, bool append_sources_default) {
    CompletionRequest out;
    out.model = checked_model(body);
    read_messages(body, out.chat);
    out.stream = opt_bool(body, "stream").value_or(false);
    if (auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
        if (!so->is_object()) throw bad_request("\"stream_options\" must be an object");
        out.include_usage = opt_bool(*so, "include_usage").value_or(false);
    }
    if (auto mt = opt_int(body, "max_tokens", 1, 100000)) out.chat.max_tokens = static_cast<int>(*mt);
    // The newer name wins, as OpenAI's max_tokens is deprecated in its favour.
    if (auto mt = opt_int(body, "max_completion_tokens", 1, 100000)) out.chat.max_tokens = static_cast<int>(*mt);
    if (auto t = opt_number(body, "temperature", 0, 2)) out.chat.temperature = *t;
    if (auto n = opt_int(body, "n", 1, 128); n && *n != 1) throw bad_request("\"n\" must be 1: one answer per request");
    out.append_sources = append_sources_default;
    read_pg_rag_options(body, out);
    return out;
}

EmbeddingsRequest read_embeddings_request(const nlohmann::json& body) {
    EmbeddingsRequest out;
    out.model = checked_model(body);
    auto it = body.find("input");
    if (it == body.end() || it->is_null()) throw bad_request("\"input\" is required");
    if (it->is_string()) {
        out.inputs.push_back(*it);
    } else if (it->is_array() && !it->empty()) {
        for (const auto& v : *it) {
            if (!v.is_string())
                throw bad_request("\"input\" must be a string or an array of strings: token arrays are not supported");
            out.inputs.push_back(v);
        }
    } else {
        throw bad_request("\"input\" must be a string or a non-empty array of strings");
    }
    if (out.inputs.size() > kMaxEmbeddingInputs)
        throw bad_request("\"input\" has " + std::to_string(out.inputs.size()) + " texts; at most " +
                          std::to_string(kMaxEmbeddingInputs) + " are allowed");
    for (const auto& s : out.inputs)
        if (s.empty()) throw bad_request("\"input\" must not contain empty strings");
    if (auto d = opt_int(body, "dimensions", 1, 65535)) out.dimensions = static_cast<size_t>(*d);
    std::string format = opt_string(body, "encoding_format").value_or("float");
    if (format != "float" && format != "base64")
        throw bad_request("\"encoding_format\" must be float or base64, not \"" + format + "\"");
    out.base64 = format == "base64";
    return out;
}

}  // namespace pgrag::server
