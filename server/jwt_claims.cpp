// Claim checks (RFC 7519 §4.1) with a leeway for clock differences.
#include "jwt_claims.hpp"

#include <cmath>

namespace pgrag::server {
namespace {

constexpr size_t kMaxIdLength = 256;

std::nullopt_t refuse(JwtRefusal& why, JwtError e, std::string message) {
    why.error = e;
    why.message = std::move(message);
    return std::nullopt;
}

// A NumericDate claim as seconds; false when present but not a finite number in a sane range.
bool numeric_date(const nlohmann::json& payload, const char* name, std::optional<double>& out) {
    auto it = payload.find(name);
    if (it == payload.end()) return true;
    if (!it->is_number()) return false;
    double v = it->get<double>();
    // Year 1970 to about year 5000: outside that range the value cannot be a meant date (and int64 casts stay defined).
    if (!std::isfinite(v) || v < 0 || v > 1e11) return false;
    out = v;
    return true;
}

// A printable identifier: non-empty, short, without control characters (it ends up in logs and settings).
bool usable_id(const std::string& s) {
    if (s.empty() || s.size() > kMaxIdLength) return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

}  // namespace

const char* jwt_error_name(JwtError e) {
    switch (e) {
        case JwtError::Malformed:
            return "malformed";
        case JwtError::AlgorithmNotAllowed:
            return "algorithm_not_allowed";
        case JwtError::UnknownKey:
            return "unknown_key";
        case JwtError::BadSignature:
            return "bad_signature";
        case JwtError::Expired:
            return "expired";
        case JwtError::NotYetValid:
            return "not_yet_valid";
        case JwtError::WrongIssuer:
            return "wrong_issuer";
        case JwtError::WrongAudience:
            return "wrong_audience";
    }
    return "malformed";
}

const nlohmann::json* find_claim(const nlohmann::json& payload, const std::string& name) {
    if (!payload.is_object()) return nullptr;
    if (auto it = payload.find(name); it != payload.end()) return &*it;
    const nlohmann::json* at = &payload;
    size_t start = 0;
    while (true) {
        size_t dot = name.find('.', start);
        std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!at->is_object()) return nullptr;
        auto it = at->find(part);
        if (it == at->end()) return nullptr;
        at = &*it;
        if (dot == std::string::npos) return at;
        start = dot + 1;
    }
}

std::optional<Identity> check_claims(const nlohmann::json& payload, const ClaimRules& rules, int64_t now,
                                     JwtRefusal& why) {
    if (!payload.is_object())
        return refuse(why, JwtError::Malformed, "malformed token: the payload is not a JSON object");
    std::optional<double> exp, nbf, iat;
    if (!numeric_date(payload, "exp", exp) || !numeric_date(payload, "nbf", nbf) || !numeric_date(payload, "iat", iat))
        return refuse(why, JwtError::Malformed, "malformed token: exp, nbf and iat must be numbers of seconds");
    if (!exp) return refuse(why, JwtError::Malformed, "malformed token: it has no exp (expiry) claim");
    const double slack = rules.leeway_s;
    if (double(now) - slack >= *exp) return refuse(why, JwtError::Expired, "token expired");
    if (nbf && double(now) + slack < *nbf)
        return refuse(why, JwtError::NotYetValid, "token not yet valid (nbf is in the future)");
    if (iat && double(now) + slack < *iat)
        return refuse(why, JwtError::NotYetValid, "token not yet valid (issued in the future)");

    if (!rules.issuer.empty()) {
        auto it = payload.find("iss");
        if (it == payload.end() || !it->is_string() || it->get<std::string>() != rules.issuer)
            return refuse(why, JwtError::WrongIssuer, "wrong issuer");
    }
    if (!rules.audience.empty()) {
        bool found = false;
        if (auto it = payload.find("aud"); it != payload.end()) {
            if (it->is_string()) found = it->get<std::string>() == rules.audience;
            if (it->is_array())
                for (const auto& a : *it) found = found || (a.is_string() && a.get<std::string>() == rules.audience);
        }
        if (!found) return refuse(why, JwtError::WrongAudience, "wrong audience");
    }

    Identity id;
    const nlohmann::json* user = find_claim(payload, rules.user_claim);
    if (!user || !user->is_string() || !usable_id(user->get<std::string>()))
        return refuse(
            why, JwtError::Malformed,
            "malformed token: the user claim \"" + rules.user_claim + "\" is missing or not a short printable string");
    id.user_id = user->get<std::string>();
    if (!rules.groups_claim.empty()) {
        const nlohmann::json* groups = find_claim(payload, rules.groups_claim);
        bool ok = true;
        if (groups && groups->is_string()) {
            id.groups.push_back(groups->get<std::string>());
        } else if (groups && groups->is_array()) {
            for (const auto& g : *groups) {
                if (!g.is_string())
                    ok = false;
                else
                    id.groups.push_back(g.get<std::string>());
            }
        } else if (groups && !groups->is_null()) {
            ok = false;
        }
        for (const auto& g : id.groups) ok = ok && usable_id(g);
        if (!ok)
            return refuse(why, JwtError::Malformed,
                          "malformed token: the groups claim \"" + rules.groups_claim +
                              "\" must be a string or an array of short printable strings");
    }
    id.expires = static_cast<int64_t>(*exp);
    return id;
}

}  // namespace pgrag::server
