// Where provider requests may go: schemes, dot segments, key binding, allowed hosts, redirects,
// redaction of any configured key, and process-wide initialisation from several threads.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/embedding_providers.hpp"
#include "core/error.hpp"
#include "core/http_client.hpp"
#include "fake_provider.hpp"

using pgrag::ErrorCode;
namespace http = pgrag::http;

namespace {

fake_provider::Server& fake() {
    static fake_provider::Server server(0);
    return server;
}

std::string base() { return "http://127.0.0.1:" + std::to_string(fake().port()); }

int count(const std::string& key) {
    http::Client client;
    auto r = client.send_all({{base() + "/count/" + key, {}, "", nullptr}}, {}, nullptr);
    return std::stoi(r.at(0).body);
}

// The error code parse_url throws for url, or nullopt-like InternalError when it accepts it.
ErrorCode refusal(const std::string& url) {
    try {
        http::parse_url(url);
    } catch (const pgrag::Error& e) {
        return e.code();
    }
    return ErrorCode::InternalError;
}

}  // namespace

TEST(ProviderUrls, OnlyHttpAndHttps) {
    EXPECT_EQ(refusal("gopher://127.0.0.1:6379/_SET%20x%201"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("dict://127.0.0.1:11211/stat"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("file:///etc/passwd"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("ftp://example.com/x"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("127.0.0.1:8080/v1"), ErrorCode::InvalidParameterValue);  // no scheme
    EXPECT_EQ(refusal("http://h/v1 x"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("HTTPS://API.openai.com/v1"), ErrorCode::InternalError);
    http::UrlParts p = http::parse_url("HTTPS://API.openai.com/v1");
    EXPECT_EQ(p.scheme, "https");
    EXPECT_EQ(p.host, "api.openai.com");
    EXPECT_EQ(p.port, 443);
    EXPECT_EQ(p.path, "/v1");
}

TEST(ProviderUrls, DotSegmentsAreRefusedEvenEncoded) {
    EXPECT_EQ(refusal("http://h/v1/../admin"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("http://h/v1/%2e%2E/admin"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("http://h/v1/.%2e"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("http://h/./v1"), ErrorCode::InvalidParameterValue);
    EXPECT_EQ(refusal("http://h/v1/..x/a.b"), ErrorCode::InternalError);  // only whole segments
}

TEST(ProviderUrls, BaseUrlsHaveNoUserInfoQueryOrFragment) {
    EXPECT_THROW(http::parse_base_url("http://api.openai.com@evil.example/v1"), pgrag::Error);
    EXPECT_THROW(http::parse_base_url("http://h/v1?x=1"), pgrag::Error);
    EXPECT_THROW(http::parse_base_url("http://h/v1#f"), pgrag::Error);
    EXPECT_NO_THROW(http::parse_base_url("http://h:8080/v1/"));
}

TEST(KeyBinding, PathPrefixAtASlashBoundaryOnTheSameOrigin) {
    const std::string bound = "https://api.openai.com/v1";
    EXPECT_TRUE(http::url_within("https://api.openai.com/v1", bound));
    EXPECT_TRUE(http::url_within("https://API.OpenAI.com:443/v1/embeddings", bound));
    EXPECT_TRUE(http::url_within("https://api.openai.com/v1/", bound + "/"));
    EXPECT_FALSE(http::url_within("https://api.openai.com/v10", bound));
    EXPECT_FALSE(http::url_within("https://api.openai.com/", bound));
    EXPECT_FALSE(http::url_within("http://api.openai.com/v1", bound));        // scheme
    EXPECT_FALSE(http::url_within("https://api.openai.com:8443/v1", bound));  // port
    EXPECT_FALSE(http::url_within("https://api.openai.com.evil.example/v1", bound));
    EXPECT_FALSE(http::url_within("http://localhost:55480/v1", "http://127.0.0.1:55480"));
    EXPECT_TRUE(http::url_within("http://127.0.0.1:55480/fault/401/v1", "http://127.0.0.1:55480"));
    EXPECT_THROW(http::url_within("https://api.openai.com/v1/../x", bound), pgrag::Error);
}

TEST(AllowedHosts, HostOrHostAndPort) {
    std::vector<std::string> allowed = {"api.openai.com", "127.0.0.1:11434", "[::1]"};
    EXPECT_NO_THROW(http::check_allowed_host("https://API.openai.com/v1", allowed));
    EXPECT_NO_THROW(http::check_allowed_host("http://127.0.0.1:11434/api/embed", allowed));
    EXPECT_NO_THROW(http::check_allowed_host("http://[::1]:8080/v1", allowed));
    EXPECT_NO_THROW(http::check_allowed_host("http://anything.example/v1", {}));
    try {
        http::check_allowed_host("http://127.0.0.1:6379/", allowed);
        ADD_FAILURE() << "allowed";
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InsufficientPrivilege);
        EXPECT_STREQ(e.what(), "pg_rag: provider host \"127.0.0.1:6379\" is not allowed");
    }
    EXPECT_THROW(http::check_allowed_host("http://evil.example/v1", allowed), pgrag::Error);
}

TEST(Client, RefusesOtherSchemesBeforeSendingAnything) {
    int before = count("openai");
    http::Client client;
    // gopher:// would write these raw bytes to the port (here the fake, elsewhere Redis or SMTP).
    std::string gopher =
        "gopher://127.0.0.1:" + std::to_string(fake().port()) + "/_POST%20/v1/embeddings%20HTTP/1.0%0D%0A%0D%0A";
    try {
        client.send_all({{gopher, {}, "", nullptr}}, {}, nullptr);
        ADD_FAILURE() << "gopher request was attempted";
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidParameterValue);
    }
    EXPECT_THROW(client.send_all({{"file:///etc/passwd", {}, "", nullptr}}, {}, nullptr), pgrag::Error);
    EXPECT_EQ(client.stats().requests, 0u);
    EXPECT_EQ(count("openai"), before);
}

TEST(Client, AllowedHostsAreEnforcedForEveryRequest) {
    http::Options options;
    options.allowed_hosts = {"api.openai.com"};
    http::Client client;
    auto ok = http::json_post(base() + "/v1/embeddings", "{}", {});
    try {
        client.send_all({ok}, options, nullptr);
        ADD_FAILURE() << "request to a host not allowed";
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InsufficientPrivilege);
    }
    EXPECT_EQ(client.stats().requests, 0u);
    options.allowed_hosts = {"127.0.0.1:" + std::to_string(fake().port())};
    EXPECT_EQ(client.send_all({ok}, options, nullptr).at(0).status, 401);  // allowed: it reached the fake
}

TEST(Client, NeverFollowsARedirectWithTheKey) {
    http::Client client;
    int before = count("redirected");
    auto r = client.send_all(
        {http::json_post(base() + "/fault/redirect/v1/embeddings", "{}", {"Authorization: Bearer sk-x"})}, {}, nullptr);
    EXPECT_EQ(r.at(0).status, 307);
    EXPECT_EQ(count("redirected"), before);
}

TEST(Redaction, TheConfiguredKeyWhateverItsShape) {
    EXPECT_EQ(pgrag::redact_secrets("key xyz is not valid", "xyz"), "key [redacted] is not valid");
    EXPECT_EQ(pgrag::redact_secrets("k=1;k=1", "k=1"), "[redacted];[redacted]");
    pgrag::EmbeddingSettings s;
    s.provider = "openai";
    s.base_url = base() + "/fault/echoauth/v1";
    s.api_key = "q7";  // short and nothing like a key: only the configured value can tell it apart
    s.http.max_retries = 0;
    http::Client client;
    try {
        pgrag::embed_texts(s, {"x"}, client, nullptr);
        ADD_FAILURE() << "no error";
    } catch (const pgrag::Error& e) {
        EXPECT_EQ(std::string(e.what()), "pg_rag: openai embeddings failed (401): key [redacted] is not valid here");
    }
}

// curl_global_init runs once even when the first clients are made on several threads at once (run
// under TSan/helgrind to see a race; without call_once two threads could both initialise libcurl).
TEST(Client, ConstructedConcurrentlyFromManyThreads) {
    std::vector<std::thread> threads;
    std::vector<long> status(8, 0);
    for (size_t i = 0; i < status.size(); ++i)
        threads.emplace_back([&, i] {
            http::Client client;
            status[i] = client.send_all({{base() + "/count/x", {}, "", nullptr}}, {}, nullptr).at(0).status;
        });
    for (auto& t : threads) t.join();
    for (long s : status) EXPECT_EQ(s, 200);
}
