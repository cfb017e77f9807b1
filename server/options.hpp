// The server's options: each from a flag or an environment variable (flags win), with defaults.
#pragma once

#include <string>
#include <vector>

namespace pgrag::server {

struct Options {
    std::string database_url;  // libpq conninfo; empty: the PG* variables
    std::string host = "127.0.0.1";
    int port = 8080;
    int pool_size = 8;
    double pool_wait_s = 5;  // how long a request waits for a connection before 503
    int threads = 32;        // worker threads; every open stream holds one
    std::vector<std::string> cors_origins;
    size_t body_limit = 64u << 20;
    int read_timeout_s = 30;
    int write_timeout_s = 30;
    int request_timeout_s = 120;  // statement_timeout of every query, and the limit of one generation
    int shutdown_timeout_s = 30;  // SIGTERM: how long streams in flight may take to finish

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

// True for the addresses 127.0.0.0/8 and ::1, and the name localhost: the only ones served without
// authentication unless --allow-unauthenticated.
bool is_loopback(const std::string& host);

}  // namespace pgrag::server
