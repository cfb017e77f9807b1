// JwtVerifier, attacked: every token here is made with OpenSSL in the test, valid or forged.
#include "jwt.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base64url.hpp"
#include "jwt_signature.hpp"
#include "jwt_test_support.hpp"

using namespace pgrag::server;
using namespace jwt_test;

namespace {

constexpr int64_t kNow = 1700000000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

json claims(json extra = json::object()) {
    json c = {{"sub", "alice"}, {"iat", kNow - 10}, {"exp", kNow + 600}};
    for (auto& [k, v] : extra.items()) c[k] = v;
    return c;
}

class JwtTest : public ::testing::Test {
  protected:
    int64_t now_ = kNow;
    int fetches_ = 0;
    std::string served_ = jwks({key_a().jwk("a")});
    std::vector<std::string> log_;

    JwtConfig config(bool rsa = true, bool hs = false) {
        JwtConfig c;
        if (hs) c.hs256_secret = kSecret;
        if (rsa)
            c.fetch_jwks = [this] {
                ++fetches_;
                return served_;
            };
        c.now = [this] { return now_; };
        c.log = [this](const std::string& line) { log_.push_back(line); };
        return c;
    }

    // Refusal reason of token, or "" when accepted.
    static std::string refusal(JwtVerifier& v, const std::string& token, JwtError* error = nullptr) {
        JwtRefusal why;
        auto id = v.verify(std::string_view(token), why);
        if (id) return "";
        if (error) *error = why.error;
        EXPECT_FALSE(why.message.empty());
        return why.message;
    }

    static JwtError error_of(JwtVerifier& v, const std::string& token) {
        JwtError e = JwtError::Malformed;
        EXPECT_NE(refusal(v, token, &e), "") << "accepted: " << token;
        return e;
    }
};

TEST_F(JwtTest, ValidRs256TokenGivesTheIdentity) {
    auto c = config();
    c.claims.groups_claim = "groups";
    JwtVerifier v(c);
    JwtRefusal why;
    auto id = v.verify(std::string_view(rs256_token(key_a(), {{"kid", "a"}}, claims({{"groups", {"hr", "eu"}}}))), why);
    ASSERT_TRUE(id) << why.message;
    EXPECT_EQ(id->user_id, "alice");
    EXPECT_EQ(id->groups, (std::vector<std::string>{"hr", "eu"}));
    EXPECT_EQ(id->expires, kNow + 600);
    EXPECT_EQ(fetches_, 1);  // at start only
}

TEST_F(JwtTest, ValidHs256Token) {
    JwtVerifier v(config(false, true));
    std::string why;
    auto id = v.verify(hs256_token(kSecret, {{"typ", "JWT"}}, claims()), why);
    ASSERT_TRUE(id) << why;
    EXPECT_EQ(id->user_id, "alice");
    EXPECT_TRUE(id->groups.empty());
}

TEST_F(JwtTest, ExpiryWithLeeway) {
    auto c = config();
    c.claims.leeway_s = 30;
    JwtVerifier v(c);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", kNow - 29}}))), "");
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", kNow - 30}}))), JwtError::Expired);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", kNow - 3600}}))), "token expired");
    now_ = kNow + 631;  // a valid token, later
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), JwtError::Expired);
}

TEST_F(JwtTest, ExpIsRequiredAndMustBeANumber) {
    JwtVerifier v(config());
    json no_exp = claims();
    no_exp.erase("exp");
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, no_exp)), JwtError::Malformed);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", "9999999999"}}))), JwtError::Malformed);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", true}}))), JwtError::Malformed);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", 1e300}}))), JwtError::Malformed);
}

TEST_F(JwtTest, NotBeforeAndIssuedAtInTheFuture) {
    JwtVerifier v(config());
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"nbf", kNow + 120}}))), JwtError::NotYetValid);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"nbf", kNow + 20}}))), "");  // within leeway
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"iat", kNow + 120}}))), JwtError::NotYetValid);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"nbf", "soon"}}))), JwtError::Malformed);
    now_ = kNow + 120;
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"nbf", kNow + 120}}))), "");
}

