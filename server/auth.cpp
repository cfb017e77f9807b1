// API keys and JWTs to callers.
#include "auth.hpp"

#include <cctype>

namespace pgrag::server {

namespace {

constexpr size_t kMaxCached = 10000;

bool is_hex(const std::string& s, size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
        if (!std::isxdigit(static_cast<unsigned char>(s[i])) || std::isupper(static_cast<unsigned char>(s[i])))
            return false;
    return true;
}

bool looks_like_jwt(const std::string& t) {
    size_t dots = 0;
    for (char c : t) dots += c == '.';
    return dots == 2;
}

// The token of "Bearer <token>" (scheme case-insensitive), or nullopt.
std::optional<std::string> bearer_token(const std::string& header) {
    if (header.size() < 7) return std::nullopt;
    std::string scheme = header.substr(0, 6);
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "bearer" || header[6] != ' ') return std::nullopt;
    size_t start = header.find_first_not_of(' ', 6);
    if (start == std::string::npos) return std::nullopt;
    std::string token = header.substr(start);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
    if (token.empty() || token.find_first_of(" \t") != std::string::npos) return std::nullopt;
    return token;
}

}  // namespace

bool looks_like_api_key(const std::string& t) {
    return t.size() == 82 && t.compare(0, 5, "prag_") == 0 && t[17] == '_' && is_hex(t, 5, 12) && is_hex(t, 18, 64);
}

ApiError unauthorized(const std::string& code, const std::string& message) {
    ApiError e(401, "authentication_error", code, message);
    e.www_authenticate = "Bearer realm=\"pg_rag\"";
    if (code != "missing_credentials") {
        std::string description = message;
        for (auto& c : description)
            if (c == '"' || c == '\\') c = '\'';
        e.www_authenticate += ", error=\"invalid_token\", error_description=\"" + description + "\"";
    }
    return e;
}

Authenticator::Authenticator(const Options& options, Pool& pool, UsageRecorder& usage)
    : required_(options.auth_required()),
      cache_for_(options.key_cache_s),
      pool_(pool),
      usage_(usage),
      guard_(options.free_failed_sign_ins) {}

Caller Authenticator::authenticate(const httplib::Request& req) {
    std::string header = req.get_header_value("Authorization");
    if (header.empty()) {
        if (!required_) return Caller::local_anonymous();
        throw unauthorized("missing_credentials",
                           "authentication required: send \"Authorization: Bearer <API key or token>\"");
    }
    auto token = bearer_token(header);
    bool ours = token && (token->rfind("prag_", 0) == 0 || (jwt_ && looks_like_jwt(*token)));
    // Without required sign-in, credentials that are not ours (a client's placeholder key) are ignored.
    if (!required_ && !ours) return Caller::local_anonymous();
    if (int wait = guard_.wait_s(req.remote_addr); wait > 0) {
        ApiError e(429, "rate_limit_error", "too_many_failed_sign_ins",
                   "too many failed sign-ins from this address: retry in " + std::to_string(wait) + " s");
        e.retry_after_s = wait;
        throw e;
    }
    if (!token) refuse(req, "malformed_credentials", "the Authorization header must be \"Bearer <API key or token>\"");
    if (token->rfind("prag_", 0) == 0) {
        if (!looks_like_api_key(*token))
            refuse(req, "malformed_credentials", "malformed API key: expected prag_<12 hex digits>_<64 hex digits>");
        Verdict v = verify_key(*token);
        if (!v.caller) refuse(req, v.code, v.message);
        return *v.caller;
    }
    if (jwt_ && looks_like_jwt(*token)) {
        std::string why;
        if (auto caller = jwt_(*token, why)) return *caller;
        refuse(req, "invalid_token", "invalid token: " + why);
    }
    refuse(req, "malformed_credentials",
           jwt_ ? "the bearer credentials are neither a pg_rag API key (prag_...) nor a JWT"
                : "the bearer credentials are not a pg_rag API key (prag_...), and no JWT verification is configured");
}

void Authenticator::refuse(const httplib::Request& req, const std::string& code, const std::string& message) {
    guard_.failed(req.remote_addr);
    nlohmann::json e = usage_event(Caller{}, "sign_in_failure");
    e["detail"] = {{"address", req.remote_addr}, {"reason", code}};
    usage_.record(std::move(e));
    throw unauthorized(code, message);
}

Authenticator::Verdict Authenticator::verify_key(const std::string& key) {
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (auto it = cache_.find(key); it != cache_.end()) {
            if (now < it->second.until) return it->second;
            cache_.erase(it);
        }
    }
    Verdict v;
    v.until = now + cache_for_;
    PgResult r = [&] {
        Lease db = pool_.acquire();
        try {
            return db.exec(
                "SELECT user_id, tenant_id, scopes, key_id, status,"
                " extract(epoch FROM expires_at - now()) FROM rag_verify_api_key($1)",
                {Param::text(key)});
        } catch (const DbError& e) {
            if (e.sqlstate() != "42501") throw;
            throw ApiError(500, "server_error", "key_verification_unavailable",
                           "the server's database role may not verify API keys: GRANT EXECUTE ON FUNCTION "
                           "rag_verify_api_key(text) TO it");
        }
    }();
    PGresult* res = r.get();
    if (PQntuples(res) == 0) {
        v.code = "unknown_key";
        v.message = "unknown API key";
        return v;  // not kept: a key made a moment later must work at once
    }
    std::string status = PQgetvalue(res, 0, 4);
    if (status == "valid") {
        Caller c;
        c.user_id = PQgetvalue(res, 0, 0);
        c.tenant_id = PQgetvalue(res, 0, 1);
        c.scopes = parse_scopes(PQgetvalue(res, 0, 2));
        c.key_id = std::stoll(PQgetvalue(res, 0, 3));
        c.authenticated = true;
        v.caller = c;
        if (!PQgetisnull(res, 0, 5)) {  // never reused past the key's expiry
            double left = std::stod(PQgetvalue(res, 0, 5));
            auto expiry = now + std::chrono::milliseconds(static_cast<long long>(left * 1000));
            if (expiry < v.until) v.until = expiry;
        }
    } else {
        v.code = status + "_key";
        v.message = status == "revoked" ? "the API key was revoked" : "the API key expired";
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_[key] = v;
    return v;
}

}  // namespace pgrag::server
