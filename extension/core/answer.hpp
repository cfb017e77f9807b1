// Grounded answers: the prompt (numbered sources within a token budget), the built-in extractive
// answerer, and chat providers (OpenAI-compatible, Ollama, Anthropic, Gemini) with ordered fallback.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "http_client.hpp"

namespace pgrag {

struct Source {
    int n = 0;  // the [n] the answer cites
    int64_t document_id = 0;
    int64_t chunk_id = 0;
    std::string title, source, content, heading;
    double score = 0;
};

struct ChatMessage {
    std::string role;  // "user" or "assistant"
    std::string content;
};

// The default system prompt (pg_rag.system_prompt overrides it).
extern const char* const kDefaultSystemPrompt;

struct Prompt {
    std::string system;
    std::vector<ChatMessage> messages;  // earlier turns, then the question with its sources
    std::vector<Source> sources;        // the sources that fit the budget, numbered from 1
};

// Packs as many sources (in rank order) and earlier turns (newest first) as fit in max_tokens
// (approximate tokens, chunker.hpp); the question and at least one source always go in.
Prompt build_prompt(const std::string& question, const std::vector<ChatMessage>& history,
                    const std::vector<Source>& sources, const std::string& system_prompt, int max_tokens);

struct Answer {
    std::string text;
    std::string provider;
    std::string model;
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
};

struct ChatSettings {
    std::string provider;  // openai | ollama | anthropic | gemini | extractive
    std::string model;     // empty: the provider's default
    std::string base_url;  // empty: the provider's default
    std::string api_key;
    int max_tokens = 512;
    double temperature = 0.0;
    http::Options http;
};

// The model a provider resolves to.
std::string resolved_chat_model(const ChatSettings& s);

// The base URL of a chat provider's requests (the provider's default when empty; "" for extractive).
std::string resolved_chat_url(const ChatSettings& s);

// True for openai, ollama, anthropic, gemini and extractive.
bool is_chat_provider(const std::string& provider);

// The HTTP request one provider expects for a prompt (exposed for tests and for the server).
http::Request chat_request(const ChatSettings& s, const Prompt& prompt);

// Parses a provider's 2xx response into an answer; throws Error(InvalidResponse) for garbage.
Answer parse_chat_response(const ChatSettings& s, const std::string& body);

// Generates with one provider (extractive needs no network); throws the provider's error.
Answer generate(const ChatSettings& s, const Prompt& prompt, http::Client& client,
                const http::InterruptCheck& interrupted);

// Tries each provider in order until one answers; `failures` collects "provider: message" of those that
// did not. Cancellation is never swallowed. Throws the last error when all fail.
Answer generate_with_fallback(const std::vector<ChatSettings>& providers, const Prompt& prompt, http::Client& client,
                              const http::InterruptCheck& interrupted, std::vector<std::string>* failures);

// Streams an answer: on_text receives each piece of text as the provider produces it (OpenAI and
// Gemini server-sent events, Anthropic's event stream, Ollama's JSON lines; extractive: one piece);
// returns the whole answer with its usage. Errors as generate().
Answer generate_stream(const ChatSettings& s, const Prompt& prompt, http::Client& client,
                       const http::InterruptCheck& interrupted, const std::function<void(const std::string&)>& on_text);

// The prompt asking a chat model to make a follow-up question standalone.
Prompt rewrite_prompt(const std::string& question, const std::vector<ChatMessage>& history);

// The question to retrieve with: without history the question itself; else asked of the LLM providers
// (when the first provider is not extractive), or — extractive, or every LLM failing — the question
// plus the previous question's content words. Only cancellation is thrown.
std::string standalone_question(const std::vector<ChatSettings>& providers, const std::string& question,
                                const std::vector<ChatMessage>& history, http::Client& client,
                                const http::InterruptCheck& interrupted);

}  // namespace pgrag
