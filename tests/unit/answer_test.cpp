// Prompt building, chat codecs and streaming against the fake provider.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/answer.hpp"
#include "core/error.hpp"
#include "core/extractive.hpp"
#include "fake_provider.hpp"

using pgrag::ChatSettings;

namespace {

fake_provider::Server& fake() {
    static fake_provider::Server server(0);
    return server;
}

std::vector<pgrag::Source> kb() {
    pgrag::Source a, b;
    a.title = "Refund policy";
    a.content = "Refunds are processed within five business days. Digital goods cannot be refunded.";
    b.title = "Shipping";
    b.content = "Shipping to Europe takes seven to ten days.";
    return {a, b};
}

ChatSettings provider(const std::string& name) {
    ChatSettings s;
    s.provider = name;
    std::string base = "http://127.0.0.1:" + std::to_string(fake().port());
    s.base_url = name == "openai" ? base + "/v1" : base;
    s.api_key = name == "openai"      ? fake_provider::kOpenAiKey
                : name == "anthropic" ? fake_provider::kAnthropicKey
                                      : fake_provider::kGeminiKey;
    s.http.timeout_ms = 5000;
    return s;
}

}  // namespace

TEST(Answer, PromptNumbersSourcesWithinTheBudgetAndKeepsRecentHistory) {
    auto p = pgrag::build_prompt("How long?", {{"user", "old question"}, {"assistant", "old answer"}}, kb(), "", 3000);
    EXPECT_EQ(p.system, pgrag::kDefaultSystemPrompt);
    ASSERT_EQ(p.sources.size(), 2u);
    EXPECT_EQ(p.sources[1].n, 2);
    ASSERT_EQ(p.messages.size(), 3u);
    EXPECT_EQ(p.messages[0].content, "old question");
    EXPECT_NE(p.messages[2].content.find("[2] Shipping\nShipping to Europe"), std::string::npos);
    auto tight = pgrag::build_prompt("How long?", {{"user", "old question"}}, kb(), "", 10);
    EXPECT_EQ(tight.sources.size(), 1u);  // the best source always goes in
    EXPECT_EQ(tight.messages.size(), 1u);
}

TEST(Answer, EveryProviderAnswersAndStreamsTheSameText) {
    auto prompt = pgrag::build_prompt("How long do refunds take?", {}, kb(), "", 3000);
    pgrag::http::Client client;
    for (const char* name : {"openai", "ollama", "anthropic", "gemini"}) {
        ChatSettings s = provider(name);
        pgrag::Answer whole = pgrag::generate(s, prompt, client, nullptr);
        EXPECT_EQ(whole.text, std::string(name) + " says: Refunds are processed within five business days. [1]")
            << name;
        std::vector<std::string> pieces;
        pgrag::Answer streamed =
            pgrag::generate_stream(s, prompt, client, nullptr, [&](const std::string& p) { pieces.push_back(p); });
        EXPECT_GT(pieces.size(), 3u) << name << ": not streamed piece by piece";
        std::string joined;
        for (const auto& p : pieces) joined += p;
        EXPECT_EQ(joined, whole.text) << name;
        EXPECT_EQ(streamed.text, whole.text) << name;
        EXPECT_EQ(streamed.prompt_tokens, whole.prompt_tokens) << name;
        EXPECT_GT(streamed.completion_tokens, 0) << name;
    }
}

TEST(Answer, StreamingErrorsCarryTheProviderMessage) {
    auto prompt = pgrag::build_prompt("q", {}, kb(), "", 3000);
    pgrag::http::Client client;
    ChatSettings s = provider("anthropic");
    s.api_key = "sk-ant-wrong-key-0000";
    try {
        pgrag::generate_stream(s, prompt, client, nullptr, [](const std::string&) {});
        FAIL();
    } catch (const pgrag::Error& e) {
        EXPECT_STREQ(e.what(), "pg_rag: anthropic chat failed (401): invalid x-api-key");
    }
    // A consumer that gives up (the HTTP client disconnected) stops the stream cleanly.
    s = provider("openai");
    try {
        pgrag::generate_stream(s, prompt, client, nullptr,
                               [](const std::string&) { throw std::runtime_error("client gone"); });
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "client gone");
    }
    EXPECT_EQ(pgrag::generate(s, prompt, client, nullptr).provider, "openai");  // the client is still usable
}