TEST_F(JwtTest, IssuerWhenConfigured) {
    auto c = config();
    c.claims.issuer = "https://id.example.com/";
    JwtVerifier v(c);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"iss", "https://id.example.com/"}}))), "");
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"iss", "https://evil.example.com/"}}))),
              JwtError::WrongIssuer);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"iss", "https://id.example.com"}}))),
              JwtError::WrongIssuer);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), JwtError::WrongIssuer);  // none
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"iss", "x"}}))), "wrong issuer");
}

TEST_F(JwtTest, AudienceStringOrArray) {
    auto c = config();
    c.claims.audience = "pg_rag";
    JwtVerifier v(c);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"aud", "pg_rag"}}))), "");
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"aud", {"other", "pg_rag"}}}))), "");
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"aud", "other"}}))), JwtError::WrongAudience);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"aud", {"other", "pg_rag_x"}}}))),
              JwtError::WrongAudience);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}},
                                      claims({{"aud", json::array({json::object({{"pg_rag", 1}})})}}))),
              JwtError::WrongAudience);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), JwtError::WrongAudience);  // none
}

TEST_F(JwtTest, TamperedPayloadOrSignature) {
    JwtVerifier v(config());
    std::string good = rs256_token(key_a(), {{"kid", "a"}}, claims());
    size_t dot1 = good.find('.'), dot2 = good.rfind('.');
    // Another user in the payload, the signature kept.
    std::string forged = good.substr(0, dot1 + 1) + part(claims({{"sub", "mallory"}})) + good.substr(dot2);
    EXPECT_EQ(refusal(v, forged), "bad signature");
    // One bit of the signature flipped (in its first byte, which is fully covered by the first characters).
    std::string sig = *base64url_decode(good.substr(dot2 + 1));
    sig[0] = static_cast<char>(sig[0] ^ 1);
    EXPECT_EQ(error_of(v, good.substr(0, dot2 + 1) + base64url_encode(sig)), JwtError::BadSignature);
    // Signature cut short, or empty.
    EXPECT_EQ(error_of(v, good.substr(0, dot2 + 1) + base64url_encode(sig.substr(0, 250))), JwtError::BadSignature);
    EXPECT_EQ(error_of(v, good.substr(0, dot2 + 1)), JwtError::BadSignature);
    // Signed by another RSA key under the configured kid.
    EXPECT_EQ(error_of(v, rs256_token(key_b(), {{"kid", "a"}}, claims())), JwtError::BadSignature);
    // The untouched token still passes: the refusals above came from the tampering.
    EXPECT_EQ(refusal(v, good), "");
}

TEST_F(JwtTest, TamperedHs256) {
    JwtVerifier v(config(false, true));
    EXPECT_EQ(error_of(v, hs256_token(kSecret + "x", {}, claims())), JwtError::BadSignature);
    std::string good = hs256_token(kSecret, {}, claims());
    std::string forged =
        good.substr(0, good.find('.') + 1) + part(claims({{"sub", "root"}})) + good.substr(good.rfind('.'));
    EXPECT_EQ(error_of(v, forged), JwtError::BadSignature);
    // A signature cut short, down to nothing: a comparison over the shorter length would accept these.
    std::string mac = *base64url_decode(good.substr(good.rfind('.') + 1));
    std::string input = good.substr(0, good.rfind('.') + 1);
    for (size_t keep : {size_t(0), size_t(1), size_t(31)})
        EXPECT_EQ(error_of(v, input + base64url_encode(mac.substr(0, keep))), JwtError::BadSignature) << keep;
    EXPECT_EQ(error_of(v, input + base64url_encode(mac + "x")), JwtError::BadSignature);
    EXPECT_EQ(refusal(v, good), "");
}

