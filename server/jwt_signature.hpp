// The two signature algorithms a JWT may use here: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and HS256 (HMAC-SHA256).
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace pgrag::server {

// True when signature is a valid RS256 signature of input under the RSA public key.
bool verify_rs256(EVP_PKEY* key, std::string_view input, std::string_view signature);

// HMAC-SHA256 of input under secret (32 bytes).
std::string hmac_sha256(std::string_view secret, std::string_view input);

// True when signature is HMAC-SHA256(secret, input), compared in constant time.
bool verify_hs256(std::string_view secret, std::string_view input, std::string_view signature);

}  // namespace pgrag::server
