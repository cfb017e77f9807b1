// Command-line flags and PGRAG_* environment variables.
#include "options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "jwks_source.hpp"

namespace pgrag::server {
namespace {

struct Spec {
    const char* flag;
    const char* env;
    std::string help;
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

double positive_duration(const std::string& flag, const std::string& v) {
    double d = parse_duration(flag, v);
    if (d <= 0) throw std::invalid_argument(flag + " must be more than 0, not \"" + v + "\"");
    return d;
}

bool to_bool(const std::string& flag, const std::string& v) {
    if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
    if (v == "off" || v == "false" || v == "no" || v == "0") return false;
    throw std::invalid_argument(flag + std::string(" must be on or off, not \"") + v + "\"");
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

// "120/min", "10/s", "1000/h" as a limit and its window in seconds; "0" or "off": unlimited (0).
void parse_rate(const std::string& flag, const std::string& v, double& limit, double& window_s) {
    if (v == "0" || v == "off") {
        limit = 0;
        return;
    }
    size_t slash = v.find('/');
    std::string unit = slash == std::string::npos ? "" : v.substr(slash + 1);
    double window = unit == "s" || unit == "sec" ? 1 : unit == "min" ? 60 : unit == "h" || unit == "hour" ? 3600 : 0;
    if (window == 0)
        throw std::invalid_argument(flag + " must be N/s, N/min or N/h (or 0 for none), not \"" + v + "\"");
    limit = to_int(flag, v.substr(0, slash), 1, 1000000);
    window_s = window;
}

void set_rate_limit(Options& o, const std::string& v) { parse_rate("--rate-limit", v, o.rate_limit, o.rate_window_s); }

// RFC 7518 §3.2: an HS256 key at least as long as the hash (32 bytes); shorter secrets can be brute-forced.
void set_jwt_secret(Options& o, const std::string& flag, const std::string& secret) {
    if (secret.size() < 32)
        throw std::invalid_argument(flag + " must be at least 32 bytes long (it is " + std::to_string(secret.size()) +
                                    ")");
    o.jwt_secret = secret;
}

std::string read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("--jwt-secret-file: cannot read \"" + path + "\"");
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    // Files written by editors and `echo` end with a newline that is not part of the secret.
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    return secret;
}

std::string non_empty(const std::string& flag, const std::string& v) {
    if (v.empty()) throw std::invalid_argument(flag + " must not be empty");
    return v;
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
        {"--threads", "PGRAG_THREADS",
         "worker threads; each open stream or kept-alive connection holds one (default 128)",
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
         "seconds streams and answers under way may take to finish after SIGTERM (default 30)",
         [](Options& o, const std::string& v) { o.shutdown_timeout_s = to_int("--shutdown-timeout", v, 0, 86400); }},
        {"--web-root", "PGRAG_WEB_ROOT", "folder of the chat page served at / (default " + default_web_root() + ")",
         [](Options& o, const std::string& v) { o.web_root = v; }},
        {"--question-workers", "PGRAG_QUESTION_WORKERS", "threads answering queued questions; 0: none (default 2)",
         [](Options& o, const std::string& v) { o.question_workers = to_int("--question-workers", v, 0, 256); }},
        {"--question-lease", "PGRAG_QUESTION_LEASE",
         "a claimed question is a worker's this long (extended while it runs; default 5m)",
         [](Options& o, const std::string& v) { o.question_lease_s = positive_duration("--question-lease", v); }},
        {"--question-retries", "PGRAG_QUESTION_RETRIES", "retries of a failed question before it fails (default 3)",
         [](Options& o, const std::string& v) { o.question_retries = to_int("--question-retries", v, 0, 100); }},
        {"--question-retry-delay", "PGRAG_QUESTION_RETRY_DELAY",
         "wait before the first retry, doubled for each later one (default 2s)",
         [](Options& o, const std::string& v) {
             o.question_retry_delay_s = parse_duration("--question-retry-delay", v);
         }},
        {"--question-retention", "PGRAG_QUESTION_RETENTION",
         "finished questions are deleted this long after they finish; 0: kept (default 7d)",
         [](Options& o, const std::string& v) { o.question_retention_s = parse_duration("--question-retention", v); }},
        {"--question-poll", "PGRAG_QUESTION_POLL",
         "how often idle workers look for questions queued elsewhere (default 1s)",
         [](Options& o, const std::string& v) { o.question_poll_s = positive_duration("--question-poll", v); }},
        {"--session-ttl", "PGRAG_SESSION_TTL", "sessions idle longer than this are deleted; 0: kept (default 24h)",
         [](Options& o, const std::string& v) { o.session_ttl_s = parse_duration("--session-ttl", v); }},
        {"--maintenance-interval", "PGRAG_MAINTENANCE_INTERVAL",
         "how often the background pruning of sessions and questions runs (default 60s)",
         [](Options& o, const std::string& v) {
             o.maintenance_interval_s = positive_duration("--maintenance-interval", v);
         }},
        {"--append-sources", "PGRAG_APPEND_SOURCES",
         "on: /v1/chat/completions appends the cited sources to the answer text (default off)",
         [](Options& o, const std::string& v) { o.append_sources = to_bool("--append-sources", v); }},
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
        {"--key-rate-limit", "PGRAG_KEY_RATE_LIMIT",
         "requests per API key (within its user's limit): N/s, N/min or N/h; 0 for none (default 0)",
         [](Options& o, const std::string& v) {
             parse_rate("--key-rate-limit", v, o.key_rate_limit, o.key_rate_window_s);
         }},
        {"--max-streams-per-key", "PGRAG_MAX_STREAMS_PER_KEY",
         "concurrent streamed answers per API key (within its user's limit); 0 for none (default 0)",
         [](Options& o, const std::string& v) {
             o.max_streams_per_key = to_int("--max-streams-per-key", v, 0, 100000);
         }},
        {"--failed-sign-ins", "PGRAG_FAILED_SIGN_INS",
         "failed sign-ins per client address before each further one makes it wait 1, 2, 4... s, at most 60 (default "
         "5)",
         [](Options& o, const std::string& v) { o.free_failed_sign_ins = to_int("--failed-sign-ins", v, 0, 1000000); }},
        {"--jwt-secret", "PGRAG_JWT_SECRET", "HS256 shared secret, at least 32 bytes (prefer the variable or a file)",
         [](Options& o, const std::string& v) { set_jwt_secret(o, "--jwt-secret", v); }},
        {"--jwt-secret-file", "PGRAG_JWT_SECRET_FILE", "file holding the HS256 secret (one trailing newline ignored)",
         [](Options& o, const std::string& v) { set_jwt_secret(o, "--jwt-secret-file", read_secret_file(v)); }},
        {"--jwt-jwks", "PGRAG_JWT_JWKS", "JWKS for RS256: a file or an https URL (fetched at start, refreshed)",
         [](Options& o, const std::string& v) {
             check_jwks_location(v);
             o.jwt_jwks = v;
         }},
        {"--jwt-issuer", "PGRAG_JWT_ISSUER", "required iss of tokens (default: not checked)",
         [](Options& o, const std::string& v) { o.jwt_issuer = non_empty("--jwt-issuer", v); }},
        {"--jwt-audience", "PGRAG_JWT_AUDIENCE", "required aud of tokens (default: not checked)",
         [](Options& o, const std::string& v) { o.jwt_audience = non_empty("--jwt-audience", v); }},
        {"--jwt-user-claim", "PGRAG_JWT_USER_CLAIM", "claim holding the user id (default sub)",
         [](Options& o, const std::string& v) { o.jwt_user_claim = non_empty("--jwt-user-claim", v); }},
        {"--jwt-groups-claim", "PGRAG_JWT_GROUPS_CLAIM", "claim holding groups or tenant (default none)",
         [](Options& o, const std::string& v) { o.jwt_groups_claim = non_empty("--jwt-groups-claim", v); }},
        {"--jwt-leeway", "PGRAG_JWT_LEEWAY", "seconds of clock difference tolerated for exp/nbf/iat (default 30)",
         [](Options& o, const std::string& v) { o.jwt_leeway_s = to_int("--jwt-leeway", v, 0, 300); }},
        {"--jwt-admin-group", "PGRAG_JWT_ADMIN_GROUP", "a token with this group has the admin scope (default none)",
         [](Options& o, const std::string& v) { o.jwt_admin_group = non_empty("--jwt-admin-group", v); }},
        {"--jwt-tenant-prefix", "PGRAG_JWT_TENANT_PREFIX",
         "a token's group that starts with this names its tenant, e.g. tenant: (default none)",
         [](Options& o, const std::string& v) { o.jwt_tenant_prefix = non_empty("--jwt-tenant-prefix", v); }},
    };
    return s;
}

}  // namespace

std::string default_web_root() { return PGRAG_DEFAULT_WEB_ROOT; }

std::string usage() {
    std::string u =
        "usage: pg_rag_server [options]\n\nEvery option may also come from its environment variable (a flag wins).\n\n";
    for (const auto& s : specs()) {
        std::string left = std::string("  ") + s.flag + " VALUE, " + s.env;
        // A long flag puts its help on the next line, in the same column.
        left = left.size() < 48 ? left + std::string(48 - left.size(), ' ') : left + "\n" + std::string(48, ' ');
        u += left + " " + s.help + "\n";
    }
    u += "  --allow-unauthenticated, PGRAG_ALLOW_UNAUTHENTICATED=1\n"
         "                                                 allow --auth none on a non-loopback address\n";
    u +=
        "  --jwt-check                                    verify one token read from stdin, print its identity, exit\n";
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
            if (arg == "--jwt-check") {
                p.options.jwt_check = true;
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
        const Options& o = p.options;
        if (!o.jwt_configured() &&
            (!o.jwt_issuer.empty() || !o.jwt_audience.empty() || !o.jwt_groups_claim.empty() ||
             o.jwt_user_claim != "sub" || o.jwt_check || !o.jwt_admin_group.empty() || !o.jwt_tenant_prefix.empty()))
            throw std::invalid_argument("the --jwt-* options need --jwt-secret, --jwt-secret-file or --jwt-jwks");
    } catch (const std::invalid_argument& e) {
        p.exit = true;
        p.exit_status = 2;
        p.text = std::string("pg_rag_server: ") + e.what() + "\n";
    }
    return p;
}

double parse_duration(const std::string& flag, const std::string& v) {
    std::string number = v;
    double unit = 1;
    if (!v.empty()) {
        switch (v.back()) {
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                unit = 86400;
                break;
            default:
                unit = 0;
        }
        if (unit != 0)
            number.pop_back();
        else
            unit = 1;
    }
    size_t used = 0;
    double d = -1;
    try {
        d = std::stod(number, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    d *= unit;
    // Digits and a point only: no signs, exponents, "inf" or "nan".
    bool plain = !number.empty() && number.find_first_not_of("0123456789.") == std::string::npos;
    if (!plain || used == 0 || used != number.size() || !(d >= 0 && d <= 3650.0 * 86400))
        throw std::invalid_argument(flag + std::string(" must be a duration such as 30s, 5m, 24h or 7d, not \"") + v +
                                    "\"");
    return d;
}

bool Options::auth_required() const { return auth.empty() ? !is_loopback(host) : auth == "required"; }

bool is_loopback(const std::string& host) {
    if (host == "localhost") return true;
    // Addresses only: a name such as "127.0.0.1.example.com" starts like one but resolves anywhere.
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace pgrag::server
