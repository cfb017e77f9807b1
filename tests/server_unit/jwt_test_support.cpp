// RSA keys, signatures and tokens for the JWT tests, made with OpenSSL directly.
#include "jwt_test_support.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <stdexcept>

#include "base64url.hpp"
#include "jwt_signature.hpp"

namespace jwt_test {
namespace {

std::string bn_param(EVP_PKEY* pkey, const char* name) {
    BIGNUM* bn = nullptr;
    if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) throw std::runtime_error("EVP_PKEY_get_bn_param");
    std::string out(BN_num_bytes(bn), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
}

std::string pem(EVP_PKEY* pkey, bool is_private) {
    BIO* bio = BIO_new(BIO_s_mem());
    int ok = is_private ? PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr)
                        : PEM_write_bio_PUBKEY(bio, pkey);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out = ok ? std::string(data, static_cast<size_t>(len)) : "";
    BIO_free(bio);
    return out;
}

}  // namespace

std::string RsaKey::public_pem() const { return pem(pkey.get(), false); }
std::string RsaKey::private_pem() const { return pem(pkey.get(), true); }

json RsaKey::jwk(const std::string& kid, const std::string& alg) const {
    json k = {{"kty", "RSA"},
              {"use", "sig"},
              {"kid", kid},
              {"n", pgrag::server::base64url_encode(n)},
              {"e", pgrag::server::base64url_encode(e)}};
    if (!alg.empty()) k["alg"] = alg;
    return k;
}

RsaKey generate_rsa(int bits) {
    EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned>(bits));
    if (!raw) throw std::runtime_error("EVP_RSA_gen");
    RsaKey key;
    key.pkey.reset(raw, EVP_PKEY_free);
    key.n = bn_param(raw, OSSL_PKEY_PARAM_RSA_N);
    key.e = bn_param(raw, OSSL_PKEY_PARAM_RSA_E);
    return key;
}

const RsaKey& key_a() {
    static const RsaKey k = generate_rsa();
    return k;
}

const RsaKey& key_b() {
    static const RsaKey k = generate_rsa();
    return k;
}

std::string sign_rs256(const RsaKey& key, std::string_view input) {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
            1)
        throw std::runtime_error("EVP_DigestSign");
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        throw std::runtime_error("EVP_DigestSign");
    sig.resize(len);
    return sig;
}

std::string part(const json& j) { return pgrag::server::base64url_encode(j.dump()); }

std::string rs256_token(const RsaKey& key, json header, const json& payload) {
    if (!header.contains("alg")) header["alg"] = "RS256";
    std::string input = part(header) + "." + part(payload);
    return input + "." + pgrag::server::base64url_encode(sign_rs256(key, input));
}

std::string hs256_token(std::string_view secret, json header, const json& payload) {
    if (!header.contains("alg")) header["alg"] = "HS256";
    std::string input = part(header) + "." + part(payload);
    return input + "." + pgrag::server::base64url_encode(pgrag::server::hmac_sha256(secret, input));
}

std::string unsigned_token(const json& header, const json& payload, const std::string& signature) {
    return part(header) + "." + part(payload) + "." + signature;
}

std::string jwks(std::initializer_list<json> keys) {
    json list = json::array();
    for (const auto& k : keys) list.push_back(k);
    return json{{"keys", list}}.dump();
}

std::string run(const std::string& command, int& status) {
    FILE* p = popen(command.c_str(), "r");
    if (!p) throw std::runtime_error("popen");
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int raw = pclose(p);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return out;
}

}  // namespace jwt_test