TEST_F(JwtTest, AlgNoneIsRefused) {
    JwtVerifier v(config(true, true));
    for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
        EXPECT_EQ(error_of(v, unsigned_token({{"alg", alg}}, claims())), JwtError::AlgorithmNotAllowed) << alg;
        EXPECT_EQ(error_of(v, unsigned_token({{"alg", alg}, {"kid", "a"}}, claims(), "c2ln")),
                  JwtError::AlgorithmNotAllowed);
    }
    EXPECT_EQ(error_of(v, unsigned_token({{"alg", ""}}, claims())), JwtError::AlgorithmNotAllowed);
    for (const char* alg : {"RS512", "HS512", "ES256", "PS256", "rs256", "hs256"})
        EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}, {"alg", alg}}, claims())),
                  JwtError::AlgorithmNotAllowed)
            << alg;
}

// The classic confusion: the attacker knows the RSA public key and sends an HS256 token "signed" with
// it as the HMAC secret; a verifier that takes the algorithm from the token accepts it.
TEST_F(JwtTest, AlgorithmConfusionHs256WithThePublicKey) {
    JwtVerifier rsa_only(config());
    std::string jwk_n = base64url_encode(key_a().n);
    for (const std::string& stolen : {key_a().public_pem(), key_a().n, jwk_n, served_}) {
        std::string token = hs256_token(stolen, {{"kid", "a"}}, claims({{"sub", "admin"}}));
        EXPECT_EQ(error_of(rsa_only, token), JwtError::AlgorithmNotAllowed);
    }
    // With a shared secret configured too, HS256 is verified with that secret only, never with an RSA key.
    JwtVerifier both(config(true, true));
    EXPECT_EQ(error_of(both, hs256_token(key_a().public_pem(), {{"kid", "a"}}, claims())), JwtError::BadSignature);
    EXPECT_EQ(error_of(both, hs256_token(key_a().n, {}, claims())), JwtError::BadSignature);
    // And the reverse: an RS256 token when only a secret is configured.
    JwtVerifier hs_only(config(false, true));
    EXPECT_EQ(error_of(hs_only, rs256_token(key_a(), {{"kid", "a"}}, claims())), JwtError::AlgorithmNotAllowed);
}

TEST_F(JwtTest, KeysInTheTokenHeaderAreIgnored) {
    JwtVerifier v(config());
    // The attacker's own key, offered in the header (jwk, jku, x5u): never used.
    json header = {{"kid", "a"},
                   {"jwk", key_b().jwk("a")},
                   {"jku", "https://evil.example.com/jwks"},
                   {"x5u", "https://evil.example.com/cert"}};
    EXPECT_EQ(error_of(v, rs256_token(key_b(), header, claims())), JwtError::BadSignature);
    header["kid"] = "attacker";
    EXPECT_EQ(error_of(v, rs256_token(key_b(), header, claims())), JwtError::UnknownKey);
}

TEST_F(JwtTest, CriticalHeaderExtensionsAreRefused) {
    JwtVerifier v(config());
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}, {"crit", {"exp"}}, {"exp", 1}}, claims())),
              JwtError::Malformed);
}

TEST_F(JwtTest, UnknownKidRefreshesOnceRateLimitedThenRefuses) {
    JwtVerifier v(config());
    ASSERT_EQ(fetches_, 1);
    std::string token_b = rs256_token(key_b(), {{"kid", "b"}}, claims());
    EXPECT_EQ(refusal(v, token_b), "unknown signing key (kid)");
    EXPECT_EQ(fetches_, 2);  // one refresh
    // More unknown kids at once: no more fetches within the interval (a made-up kid cannot flood the IdP).
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(error_of(v, rs256_token(key_b(), {{"kid", "c" + std::to_string(i)}}, claims())),
                  JwtError::UnknownKey);
    EXPECT_EQ(fetches_, 2);
    // The identity provider rotates: b appears. Within the interval it is still refused...
    served_ = jwks({key_a().jwk("a"), key_b().jwk("b")});
    now_ += 59;
    EXPECT_EQ(error_of(v, token_b), JwtError::UnknownKey);
    EXPECT_EQ(fetches_, 2);
    // ... after it, the next unknown kid refreshes and the new key works.
    now_ += 1;
    EXPECT_EQ(refusal(v, token_b), "");
    EXPECT_EQ(fetches_, 3);
    EXPECT_EQ(refusal(v, token_b), "");
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), "");
    EXPECT_EQ(fetches_, 3);  // known kids never fetch
}

