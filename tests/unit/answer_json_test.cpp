// The answer contract as JSON (core/answer_json.*): prompt, sources, messages, generated answer,
// rag_answer's result and the cache key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/answer_json.hpp"
#include "core/error.hpp"

using nlohmann::json;

namespace {

pgrag::ErrorCode code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const pgrag::Error& e) {
        return e.code();
    }
    return pgrag::ErrorCode::InternalError;  // did not throw
}

}  // namespace

TEST(AnswerJson, PromptRoundTrips) {
    pgrag::Prompt p = pgrag::build_prompt("Q?", {{"user", "earlier"}, {"assistant", "reply"}},
                                          {{0, 7, 70, "Title", "kb/x", "Body text.", "H", 0.25}}, "", 3000);
    json j = pgrag::prompt_to_json(p);
    EXPECT_EQ(j["sources"][0], json({{"n", 1},
                                     {"document_id", 7},
                                     {"chunk_id", 70},
                                     {"title", "Title"},
                                     {"source", "kb/x"},
                                     {"content", "Body text."},
                                     {"heading", "H"},
                                     {"score", 0.25}}));
    pgrag::Prompt back = pgrag::prompt_from_json(json::parse(j.dump()));
    EXPECT_EQ(pgrag::prompt_to_json(back), j);
}

TEST(AnswerJson, SourcesReadSearchRowsByName) {
    // rag_answer passes rag_search rows as JSON: extra columns and NULL titles are fine.
    auto s = pgrag::sources_from_json(json::parse(
        R"([{"chunk_id":3,"document_id":1,"title":null,"source":null,"content":"c","heading":null,"score":0.5,
             "vector_rank":1,"keyword_rank":null,"metadata":{"a":1}}])"));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].chunk_id, 3);
    EXPECT_EQ(s[0].title, "");
    EXPECT_EQ(s[0].content, "c");
    EXPECT_EQ(s[0].score, 0.5);
    EXPECT_TRUE(pgrag::sources_from_json(json()).empty());
}

TEST(AnswerJson, BadShapesAreInvalidParameterValues) {
    using pgrag::ErrorCode;
    EXPECT_EQ(code_of([] { pgrag::messages_from_json(json::object()); }), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::messages_from_json(json::parse(R"([1])")); }), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::messages_from_json(json::parse(R"([{"role":"system","content":"x"}])")); }),
              ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::messages_from_json(json::parse(R"([{"role":"user","content":5}])")); }),
              ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::sources_from_json(json::parse(R"([{"n":"one"}])")); }),
              ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::sources_from_json(json::parse(R"("x")")); }), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::prompt_from_json(json::parse(R"({"messages":[]})")); }),
              ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::prompt_from_json(json::parse(R"([])")); }), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::generated_from_json(json::parse(R"({"fallbacks":[1]})")); }),
              ErrorCode::InvalidParameterValue);
}

TEST(AnswerJson, GeneratedRoundTripsWithFallbacksOnlyWhenAny) {
    pgrag::Generated g;
    g.answer = {"Five days [1].", "openai", "gpt", 12, 4};
    json j = pgrag::generated_to_json(g);
    EXPECT_EQ(j, json::parse(R"({"answer":"Five days [1].","provider":"openai","model":"gpt",
                                 "usage":{"prompt_tokens":12,"completion_tokens":4}})"));
    g.fallbacks = {"anthropic: overloaded"};
    j = pgrag::generated_to_json(g);
    EXPECT_EQ(j["fallbacks"], json::array({"anthropic: overloaded"}));
    EXPECT_EQ(pgrag::generated_to_json(pgrag::generated_from_json(j)), j);
}

TEST(AnswerJson, ResultHasTheDocumentedShape) {
    pgrag::Prompt p;
    p.messages = {{"user", "q"}};
    std::string long_text;
    for (int i = 0; i < 300; ++i) long_text += "é";  // 2 bytes each: the snippet counts characters
    p.sources = {{1, 7, 70, "T", "kb/x", long_text, "H", 0.5}};
    pgrag::Generated g;
    g.answer = {"A [1]", "extractive", "pg_rag-extractive-v1", 3, 2};
    json r = pgrag::answer_result(p, g, "");
    std::vector<std::string> keys;
    for (auto& [k, v] : r.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"answer", "cached", "model", "provider", "sources", "usage"}));
    EXPECT_EQ(r["cached"], false);
    json src = r["sources"][0];
    EXPECT_EQ(src.size(), 8u);  // n, document_id, chunk_id, title, source, heading, score, snippet
    EXPECT_EQ(src["heading"], "H");
    EXPECT_EQ(src["snippet"].get<std::string>().size(), 480u);
    EXPECT_FALSE(src.contains("content"));
    g.fallbacks = {"openai: down"};
    r = pgrag::answer_result(p, g, "standalone?");
    EXPECT_EQ(r["standalone_question"], "standalone?");
    EXPECT_EQ(r["fallbacks"], json::array({"openai: down"}));
}

