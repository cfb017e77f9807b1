// The chat codec table: each provider's request shape, response parsing and stream decoding, offline.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/chat_providers.hpp"
#include "core/error.hpp"
#include "core/extractive.hpp"

using nlohmann::json;
using pgrag::Answer;
using pgrag::chat_codec;
using pgrag::ChatSettings;

namespace {

pgrag::Prompt prompt() {
    pgrag::Prompt p;
    p.system = "SYS";
    p.messages = {{"user", "earlier"},
                  {"assistant", "reply"},
                  {"user", "Sources:\n\n[1] T\nRefunds take five days.\n\nQuestion: How long do refunds take?"}};
    pgrag::Source s;
    s.n = 1;
    s.title = "T";
    s.content = "Refunds take five days.";
    p.sources = {s};
    return p;
}

ChatSettings settings(const std::string& provider) {
    ChatSettings s;
    s.provider = provider;
    s.api_key = "KEY-0123";
    s.max_tokens = 77;
    s.temperature = 0.5;
    return s;
}

json body_of(const pgrag::http::Request& r) { return json::parse(r.body); }

bool has_header(const pgrag::http::Request& r, const std::string& h) {
    for (const auto& x : r.headers)
        if (x == h) return true;
    return false;
}

// Feeds a stream in pieces of `step` bytes; returns the answer and the pieces emitted.
Answer decode(const std::string& provider, const std::string& stream, size_t step, std::vector<std::string>* pieces) {
    Answer a;
    pgrag::ChatStreamDecoder d(chat_codec(provider), a, [&](const std::string& p) { pieces->push_back(p); });
    for (size_t i = 0; i < stream.size(); i += step) d.feed(std::string_view(stream).substr(i, step));
    d.finish();
    return a;
}

}  // namespace

TEST(ChatCodecs, TableHoldsDefaultsAndKeyNames) {
    EXPECT_STREQ(chat_codec("openai").default_model, "gpt-4o-mini");
    EXPECT_STREQ(chat_codec("openai").key_env, "OPENAI_API_KEY");
    EXPECT_STREQ(chat_codec("anthropic").key_env, "ANTHROPIC_API_KEY");
    EXPECT_STREQ(chat_codec("gemini").key_env, "GEMINI_API_KEY");
    EXPECT_EQ(chat_codec("ollama").key_env, nullptr);
    EXPECT_STREQ(chat_codec("ollama").default_url, "http://127.0.0.1:11434");
    EXPECT_STREQ(chat_codec("extractive").default_model, pgrag::kExtractiveModel);
    EXPECT_NE(chat_codec("extractive").local, nullptr);
    EXPECT_EQ(chat_codec("extractive").request, nullptr);
    EXPECT_EQ(pgrag::chat_provider_names(),
              (std::vector<std::string>{"openai", "ollama", "anthropic", "gemini", "extractive"}));
    try {
        chat_codec("nope");
        FAIL();
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(e.code(), pgrag::ErrorCode::InvalidParameterValue);
    }
}

TEST(ChatCodecs, OpenAiRequestResponseAndStream) {
    const auto& c = chat_codec("openai");
    auto r = c.request(settings("openai"), "m1", prompt(), false);
    EXPECT_EQ(r.url, "https://api.openai.com/v1/chat/completions");
    EXPECT_TRUE(has_header(r, "Authorization: Bearer KEY-0123"));
    json b = body_of(r);
    EXPECT_EQ(b["model"], "m1");
    EXPECT_EQ(b["max_tokens"], 77);
    EXPECT_EQ(b["temperature"], 0.5);
    EXPECT_EQ(b["messages"].size(), 4u);
    EXPECT_EQ(b["messages"][0], json({{"role", "system"}, {"content", "SYS"}}));
    EXPECT_EQ(b["messages"][2]["role"], "assistant");
    EXPECT_FALSE(b.contains("stream"));
    json sb = body_of(c.request(settings("openai"), "m1", prompt(), true));
    EXPECT_EQ(sb["stream"], true);
    EXPECT_EQ(sb["stream_options"]["include_usage"], true);

    Answer a;
    c.parse(
        json::parse(
            R"({"choices":[{"message":{"content":"Five days [1]."}}],"usage":{"prompt_tokens":12,"completion_tokens":4}})"),
        a);
    EXPECT_EQ(a.text, "Five days [1].");
    EXPECT_EQ(a.prompt_tokens, 12);
    EXPECT_EQ(a.completion_tokens, 4);
    Answer none;
    c.parse(json::parse(R"({"choices":[]})"), none);
    EXPECT_EQ(none.text, "");

    std::vector<std::string> pieces;
    Answer s = decode("openai",
                      "data: {\"choices\":[{\"delta\":{\"content\":\"Five\"}}]}\r\n\r\n"
                      ": keep-alive\n\n"
                      "data: {\"choices\":[{\"delta\":{\"content\":\" days\"}}]}\n\n"
                      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
                      "data: [DONE]\n\n",
                      7, &pieces);
    EXPECT_EQ(pieces, (std::vector<std::string>{"Five", " days"}));
    EXPECT_EQ(s.text, "Five days");
    EXPECT_EQ(s.prompt_tokens, 9);
    EXPECT_EQ(s.completion_tokens, 2);
}

