#include "embedding_providers.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>

#include "embedding_text.hpp"
#include "error.hpp"
#include "local_embedder.hpp"

namespace pgrag {
namespace {

using nlohmann::json;

std::string base_url(const EmbeddingSettings& s, const EmbeddingCodec& c) {
    return http::trim_slash(s.base_url.empty() ? c.default_url : s.base_url);
}

json text_array(const std::vector<std::string>& texts, size_t begin, size_t end) {
    json input = json::array();
    for (size_t i = begin; i < end; ++i) input.push_back(texts[i]);
    return input;
}

// Reads one JSON array of numbers as floats.
std::vector<float> floats_of(const json& values) {
    if (!values.is_array()) throw Error(ErrorCode::InvalidResponse, "embedding is not an array");
    std::vector<float> out;
    out.reserve(values.size());
    for (const auto& v : values) {
        if (!v.is_number()) throw Error(ErrorCode::InvalidResponse, "embedding contains a non-number");
        out.push_back(v.get<float>());
    }
    return out;
}

// The array `name` of a response object; throws Error(InvalidResponse) when it is missing.
const json& array_field(const json& doc, const char* name) {
    if (!doc.is_object() || !doc.contains(name) || !doc[name].is_array())
        throw Error(ErrorCode::InvalidResponse, std::string("response has no \"") + name + "\" array");
    return doc[name];
}

std::string bearer(const EmbeddingSettings& s) { return s.api_key.empty() ? "" : "Authorization: Bearer " + s.api_key; }

json parse_json(const std::string& body) {
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded()) throw Error(ErrorCode::InvalidResponse, "response is not valid JSON");
    return doc;
}

// OpenAI-compatible: POST {base}/embeddings, data[].embedding ordered by index.
http::Request openai_build(const EmbeddingSettings& s, const std::string& model, const std::vector<std::string>& texts,
                           size_t begin, size_t end) {
    json body = {{"model", model}, {"input", text_array(texts, begin, end)}, {"encoding_format", "float"}};
    if (s.dimensions > 0) body["dimensions"] = s.dimensions;
    return http::json_post(base_url(s, embedding_codec("openai")) + "/embeddings", body.dump(), {bearer(s)});
}

std::vector<std::vector<float>> openai_parse(const std::string& body) {
    json doc = parse_json(body);
    const json& data = array_field(doc, "data");
    std::vector<std::vector<float>> out(data.size());
    std::vector<bool> seen(data.size(), false);
    for (size_t i = 0; i < data.size(); ++i) {
        const json& item = data[i];
        if (!item.is_object() || !item.contains("embedding"))
            throw Error(ErrorCode::InvalidResponse, "data item has no \"embedding\"");
        size_t index = i;
        if (item.contains("index")) {
            if (!item["index"].is_number_unsigned() || item["index"].get<size_t>() >= data.size())
                throw Error(ErrorCode::InvalidResponse, "data item has an invalid \"index\"");
            index = item["index"].get<size_t>();
        }
        if (seen[index]) throw Error(ErrorCode::InvalidResponse, "two data items share one \"index\"");
        seen[index] = true;
        out[index] = floats_of(item["embedding"]);
    }
    return out;
}

// Ollama: POST {base}/api/embed {"model", "input": [...]} -> {"embeddings": [[...]]}.
http::Request ollama_build(const EmbeddingSettings& s, const std::string& model, const std::vector<std::string>& texts,
                           size_t begin, size_t end) {
    json body = {{"model", model}, {"input", text_array(texts, begin, end)}};
    if (s.dimensions > 0) body["dimensions"] = s.dimensions;
    return http::json_post(base_url(s, embedding_codec("ollama")) + "/api/embed", body.dump(), {bearer(s)});
}

std::vector<std::vector<float>> ollama_parse(const std::string& body) {
    json doc = parse_json(body);
    std::vector<std::vector<float>> out;
    for (const auto& e : array_field(doc, "embeddings")) out.push_back(floats_of(e));
    return out;
}

// Gemini: POST {base}/v1beta/models/{model}:batchEmbedContents, key in x-goog-api-key.
http::Request gemini_build(const EmbeddingSettings& s, const std::string& model, const std::vector<std::string>& texts,
                           size_t begin, size_t end) {
    std::string name = model.rfind("models/", 0) == 0 ? model : "models/" + model;
    json requests = json::array();
    for (size_t i = begin; i < end; ++i) {
        json one = {{"model", name}, {"content", {{"parts", json::array({{{"text", texts[i]}}})}}}};
        if (s.dimensions > 0) one["outputDimensionality"] = s.dimensions;
        requests.push_back(one);
    }
    return http::json_post(base_url(s, embedding_codec("gemini")) + "/v1beta/" + name + ":batchEmbedContents",
                           json{{"requests", requests}}.dump(),
                           {s.api_key.empty() ? "" : "x-goog-api-key: " + s.api_key});
}

std::vector<std::vector<float>> gemini_parse(const std::string& body) {
    json doc = parse_json(body);
    std::vector<std::vector<float>> out;
    for (const auto& e : array_field(doc, "embeddings")) {
        if (!e.is_object() || !e.contains("values"))
            throw Error(ErrorCode::InvalidResponse, "embedding has no \"values\"");
        out.push_back(floats_of(e["values"]));
    }
    return out;
}

const EmbeddingCodec kCodecs[] = {
    {"openai", "text-embedding-3-small", "https://api.openai.com/v1", 2048, 1 << 20, true, openai_build, openai_parse},
    {"ollama", "nomic-embed-text", "http://127.0.0.1:11434", 512, 1 << 20, false, ollama_build, ollama_parse},
    {"gemini", "text-embedding-004", "https://generativelanguage.googleapis.com", 100, 1 << 20, true, gemini_build,
     gemini_parse},
};

}  // namespace