TEST_F(JwtTest, KeyRemovedFromTheJwksStopsWorkingAfterMaxAge) {
    auto c = config();
    c.jwks_max_age_s = 600;
    JwtVerifier v(c);
    std::string token_a = rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", kNow + 7200}}));
    served_ = jwks({key_b().jwk("b")});  // a is revoked
    now_ += 599;
    EXPECT_EQ(refusal(v, token_a), "");
    EXPECT_EQ(fetches_, 1);
    now_ += 1;
    EXPECT_EQ(error_of(v, token_a), JwtError::UnknownKey);
    EXPECT_EQ(fetches_, 2);
}

TEST_F(JwtTest, FailedRefreshKeepsThePreviousKeys) {
    bool fail = false;
    auto c = config();
    c.fetch_jwks = [&]() -> std::string {
        ++fetches_;
        if (fail) throw std::runtime_error("the JWKS URL answered HTTP 500");
        return served_;
    };
    JwtVerifier v(c);
    fail = true;
    EXPECT_EQ(error_of(v, rs256_token(key_b(), {{"kid", "b"}}, claims())), JwtError::UnknownKey);
    EXPECT_EQ(fetches_, 2);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), "");
    ASSERT_EQ(log_.size(), 1u);
    EXPECT_NE(log_[0].find("HTTP 500"), std::string::npos);
    // Also a JWKS that became garbage.
    fail = false;
    served_ = "<html>";
    now_ += 60;
    EXPECT_EQ(error_of(v, rs256_token(key_b(), {{"kid", "b"}}, claims())), JwtError::UnknownKey);
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), "");
}

TEST_F(JwtTest, KidWhoseKeyIsForAnotherAlgorithm) {
    served_ = jwks({key_a().jwk("a", "RS512"), key_b().jwk("b", "")});
    JwtVerifier v(config());
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), JwtError::AlgorithmNotAllowed);
    // A key without alg takes RS256.
    EXPECT_EQ(refusal(v, rs256_token(key_b(), {{"kid", "b"}}, claims())), "");
    // An HS256 token naming an RSA key's kid: HS256 is not configured at all.
    EXPECT_EQ(error_of(v, hs256_token(key_b().public_pem(), {{"kid", "b"}}, claims())), JwtError::AlgorithmNotAllowed);
}

TEST_F(JwtTest, TokenWithoutKid) {
    JwtVerifier one(config());
    EXPECT_EQ(refusal(one, rs256_token(key_a(), {}, claims())), "");  // the only key
    served_ = jwks({key_a().jwk("a"), key_b().jwk("b")});
    JwtVerifier two(config());
    EXPECT_EQ(error_of(two, rs256_token(key_a(), {}, claims())), JwtError::UnknownKey);  // ambiguous
}

