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
    // Worker threads: every open stream and every kept-alive client connection holds one, so 64 open
    // streams plus as many other clients (each thread costs an idle stack, ~8 MB of address space).
    int threads = 128;
    std::vector<std::string> cors_origins;
    size_t body_limit = 64u << 20;
    int read_timeout_s = 30;
    int write_timeout_s = 30;
    int request_timeout_s = 120;  // statement_timeout of every query, and the limit of one generation
    int shutdown_timeout_s = 30;  // SIGTERM: how long streams in flight may take to finish
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

// True for 127.0.0.0/8, ::1 and localhost: the only addresses served without authentication.
bool is_loopback(const std::string& host);

}  // namespace pgrag::server
