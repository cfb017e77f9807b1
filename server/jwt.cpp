// JWT verification: split, decode, pin the algorithm to the key, check the signature, then the claims.
#include "jwt.hpp"

#include <chrono>
#include <stdexcept>

#include "base64url.hpp"
#include "jwt_signature.hpp"

namespace pgrag::server {
namespace {

std::nullopt_t refuse(JwtRefusal& why, JwtError e, std::string message) {
    why.error = e;
    why.message = std::move(message);
    return std::nullopt;
}

std::optional<nlohmann::json> decode_json(std::string_view part) {
    auto bytes = base64url_decode(part);
    if (!bytes) return std::nullopt;
    auto doc = nlohmann::json::parse(*bytes, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    return doc;
}

}  // namespace

JwtVerifier::JwtVerifier(JwtConfig config) : config_(std::move(config)) {
    if (!config_.fetch_jwks) return;
    try {
        install(config_.fetch_jwks(), now());
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("JWKS: ") + e.what());
    }
}

int64_t JwtVerifier::now() const {
    if (config_.now) return config_.now();
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::shared_ptr<const JwtVerifier::Keys> JwtVerifier::snapshot() const {
    std::lock_guard<std::mutex> lock(keys_mutex_);
    return keys_;
}

size_t JwtVerifier::key_count() const {
    auto keys = snapshot();
    return keys ? keys->set.keys.size() : 0;
}

void JwtVerifier::install(std::string_view jwks, int64_t at) {
    auto keys = std::make_shared<Keys>();
    keys->set = parse_jwks(jwks);  // throws: the old keys stay
    keys->loaded_at = at;
    if (config_.log)
        for (const auto& s : keys->set.skipped) config_.log("JWKS: skipped " + s);
    std::lock_guard<std::mutex> lock(keys_mutex_);
    keys_ = std::move(keys);
}

void JwtVerifier::refresh(bool unknown_kid, int64_t at) {
    std::unique_lock<std::mutex> lock(refresh_mutex_, std::defer_lock);
    if (unknown_kid) {
        lock.lock();
    } else if (!lock.try_lock()) {
        return;
    }
    // Rate limit: tokens with made-up kids must not turn into a flood of requests to the identity provider.
    if (last_refresh_ && at - *last_refresh_ < config_.refresh_interval_s) return;
    if (!unknown_kid) {
        auto keys = snapshot();
        if (keys && at - keys->loaded_at < config_.jwks_max_age_s) return;  // another thread just refreshed
    }
    last_refresh_ = at;
    try {
        install(config_.fetch_jwks(), at);
    } catch (const std::exception& e) {
        if (config_.log) config_.log(std::string("JWKS refresh failed, keeping the previous keys: ") + e.what());
    }
}

std::optional<Identity> JwtVerifier::verify(const std::string& token, std::string& why) {
    JwtRefusal refusal;
    auto id = verify(std::string_view(token), refusal);
    if (!id) why = refusal.message;
    return id;
}

std::optional<Identity> JwtVerifier::verify(std::string_view token, JwtRefusal& why) {
    if (token.size() > config_.max_token_bytes)
        return refuse(why, JwtError::Malformed,
                      "malformed token: larger than " + std::to_string(config_.max_token_bytes) + " bytes");
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return refuse(why, JwtError::Malformed, "malformed token: a JWT has three parts separated by dots");
    std::string_view header_part = token.substr(0, dot1);
    std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
    std::string_view signature_part = token.substr(dot2 + 1);
    std::string_view signing_input = token.substr(0, dot2);

    auto header = decode_json(header_part);
    if (!header) return refuse(why, JwtError::Malformed, "malformed token: the header is not base64url JSON");
    auto alg_it = header->find("alg");
    if (alg_it == header->end() || !alg_it->is_string())
        return refuse(why, JwtError::Malformed, "malformed token: the header has no alg");
    // Extensions we would have to understand (RFC 7515 §4.1.11): none are supported.
    if (header->contains("crit"))
        return refuse(why, JwtError::Malformed, "malformed token: critical header extensions are not supported");
    const std::string alg = alg_it->get<std::string>();
    const std::string* kid = nullptr;
    if (auto it = header->find("kid"); it != header->end()) {
        if (!it->is_string()) return refuse(why, JwtError::Malformed, "malformed token: kid is not a string");
        kid = it->get_ptr<const std::string*>();
    }
    // The algorithm comes from the configuration, never from the token: each key verifies with exactly one
    // algorithm, so an HS256 token "signed" with an RSA public key is refused before any key is touched.
    bool hs256 = alg == "HS256" && !config_.hs256_secret.empty();
    bool rs256 = alg == "RS256" && config_.fetch_jwks;
    if (!hs256 && !rs256) {
        std::string accepted = config_.hs256_secret.empty() ? "" : "HS256";
        if (config_.fetch_jwks) accepted += accepted.empty() ? "RS256" : " and RS256";
        return refuse(why, JwtError::AlgorithmNotAllowed, "algorithm not allowed (accepted: " + accepted + ")");
    }

    auto signature = base64url_decode(signature_part);
    if (!signature) return refuse(why, JwtError::Malformed, "malformed token: the signature is not base64url");
    if (hs256) {
        if (!verify_hs256(config_.hs256_secret, signing_input, *signature))
            return refuse(why, JwtError::BadSignature, "bad signature");
    } else {
        int64_t at = now();
        auto keys = snapshot();
        if (keys && at - keys->loaded_at >= config_.jwks_max_age_s) {
            refresh(false, at);
            keys = snapshot();
        }
        const Jwk* key = keys ? find_key(keys->set, kid) : nullptr;
        if (!key && kid) {
            refresh(true, at);
            keys = snapshot();
            key = keys ? find_key(keys->set, kid) : nullptr;
        }
        if (!key) return refuse(why, JwtError::UnknownKey, "unknown signing key (kid)");
        if (!key->alg.empty() && key->alg != alg)
            return refuse(why, JwtError::AlgorithmNotAllowed,
                          "algorithm not allowed: the key named by kid is for " + key->alg);
        if (!verify_rs256(key->key.get(), signing_input, *signature))
            return refuse(why, JwtError::BadSignature, "bad signature");
    }

    auto payload = decode_json(payload_part);
    if (!payload) return refuse(why, JwtError::Malformed, "malformed token: the payload is not base64url JSON");
    return check_claims(*payload, config_.claims, now(), why);
}

}  // namespace pgrag::server
