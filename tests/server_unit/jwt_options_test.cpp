// The --jwt-* options and PGRAG_JWT_* variables, make_jwt_verifier and --jwt-check.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "jwt_setup.hpp"
#include "jwt_test_support.hpp"
#include "options.hpp"

using namespace pgrag::server;
using namespace jwt_test;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";  // exactly 32 bytes

ParsedOptions parse(std::vector<std::string> args) {
    args.insert(args.begin(), "pg_rag_server");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

class JwtOptions : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const char* v :
             {"PGRAG_JWT_SECRET", "PGRAG_JWT_SECRET_FILE", "PGRAG_JWT_JWKS", "PGRAG_JWT_ISSUER", "PGRAG_JWT_AUDIENCE",
              "PGRAG_JWT_USER_CLAIM", "PGRAG_JWT_GROUPS_CLAIM", "PGRAG_JWT_LEEWAY"})
            unsetenv(v);
    }
    void TearDown() override { SetUp(); }
};

TEST_F(JwtOptions, DefaultsMeanNoJwt) {
    auto p = parse({});
    ASSERT_FALSE(p.exit) << p.text;
    EXPECT_FALSE(p.options.jwt_configured());
    EXPECT_EQ(p.options.jwt_user_claim, "sub");
    EXPECT_EQ(p.options.jwt_leeway_s, 30);
    EXPECT_EQ(make_jwt_verifier(p.options), nullptr);
}

TEST_F(JwtOptions, FlagsAndVariables) {
    setenv("PGRAG_JWT_ISSUER", "https://env.example.com/", 1);
    setenv("PGRAG_JWT_SECRET", kSecret.c_str(), 1);
    auto p = parse({"--jwt-audience", "pg_rag", "--jwt-user-claim=email", "--jwt-groups-claim", "cognito:groups",
                    "--jwt-leeway", "0", "--jwt-issuer=https://flag.example.com/"});
    ASSERT_FALSE(p.exit) << p.text;
    EXPECT_EQ(p.options.jwt_secret, kSecret);
    EXPECT_EQ(p.options.jwt_issuer, "https://flag.example.com/");  // the flag wins
    EXPECT_EQ(p.options.jwt_audience, "pg_rag");
    EXPECT_EQ(p.options.jwt_user_claim, "email");
    EXPECT_EQ(p.options.jwt_groups_claim, "cognito:groups");
    EXPECT_EQ(p.options.jwt_leeway_s, 0);
}

TEST_F(JwtOptions, BadValuesAreRefusedWithoutEchoingSecrets) {
    const std::string short_secret = "short-secret-31-bytes-long-xxxx";
    ASSERT_EQ(short_secret.size(), 31u);
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    for (const Case& c : std::vector<Case>{
             {{"--jwt-secret", short_secret}, "at least 32 bytes"},
             {{"--jwt-secret=" + short_secret}, "at least 32 bytes"},
             {{"--jwt-jwks", "http://id.example.com/jwks"}, "https://"},
             {{"--jwt-jwks", "file:///etc/passwd"}, "https://"},
             {{"--jwt-secret", kSecret, "--jwt-leeway", "301"}, "between 0 and 300"},
             {{"--jwt-secret", kSecret, "--jwt-leeway", "-1"}, "between 0 and 300"},
             {{"--jwt-secret", kSecret, "--jwt-issuer", ""}, "must not be empty"},
             {{"--jwt-secret", kSecret, "--jwt-user-claim="}, "must not be empty"},
             {{"--jwt-issuer", "https://id.example.com/"}, "need --jwt-secret"},
             {{"--jwt-audience", "pg_rag"}, "need --jwt-secret"},
             {{"--jwt-check"}, "need --jwt-secret"},
             {{"--jwt-secret-file", "/nonexistent/secret"}, "cannot read"},
         }) {
        auto p = parse(c.args);
        EXPECT_TRUE(p.exit);
        EXPECT_EQ(p.exit_status, 2);
        EXPECT_NE(p.text.find(c.message), std::string::npos) << p.text;
        EXPECT_EQ(p.text.find(short_secret), std::string::npos) << p.text;
        EXPECT_EQ(p.text.find(kSecret), std::string::npos) << p.text;
    }
}

