// The server's shared state and its HTTP set-up: routes with their labels, JSON errors, 405s,
// X-Request-Id, CORS, the access log and metrics.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

#include <memory>

#include "auth.hpp"
#include "caller.hpp"
#include "json_errors.hpp"
#include "limits.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "pool.hpp"
#include "usage.hpp"

namespace pgrag::server {

struct App {
    explicit App(Options o);
    Options options;
    Pool pool;
    Metrics metrics;
    UsageRecorder usage;
    Authenticator auth;
    RateLimiter rate_limiter;
    StreamLimiter stream_limiter;
    std::atomic<bool> stopping{false};
    std::atomic<bool> past_deadline{false};  // SIGTERM's deadline passed: streams end now
    std::atomic<int> active_streams{0};
};

// What a route asks of its caller: nothing (health, metrics, the chat page's files) or a scope.
enum class Access { Open, Read, Write, Admin };

// Handlers get the authenticated caller (for Access::Open, one without scopes).
using Handler = std::function<void(const httplib::Request&, httplib::Response&, const Caller&)>;

// 403 unless caller has scope; what: the action, for the message.
void require_scope(const Caller& caller, Scope scope, const std::string& what);

// A slot for one more streamed answer of caller (held by the stream), or 429 with Retry-After.
std::shared_ptr<void> stream_slot(App& app, const Caller& caller);

// Registers routes, each under a label (its pattern as written in the README) for the log and metrics,
// behind authentication, its scope and the caller's rate limit.
class Router {
  public:
    Router(httplib::Server& http, App& app) : http_(http), app_(app) {}
    void add(const std::string& method, const std::string& pattern, const std::string& label, Access access,
             Handler handler);
    // Every other method on a known route: 405 with Allow.
    void finish();

  private:
    httplib::Server& http_;
    App& app_;
    std::map<std::string, std::set<std::string>> methods_;  // pattern -> methods
    std::map<std::string, std::string> labels_;
};

// Sets up timeouts, limits, the thread pool, the middleware and every route.
void configure(httplib::Server& http, App& app);

// Writes e as the JSON body of res (OpenAI's shape under /v1/).
void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& e);

// JSON response helper.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);

// Route registrations, one file each.
void add_health_routes(Router& r, App& app);
void add_chat_routes(Router& r, App& app);
void add_document_routes(Router& r, App& app);
void add_search_routes(Router& r, App& app);
void add_openai_routes(Router& r, App& app);
void add_usage_routes(Router& r, App& app);
void add_key_routes(Router& r, App& app);

// Milliseconds since t.
double ms_since(std::chrono::steady_clock::time_point t);

}  // namespace pgrag::server
