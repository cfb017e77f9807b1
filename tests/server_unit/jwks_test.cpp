// JWKS parsing, base64url, and the JWKS served over HTTP by a local server that rotates its keys.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "base64url.hpp"
#include "jwks.hpp"
#include "jwks_source.hpp"
#include "jwt.hpp"
#include "jwt_signature.hpp"
#include "jwt_test_support.hpp"

using namespace pgrag::server;
using namespace jwt_test;

namespace {

TEST(Base64url, RoundTripsEveryLength) {
    std::string bytes;
    for (int i = 0; i < 70; ++i) {
        auto back = base64url_decode(base64url_encode(bytes));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, bytes);
        bytes += static_cast<char>(i * 37 + 250);
    }
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");  // the two characters that differ from base64
}

TEST(Base64url, StrictDecoding) {
    EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
    EXPECT_EQ(base64url_decode(""), std::string());
    for (const char* bad : {"-_8=", "+/8", "ab cd", "a", "abcde", "ab\n", "YQ==", "-_9"})
        EXPECT_EQ(base64url_decode(bad), std::nullopt) << bad;
}

TEST(Jwks, KeepsRsaSignatureKeysAndSaysWhyOthersAreSkipped) {
    json ec = {{"kty", "EC"}, {"crv", "P-256"}, {"kid", "ec"}, {"x", "AA"}, {"y", "AA"}};
    json enc = key_b().jwk("enc");
    enc["use"] = "enc";
    json bad_n = key_b().jwk("bad");
    bad_n["n"] = "not base64url!";
    json dup = key_b().jwk("a");
    JwkSet set = parse_jwks(jwks({key_a().jwk("a"), ec, enc, bad_n, dup, key_b().jwk("b", "")}));
    ASSERT_EQ(set.keys.size(), 2u);
    EXPECT_EQ(set.keys[0].kid, "a");
    EXPECT_EQ(set.keys[0].alg, "RS256");
    EXPECT_EQ(set.keys[0].bits, 2048);
    EXPECT_EQ(set.keys[1].kid, "b");
    EXPECT_EQ(set.keys[1].alg, "");
    ASSERT_EQ(set.skipped.size(), 4u);
    EXPECT_NE(set.skipped[0].find("EC"), std::string::npos);
    EXPECT_NE(set.skipped[1].find("enc"), std::string::npos);
    EXPECT_NE(set.skipped[2].find("base64url"), std::string::npos);
    EXPECT_NE(set.skipped[3].find("duplicate kid"), std::string::npos);
}

TEST(Jwks, RefusesDocumentsWithoutUsableKeys) {
    for (const std::string& bad : {std::string("not json"), std::string("[]"), std::string("{}"),
                                   std::string("{\"keys\": {}}"), jwks({}), jwks({json("a string")})})
        EXPECT_THROW(parse_jwks(bad), std::invalid_argument) << bad;
    // Weak or bogus RSA keys.
    RsaKey weak = generate_rsa(1024);
    try {
        parse_jwks(jwks({weak.jwk("weak")}));
        FAIL() << "a 1024-bit key was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("1024 bits"), std::string::npos) << e.what();
    }
    json even = key_a().jwk("even");
    std::string n = key_a().n;
    n.back() = static_cast<char>(n.back() & ~1);
    even["n"] = base64url_encode(n);
    EXPECT_THROW(parse_jwks(jwks({even})), std::invalid_argument);
    json e_one = key_a().jwk("one");
    e_one["e"] = base64url_encode("\x01");
    EXPECT_THROW(parse_jwks(jwks({e_one})), std::invalid_argument);
}

TEST(Jwks, KeyFromNAndEVerifiesWhatThePrivateKeySigned) {
    auto pub = rsa_public_key(key_a().n, key_a().e);
    std::string sig = sign_rs256(key_a(), "message");
    EXPECT_TRUE(verify_rs256(pub.get(), "message", sig));
    EXPECT_FALSE(verify_rs256(pub.get(), "messagf", sig));
    auto other = rsa_public_key(key_b().n, key_b().e);
    EXPECT_FALSE(verify_rs256(other.get(), "message", sig));
}