const EmbeddingCodec& embedding_codec(const std::string& provider) {
    for (const auto& c : kCodecs)
        if (provider == c.name) return c;
    throw Error(ErrorCode::InvalidParameterValue, "unknown embedding provider \"" + provider + "\"", "",
                "Valid providers are local, openai, ollama and gemini.");
}

bool is_embedding_provider(const std::string& provider) {
    if (provider == "local") return true;
    for (const auto& c : kCodecs)
        if (provider == c.name) return true;
    return false;
}

std::string resolved_embedding_url(const EmbeddingSettings& s) { return base_url(s, embedding_codec(s.provider)); }

std::string resolved_embedding_model(const EmbeddingSettings& s) {
    if (!s.model.empty()) return s.model;
    if (s.provider == "local") return kLocalModelName;
    return embedding_codec(s.provider).default_model;
}

std::vector<size_t> plan_batches(const std::vector<std::string>& texts, size_t max_count, size_t max_bytes) {
    std::vector<size_t> starts;
    size_t count = 0, bytes = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        bool full = count == max_count || (count > 0 && bytes + texts[i].size() > max_bytes);
        if (i == 0 || full) {
            starts.push_back(i);
            count = 0;
            bytes = 0;
        }
        ++count;
        bytes += texts[i].size();
    }
    starts.push_back(texts.size());
    return starts;
}

std::string provider_error_message(const std::string& body) {
    json doc = json::parse(body, nullptr, false);
    if (!doc.is_discarded() && doc.is_object() && doc.contains("error")) {
        const json& e = doc["error"];
        if (e.is_string()) return e.get<std::string>();                          // Ollama
        if (e.is_object() && e.contains("message") && e["message"].is_string())  // OpenAI, Gemini, Anthropic
            return e["message"].get<std::string>();
    }
    std::string text = body.substr(0, 200);
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text.empty() ? "(empty response body)" : text;
}

std::string redact_secrets(const std::string& text, const std::string& api_key) {
    std::string out = text;
    // The configured key itself, whatever its length or shape: nothing else can tell it from text.
    if (!api_key.empty())
        for (size_t pos = 0; (pos = out.find(api_key, pos)) != std::string::npos; pos += 10)
            out.replace(pos, api_key.size(), "[redacted]");
    // Key-shaped tokens, whole or masked, as providers echo them ("sk-proj-abc***xyz", "AIza...").
    static const std::regex kKeyShapes(
        R"((sk-[A-Za-z0-9_\-\*\.]{4,}|AIza[0-9A-Za-z_\-]{10,}|Bearer\s+[A-Za-z0-9_\-\.\*]+))");
    return std::regex_replace(out, kKeyShapes, "[redacted]");
}

