// The claims of a JWT whose signature was verified: times, issuer, audience, and who the caller is.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgrag::server {

// Why a token is refused; each becomes a 401 with its message.
enum class JwtError {
    Malformed,            // not a JWT, bad base64url or JSON, a required claim missing or of the wrong type
    AlgorithmNotAllowed,  // alg none, an algorithm no configured key may use, a JWK whose alg differs
    UnknownKey,           // no configured key has the token's kid (also after a JWKS refresh)
    BadSignature,
    Expired,
    NotYetValid,  // nbf in the future, or iat in the future
    WrongIssuer,
    WrongAudience,
};

// A short stable name for metrics and logs: "malformed", "algorithm_not_allowed", ...
const char* jwt_error_name(JwtError e);

struct JwtRefusal {
    JwtError error = JwtError::Malformed;
    std::string message;  // never contains the token nor any part of it
};

// Who a verified token speaks for.
struct Identity {
    std::string user_id;              // from the user claim (default "sub")
    std::vector<std::string> groups;  // from the groups claim (a string or an array of strings); empty when none
    int64_t expires = 0;              // exp, in seconds since the epoch
};

struct ClaimRules {
    std::string issuer;    // empty: iss is not checked
    std::string audience;  // empty: aud is not checked
    std::string user_claim = "sub";
    std::string groups_claim;  // empty: no groups
    int leeway_s = 30;         // tolerated clock difference for exp, nbf and iat
};

// Checks the claims (the payload object) at time now (seconds since the epoch).
std::optional<Identity> check_claims(const nlohmann::json& payload, const ClaimRules& rules, int64_t now,
                                     JwtRefusal& why);

// The claim named name: a top-level member of that exact name (Auth0's "https://example.com/roles",
// Cognito's "cognito:groups"), else a dotted path into nested objects (Keycloak's "realm_access.roles").
const nlohmann::json* find_claim(const nlohmann::json& payload, const std::string& name);

}  // namespace pgrag::server
