// A JSON Web Key Set (RFC 7517) reduced to what verifies RS256 tokens: RSA public keys with their kid and alg.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pgrag::server {

struct Jwk {
    std::string kid;  // empty when the JWKS gives none
    std::string alg;  // empty when the JWKS gives none; otherwise a token must carry the same alg
    std::shared_ptr<EVP_PKEY> key;
    int bits = 0;
};

struct JwkSet {
    std::vector<Jwk> keys;
    std::vector<std::string> skipped;  // why each unusable key was left out (for the log)
};

// Keys from a JWKS document ({"keys": [...]}). RSA signature keys are kept (kty "RSA", use "sig" or
// absent, n of 2048 to 8192 bits); other keys are skipped with a reason. Throws std::invalid_argument
// when the document is not a JWKS or holds no usable key.
JwkSet parse_jwks(std::string_view json);

// The RSA public key with modulus n and exponent e (big-endian bytes). Throws std::invalid_argument.
std::shared_ptr<EVP_PKEY> rsa_public_key(const std::string& n, const std::string& e);

// The key named kid; without a kid, the only key when there is exactly one. nullptr otherwise.
const Jwk* find_key(const JwkSet& set, const std::string* kid);

}  // namespace pgrag::server
