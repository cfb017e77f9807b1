// JWKS parsing and RSA public keys from n and e with OpenSSL 3 (OSSL_PARAM_BLD, EVP_PKEY_fromdata).
#include "jwks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base64url.hpp"

namespace pgrag::server {
namespace {

constexpr int kMinBits = 2048;
constexpr int kMaxBits = 8192;  // verification cost grows with the modulus: refuse absurd keys
constexpr size_t kMaxKeys = 100;

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;

std::string text_field(const nlohmann::json& jwk, const char* name) {
    auto it = jwk.find(name);
    if (it == jwk.end()) return {};
    if (!it->is_string()) throw std::invalid_argument(std::string("\"") + name + "\" is not a string");
    return it->get<std::string>();
}

std::string number_field(const nlohmann::json& jwk, const char* name) {
    std::string text = text_field(jwk, name);
    if (text.empty()) throw std::invalid_argument(std::string("\"") + name + "\" is missing");
    auto bytes = base64url_decode(text);
    if (!bytes) throw std::invalid_argument(std::string("\"") + name + "\" is not base64url");
    return *bytes;
}

Jwk parse_key(const nlohmann::json& jwk) {
    if (!jwk.is_object()) throw std::invalid_argument("not a JSON object");
    std::string kty = text_field(jwk, "kty");
    if (kty != "RSA") throw std::invalid_argument("kty \"" + kty + "\" is not supported (only RSA)");
    std::string use = text_field(jwk, "use");
    if (!use.empty() && use != "sig") throw std::invalid_argument("use \"" + use + "\" is not \"sig\"");
    Jwk key;
    key.kid = text_field(jwk, "kid");
    key.alg = text_field(jwk, "alg");
    key.key = rsa_public_key(number_field(jwk, "n"), number_field(jwk, "e"));
    key.bits = EVP_PKEY_get_bits(key.key.get());
    return key;
}

}  // namespace

std::shared_ptr<EVP_PKEY> rsa_public_key(const std::string& n, const std::string& e) {
    // e is 65537 in practice; a long exponent only makes verification slow.
    if (e.empty() || e.size() > 8) throw std::invalid_argument("RSA exponent e must be 1 to 8 bytes");
    BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
    BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
    if (!bn_n || !bn_e) throw std::runtime_error("out of memory");
    int bits = BN_num_bits(bn_n.get());
    if (bits < kMinBits || bits > kMaxBits)
        throw std::invalid_argument("RSA modulus of " + std::to_string(bits) + " bits (must be " +
                                    std::to_string(kMinBits) + " to " + std::to_string(kMaxBits) + ")");
    if (!BN_is_odd(bn_n.get()) || !BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()))
        throw std::invalid_argument("not an RSA public key (n and e must be odd, e > 1)");
    BldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
        throw std::runtime_error("out of memory");
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 || !raw)
        throw std::invalid_argument("OpenSSL refused the RSA public key");
    return std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
}

JwkSet parse_jwks(std::string_view text) {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) throw std::invalid_argument("the JWKS is not valid JSON");
    if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
        throw std::invalid_argument("the JWKS is not an object with a \"keys\" array");
    const auto& keys = doc["keys"];
    if (keys.size() > kMaxKeys)
        throw std::invalid_argument("the JWKS has more than " + std::to_string(kMaxKeys) + " keys");
    JwkSet set;
    for (size_t i = 0; i < keys.size(); ++i) {
        try {
            Jwk key = parse_key(keys[i]);
            const std::string* kid = &key.kid;
            // Two keys under one kid would make the choice of key ambiguous: the first one wins.
            if (!key.kid.empty() && find_key(set, kid)) throw std::invalid_argument("duplicate kid");
            set.keys.push_back(std::move(key));
        } catch (const std::invalid_argument& e) {
            set.skipped.push_back("key " + std::to_string(i) + ": " + e.what());
        }
    }
    if (set.keys.empty()) {
        std::string why = "the JWKS holds no usable RSA signature key";
        for (const auto& s : set.skipped) why += "; " + s;
        throw std::invalid_argument(why);
    }
    return set;
}

const Jwk* find_key(const JwkSet& set, const std::string* kid) {
    if (!kid) return set.keys.size() == 1 ? &set.keys.front() : nullptr;
    for (const auto& k : set.keys)
        if (k.kid == *kid) return &k;
    return nullptr;
}

}  // namespace pgrag::server