TEST(AnswerJson, Utf8PrefixNeverSplitsACharacter) {
    EXPECT_EQ(pgrag::utf8_prefix("abc", 2), "ab");
    EXPECT_EQ(pgrag::utf8_prefix("abc", 5), "abc");
    EXPECT_EQ(pgrag::utf8_prefix("a\xC3\xA9z", 2), "a\xC3\xA9");
    EXPECT_EQ(pgrag::utf8_prefix("\xF0\x9F\x98\x80x", 1), "\xF0\x9F\x98\x80");
    EXPECT_EQ(pgrag::utf8_prefix("", 3), "");
}

TEST(AnswerJson, QuestionsNormaliseAsTheCacheComparesThem) {
    EXPECT_EQ(pgrag::normalise_question("  How long does SHIPPING take?! "), "how long does shipping take");
    EXPECT_EQ(pgrag::normalise_question("a,b\t\n c"), "a b c");
    EXPECT_EQ(pgrag::normalise_question("¿Qué?"), "¿qué");  // other characters are kept as they are
    EXPECT_EQ(pgrag::normalise_question("?!"), "");
}

TEST(AnswerJson, CacheKeyChangesWithEveryInput) {
    std::map<std::string, std::string> settings = {{"pg_rag.llm_providers", "extractive"}};
    auto key = [&](const std::string& q, int k, const std::string& mode, const json& filter) {
        return pgrag::answer_cache_key_text(q, k, mode, filter, settings);
    };
    std::string base = key("How long?", 5, "hybrid", json());
    EXPECT_EQ(base, key("how LONG", 5, "hybrid", json()));
    EXPECT_NE(base, key("How long?", 6, "hybrid", json()));
    EXPECT_NE(base, key("How long?", 5, "keyword", json()));
    EXPECT_NE(base, key("How long?", 5, "hybrid", json::object({{"lang", "en"}})));
    settings["pg_rag.rrf_k"] = "61";
    EXPECT_NE(base, key("How long?", 5, "hybrid", json()));
}

TEST(AnswerJson, ChatSettingsRoundTripAndBadShapes) {
    pgrag::ChatSettings c;
    c.provider = "openai";
    c.model = "gpt-x";
    c.base_url = "http://127.0.0.1:1/v1";
    c.api_key = "sk-k";
    c.max_tokens = 77;
    c.temperature = 0.25;
    c.http.timeout_ms = 1234;
    c.http.connect_timeout_ms = 99;
    c.http.max_retries = 2;
    c.http.allowed_hosts = {"127.0.0.1:1"};
    auto back = pgrag::chat_settings_from_json(pgrag::chat_settings_to_json({c}));
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].provider, "openai");
    EXPECT_EQ(back[0].model, "gpt-x");
    EXPECT_EQ(back[0].base_url, c.base_url);
    EXPECT_EQ(back[0].api_key, "sk-k");
    EXPECT_EQ(back[0].max_tokens, 77);
    EXPECT_DOUBLE_EQ(back[0].temperature, 0.25);
    EXPECT_EQ(back[0].http.timeout_ms, 1234);
    EXPECT_EQ(back[0].http.connect_timeout_ms, 99);
    EXPECT_EQ(back[0].http.max_retries, 2);
    EXPECT_EQ(back[0].http.allowed_hosts, c.http.allowed_hosts);
    using pgrag::ErrorCode;
    EXPECT_EQ(code_of([] { pgrag::chat_settings_from_json(json::object()); }), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of([] { pgrag::chat_settings_from_json(json::parse(R"([{"provider":"mistral"}])")); }),
              ErrorCode::InvalidParameterValue);
    EXPECT_EQ(
        code_of([] { pgrag::chat_settings_from_json(json::parse(R"([{"provider":"openai","max_tokens":"5"}])")); }),
        ErrorCode::InvalidParameterValue);
    EXPECT_EQ(
        code_of([] { pgrag::chat_settings_from_json(json::parse(R"([{"provider":"openai","allowed_hosts":[1]}])")); }),
        ErrorCode::InvalidParameterValue);
}
