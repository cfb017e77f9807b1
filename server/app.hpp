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
#include "wakeup.hpp"
#include "web_files.hpp"

namespace pgrag::server {

struct App {
    explicit App(Options o);
    Options options;
    Pool pool;
    Metrics metrics;
    WebFiles web;  // the chat page
    UsageRecorder usage;
    Authenticator auth;
    RateLimiter rate_limiter;      // per user
    StreamLimiter stream_limiter;  // per user
    RateLimiter key_rate_limiter;  // per API key
    StreamLimiter key_stream_limiter;
    std::atomic<bool> stopping{false};
    std::atomic<bool> past_deadline{false};  // SIGTERM's deadline passed: streams end now
    std::atomic<int> active_streams{0};
    Wakeup question_wakeup;     // a question was queued here; stop(): workers take no more
    Wakeup maintenance_wakeup;  // stop(): the pruning thread ends
    int listen_socket = -1;     // set when cpp-httplib creates it (see raise_listen_backlog)
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

// Call after bind_to_port: cpp-httplib 0.11.4 listens with a backlog of 5 (compiled into Debian's
// library), so a burst of new connections (64 clients starting at once) overflows the accept queue and
// some are reset. Listening again on the same socket sets the backlog to the system's maximum.
void raise_listen_backlog(const App& app);

// Writes e as the JSON body of res (OpenAI's shape under /v1/).
void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& e);

// The first value of sql's first row, run as caller on a pooled connection that is back in the pool
// before the response is sent.
std::optional<std::string> value_as(App& app, const Caller& caller, const std::string& sql,
                                    const std::vector<Param>& params = {});

// JSON response helper.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);

// Route registrations, one file each.
void add_health_routes(Router& r, App& app);
void add_chat_routes(Router& r, App& app);
void add_document_routes(Router& r, App& app);
void add_search_routes(Router& r, App& app);
void add_openai_routes(Router& r, App& app);
void add_web_routes(Router& r, App& app);
void add_question_routes(Router& r, App& app);
void add_openai_embedding_routes(Router& r, App& app);  // called by add_openai_routes
void add_usage_routes(Router& r, App& app);
void add_key_routes(Router& r, App& app);

// Milliseconds since t.
double ms_since(std::chrono::steady_clock::time_point t);

}  // namespace pgrag::server
