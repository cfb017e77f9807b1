// Embedding providers: request/response codecs for OpenAI-compatible servers, Ollama and Gemini,
// batching within each provider's limits, response validation, and the local embedder.
#pragma once

#include <string>
#include <vector>

#include "http_client.hpp"

namespace pgrag {

struct EmbeddingSettings {
    std::string provider = "local";  // local | openai | ollama | gemini
    std::string model;               // empty: the provider's default
    std::string base_url;            // empty: the provider's default
    std::string api_key;             // never logged or echoed; filled only when the request is sent
    int dimensions = 0;              // 0: the model's own size (and not sent)
    int local_dims = 384;            // dimensions of the local embedder
    int batch_size = 96;             // texts per request (also capped by the provider)
    http::Options http;
};

// Limits and wire format of one provider.
struct EmbeddingCodec {
    const char* name;
    const char* default_model;
    const char* default_url;
    size_t max_batch_count;  // texts per request the provider accepts
    size_t max_batch_bytes;  // total text bytes per request we send
    bool needs_key;
    http::Request (*build)(const EmbeddingSettings& s, const std::string& model, const std::vector<std::string>& texts,
                           size_t begin, size_t end);
    // Parses a 2xx body into embeddings in input order; throws Error(InvalidResponse) on malformed JSON.
    std::vector<std::vector<float>> (*parse)(const std::string& body);
};

// The codec of a remote provider; throws Error(InvalidParameterValue) for an unknown name or "local".
const EmbeddingCodec& embedding_codec(const std::string& provider);

// True for the providers rag_embed accepts: local, openai, ollama, gemini.
bool is_embedding_provider(const std::string& provider);

// The model a setting resolves to (the provider's default when empty).
std::string resolved_embedding_model(const EmbeddingSettings& s);

// The base URL requests of a remote provider go to (the provider's default when empty), no trailing '/'.
std::string resolved_embedding_url(const EmbeddingSettings& s);

// Splits texts [0, n) into batches within count and size limits: returns batch start offsets plus n.
std::vector<size_t> plan_batches(const std::vector<std::string>& texts, size_t max_count, size_t max_bytes);

// Embeds texts with the configured provider; results in input order, each validated (count,
// dimensions, finite values). Errors carry the provider's message and HTTP status, secrets redacted.
std::vector<std::vector<float>> embed_texts(const EmbeddingSettings& s, const std::vector<std::string>& texts,
                                            http::Client& client, const http::InterruptCheck& interrupted);

// Extracts a provider's error message from an error body (OpenAI, Ollama, Gemini and Anthropic shapes).
std::string provider_error_message(const std::string& body);

// Removes the API key (any non-empty string, whatever its shape), and anything shaped like a key,
// from text that may reach a user or a log.
std::string redact_secrets(const std::string& text, const std::string& api_key);

// The error for a provider call that failed for good: "pg_rag: openai embeddings failed (401): ...".
[[noreturn]] void throw_provider_failure(const std::string& provider, const std::string& what,
                                         const http::Response& response, const std::string& api_key, long timeout_ms);

}  // namespace pgrag