TEST_F(JwtTest, MalformedTokens) {
    JwtVerifier v(config(true, true));
    std::string good = rs256_token(key_a(), {{"kid", "a"}}, claims());
    std::string h = good.substr(0, good.find('.'));
    for (const std::string& bad :
         {std::string(""), std::string("."), std::string(".."), std::string("abc"),
          good.substr(0, good.rfind('.')),  // two parts
          good + ".x",                      // four parts
          good + ".", "Bearer " + good, "=" + good,
          h + "=." + good.substr(good.find('.') + 1),                         // padding
          h.substr(0, h.size() - 1) + "+" + good.substr(good.find('.') - 0),  // '+'
          part(json("not an object")) + good.substr(good.find('.')),
          part(json::array({1, 2})) + good.substr(good.find('.')),
          base64url_encode("{\"alg\":\"RS256\"") + good.substr(good.find('.')),  // bad JSON
          part({{"alg", 256}}) + good.substr(good.find('.')), part({{"typ", "JWT"}}) + good.substr(good.find('.')),
          part({{"alg", "RS256"}, {"kid", 7}}) + good.substr(good.find('.'))})
        EXPECT_EQ(error_of(v, bad), JwtError::Malformed) << bad;
    // A bad signature encoding (a character outside base64url), and one with non-zero unused bits: the
    // same signature bytes with another last character, which must not pass as a second valid encoding.
    EXPECT_EQ(error_of(v, good.substr(0, good.size() - 1) + "*"), JwtError::Malformed);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    ASSERT_EQ((good.size() - good.rfind('.') - 1) % 4, 2u);  // 256 bytes: the last character has 4 unused bits
    std::string twin = good;
    twin.back() = alphabet[alphabet.find(twin.back()) | 1];
    ASSERT_NE(twin, good);
    ASSERT_EQ(base64url_decode(twin.substr(twin.rfind('.') + 1)), std::nullopt);
    EXPECT_EQ(error_of(v, twin), JwtError::Malformed);
    // A payload that is not JSON, correctly signed: the signature passes, the payload does not.
    std::string input = h + "." + base64url_encode("not json");
    EXPECT_EQ(error_of(v, input + "." + base64url_encode(sign_rs256(key_a(), input))), JwtError::Malformed);
}

TEST_F(JwtTest, HugeTokenIsRefusedBeforeParsing) {
    JwtVerifier v(config());
    std::string big = rs256_token(key_a(), {{"kid", "a"}}, claims({{"pad", std::string(20000, 'x')}}));
    EXPECT_EQ(error_of(v, big), JwtError::Malformed);
    EXPECT_NE(refusal(v, big).find("larger than 16384 bytes"), std::string::npos);
    EXPECT_EQ(error_of(v, std::string(1 << 20, 'a')), JwtError::Malformed);
    // Just under the cap is fine.
    std::string fits = rs256_token(key_a(), {{"kid", "a"}}, claims({{"pad", std::string(11000, 'x')}}));
    ASSERT_LE(fits.size(), 16384u);
    EXPECT_EQ(refusal(v, fits), "");
}

TEST_F(JwtTest, RefusalsNeverEchoTheToken) {
    auto c = config(true, true);
    c.claims.issuer = "https://id.example.com/";
    c.claims.audience = "pg_rag";
    JwtVerifier v(c);
    const std::string marker = "SECRETMARKER";
    for (const std::string& token :
         {rs256_token(key_a(), {{"kid", "a"}}, claims({{"iss", marker}, {"aud", "pg_rag"}})),
          rs256_token(key_a(), {{"kid", "a"}}, claims({{"iss", "https://id.example.com/"}, {"aud", marker}})),
          rs256_token(key_a(), {{"kid", marker}}, claims()), unsigned_token({{"alg", marker}}, claims()),
          rs256_token(key_a(), {{"kid", "a"}},
                      claims({{"sub", marker + "\n"}, {"iss", "https://id.example.com/"}, {"aud", "pg_rag"}})),
          marker + "." + marker + "." + marker}) {
        std::string why = refusal(v, token);
        EXPECT_EQ(why.find(marker), std::string::npos) << why;
        EXPECT_EQ(why.find(token.substr(0, 20)), std::string::npos) << why;
    }
}

