// Command-line flags and PGRAG_* environment variables.
#include "options.hpp"

#include <cstdlib>
#include <functional>
#include <stdexcept>

namespace pgrag::server {
namespace {

struct Spec {
    const char* flag;
    const char* env;
    const char* help;
    std::function<void(Options&, const std::string&)> set;
};

int to_int(const std::string& flag, const std::string& v, long min, long max) {
    size_t used = 0;
    long n = 0;
    try {
        n = std::stol(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != v.size() || n < min || n > max)
        throw std::invalid_argument(flag + std::string(" must be an integer between ") + std::to_string(min) + " and " +
                                    std::to_string(max) + ", not \"" + v + "\"");
    return static_cast<int>(n);
}

double to_seconds(const std::string& flag, const std::string& v) {
    size_t used = 0;
    double d = -1;
    try {
        d = std::stod(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != v.size() || !(d > 0 && d <= 86400))
        throw std::invalid_argument(flag + std::string(" must be a number of seconds in (0, 86400], not \"") + v +
                                    "\"");
    return d;
}

void set_listen(Options& o, const std::string& v) {
    // host:port, [v6]:port
    size_t colon = v.rfind(':');
    if (colon == std::string::npos || colon + 1 == v.size())
        throw std::invalid_argument("--listen must be host:port, not \"" + v + "\"");
    std::string host = v.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) throw std::invalid_argument("--listen must name a host, not \"" + v + "\"");
    o.host = host;
    o.port = to_int("--listen port", v.substr(colon + 1), 1, 65535);
}

std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= v.size()) {
        size_t comma = v.find(',', start);
        std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// "120/min", "10/s", "1000/h"; "0" or "off": unlimited.
void set_rate_limit(Options& o, const std::string& v) {
    if (v == "0" || v == "off") {
        o.rate_limit = 0;
        return;
    }
    size_t slash = v.find('/');
    std::string unit = slash == std::string::npos ? "" : v.substr(slash + 1);
    double window = unit == "s" || unit == "sec" ? 1 : unit == "min" ? 60 : unit == "h" || unit == "hour" ? 3600 : 0;
    int n = window > 0 ? to_int("--rate-limit", v.substr(0, slash), 1, 1000000) : 0;
    if (window == 0)
        throw std::invalid_argument("--rate-limit must be N/s, N/min or N/h (or 0 for none), not \"" + v + "\"");
    o.rate_limit = n;
    o.rate_window_s = window;
}

const std::vector<Spec>& specs() {
    static const std::vector<Spec> s = {
        {"--database-url", "PGRAG_DATABASE_URL", "libpq connection string or URI (default: the PG* variables)",
         [](Options& o, const std::string& v) { o.database_url = v; }},
        {"--listen", "PGRAG_LISTEN", "host:port to listen on (default 127.0.0.1:8080; loopback only)", set_listen},
        {"--pool-size", "PGRAG_POOL_SIZE", "database connections (default 8)",
         [](Options& o, const std::string& v) { o.pool_size = to_int("--pool-size", v, 1, 1000); }},
        {"--pool-wait", "PGRAG_POOL_WAIT", "seconds a request waits for a connection before 503 (default 5)",
         [](Options& o, const std::string& v) { o.pool_wait_s = to_seconds("--pool-wait", v); }},
        {"--threads", "PGRAG_THREADS", "worker threads; each open stream holds one (default 32)",
         [](Options& o, const std::string& v) { o.threads = to_int("--threads", v, 1, 4096); }},
        {"--cors-origins", "PGRAG_CORS_ORIGINS", "comma-separated origins allowed by CORS (default none)",
         [](Options& o, const std::string& v) { o.cors_origins = split_list(v); }},
        {"--body-limit", "PGRAG_BODY_LIMIT", "largest request body in bytes (default 67108864 = 64 MB)",
         [](Options& o, const std::string& v) {
             o.body_limit = static_cast<size_t>(to_int("--body-limit", v, 1, 1 << 30));
         }},
        {"--read-timeout", "PGRAG_READ_TIMEOUT", "seconds to wait for a client's bytes (default 30)",
         [](Options& o, const std::string& v) { o.read_timeout_s = to_int("--read-timeout", v, 1, 86400); }},
        {"--write-timeout", "PGRAG_WRITE_TIMEOUT", "seconds a write to a client may block (default 30)",
         [](Options& o, const std::string& v) { o.write_timeout_s = to_int("--write-timeout", v, 1, 86400); }},
        {"--request-timeout", "PGRAG_REQUEST_TIMEOUT", "seconds a query or a generation may take (default 120)",
         [](Options& o, const std::string& v) { o.request_timeout_s = to_int("--request-timeout", v, 1, 86400); }},
        {"--shutdown-timeout", "PGRAG_SHUTDOWN_TIMEOUT",
         "seconds streams may take to finish after SIGTERM (default 30)",
         [](Options& o, const std::string& v) { o.shutdown_timeout_s = to_int("--shutdown-timeout", v, 0, 86400); }},
        {"--auth", "PGRAG_AUTH",
         "none | required: callers sign in with an API key or a JWT (default: required unless loopback)",
         [](Options& o, const std::string& v) {
             if (v != "none" && v != "required")
                 throw std::invalid_argument("--auth must be none or required, not \"" + v + "\"");
             o.auth = v;
         }},
        {"--rate-limit", "PGRAG_RATE_LIMIT", "requests per user: N/s, N/min or N/h; 0 for none (default 120/min)",
         set_rate_limit},
        {"--max-streams-per-user", "PGRAG_MAX_STREAMS_PER_USER",
         "concurrent streamed answers per user; 0 for none (default 4)",
         [](Options& o, const std::string& v) {
             o.max_streams_per_user = to_int("--max-streams-per-user", v, 0, 100000);
         }},
        {"--failed-sign-ins", "PGRAG_FAILED_SIGN_INS",
         "failed sign-ins per client address before each further one makes it wait 1, 2, 4... s, at most 60 (default "
         "5)",
         [](Options& o, const std::string& v) { o.free_failed_sign_ins = to_int("--failed-sign-ins", v, 0, 1000000); }},
    };
    return s;
}

}  // namespace

std::string usage() {
    std::string u =
        "usage: pg_rag_server [options]\n\nEvery option may also come from its environment variable (a flag wins).\n\n";
    for (const auto& s : specs()) {
        std::string left = std::string("  ") + s.flag + " VALUE, " + s.env;
        if (left.size() < 48) left.resize(48, ' ');
        u += left + " " + s.help + "\n";
    }
    u += "  --allow-unauthenticated, PGRAG_ALLOW_UNAUTHENTICATED=1\n"
         "                                                 allow --auth none on a non-loopback address\n";
    u += "  --help                                         this text\n";
    return u;
}

ParsedOptions parse_options(int argc, char** argv) {
    ParsedOptions p;
    try {
        for (const auto& s : specs())
            if (const char* v = std::getenv(s.env); v && *v) s.set(p.options, v);
        if (const char* v = std::getenv("PGRAG_ALLOW_UNAUTHENTICATED"); v && *v)
            p.options.allow_unauthenticated = std::string(v) == "1" || std::string(v) == "true";
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                p.exit = true;
                p.text = usage();
                return p;
            }
            if (arg == "--allow-unauthenticated") {
                p.options.allow_unauthenticated = true;
                continue;
            }
            std::string value;
            bool has_value = false;
            if (size_t eq = arg.find('='); eq != std::string::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
                has_value = true;
            }
            const Spec* spec = nullptr;
            for (const auto& s : specs())
                if (arg == s.flag) spec = &s;
            if (!spec) throw std::invalid_argument("unknown option \"" + arg + "\" (see --help)");
            if (!has_value) {
                if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
                value = argv[++i];
            }
            spec->set(p.options, value);
        }
    } catch (const std::invalid_argument& e) {
        p.exit = true;
        p.exit_status = 2;
        p.text = std::string("pg_rag_server: ") + e.what() + "\n";
    }
    return p;
}

bool Options::auth_required() const { return auth.empty() ? !is_loopback(host) : auth == "required"; }

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

}  // namespace pgrag::server
