// Provider codecs, batching, redaction, and the HTTP client against the fake provider.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/embedding_providers.hpp"
#include "core/error.hpp"
#include "core/local_embedder.hpp"
#include "fake_provider.hpp"

using nlohmann::json;
using pgrag::EmbeddingSettings;
using pgrag::ErrorCode;

namespace {

fake_provider::Server& fake() {
    static fake_provider::Server server(0);
    return server;
}

std::string base() { return "http://127.0.0.1:" + std::to_string(fake().port()); }

EmbeddingSettings openai(const std::string& prefix = "") {
    EmbeddingSettings s;
    s.provider = "openai";
    s.base_url = base() + prefix + "/v1";
    s.api_key = fake_provider::kOpenAiKey;
    s.http.timeout_ms = 2000;
    s.http.base_retry_delay_ms = 10;
    return s;
}

int count(const std::string& key) {
    // Reads the fake's counter through the same client code (a GET without body).
    pgrag::http::Client client;
    auto r = client.send_all({{base() + "/count/" + key, {}, "", nullptr}}, {}, nullptr);
    return std::stoi(r.at(0).body);
}

std::vector<std::string> texts(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back("text number " + std::to_string(i));
    return out;
}

struct Failure {
    ErrorCode code;
    std::string message;
};

Failure embed_failure(const EmbeddingSettings& s, const std::vector<std::string>& input) {
    pgrag::http::Client client;
    try {
        pgrag::embed_texts(s, input, client, nullptr);
    } catch (const pgrag::Error& e) {
        return {e.code(), e.what()};
    }
    ADD_FAILURE() << "no error";
    return {ErrorCode::InternalError, ""};
}

}  // namespace

TEST(Codecs, OpenAiRequestMatchesTheDocumentedShape) {
    EmbeddingSettings s = openai();
    s.dimensions = 256;
    auto r = pgrag::embedding_codec("openai").build(s, "text-embedding-3-small", {"a", "b", "c"}, 1, 3);
    EXPECT_EQ(r.url, base() + "/v1/embeddings");
    json body = json::parse(r.body);
    EXPECT_EQ(body["model"], "text-embedding-3-small");
    EXPECT_EQ(body["input"], json::array({"b", "c"}));
    EXPECT_EQ(body["dimensions"], 256);
    EXPECT_NE(std::find(r.headers.begin(), r.headers.end(),
                        std::string("Authorization: Bearer ") + fake_provider::kOpenAiKey),
              r.headers.end());
}

TEST(Codecs, OpenAiResponseIsOrderedByIndex) {
    auto out = pgrag::embedding_codec("openai").parse(
        R"({"data":[{"index":1,"embedding":[2,2]},{"index":0,"embedding":[1,1]}]})");
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], (std::vector<float>{1, 1}));
    EXPECT_THROW(
        pgrag::embedding_codec("openai").parse(R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]})"),
        pgrag::Error);
    EXPECT_THROW(pgrag::embedding_codec("openai").parse("{not json"), pgrag::Error);
}

TEST(Codecs, OllamaAndGeminiShapes) {
    EmbeddingSettings s;
    s.provider = "gemini";
    s.api_key = "k";
    auto g = pgrag::embedding_codec("gemini").build(s, "text-embedding-004", {"hi"}, 0, 1);
    EXPECT_EQ(g.url, "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents");
    json gb = json::parse(g.body);
    EXPECT_EQ(gb["requests"][0]["model"], "models/text-embedding-004");
    EXPECT_EQ(gb["requests"][0]["content"]["parts"][0]["text"], "hi");
    EXPECT_EQ(pgrag::embedding_codec("gemini").parse(R"({"embeddings":[{"values":[1,2]}]})")[0],
              (std::vector<float>{1, 2}));
    s.provider = "ollama";
    auto o = pgrag::embedding_codec("ollama").build(s, "nomic-embed-text", {"hi"}, 0, 1);
    EXPECT_EQ(o.url, "http://127.0.0.1:11434/api/embed");
    EXPECT_EQ(json::parse(o.body)["input"], json::array({"hi"}));
    EXPECT_EQ(pgrag::embedding_codec("ollama").parse(R"({"embeddings":[[3]]})")[0], (std::vector<float>{3}));
    EXPECT_THROW(pgrag::embedding_codec("nope"), pgrag::Error);
}

