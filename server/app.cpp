// The HTTP set-up shared by every route.
#include "app.hpp"

#include <sys/socket.h>

#include <cstdio>
#include <random>
#include <utility>

namespace pgrag::server {

namespace {

// Per-request context of the worker thread: the matched route and when the request arrived.
thread_local std::string t_route = "unmatched";
thread_local std::chrono::steady_clock::time_point t_start = std::chrono::steady_clock::now();

std::string new_request_id() {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

// A client's id is kept when it is short and plain (it goes into logs and headers).
bool acceptable_request_id(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    return true;
}

bool is_openai_path(const std::string& path) { return path.rfind("/v1/", 0) == 0; }

void apply_cors(const App& app, const httplib::Request& req, httplib::Response& res) {
    std::string origin = req.get_header_value("Origin");
    if (origin.empty()) return;
    for (const auto& allowed : app.options.cors_origins)
        if (allowed == "*" || allowed == origin) {
            res.set_header("Access-Control-Allow-Origin", origin);
            res.set_header("Vary", "Origin");
            res.set_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, WWW-Authenticate");
            return;
        }
}

const char* status_message(int status) {
    switch (status) {
        case 400:
            return "bad request";
        case 404:
            return "not found";
        case 405:
            return "method not allowed";
        case 408:
            return "request timeout";
        case 411:
            return "a Content-Length is required";
        case 413:
            return "request body too large";
        case 414:
            return "request URI too long";
        case 415:
            return "unsupported media type";
        default:
            return status >= 500 ? "internal error" : "request failed";
    }
}

}  // namespace

App::App(Options o)
    : options(std::move(o)),
      pool(options.database_url, options.pool_size,
           std::chrono::milliseconds(static_cast<long>(options.pool_wait_s * 1000)),
           // Every query ends within the request timeout; the server names itself in pg_stat_activity.
           "SELECT set_config('statement_timeout', '" + std::to_string(options.request_timeout_s * 1000) +
               "', false), set_config('application_name', 'pg_rag_server', false)"),
      web(options.web_root),
      usage(pool),
      auth(options, pool, usage),
      rate_limiter(options.rate_limit, options.rate_window_s),
      stream_limiter(options.max_streams_per_user),
      key_rate_limiter(options.key_rate_limit, options.key_rate_window_s),
      key_stream_limiter(options.max_streams_per_key) {}

void require_scope(const Caller& caller, Scope scope, const std::string& what) {
    if (caller.has(scope)) return;
    ApiError e(
        403, "permission_error", "insufficient_scope",
        what + " needs the \"" + scope_name(scope) + "\" scope (this caller has: " + scopes_text(caller.scopes) + ")");
    e.www_authenticate =
        std::string("Bearer realm=\"pg_rag\", error=\"insufficient_scope\", scope=\"") + scope_name(scope) + "\"";
    throw e;
}

namespace {
ApiError too_many_streams(const std::string& whose, int max) {
    ApiError e(429, "rate_limit_error", "too_many_streams",
               "too many streamed answers at once for this " + whose + " (at most " + std::to_string(max) +
                   "): wait for one to finish");
    e.retry_after_s = 1;
    return e;
}
}  // namespace

std::shared_ptr<void> stream_slot(App& app, const Caller& caller) {
    if (!caller.authenticated) return std::make_shared<int>(0);
    auto user_slot = app.stream_limiter.acquire(caller.limit_key());
    if (!user_slot) throw too_many_streams("user", app.options.max_streams_per_user);
    if (!caller.key_id) return user_slot;
    auto key_slot = app.key_stream_limiter.acquire("key:" + std::to_string(*caller.key_id));
    if (!key_slot) throw too_many_streams("API key", app.options.max_streams_per_key);
    return std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(user_slot, key_slot);
}

std::optional<std::string> value_as(App& app, const Caller& caller, const std::string& sql,
                                    const std::vector<Param>& params) {
    Lease db = app.pool.acquire(caller.db());
    return db.value(sql, params);
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
    if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
    if (!e.www_authenticate.empty()) res.set_header("WWW-Authenticate", e.www_authenticate);
    send_json(res, e.status(), error_json(e, is_openai_path(req.path)));
}

namespace {

Scope scope_of(Access a) { return a == Access::Admin ? kScopeAdmin : a == Access::Write ? kScopeWrite : kScopeRead; }

// The caller of a route: authenticated, holding the route's scope, within its rate limit.
Caller admit(App& app, const httplib::Request& req, Access access) {
    if (access == Access::Open) return Caller{};
    Caller caller = app.auth.authenticate(req);
    require_scope(caller, scope_of(access), req.method + " " + t_route);
    if (caller.authenticated) {
        auto refuse = [](const std::string& whose, int wait) {
            ApiError e(429, "rate_limit_error", "rate_limited",
                       "rate limit reached for this " + whose + ": retry in " + std::to_string(wait) + " s");
            e.retry_after_s = wait;
            return e;
        };
        if (caller.key_id)
            if (int wait = app.key_rate_limiter.take("key:" + std::to_string(*caller.key_id)); wait > 0)
                throw refuse("API key", wait);
        if (int wait = app.rate_limiter.take(caller.limit_key()); wait > 0) throw refuse("user", wait);
    }
    return caller;
}

}  // namespace

void Router::add(const std::string& method, const std::string& pattern, const std::string& label, Access access,
                 Handler handler) {
    methods_[pattern].insert(method);
    labels_[pattern] = label;
    Handler wrapped = [&app = app_, label, access, handler = std::move(handler)](
                          const httplib::Request& req, httplib::Response& res, const Caller&) {
        t_route = label;
        try {
            handler(req, res, admit(app, req, access));
        } catch (...) {
            send_error(req, res, to_api_error(std::current_exception()));
        }
    };
    auto plain = [wrapped](const httplib::Request& req, httplib::Response& res) { wrapped(req, res, Caller{}); };
    if (method == "GET")
        http_.Get(pattern, plain);
    else if (method == "POST")
        http_.Post(pattern, plain);
    else if (method == "DELETE")
        http_.Delete(pattern, plain);
    else if (method == "PUT")
        http_.Put(pattern, plain);
    else if (method == "PATCH")
        http_.Patch(pattern, plain);
}

void Router::finish() {
    auto all = methods_;
    for (const auto& [pattern, methods] : all) {
        std::string allow;
        for (const auto& m : methods) allow += (allow.empty() ? "" : ", ") + m;
        for (const char* m : {"GET", "POST", "DELETE", "PUT", "PATCH"}) {
            if (methods.count(m)) continue;
            add(m, pattern, labels_[pattern], Access::Open,
                [allow](const httplib::Request& req, httplib::Response& res, const Caller&) {
                    res.set_header("Allow", allow);
                    throw ApiError(405, "invalid_request_error", "method_not_allowed",
                                   "method " + req.method + " is not allowed here (allowed: " + allow + ")");
                });
        }
    }
}

void configure(httplib::Server& http, App& app) {
    const Options& o = app.options;
    int threads = o.threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    http.set_read_timeout(o.read_timeout_s, 0);
    http.set_write_timeout(o.write_timeout_s, 0);
    http.set_keep_alive_timeout(5);
    // A client keeps its connection for 100 requests, not cpp-httplib's 5: a new connection every 5
    // requests costs a handshake and a hand-off to a worker thread each time.
    http.set_keep_alive_max_count(100);
    // Server-sent events are small writes that must leave at once, not wait for the previous one's ACK.
    http.set_tcp_nodelay(true);
    http.set_socket_options([&app](socket_t sock) {
        httplib::default_socket_options(sock);
        app.listen_socket = sock;
    });
    http.set_payload_max_length(o.body_limit);

    http.set_pre_routing_handler([&app](const httplib::Request& req, httplib::Response& res) {
        t_start = std::chrono::steady_clock::now();
        t_route = "unmatched";
        std::string id = req.get_header_value("X-Request-Id");
        res.set_header("X-Request-Id", acceptable_request_id(id) ? id : new_request_id());
        res.set_header("X-Content-Type-Options", "nosniff");  // JSON and files alike are never sniffed
        apply_cors(app, req, res);
        if (req.method == "OPTIONS") {  // CORS preflight
            t_route = "preflight";
            if (res.has_header("Access-Control-Allow-Origin")) {
                res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
                res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Request-Id");
                res.set_header("Access-Control-Max-Age", "600");
            }
            res.status = 204;
            return httplib::Server::HandlerResponse::Handled;
        }
        // A body must announce its length: chunked uploads could not be held to the body limit up front.
        if (req.has_header("Transfer-Encoding")) {
            res.set_header("Connection", "close");
            send_error(req, res,
                       ApiError(411, "invalid_request_error", "length_required",
                                "chunked request bodies are not accepted: send a Content-Length"));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    // Errors cpp-httplib produced itself (404, 413, 400 of a malformed request) get a JSON body too.
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
            if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", new_request_id());
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message = status_message(res.status);
            if (res.status == 404) message = "no route for " + req.method + " " + req.path;
            send_error(req, res,
                       ApiError(res.status, res.status >= 500 ? "server_error" : "invalid_request_error",
                                res.status == 404 ? "not_found" : std::to_string(res.status), message));
            return httplib::Server::HandlerResponse::Handled;
        }));

    http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        send_error(req, res, to_api_error(ep));
    });

    // One line per request, after its last byte: never bodies, query strings or headers but the id.
    http.set_logger([&app](const httplib::Request& req, const httplib::Response& res) {
        double ms = ms_since(t_start);
        std::string route = t_route;
        app.metrics.observe(route, req.method, res.status, ms / 1000.0);
        std::fprintf(stderr, "access method=%s route=%s status=%d duration_ms=%.1f request_id=%s\n", req.method.c_str(),
                     route.c_str(), res.status, ms, res.get_header_value("X-Request-Id").c_str());
        t_route = "unmatched";
        t_start = std::chrono::steady_clock::now();
    });

    Router r(http, app);
    add_health_routes(r, app);
    add_chat_routes(r, app);
    add_document_routes(r, app);
    add_search_routes(r, app);
    add_openai_routes(r, app);
    add_web_routes(r, app);
    add_question_routes(r, app);
    add_usage_routes(r, app);
    add_key_routes(r, app);
    r.finish();
}

void raise_listen_backlog(const App& app) {
    if (app.listen_socket >= 0) ::listen(app.listen_socket, SOMAXCONN);
}

}  // namespace pgrag::server
