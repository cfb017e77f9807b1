// HTTP for provider calls: libcurl multi, keep-alive, concurrency, retries, cancellation.
// Shared by the extension (one client per backend, no threads) and the server.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pgrag::http {

struct Request {
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;                  // sent as POST when non-empty
    // Streaming: when set, the bytes of a 2xx response go here as they arrive instead of into
    // Response::body (error bodies are still collected). A transfer that delivered bytes is never
    // retried; an exception thrown here aborts the transfer and is re-thrown by send_all.
    std::function<void(std::string_view)> on_data;
};

struct Response {
    long status = 0;  // 0 when no HTTP response arrived
    std::string body;
    std::string transport_error;  // set when the request failed below HTTP (refused, timeout, ...)
    bool timed_out = false;
    int attempts = 0;
};

struct Options {
    long timeout_ms = 30000;  // whole request, per attempt
    long connect_timeout_ms = 10000;
    int max_retries = 3;  // retries after the first attempt
    int max_concurrency = 4;
    long base_retry_delay_ms = 500;   // exponential backoff with jitter from here
    long max_retry_delay_ms = 30000;  // cap, also for Retry-After
    // Hosts requests may go to ("host" or "host:port", case-insensitive); empty: any host.
    std::vector<std::string> allowed_hosts;
};

// Returns true when the caller wants the calls abandoned (query cancel, statement timeout).
using InterruptCheck = std::function<bool()>;

struct Stats {
    uint64_t requests = 0;  // attempts sent
    uint64_t retries = 0;
};

// A JSON POST to url; empty header strings are left out.
Request json_post(std::string url, std::string json_body, const std::vector<std::string>& headers);

// The URL without trailing slashes (base URLs are joined with paths that start with one).
std::string trim_slash(std::string url);

// The parts of an http or https URL that decide where a request goes.
struct UrlParts {
    std::string scheme;  // "http" or "https"
    std::string host;    // lower case; IPv6 in brackets
    long port = 0;       // the scheme's default when the URL names none
    std::string path;    // as written ("" or starting with '/'), never with "." or ".." segments
};

// Parses a URL a request may be sent to. Throws Error(InvalidParameterValue) for another scheme, no
// host, or a "." / ".." path segment (even percent-encoded: libcurl would resolve it and leave the
// path the URL was checked for).
UrlParts parse_url(const std::string& url);

// A provider base URL: as parse_url, and without user info, query or fragment (paths are appended to it).
UrlParts parse_base_url(const std::string& url);

// True when url lies at or below base: same scheme, host and port, and base's path is a prefix of
// url's path ending at a '/' boundary ("/v1" covers "/v1" and "/v1/x", not "/v1x"). Both must parse.
bool url_within(const std::string& url, const std::string& base);

// Throws Error(InsufficientPrivilege) unless url's host (and port) is in allowed (empty: any host).
void check_allowed_host(const std::string& url, const std::vector<std::string>& allowed);

// True for statuses worth retrying: 429, 500/502/503/504 and 529 (Anthropic overloaded).
bool is_retryable_status(long status);

// Delay before retry number `retry` (1-based): Retry-After (seconds or HTTP-date not supported) or
// Retry-After-Ms when given, else base * 2^(retry-1) with full jitter; capped by max_retry_delay_ms.
long retry_delay_ms(const std::string& retry_after, const std::string& retry_after_ms, int retry,
                    const Options& options, double jitter01);

class Client {
  public:
    Client();
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends every request (at most max_concurrency at once), retrying as the options say, and returns
    // the final response of each in request order. Throws Error(QueryCanceled) when interrupted. Every
    // URL is checked (parse_url, allowed_hosts) before anything is sent; only http and https are
    // spoken and redirects are never followed.
    std::vector<Response> send_all(const std::vector<Request>& requests, const Options& options,
                                   const InterruptCheck& interrupted);

    const Stats& stats() const { return stats_; }

  private:
    struct Impl;
    Impl* impl_;
    Stats stats_;
};

}  // namespace pgrag::http