TEST(ChatCodecs, OllamaRequestResponseAndJsonLines) {
    const auto& c = chat_codec("ollama");
    auto r = c.request(settings("ollama"), "llama", prompt(), false);
    EXPECT_EQ(r.url, "http://127.0.0.1:11434/api/chat");
    json b = body_of(r);
    EXPECT_EQ(b["stream"], false);
    EXPECT_EQ(b["options"]["num_predict"], 77);
    EXPECT_EQ(b["messages"][0]["role"], "system");
    EXPECT_EQ(body_of(c.request(settings("ollama"), "llama", prompt(), true))["stream"], true);

    Answer a;
    c.parse(json::parse(R"({"message":{"content":"Five days."},"prompt_eval_count":11,"eval_count":3})"), a);
    EXPECT_EQ(a.text, "Five days.");
    EXPECT_EQ(a.prompt_tokens, 11);
    EXPECT_EQ(a.completion_tokens, 3);

    std::vector<std::string> pieces;
    Answer s = decode(
        "ollama",
        "{\"message\":{\"content\":\"Five\"},\"done\":false}\n"
        "{\"message\":{\"content\":\" days\"},\"done\":false}\n"
        "{\"message\":{\"content\":\"\"},\"done\":true,\"prompt_eval_count\":5,\"eval_count\":2}",  // no final newline
        5, &pieces);
    EXPECT_EQ(pieces, (std::vector<std::string>{"Five", " days"}));
    EXPECT_EQ(s.prompt_tokens, 5);
    EXPECT_EQ(s.completion_tokens, 2);
}

TEST(ChatCodecs, AnthropicRequestResponseAndEvents) {
    const auto& c = chat_codec("anthropic");
    auto r = c.request(settings("anthropic"), "claude", prompt(), false);
    EXPECT_EQ(r.url, "https://api.anthropic.com/v1/messages");
    EXPECT_TRUE(has_header(r, "x-api-key: KEY-0123"));
    EXPECT_TRUE(has_header(r, "anthropic-version: 2023-06-01"));
    json b = body_of(r);
    EXPECT_EQ(b["system"], "SYS");
    EXPECT_EQ(b["messages"].size(), 3u);  // the system prompt is not a turn
    EXPECT_EQ(b["max_tokens"], 77);
    EXPECT_EQ(body_of(c.request(settings("anthropic"), "claude", prompt(), true))["stream"], true);

    Answer a;
    c.parse(
        json::parse(
            R"({"content":[{"type":"text","text":"Five "},{"type":"tool_use"},{"type":"text","text":"days."}],"usage":{"input_tokens":8,"output_tokens":2}})"),
        a);
    EXPECT_EQ(a.text, "Five days.");
    EXPECT_EQ(a.prompt_tokens, 8);
    EXPECT_EQ(a.completion_tokens, 2);

    std::vector<std::string> pieces;
    Answer s = decode(
        "anthropic",
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":6}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Five\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\" days\"}}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\n\n",
        3, &pieces);
    EXPECT_EQ(pieces, (std::vector<std::string>{"Five", " days"}));
    EXPECT_EQ(s.prompt_tokens, 6);
    EXPECT_EQ(s.completion_tokens, 2);
    EXPECT_THROW(
        decode("anthropic", "data: {\"type\":\"error\",\"error\":{\"message\":\"overloaded\"}}\n", 100, &pieces),
        pgrag::Error);
}

