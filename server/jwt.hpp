// JWT verification for the server's callers: RS256 with keys from a JWKS, HS256 with a shared secret.
// Thread-safe: worker threads verify against a shared snapshot of the keys, swapped when the JWKS is refreshed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "jwks.hpp"
#include "jwt_claims.hpp"

namespace pgrag::server {

struct JwtConfig {
    std::string hs256_secret;  // empty: HS256 tokens are refused
    // Returns the JWKS document (from a file or a URL); throws when it cannot. Empty: RS256 tokens are refused.
    std::function<std::string()> fetch_jwks;
    ClaimRules claims;
    int refresh_interval_s = 60;  // an unknown kid refreshes the JWKS at most this often
    int jwks_max_age_s = 3600;    // keys older than this are refreshed, so a key removed from the JWKS stops working
    size_t max_token_bytes = 16384;
    std::function<int64_t()> now;                 // seconds since the epoch; empty: the system clock
    std::function<void(const std::string&)> log;  // refresh failures and skipped keys; empty: silent
};

class JwtVerifier {
  public:
    // Fetches the JWKS once (when configured); throws std::runtime_error when it cannot be used.
    explicit JwtVerifier(JwtConfig config);

    // The caller a token speaks for, or nullopt with the reason (for a 401). Never logs the token.
    std::optional<Identity> verify(std::string_view token, JwtRefusal& why);
    std::optional<Identity> verify(const std::string& token, std::string& why);

    // The number of RSA keys in the current snapshot.
    size_t key_count() const;

  private:
    struct Keys {
        JwkSet set;
        int64_t loaded_at = 0;
    };
    std::shared_ptr<const Keys> snapshot() const;
    // Fetches and swaps in the JWKS. unknown_kid: wait for a refresh in progress and honour the interval;
    // otherwise (keys past their age) only one thread refreshes and the others go on with the old keys.
    void refresh(bool unknown_kid, int64_t now);
    void install(std::string_view jwks, int64_t now);
    int64_t now() const;

    JwtConfig config_;
    mutable std::mutex keys_mutex_;
    std::shared_ptr<const Keys> keys_;  // under keys_mutex_
    std::mutex refresh_mutex_;
    std::optional<int64_t> last_refresh_;  // under refresh_mutex_: the last refresh attempt, successful or not
};

}  // namespace pgrag::server
