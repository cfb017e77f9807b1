// Signing in with JWTs over HTTP (the verifier itself is unit-tested in tests/server_unit): HS256 with a
// secret and RS256 from a JWKS file, the caller's scopes and tenant from its groups, refusals as 401 with
// the verifier's reason, API keys still accepted next to tokens.
#include <ctime>

#include "harness.hpp"
#include "jwt_test_support.hpp"

using namespace pgrag_test;

namespace {

const int kJwtPort = kPortBase + 4;
const std::string kSecret = "a-test-secret-of-more-than-32-bytes-0123456789";

json claims(const std::string& sub, const json& groups, long exp_in = 300) {
    long now = static_cast<long>(std::time(nullptr));
    return {{"sub", sub}, {"iss", "https://issuer.test"}, {"aud", "pg_rag"},
            {"iat", now}, {"exp", now + exp_in},          {"groups", groups}};
}

std::string hs256(const json& payload, const std::string& secret = kSecret) {
    return jwt_test::hs256_token(secret, {{"alg", "HS256"}, {"typ", "JWT"}}, payload);
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::vector<std::string> jwt_args(std::vector<std::string> more) {
    std::vector<std::string> args = {"--database-url",
                                     conninfo("srv_auth"),
                                     "--auth",
                                     "required",
                                     "--jwt-issuer",
                                     "https://issuer.test",
                                     "--jwt-audience",
                                     "pg_rag",
                                     "--jwt-groups-claim",
                                     "groups",
                                     "--jwt-admin-group",
                                     "admins",
                                     "--jwt-tenant-prefix",
                                     "tenant:",
                                     "--failed-sign-ins",
                                     "100"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

}  // namespace

TEST(Jwt, Hs256TokensSignInWithGroupsAsScopesAndTenant) {
    ServerProcess srv(kJwtPort, jwt_args({"--jwt-secret", kSecret}));
    auto c = srv.client();
    std::string jay = hs256(claims("jay", {"tenant:acme", "staff"}));
    auto r = c.Get("/api/documents", bearer(jay));
    EXPECT_EQ(r ? r->status : -1, 200) << (r ? r->body : "");
    EXPECT_EQ(c.Post("/api/documents", bearer(jay), R"({"title": "Jay", "content": "Jay's note."})", "application/json")
                  ->status,
              201);
    EXPECT_EQ(c.Get("/api/keys", bearer(jay))->status, 403) << "admin needs the admin group";
    std::string boss = hs256(claims("boss", {"admins"}));
    EXPECT_EQ(c.Get("/api/keys", bearer(boss))->status, 200);
    // The tenant reached the usage events.
    r = c.Get("/api/usage", bearer(jay));
    ASSERT_EQ(r->status, 200) << r->body;
    json usage = body_json(r);
    ASSERT_EQ(usage["usage"].size(), 1u) << r->body;
    EXPECT_EQ(usage["usage"][0]["user_id"], "jay");
    EXPECT_EQ(usage["usage"][0]["tenant_id"], "acme");
    // Refused tokens: 401 with the reason, never the token.
    struct Case {
        std::string token, reason;
    };
    json wrong_iss = claims("jay", json::array());
    wrong_iss["iss"] = "https://elsewhere.test";
    json wrong_aud = claims("jay", json::array());
    wrong_aud["aud"] = "another-app";
    json not_yet = claims("jay", json::array());
    not_yet["nbf"] = static_cast<long>(std::time(nullptr)) + 600;
    for (const Case& k : std::vector<Case>{
             {hs256(claims("jay", json::array(), -120)), "token expired"},
             {hs256(not_yet), "token not yet valid"},
             {hs256(wrong_iss), "wrong issuer"},
             {hs256(wrong_aud), "wrong audience"},
             {hs256(claims("jay", json::array()), kSecret + "-but-another"), "bad signature"},
             {jwt_test::unsigned_token({{"alg", "none"}}, claims("jay", json::array())), "algorithm not allowed"}}) {
        r = c.Get("/api/documents", bearer(k.token));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 401) << k.reason;
        json e = body_json(r)["error"];
        EXPECT_EQ(e["code"], "invalid_token");
        EXPECT_NE(e["message"].get<std::string>().find(k.reason), std::string::npos) << e.dump();
        EXPECT_NE(r->get_header_value("WWW-Authenticate").find("invalid_token"), std::string::npos);
    }
    // API keys work next to tokens.
    std::string key = psql_value("SELECT rag_create_api_key('jwt test', 'kim')");
    EXPECT_EQ(c.Get("/api/documents", bearer(key))->status, 200);
}

TEST(Jwt, Rs256FromAJwksFile) {
    std::string path = env("PGRAG_TEST_LOG_DIR", "/tmp") + "/jwks.json";
    {
        std::ofstream f(path);
        f << jwt_test::jwks({jwt_test::key_a().jwk("key-a")});
    }
    ServerProcess srv(kJwtPort, jwt_args({"--jwt-jwks", path}));
    auto c = srv.client();
    std::string good =
        jwt_test::rs256_token(jwt_test::key_a(), {{"alg", "RS256"}, {"kid", "key-a"}}, claims("rita", {"tenant:acme"}));
    EXPECT_EQ(c.Get("/api/documents", bearer(good))->status, 200);
    std::string other =
        jwt_test::rs256_token(jwt_test::key_b(), {{"alg", "RS256"}, {"kid", "key-b"}}, claims("rita", json::array()));
    auto r = c.Get("/api/documents", bearer(other));
    EXPECT_EQ(r->status, 401);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("unknown signing key"), std::string::npos)
        << r->body;
    // HS256 is not configured here: a token signed with the public key as an HMAC secret is refused.
    std::string confused = hs256(claims("rita", json::array()), jwt_test::key_a().public_pem());
    EXPECT_EQ(c.Get("/api/documents", bearer(confused))->status, 401);
}
