// Options → JwtConfig, and the --jwt-check command.
#include "jwt_setup.hpp"

#include <cstdio>
#include <istream>
#include <iterator>
#include <ostream>

#include "jwks_source.hpp"

namespace pgrag::server {

std::unique_ptr<JwtVerifier> make_jwt_verifier(const Options& o) {
    if (!o.jwt_configured()) return nullptr;
    JwtConfig config;
    config.hs256_secret = o.jwt_secret;
    if (!o.jwt_jwks.empty()) config.fetch_jwks = jwks_fetcher(o.jwt_jwks);
    config.claims.issuer = o.jwt_issuer;
    config.claims.audience = o.jwt_audience;
    config.claims.user_claim = o.jwt_user_claim;
    config.claims.groups_claim = o.jwt_groups_claim;
    config.claims.leeway_s = o.jwt_leeway_s;
    config.log = [](const std::string& line) { std::fprintf(stderr, "pg_rag_server: %s\n", line.c_str()); };
    return std::make_unique<JwtVerifier>(std::move(config));
}

int check_token(JwtVerifier& verifier, std::istream& in, std::ostream& out, std::ostream& err) {
    std::string token(std::istreambuf_iterator<char>(in), {});
    token.erase(0, token.find_first_not_of(" \t\r\n"));
    token.erase(token.find_last_not_of(" \t\r\n") + 1);
    JwtRefusal why;
    auto id = verifier.verify(std::string_view(token), why);
    if (!id) {
        err << "refused (" << jwt_error_name(why.error) << "): " << why.message << "\n";
        return 1;
    }
    out << nlohmann::json{{"user_id", id->user_id}, {"groups", id->groups}, {"expires", id->expires}}.dump() << "\n";
    return 0;
}

}  // namespace pgrag::server