TEST(Batching, RespectsCountAndSizeLimits) {
    std::vector<std::string> t = {"aaaa", "bb", "cccccc", "d", "e"};
    EXPECT_EQ(pgrag::plan_batches(t, 2, 100), (std::vector<size_t>{0, 2, 4, 5}));
    EXPECT_EQ(pgrag::plan_batches(t, 10, 7), (std::vector<size_t>{0, 2, 4, 5}));  // 6+1 fits 7 bytes
    EXPECT_EQ(pgrag::plan_batches({}, 10, 7), (std::vector<size_t>{0}));
}

TEST(Redaction, KeysNeverSurvive) {
    std::string key = "sk-live-SECRETSECRET";
    std::string msg =
        pgrag::redact_secrets("Incorrect API key provided: sk-live-SECRETSECRET. Also sk-proj-ab***yz", key);
    EXPECT_EQ(msg.find("SECRET"), std::string::npos);
    EXPECT_EQ(msg.find("sk-proj"), std::string::npos);
    EXPECT_NE(msg.find("[redacted]"), std::string::npos);
    EXPECT_EQ(pgrag::provider_error_message(R"({"error":{"message":"Bad thing"}})"), "Bad thing");
    EXPECT_EQ(pgrag::provider_error_message(R"({"error":"model not found"})"), "model not found");
}

TEST(ProvidersAgainstFake, EveryProviderRoundTripsInInputOrder) {
    pgrag::http::Client client;
    auto input = texts(5);
    auto o = pgrag::embed_texts(openai(), input, client, nullptr);
    ASSERT_EQ(o.size(), 5u);
    EXPECT_EQ(o[3], pgrag::local_embed(input[3], 8));  // the fake embeds with the local embedder
    EmbeddingSettings ol;
    ol.provider = "ollama";
    ol.base_url = base();
    EXPECT_EQ(pgrag::embed_texts(ol, input, client, nullptr)[4], pgrag::local_embed(input[4], 8));
    EmbeddingSettings g;
    g.provider = "gemini";
    g.base_url = base();
    g.api_key = fake_provider::kGeminiKey;
    g.dimensions = 12;
    EXPECT_EQ(pgrag::embed_texts(g, input, client, nullptr)[0], pgrag::local_embed(input[0], 12));
}

TEST(ProvidersAgainstFake, LargeBatchesAreSplitAndSentConcurrently) {
    EmbeddingSettings s = openai("/tag/split/latency/200");
    s.batch_size = 10;
    s.http.max_concurrency = 4;
    pgrag::http::Client client;
    auto out = pgrag::embed_texts(s, texts(80), client, nullptr);
    EXPECT_EQ(out.size(), 80u);
    EXPECT_EQ(out[79], pgrag::local_embed("text number 79", 8));
    EXPECT_EQ(count("split"), 8);              // 80 texts / 10 per request
    EXPECT_EQ(count("maxinflight-split"), 4);  // in flight together, never more than the limit
}

TEST(ProvidersAgainstFake, Retries429HonouringRetryAfter) {
    auto start = std::chrono::steady_clock::now();
    pgrag::http::Client client;
    auto out = pgrag::embed_texts(openai("/fault/429once-r1"), texts(2), client, nullptr);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(out.size(), 2u);
    EXPECT_EQ(count("429once-r1"), 2);
    EXPECT_GE(ms, 900);  // Retry-After: 1 was honoured, not the 10 ms backoff
    EXPECT_EQ(client.stats().retries, 1u);
}

TEST(ProvidersAgainstFake, Retries500ThenSucceeds) {
    pgrag::http::Client client;
    auto out = pgrag::embed_texts(openai("/fault/500once-r2"), texts(3), client, nullptr);
    EXPECT_EQ(out.size(), 3u);
    EXPECT_EQ(count("500once-r2"), 2);
}

TEST(ProvidersAgainstFake, GivesUpAfterMaxRetries) {
    EmbeddingSettings s = openai("/fault/500always");
    s.http.max_retries = 2;
    int before = count("500always");
    Failure f = embed_failure(s, texts(1));
    EXPECT_EQ(f.code, ErrorCode::ExternalRoutineException);
    EXPECT_EQ(f.message,
              "pg_rag: openai embeddings failed (500): The server had an error while processing your request.");
    EXPECT_EQ(count("500always") - before, 3);
}

TEST(ProvidersAgainstFake, NoRetryOn401AndTheKeyIsRedacted) {
    EmbeddingSettings s = openai();
    s.api_key = "sk-wrong-key-1234567890";
    int before = count("openai");
    Failure f = embed_failure(s, texts(1));
    EXPECT_EQ(f.code, ErrorCode::ExternalRoutineException);
    EXPECT_EQ(f.message.rfind("pg_rag: openai embeddings failed (401): Incorrect API key provided: [redacted]", 0), 0u)
        << f.message;
    EXPECT_EQ(f.message.find("wrong-key"), std::string::npos);
    EXPECT_EQ(count("openai") - before, 1);
}

