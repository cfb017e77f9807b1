// Tokens made by the openssl command-line tool, an independent signer and encoder, against the verifier.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "jwt.hpp"
#include "jwt_test_support.hpp"

using namespace pgrag::server;
using namespace jwt_test;

namespace {

// Builds header.payload.signature with `openssl base64` and `openssl dgst` alone; SIGN is the dgst option.
std::string openssl_token(const json& header, const json& payload, const std::string& sign) {
    setenv("JWT_HEADER", header.dump().c_str(), 1);
    setenv("JWT_PAYLOAD", payload.dump().c_str(), 1);
    const std::string script =
        "set -e; b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }; "
        "h=$(printf '%s' \"$JWT_HEADER\" | b64url); p=$(printf '%s' \"$JWT_PAYLOAD\" | b64url); "
        "s=$(printf '%s.%s' \"$h\" \"$p\" | openssl dgst -sha256 -binary " +
        sign + " | b64url); printf '%s.%s.%s' \"$h\" \"$p\" \"$s\"";
    setenv("JWT_SCRIPT", script.c_str(), 1);
    int status = 0;
    std::string token = run("sh -c 'eval \"$JWT_SCRIPT\"'", status);
    EXPECT_EQ(status, 0) << "the openssl command failed (apt-get install openssl)";
    return token;
}

std::string write_temp(const std::string& name, const std::string& text) {
    std::string path = testing::TempDir() + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

TEST(JwtCrossCheck, Rs256TokenSignedByOpensslDgst) {
    std::string key = write_temp("pg_rag_jwt_key.pem", key_a().private_pem());
    setenv("JWT_KEY", key.c_str(), 1);
    JwtConfig c;
    std::string served = jwks({key_a().jwk("a")});
    c.fetch_jwks = [&] { return served; };
    JwtVerifier v(c);
    json payload = {{"sub", "carol"}, {"exp", 4102444800}, {"aud", {"x", "y"}}};
    std::string token = openssl_token({{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "a"}}, payload, "-sign \"$JWT_KEY\"");
    ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 2) << token;
    std::string why;
    auto id = v.verify(token, why);
    ASSERT_TRUE(id) << why;
    EXPECT_EQ(id->user_id, "carol");
    EXPECT_EQ(id->expires, 4102444800);
    // The same command with the other key's PEM: refused.
    std::string other = write_temp("pg_rag_jwt_key_b.pem", key_b().private_pem());
    setenv("JWT_KEY", other.c_str(), 1);
    EXPECT_FALSE(v.verify(openssl_token({{"alg", "RS256"}, {"kid", "a"}}, payload, "-sign \"$JWT_KEY\""), why));
    EXPECT_EQ(why, "bad signature");
    std::remove(key.c_str());
    std::remove(other.c_str());
}

TEST(JwtCrossCheck, Hs256TokenSignedByOpensslHmac) {
    const std::string secret = "cross-check-secret-of-32-bytes-or-more";
    setenv("JWT_SECRET", secret.c_str(), 1);
    JwtConfig c;
    c.hs256_secret = secret;
    JwtVerifier v(c);
    std::string why;
    auto id = v.verify(
        openssl_token({{"alg", "HS256"}}, {{"sub", "dave"}, {"exp", 4102444800}}, "-hmac \"$JWT_SECRET\""), why);
    ASSERT_TRUE(id) << why;
    EXPECT_EQ(id->user_id, "dave");
}

// The test's own signer makes what openssl accepts as RS256, so the other tests' tokens are real ones.
TEST(JwtCrossCheck, OpensslVerifiesTheTestsSignatures) {
    std::string pub = write_temp("pg_rag_jwt_pub.pem", key_a().public_pem());
    std::string input = write_temp("pg_rag_jwt_input", "header.payload");
    std::string sig = write_temp("pg_rag_jwt_sig", sign_rs256(key_a(), "header.payload"));
    int status = 0;
    std::string out = run("openssl dgst -sha256 -verify " + pub + " -signature " + sig + " " + input, status);
    EXPECT_EQ(status, 0);
    EXPECT_NE(out.find("Verified OK"), std::string::npos) << out;
    std::string wrong = write_temp("pg_rag_jwt_sig", sign_rs256(key_b(), "header.payload"));
    run("openssl dgst -sha256 -verify " + pub + " -signature " + wrong + " " + input + " 2>/dev/null", status);
    EXPECT_NE(status, 0);
    for (const auto& p : {pub, input, sig}) std::remove(p.c_str());
}

}  // namespace
