// RS256 through EVP_DigestVerify, HS256 through HMAC and CRYPTO_memcmp.
#include "jwt_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>

namespace pgrag::server {

bool verify_rs256(EVP_PKEY* key, std::string_view input, std::string_view signature) {
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return false;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) return false;
    // RS256 is PKCS #1 v1.5 padding (RFC 7518 §3.3), never PSS.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
    int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size());
    return ok == 1;
}

std::string hmac_sha256(std::string_view secret, std::string_view input) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len))
        throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(mac), len);
}

bool verify_hs256(std::string_view secret, std::string_view input, std::string_view signature) {
    std::string expected = hmac_sha256(secret, input);
    // The length is public (always 32); the bytes are compared without an early exit.
    return signature.size() == expected.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

}  // namespace pgrag::server