TEST(Answer, AStreamThatFailsAfterTextIsAnErrorWithTheKeyRedacted) {
    auto prompt = pgrag::build_prompt("How long do refunds take?", {}, kb(), "", 3000);
    pgrag::http::Client client;
    for (const char* name : {"openai", "ollama"}) {
        ChatSettings s = provider(name);
        std::string base = "http://127.0.0.1:" + std::to_string(fake().port()) + "/fault/midstream";
        s.base_url = std::string(name) == "openai" ? base + "/v1" : base;
        std::vector<std::string> pieces;
        try {
            pgrag::generate_stream(s, prompt, client, nullptr, [&](const std::string& p) { pieces.push_back(p); });
            FAIL() << name << ": a stream cut by an error event passed for an answer";
        } catch (const pgrag::Error& e) {
            std::string message = e.what();
            EXPECT_EQ(e.code(), pgrag::ErrorCode::ExternalRoutineException) << name;
            EXPECT_NE(message.find(std::string(name) + " chat failed mid-stream"), std::string::npos) << message;
            EXPECT_EQ(message.find(fake_provider::kOpenAiKey), std::string::npos) << message;
        }
        EXPECT_EQ(pieces.size(), 2u) << name;
    }
}

TEST(Answer, FallbackTriesProvidersInOrder) {
    auto prompt = pgrag::build_prompt("How long do refunds take?", {}, kb(), "", 3000);
    pgrag::http::Client client;
    ChatSettings broken = provider("openai");
    broken.base_url = "http://127.0.0.1:" + std::to_string(fake().port()) + "/fault/500always/v1";
    broken.http.max_retries = 0;
    ChatSettings extractive;
    extractive.provider = "extractive";
    std::vector<std::string> failures;
    auto a = pgrag::generate_with_fallback({broken, extractive}, prompt, client, nullptr, &failures);
    EXPECT_EQ(a.provider, "extractive");
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0],
              "openai: pg_rag: openai chat failed (500): The server had an error while processing your request.");
    EXPECT_THROW(pgrag::generate_with_fallback({broken}, prompt, client, nullptr, nullptr), pgrag::Error);
}

TEST(Answer, ExtractiveStreamsSentenceBySentence) {
    EXPECT_EQ(pgrag::sentence_pieces("A b. [1] C d? [2][3] E."),
              (std::vector<std::string>{"A b. [1] ", "C d? [2][3] ", "E."}));
    EXPECT_EQ(pgrag::sentence_pieces(""), std::vector<std::string>{});
    EXPECT_EQ(pgrag::sentence_pieces("No end"), std::vector<std::string>{"No end"});
    // Two sentences from two sources arrive as two pieces whose concatenation is the answer.
    std::vector<pgrag::Source> sources(2);
    sources[0].content =
        "Refunds are processed within five business days. Digital goods cannot be refunded after download.";
    sources[1].content = "Shipping to Europe takes seven to ten days.";
    auto prompt =
        pgrag::build_prompt("How long do refunds take and can digital goods be refunded?", {}, sources, "", 3000);
    ChatSettings s;
    s.provider = "extractive";
    pgrag::http::Client client;
    std::vector<std::string> pieces;
    auto a = pgrag::generate_stream(s, prompt, client, nullptr, [&](const std::string& p) { pieces.push_back(p); });
    std::string joined;
    for (const auto& p : pieces) joined += p;
    EXPECT_EQ(joined, a.text);
    EXPECT_EQ(pieces, pgrag::sentence_pieces(a.text));
    ASSERT_EQ(pieces.size(), 2u) << a.text;
    // A consumer that is gone stops it before the next sentence.
    int calls = 0;
    EXPECT_THROW(pgrag::generate_stream(
                     s, prompt, client, [&] { return calls > 0; }, [&](const std::string&) { ++calls; }),
                 pgrag::Error);
    EXPECT_EQ(calls, 1);
}