TEST_F(JwtOptions, SecretFromAFileWithoutItsNewline) {
    std::string path = testing::TempDir() + "pg_rag_jwt_secret";
    std::ofstream(path) << kSecret << "\n";
    setenv("PGRAG_JWT_SECRET_FILE", path.c_str(), 1);
    auto p = parse({});
    ASSERT_FALSE(p.exit) << p.text;
    EXPECT_EQ(p.options.jwt_secret, kSecret);
    std::ofstream(path) << kSecret.substr(1) << "\n";  // 31 bytes and a newline: too short
    p = parse({});
    EXPECT_TRUE(p.exit);
    EXPECT_NE(p.text.find("at least 32 bytes"), std::string::npos) << p.text;
    std::remove(path.c_str());
}

TEST_F(JwtOptions, HelpListsEveryJwtOption) {
    auto p = parse({"--help"});
    for (const char* name : {"--jwt-secret", "PGRAG_JWT_SECRET", "--jwt-secret-file", "PGRAG_JWT_SECRET_FILE",
                             "--jwt-jwks", "PGRAG_JWT_JWKS", "--jwt-issuer", "PGRAG_JWT_ISSUER", "--jwt-audience",
                             "PGRAG_JWT_AUDIENCE", "--jwt-user-claim", "PGRAG_JWT_USER_CLAIM", "--jwt-groups-claim",
                             "PGRAG_JWT_GROUPS_CLAIM", "--jwt-leeway", "PGRAG_JWT_LEEWAY", "--jwt-check"})
        EXPECT_NE(p.text.find(name), std::string::npos) << name;
}

TEST_F(JwtOptions, VerifierFromOptionsAndJwtCheck) {
    std::string path = testing::TempDir() + "pg_rag_jwt_jwks.json";
    std::ofstream(path) << jwks({key_a().jwk("a")});
    auto p = parse({"--jwt-jwks", path, "--jwt-secret", kSecret, "--jwt-audience", "pg_rag", "--jwt-groups-claim",
                    "tenant", "--jwt-check"});
    ASSERT_FALSE(p.exit) << p.text;
    EXPECT_TRUE(p.options.jwt_check);
    auto verifier = make_jwt_verifier(p.options);
    ASSERT_NE(verifier, nullptr);
    EXPECT_EQ(verifier->key_count(), 1u);
    json claims = {{"sub", "erin"}, {"aud", "pg_rag"}, {"tenant", "acme"}, {"exp", 4102444800}};

    std::istringstream rs256("  " + rs256_token(key_a(), {{"kid", "a"}}, claims) + "\n");
    std::ostringstream out, err;
    EXPECT_EQ(check_token(*verifier, rs256, out, err), 0) << err.str();
    EXPECT_EQ(json::parse(out.str()), json({{"user_id", "erin"}, {"groups", {"acme"}}, {"expires", 4102444800}}));

    std::istringstream hs256(hs256_token(kSecret, {}, claims));
    out.str("");
    EXPECT_EQ(check_token(*verifier, hs256, out, err), 0) << err.str();

    claims["aud"] = "elsewhere";
    std::istringstream wrong(hs256_token(kSecret, {}, claims));
    out.str("");
    EXPECT_EQ(check_token(*verifier, wrong, out, err), 1);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(err.str(), "refused (wrong_audience): wrong audience\n");

    // A JWKS file that does not hold keys stops the start.
    std::ofstream(path) << "{\"keys\": []}";
    EXPECT_THROW(make_jwt_verifier(p.options), std::runtime_error);
    std::remove(path.c_str());
    EXPECT_THROW(make_jwt_verifier(p.options), std::runtime_error);
}

}  // namespace
