// Who is calling: `Authorization: Bearer <API key or JWT>`. API keys (prag_...) are verified through
// rag_verify_api_key and the answer reused for a few seconds; JWTs by the configured verifier. Failures
// are 401 with WWW-Authenticate, counted per client address and slowed down (429 with Retry-After).
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "caller.hpp"
#include "json_errors.hpp"
#include "limits.hpp"
#include "options.hpp"
#include "pool.hpp"
#include "usage.hpp"

namespace pgrag::server {

// True for the shape of a pg_rag API key: prag_<12 hex>_<64 hex>.
bool looks_like_api_key(const std::string& token);

// A 401 with WWW-Authenticate: Bearer (and the reason, when credentials were refused).
ApiError unauthorized(const std::string& code, const std::string& message);

// Verifies a JWT: the caller it speaks for, or nullopt with the reason in why.
using JwtCheck = std::function<std::optional<Caller>(const std::string& token, std::string& why)>;

class Authenticator {
  public:
    Authenticator(const Options& options, Pool& pool, UsageRecorder& usage);

    // The caller of req; throws ApiError 401 (no or refused credentials) or 429 (its address failed too often).
    Caller authenticate(const httplib::Request& req);

    void set_jwt(JwtCheck check) { jwt_ = std::move(check); }
    bool required() const { return required_; }

  private:
    struct Verdict {
        std::optional<Caller> caller;
        std::string code, message;  // why not
        std::chrono::steady_clock::time_point until;
    };
    Verdict verify_key(const std::string& key);
    [[noreturn]] void refuse(const httplib::Request& req, const std::string& code, const std::string& message);

    bool required_;
    std::chrono::seconds cache_for_;
    Pool& pool_;
    UsageRecorder& usage_;
    JwtCheck jwt_;
    SignInGuard guard_;
    std::mutex mu_;
    std::unordered_map<std::string, Verdict> cache_;  // by key
};

}  // namespace pgrag::server