void throw_provider_failure(const std::string& provider, const std::string& what, const http::Response& response,
                            const std::string& api_key, long timeout_ms) {
    std::string prefix = "pg_rag: " + provider + " " + what + " failed";
    if (response.status == 0) {
        if (response.timed_out)
            throw Error(ErrorCode::ConnectionFailure,
                        prefix + ": no response within " + std::to_string(timeout_ms) + " ms", "",
                        "Raise pg_rag.request_timeout or check the provider.");
        throw Error(ErrorCode::ConnectionFailure, redact_secrets(prefix + ": " + response.transport_error, api_key));
    }
    std::string message = redact_secrets(provider_error_message(response.body), api_key);
    std::string detail =
        response.attempts > 1 ? "Gave up after " + std::to_string(response.attempts) + " attempts." : "";
    throw Error(ErrorCode::ExternalRoutineException, prefix + " (" + std::to_string(response.status) + "): " + message,
                detail);
}

std::vector<std::vector<float>> embed_texts(const EmbeddingSettings& s, const std::vector<std::string>& texts,
                                            http::Client& client, const http::InterruptCheck& interrupted) {
    if (s.provider == "local") {
        std::vector<std::vector<float>> out;
        out.reserve(texts.size());
        for (const auto& t : texts) {
            if (interrupted && interrupted())
                throw Error(ErrorCode::QueryCanceled, "canceling statement due to user request");
            out.push_back(local_embed(t, s.local_dims));
        }
        return out;
    }
    const EmbeddingCodec& codec = embedding_codec(s.provider);
    if (codec.needs_key && s.api_key.empty())
        throw Error(ErrorCode::InvalidParameterValue,
                    "pg_rag: no API key configured for provider " + s.provider + " at " + base_url(s, codec), "",
                    "A superuser can bind one to this URL with rag_set_provider_key('" + s.provider +
                        "', key, base_url), or set the server's " +
                        (s.provider == "openai" ? "OPENAI_API_KEY" : "GEMINI_API_KEY") +
                        " environment variable (bound to the provider's default URL or " +
                        (s.provider == "openai" ? "OPENAI_BASE_URL" : "GEMINI_BASE_URL") + ").");
    std::string model = resolved_embedding_model(s);
    size_t max_count = std::min(codec.max_batch_count, static_cast<size_t>(std::max(1, s.batch_size)));
    std::vector<size_t> starts = plan_batches(texts, max_count, codec.max_batch_bytes);
    std::vector<http::Request> requests;
    for (size_t b = 0; b + 1 < starts.size(); ++b)
        requests.push_back(codec.build(s, model, texts, starts[b], starts[b + 1]));
    std::vector<http::Response> responses = client.send_all(requests, s.http, interrupted);

    std::vector<std::vector<float>> out;
    out.reserve(texts.size());
    size_t dims = s.dimensions > 0 ? static_cast<size_t>(s.dimensions) : 0;
    std::string who = s.provider + " model " + model;
    for (size_t b = 0; b < responses.size(); ++b) {
        const http::Response& r = responses[b];
        if (r.status < 200 || r.status >= 300)
            throw_provider_failure(s.provider, "embeddings", r, s.api_key, s.http.timeout_ms);
        std::vector<std::vector<float>> batch;
        try {
            batch = codec.parse(r.body);
        } catch (const Error& e) {
            throw Error(ErrorCode::InvalidResponse,
                        "pg_rag: " + s.provider + " embeddings returned an invalid response: " + e.what(),
                        "Model " + model + ".");
        }
        size_t expected = starts[b + 1] - starts[b];
        if (batch.size() != expected)
            throw Error(ErrorCode::InvalidResponse, "pg_rag: " + s.provider + " embeddings returned " +
                                                        std::to_string(batch.size()) + " embeddings for " +
                                                        std::to_string(expected) + " inputs (" + who + ")");
        for (auto& e : batch) {
            if (dims == 0) dims = e.size();
            if (e.size() != dims)
                throw Error(ErrorCode::InvalidResponse, "pg_rag: " + s.provider + " embeddings returned " +
                                                            std::to_string(e.size()) + " dimensions, expected " +
                                                            std::to_string(dims) + " (" + who + ")");
            for (float v : e)
                if (!std::isfinite(v))
                    throw Error(ErrorCode::InvalidResponse,
                                "pg_rag: " + s.provider + " embeddings returned a non-finite value (" + who + ")");
            if (e.empty() || e.size() > static_cast<size_t>(kMaxEmbeddingDims))
                throw Error(ErrorCode::InvalidResponse, "pg_rag: " + s.provider + " embeddings returned " +
                                                            std::to_string(e.size()) + " dimensions (" + who + ")");
            out.push_back(std::move(e));
        }
    }
    return out;
}

}  // namespace pgrag
