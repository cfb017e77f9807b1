// Token making for the JWT tests: RSA keys generated with OpenSSL, RS256 and HS256 signatures, JWKs.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace jwt_test {

using nlohmann::json;

struct RsaKey {
    std::shared_ptr<EVP_PKEY> pkey;
    std::string n, e;  // big-endian bytes
    std::string public_pem() const;
    std::string private_pem() const;
    // The public key as a JWK; alg left out when empty.
    json jwk(const std::string& kid, const std::string& alg = "RS256") const;
};

RsaKey generate_rsa(int bits = 2048);

// Keys generated once per test process (each ctest test is its own process).
const RsaKey& key_a();
const RsaKey& key_b();

std::string sign_rs256(const RsaKey& key, std::string_view input);

// base64url(JSON) of each part, joined with dots, and signed.
std::string part(const json& j);
std::string rs256_token(const RsaKey& key, json header, const json& payload);
std::string hs256_token(std::string_view secret, json header, const json& payload);
std::string unsigned_token(const json& header, const json& payload, const std::string& signature = "");

// A JWKS document holding the keys given.
std::string jwks(std::initializer_list<json> keys);

// Runs a shell command, returns its standard output; exit status in status.
std::string run(const std::string& command, int& status);

}  // namespace jwt_test
