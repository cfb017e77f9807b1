// The server's options: each from a flag or an environment variable (flags win), with defaults.
#pragma once

#include <string>
#include <vector>

namespace pgrag::server {

// Where `cmake --install` puts the chat page (share/pg_rag/web under the install prefix).
std::string default_web_root();

struct Options {
    std::string database_url;  // libpq conninfo; empty: the PG* variables
    std::string host = "127.0.0.1";
    int port = 8080;
    int pool_size = 8;
    double pool_wait_s = 5;  // how long a request waits for a connection before 503
    // Worker threads: every open stream and every kept-alive client connection holds one, so 64 open
    // streams plus as many other clients (each thread costs an idle stack, ~8 MB of address space).
    int threads = 128;
    std::vector<std::string> cors_origins;
    size_t body_limit = 64u << 20;
    int read_timeout_s = 30;
    int write_timeout_s = 30;
    int request_timeout_s = 120;                // statement_timeout of every query, and the limit of one generation
    int shutdown_timeout_s = 30;                // SIGTERM: how long streams in flight may take to finish
    std::string web_root = default_web_root();  // the chat page's static files
    bool append_sources = false;                // /v1/chat/completions appends the cited sources to the text by default
    // Queued questions (POST /api/questions) and background pruning; durations in seconds.
    int question_workers = 2;                 // 0: this server answers no queued questions
    double question_lease_s = 300;            // a claim lasts this long (extended while the answer runs)
    int question_retries = 3;                 // failed attempts retried this many times, then failed
    double question_retry_delay_s = 2;        // before the first retry, doubled for each later one
    double question_retention_s = 7 * 86400;  // finished questions kept this long (0: forever)
    double question_poll_s = 1;               // idle workers look for questions this often
    double session_ttl_s = 86400;             // sessions idle longer are pruned (0: kept)
    double maintenance_interval_s = 60;       // how often the pruning runs

    // JWT verification (jwt.hpp): tokens that are not API keys.
    std::string jwt_secret;  // HS256 shared secret, at least 32 bytes; never printed
    std::string jwt_jwks;    // file path or URL of the JWKS (RS256)
    std::string jwt_issuer;
    std::string jwt_audience;
    std::string jwt_user_claim = "sub";
    std::string jwt_groups_claim;
    int jwt_leeway_s = 30;
    bool jwt_check = false;         // --jwt-check: verify one token read from stdin, print the identity, exit
    std::string jwt_admin_group;    // a token with this group has the admin scope
    std::string jwt_tenant_prefix;  // a group "<prefix><tenant>" names the token's tenant

    bool jwt_configured() const { return !jwt_secret.empty() || !jwt_jwks.empty(); }

    // Users: "none" or "required"; "" decides by the address (required unless loopback).
    std::string auth;
    bool allow_unauthenticated = false;  // --auth none on a non-loopback address
    double rate_limit = 120;             // requests per rate_window_s per user; 0: unlimited
    double rate_window_s = 60;
    int max_streams_per_user = 4;  // 0: unlimited
    double key_rate_limit = 0;     // requests per key_rate_window_s per API key; 0: unlimited
    double key_rate_window_s = 60;
    int max_streams_per_key = 0;   // 0: unlimited
    int key_cache_s = 5;           // how long a key's verification is reused (a revoked key stops within it)
    int free_failed_sign_ins = 5;  // per client address, before each further failure makes it wait

    // --auth as it applies to host: true when callers must authenticate.
    bool auth_required() const;
};

// What parse_options decided: run with the options, or exit with a status after printing text.
struct ParsedOptions {
    Options options;
    bool exit = false;
    int exit_status = 0;
    std::string text;  // --help, or the error
};

ParsedOptions parse_options(int argc, char** argv);

std::string usage();

// A duration: a number of seconds, or a number with a unit s, m, h or d ("90", "1.5h", "7d"), within
// [0, 10 years]; throws std::invalid_argument naming the flag.
double parse_duration(const std::string& flag, const std::string& v);

// True for the addresses 127.0.0.0/8 and ::1, and the name localhost: the only ones served without
// authentication unless --allow-unauthenticated.
bool is_loopback(const std::string& host);

}  // namespace pgrag::server