TEST(ChatCodecs, GeminiRequestResponseAndEvents) {
    const auto& c = chat_codec("gemini");
    auto r = c.request(settings("gemini"), "gemini-x", prompt(), false);
    EXPECT_EQ(r.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-x:generateContent");
    EXPECT_TRUE(has_header(r, "x-goog-api-key: KEY-0123"));
    json b = body_of(r);
    EXPECT_EQ(b["systemInstruction"]["parts"][0]["text"], "SYS");
    EXPECT_EQ(b["contents"][1]["role"], "model");
    EXPECT_EQ(b["generationConfig"]["maxOutputTokens"], 77);
    EXPECT_EQ(c.request(settings("gemini"), "models/g", prompt(), true).url,
              "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse");

    Answer a;
    c.parse(
        json::parse(
            R"({"candidates":[{"content":{"parts":[{"text":"Five "},{"text":"days."}]}}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":2}})"),
        a);
    EXPECT_EQ(a.text, "Five days.");
    EXPECT_EQ(a.prompt_tokens, 10);
    EXPECT_EQ(a.completion_tokens, 2);

    std::vector<std::string> pieces;
    Answer s = decode("gemini",
                      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Five\"}]}}]}\n\n"
                      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" days\"}]}}],"
                      "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2}}\n\n",
                      11, &pieces);
    EXPECT_EQ(pieces, (std::vector<std::string>{"Five", " days"}));
    EXPECT_EQ(s.prompt_tokens, 4);
    EXPECT_EQ(s.completion_tokens, 2);
}

TEST(ChatCodecs, MalformedStreamEventsAndOddTypesAreHandled) {
    std::vector<std::string> pieces;
    EXPECT_THROW(decode("openai", "data: {not json\n", 100, &pieces), pgrag::Error);
    // Wrong types in a response are no answer, not a crash.
    Answer a;
    chat_codec("openai").parse(json::parse(R"({"choices":[{"message":{"content":5}}],"usage":{"prompt_tokens":"x"}})"),
                               a);
    EXPECT_EQ(a.text, "");
    EXPECT_EQ(a.prompt_tokens, 0);
    chat_codec("ollama").parse(json::parse(R"({"message":"x","prompt_eval_count":"many"})"), a);
    chat_codec("anthropic").parse(json::parse(R"({"content":[1,"x",{"type":"text","text":7}]})"), a);
    EXPECT_EQ(a.text, "");
}

TEST(ChatCodecs, ErrorEventsMidStreamAreTheProvidersFailure) {
    // OpenAI-compatible servers (vLLM, llama.cpp) send {"error": {...}}; Ollama sends {"error": "..."}.
    std::vector<std::string> pieces;
    try {
        decode("openai",
               "data: {\"choices\":[{\"delta\":{\"content\":\"Five\"}}]}\n\n"
               "data: {\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\"}}\n\n",
               9, &pieces);
        FAIL() << "the error event was ignored";
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(e.code(), pgrag::ErrorCode::ExternalRoutineException);
        EXPECT_STREQ(e.what(), "pg_rag: openai chat failed mid-stream: model crashed");
    }
    EXPECT_EQ(pieces, std::vector<std::string>{"Five"});
    pieces.clear();
    try {
        decode("ollama", "{\"message\":{\"content\":\"Five\"},\"done\":false}\n{\"error\":\"runner stopped\"}\n", 4,
               &pieces);
        FAIL() << "the error line was ignored";
    } catch (const pgrag::Error& e) {
        EXPECT_STREQ(e.what(), "pg_rag: ollama chat failed mid-stream: runner stopped");
    }
    EXPECT_EQ(pieces, std::vector<std::string>{"Five"});
    // A null error member is no error.
    EXPECT_NO_THROW(decode("openai", "data: {\"error\":null,\"choices\":[]}\n\n", 100, &pieces));
}

TEST(ChatCodecs, ExtractiveIsAnInProcessProvider) {
    Answer a = chat_codec("extractive").local(settings("extractive"), prompt());
    EXPECT_EQ(a.provider, "extractive");
    EXPECT_EQ(a.text, "Refunds take five days. [1]");
}