TEST(ProvidersAgainstFake, HangEndsAtTheTimeoutWithoutRetry) {
    EmbeddingSettings s = openai("/fault/hang");
    s.http.timeout_ms = 300;
    int before = count("hang");
    auto start = std::chrono::steady_clock::now();
    Failure f = embed_failure(s, texts(1));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(f.code, ErrorCode::ConnectionFailure);
    EXPECT_EQ(f.message, "pg_rag: openai embeddings failed: no response within 300 ms");
    EXPECT_LT(ms, 5000);  // ends at the timeout, not after the fake's 20 s hang
    EXPECT_EQ(count("hang") - before, 1);
}

TEST(ProvidersAgainstFake, InterruptEndsAWaitPromptly) {
    EmbeddingSettings s = openai("/fault/hang");
    s.http.timeout_ms = 20000;
    auto start = std::chrono::steady_clock::now();
    pgrag::http::Client client;
    auto interrupted = [&] { return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(200); };
    try {
        pgrag::embed_texts(s, texts(1), client, interrupted);
        FAIL();
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::QueryCanceled);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(ms, 2000);  // the wait is polled every 100 ms, not left to the 20 s timeout
}

TEST(ProvidersAgainstFake, MalformedWrongCountWrongDimsAreErrors) {
    Failure f = embed_failure(openai("/fault/malformed"), texts(2));
    EXPECT_EQ(f.code, ErrorCode::InvalidResponse);
    EXPECT_EQ(f.message, "pg_rag: openai embeddings returned an invalid response: response is not valid JSON");
    f = embed_failure(openai("/fault/wrongcount"), texts(3));
    EXPECT_EQ(f.message,
              "pg_rag: openai embeddings returned 2 embeddings for 3 inputs (openai model text-embedding-3-small)");
    f = embed_failure(openai("/fault/wrongdims"), texts(3));
    EXPECT_EQ(f.message,
              "pg_rag: openai embeddings returned 7 dimensions, expected 8 (openai model text-embedding-3-small)");
    EmbeddingSettings s = openai();
    s.dimensions = 4;
    s.base_url = base() + "/dims/5/v1";  // the fake ignores nothing: it honours "dimensions", so ask another way
    pgrag::http::Client client;
    EXPECT_EQ(pgrag::embed_texts(s, texts(1), client, nullptr)[0].size(), 4u);
}

TEST(ProvidersAgainstFake, ConnectionRefusedIsRetriedThenReported) {
    EmbeddingSettings s = openai();
    s.base_url = "http://127.0.0.1:1/v1";
    s.http.max_retries = 1;
    Failure f = embed_failure(s, texts(1));
    EXPECT_EQ(f.code, ErrorCode::ConnectionFailure);
    EXPECT_NE(f.message.find("pg_rag: openai embeddings failed: "), std::string::npos);
    EXPECT_NE(f.message.find("onnect"), std::string::npos) << f.message;
}

TEST(ProvidersAgainstFake, MissingKeyIsAClearError) {
    EmbeddingSettings s = openai();
    s.api_key.clear();
    Failure f = embed_failure(s, texts(1));
    EXPECT_EQ(f.code, ErrorCode::InvalidParameterValue);
    EXPECT_EQ(f.message, "pg_rag: no API key configured for provider openai at " + base() + "/v1");
}

TEST(RetryDelay, RetryAfterWinsAndBackoffGrowsWithJitter) {
    pgrag::http::Options o;
    o.base_retry_delay_ms = 100;
    o.max_retry_delay_ms = 5000;
    EXPECT_EQ(pgrag::http::retry_delay_ms("2", "", 1, o, 0.5), 2000);
    EXPECT_EQ(pgrag::http::retry_delay_ms("", "250", 1, o, 0.5), 250);
    EXPECT_EQ(pgrag::http::retry_delay_ms("999", "", 1, o, 0.5), 5000);
    EXPECT_EQ(pgrag::http::retry_delay_ms("", "", 1, o, 1.0), 100);
    EXPECT_EQ(pgrag::http::retry_delay_ms("", "", 3, o, 1.0), 400);
    EXPECT_EQ(pgrag::http::retry_delay_ms("", "", 3, o, 0.0), 200);
}
