// Reading the OpenAI-compatible requests: /v1/chat/completions and /v1/embeddings bodies, and the
// model they name. Wrong types and values are 400s naming the field; an unknown model is OpenAI's 404.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chat.hpp"

namespace pgrag::server {

// The model ids /v1/models lists (the RAG pipeline of the database the server is connected to).
const std::vector<std::string>& openai_model_ids();

// The body's "model": absent or null is the first id; a listed id is itself; another string is a 404
// with code model_not_found, as OpenAI answers; another type is a 400.
std::string checked_model(const nlohmann::json& body);

struct CompletionRequest {
    ChatRequest chat;  // question, history (the earlier messages), k, mode, filter, max_tokens, temperature
    std::string model;
    bool stream = false;
    bool include_usage = false;   // stream_options.include_usage
    bool append_sources = false;  // pg_rag.append_sources, else the server's --append-sources
};

// Other OpenAI fields (top_p, user, tools, ...) are ignored, as front ends send many of them.
CompletionRequest read_completion_request(const nlohmann::json& body, bool append_sources_default);

struct EmbeddingsRequest {
    std::vector<std::string> inputs;
    std::string model;
    std::optional<size_t> dimensions;  // shorten to this many (checked against the model's own later)
    bool base64 = false;               // encoding_format "base64" (else "float")
};

EmbeddingsRequest read_embeddings_request(const nlohmann::json& body);

// OpenAI's limit on the texts of one embeddings request.
constexpr size_t kMaxEmbeddingInputs = 2048;

}  // namespace pgrag::server