TEST_F(JwtTest, UserAndGroupsClaims) {
    auto c = config();
    c.claims.user_claim = "email";
    c.claims.groups_claim = "realm_access.roles";  // Keycloak's nesting
    JwtVerifier v(c);
    JwtRefusal why;
    auto id = v.verify(std::string_view(rs256_token(
                           key_a(), {{"kid", "a"}},
                           claims({{"email", "bob@example.com"}, {"realm_access", {{"roles", {"support"}}}}}))),
                       why);
    ASSERT_TRUE(id) << why.message;
    EXPECT_EQ(id->user_id, "bob@example.com");
    EXPECT_EQ(id->groups, std::vector<std::string>{"support"});
    // The configured user claim missing (sub alone is not enough), empty, not a string, or with control characters.
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims())), JwtError::Malformed);
    for (const json& bad : {json(""), json(42), json({"x"}), json("bob\nadmin")})
        EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"email", bad}}))), JwtError::Malformed);
    // Groups: absent gives none; the wrong type is refused.
    EXPECT_EQ(refusal(v, rs256_token(key_a(), {{"kid", "a"}}, claims({{"email", "b"}}))), "");
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}},
                                      claims({{"email", "b"}, {"realm_access", {{"roles", {1, 2}}}}}))),
              JwtError::Malformed);
    EXPECT_EQ(error_of(v, rs256_token(key_a(), {{"kid", "a"}},
                                      claims({{"email", "b"}, {"realm_access", {{"roles", {{"a", 1}}}}}}))),
              JwtError::Malformed);
}

TEST_F(JwtTest, ClaimNamesWithDotsAndColons) {
    auto c = config();
    c.claims.groups_claim = "https://example.com/tenant";  // Auth0's namespaced claims are URLs
    JwtVerifier v(c);
    JwtRefusal why;
    auto id = v.verify(
        std::string_view(rs256_token(key_a(), {{"kid", "a"}}, claims({{"https://example.com/tenant", "acme"}}))), why);
    ASSERT_TRUE(id) << why.message;
    EXPECT_EQ(id->groups, std::vector<std::string>{"acme"});
    auto c2 = config();
    c2.claims.groups_claim = "cognito:groups";
    JwtVerifier v2(c2);
    id = v2.verify(std::string_view(rs256_token(key_a(), {{"kid", "a"}}, claims({{"cognito:groups", {"a", "b"}}}))),
                   why);
    ASSERT_TRUE(id) << why.message;
    EXPECT_EQ(id->groups, (std::vector<std::string>{"a", "b"}));
}

// Many worker threads verify while other threads force JWKS refreshes that swap the key snapshot.
TEST_F(JwtTest, ConcurrentVerificationDuringRefreshes) {
    std::atomic<int64_t> clock{kNow};
    std::atomic<int> fetches{0};
    const std::string with_b = jwks({key_a().jwk("a"), key_b().jwk("b")});
    const std::string without_b = jwks({key_a().jwk("a")});
    JwtConfig c;
    c.fetch_jwks = [&] { return ++fetches % 2 ? with_b : without_b; };
    c.now = [&] { return clock.load(); };
    c.refresh_interval_s = 1;
    JwtVerifier v(c);
    const std::string token_a = rs256_token(key_a(), {{"kid", "a"}}, claims({{"exp", kNow + 100000}}));
    const std::string token_x = rs256_token(key_a(), {{"kid", "x"}}, claims({{"exp", kNow + 100000}}));
    std::atomic<int> accepted{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 300; ++i) {
                std::string why;
                (v.verify(token_a, why) ? accepted : refused)++;
            }
        });
    threads.emplace_back([&] {
        for (int i = 0; i < 300; ++i) {
            clock += 1;
            std::string why;
            v.verify(token_x, why);
        }
    });
    for (auto& t : threads) t.join();
    EXPECT_EQ(accepted, 1200);
    EXPECT_EQ(refused, 0);
    EXPECT_GT(fetches, 10);
}

}  // namespace