TEST(JwksLocation, FileHttpsOrLoopbackHttpOnly) {
    for (const char* ok :
         {"/etc/pg_rag/jwks.json", "jwks.json", "https://id.example.com/.well-known/jwks.json",
          "http://127.0.0.1:8081/jwks", "http://localhost/jwks", "http://[::1]:9/jwks", "HTTPS://id.example.com/jwks"})
        EXPECT_NO_THROW(check_jwks_location(ok)) << ok;
    for (const char* bad :
         {"", "http://id.example.com/jwks", "http://10.0.0.1/jwks", "ftp://id.example.com/jwks", "file:///etc/passwd",
          "gopher://127.0.0.1/", "https://", "http://127.0.0.1.evil.example.com/jwks",
          "http://127.evil.example.com/jwks", "http://[::2]/jwks"})
        EXPECT_THROW(check_jwks_location(bad), std::invalid_argument) << bad;
}

TEST(JwksSource, ReadsAFileAnewOnEveryCall) {
    std::string path = testing::TempDir() + "pg_rag_jwks_test.json";
    std::ofstream(path) << jwks({key_a().jwk("a")});
    auto fetch = jwks_fetcher(path);
    EXPECT_EQ(parse_jwks(fetch()).keys.size(), 1u);
    std::ofstream(path) << jwks({key_a().jwk("a"), key_b().jwk("b")});
    EXPECT_EQ(parse_jwks(fetch()).keys.size(), 2u);
    std::remove(path.c_str());
    EXPECT_THROW(fetch(), std::runtime_error);
}

// An identity provider on 127.0.0.1 (a port the system picks) serving a JWKS that the test rotates.
class JwksServer {
  public:
    JwksServer() {
        http_.Get("/jwks", [this](const httplib::Request&, httplib::Response& res) {
            std::lock_guard<std::mutex> lock(mutex_);
            ++requests_;
            res.status = status_;
            res.set_content(body_, "application/json");
        });
        port_ = http_.bind_to_any_port("127.0.0.1");  // listening from here: requests queue until the loop runs
        thread_ = std::thread([this] { http_.listen_after_bind(); });
    }
    ~JwksServer() {
        http_.stop();
        thread_.join();
    }
    void serve(int status, std::string body) {
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = status;
        body_ = std::move(body);
    }
    int requests() {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks"; }

  private:
    httplib::Server http_;
    std::thread thread_;
    int port_ = 0;
    std::mutex mutex_;
    int status_ = 200;
    std::string body_;
    int requests_ = 0;
};

TEST(JwksSource, UrlWithKeyRotation) {
    JwksServer idp;
    idp.serve(200, jwks({key_a().jwk("a")}));
    int64_t now = 1700000000;
    JwtConfig c;
    c.fetch_jwks = jwks_fetcher(idp.url());
    c.now = [&] { return now; };
    JwtVerifier v(c);
    EXPECT_EQ(idp.requests(), 1);
    json claims = {{"sub", "alice"}, {"exp", now + 3600}};
    std::string why;
    EXPECT_TRUE(v.verify(rs256_token(key_a(), {{"kid", "a"}}, claims), why)) << why;
    // The provider starts signing with b before publishing it: refused after one refresh.
    std::string token_b = rs256_token(key_b(), {{"kid", "b"}}, claims);
    EXPECT_FALSE(v.verify(token_b, why));
    EXPECT_EQ(why, "unknown signing key (kid)");
    EXPECT_EQ(idp.requests(), 2);
    // Published (and a retired next to it); after the refresh interval b is fetched and accepted.
    idp.serve(200, jwks({key_b().jwk("b")}));
    now += 60;
    EXPECT_TRUE(v.verify(token_b, why)) << why;
    EXPECT_EQ(idp.requests(), 3);
    EXPECT_EQ(v.key_count(), 1u);
    // A provider answering 500 (each fetch tries twice) leaves the keys as they were.
    idp.serve(500, "{}");
    now += 60;
    EXPECT_FALSE(v.verify(rs256_token(key_a(), {{"kid", "c"}}, claims), why));
    EXPECT_EQ(idp.requests(), 5);
    EXPECT_TRUE(v.verify(token_b, why)) << why;
}

TEST(JwksSource, UnreachableOrBrokenJwksStopsTheStart) {
    JwksServer idp;
    idp.serve(404, "not here");
    JwtConfig c;
    c.fetch_jwks = jwks_fetcher(idp.url());
    try {
        JwtVerifier v(c);
        FAIL() << "started without keys";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
    }
    idp.serve(200, std::string(2 << 20, ' '));  // larger than 1 MB
    EXPECT_THROW(JwtVerifier{c}, std::runtime_error);
    idp.serve(200, "{\"keys\": []}");
    EXPECT_THROW(JwtVerifier{c}, std::runtime_error);
}

}  // namespace
