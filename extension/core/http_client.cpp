#include "http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "error.hpp"

namespace pgrag::http {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 100;  // the longest we wait without checking for interrupts

// One transfer in flight: the easy handle and what its callbacks collect.
struct Transfer {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    size_t index = 0;
    std::string body;
    std::string retry_after;
    std::string retry_after_ms;
    char error[CURL_ERROR_SIZE] = {};
    bool callback_failed = false;
    const std::function<void(std::string_view)>* sink = nullptr;  // streaming: where 2xx bytes go
    bool delivered = false;                                       // streaming: bytes reached the sink
    std::exception_ptr sink_error;                                // what the sink threw
};

// Callbacks run inside libcurl (C): they must never throw.
size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    try {
        if (t->sink) {
            long status = 0;
            curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 200 && status < 300) {
                t->delivered = true;
                try {
                    (*t->sink)(std::string_view(data, size * count));
                } catch (...) {
                    t->sink_error = std::current_exception();  // re-thrown outside libcurl
                    return 0;
                }
                return size * count;
            }
        }
        t->body.append(data, size * count);
        return size * count;
    } catch (...) {
        t->callback_failed = true;
        return 0;
    }
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    try {
        std::string line(data, n);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            auto first = value.find_first_not_of(" \t");
            auto last = value.find_last_not_of(" \t\r\n");
            value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
            if (name == "retry-after") t->retry_after = value;
            if (name == "retry-after-ms") t->retry_after_ms = value;
        }
        return n;
    } catch (...) {
        t->callback_failed = true;
        return 0;
    }
}

// Transport failures worth retrying: the server could not be reached or dropped the connection.
// A timeout is not retried: the caller's time budget is spent.
bool is_retryable_transport(CURLcode code) {
    return code == CURLE_COULDNT_CONNECT || code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR ||
           code == CURLE_GOT_NOTHING || code == CURLE_PARTIAL_FILE;
}

// Owns a CURLU handle.
struct UrlHandle {
    CURLU* h = curl_url();
    ~UrlHandle() { curl_url_cleanup(h); }
    std::string get(CURLUPart part, unsigned int flags = 0) const {
        char* value = nullptr;
        if (curl_url_get(h, part, &value, flags) != CURLUE_OK || !value) return "";
        std::string out = value;
        curl_free(value);
        return out;
    }
    bool has(CURLUPart part) const {
        char* value = nullptr;
        bool present = curl_url_get(h, part, &value, 0) == CURLUE_OK && value;
        curl_free(value);
        return present;
    }
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

[[noreturn]] void bad_url(const std::string& why) {
    throw Error(ErrorCode::InvalidParameterValue, "pg_rag: " + why, "",
                "Provider URLs are http:// or https:// URLs such as https://api.openai.com/v1.");
}

// True for a path segment libcurl (or the server) would resolve: ".", "..", or those percent-encoded.
bool is_dot_segment(std::string segment) {
    segment = lower(segment);
    for (size_t at; (at = segment.find("%2e")) != std::string::npos;) segment.replace(at, 3, ".");
    return segment == "." || segment == "..";
}

// Parses url (path kept as written) into h; the URL itself is never echoed in errors (it may hold secrets).
UrlParts parse_into(UrlHandle& u, const std::string& url) {
    if (!u.h) throw Error(ErrorCode::InternalError, "pg_rag: out of memory parsing a URL");
    if (url.find_first_of(" \t\r\n") != std::string::npos) bad_url("a provider URL must not contain white space");
    if (curl_url_set(u.h, CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS) != CURLUE_OK)
        bad_url("invalid provider URL");
    UrlParts p;
    p.scheme = lower(u.get(CURLUPART_SCHEME));
    if (p.scheme != "http" && p.scheme != "https")
        bad_url("provider URLs must use http or https, not \"" + p.scheme + "\"");
    p.host = lower(u.get(CURLUPART_HOST));
    if (p.host.empty()) bad_url("a provider URL needs a host");
    std::string port = u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    p.port = port.empty() ? (p.scheme == "https" ? 443 : 80) : std::strtol(port.c_str(), nullptr, 10);
    p.path = u.get(CURLUPART_PATH);
    if (p.path == "/") p.path.clear();
    for (size_t start = 0; start < p.path.size();) {
        size_t slash = p.path.find('/', start + 1);
        std::string segment =
            p.path.substr(start + 1, slash == std::string::npos ? std::string::npos : slash - start - 1);
        if (is_dot_segment(segment)) bad_url("a provider URL must not contain \".\" or \"..\" path segments");
        if (slash == std::string::npos) break;
        start = slash;
    }
    return p;
}

}  // namespace

UrlParts parse_url(const std::string& url) {
    UrlHandle u;
    return parse_into(u, url);
}

UrlParts parse_base_url(const std::string& url) {
    UrlHandle u;
    UrlParts p = parse_into(u, url);
    if (u.has(CURLUPART_USER) || u.has(CURLUPART_PASSWORD)) bad_url("a provider base URL must not contain user info");
    if (u.has(CURLUPART_QUERY) || u.has(CURLUPART_FRAGMENT))
        bad_url("a provider base URL must not have a query or fragment");
    return p;
}

bool url_within(const std::string& url, const std::string& base) {
    UrlParts u = parse_url(url);
    UrlParts b = parse_base_url(base);
    if (u.scheme != b.scheme || u.host != b.host || u.port != b.port) return false;
    std::string prefix = trim_slash(b.path);
    if (u.path.compare(0, prefix.size(), prefix) != 0) return false;
    return u.path.size() == prefix.size() || u.path[prefix.size()] == '/';
}

void check_allowed_host(const std::string& url, const std::vector<std::string>& allowed) {
    if (allowed.empty()) return;
    UrlParts u = parse_url(url);
    for (const auto& entry : allowed) {
        std::string item = lower(entry);
        // "host:port" names one port; a bare host (IPv6 in brackets) allows any port.
        size_t host_end = item[0] == '[' ? item.find(']') : item.find(':');
        if (host_end != std::string::npos && item[0] == '[') ++host_end;
        std::string host = item.substr(0, host_end);
        std::string port = host_end < item.size() && item[host_end] == ':' ? item.substr(host_end + 1) : "";
        if (host != u.host) continue;
        if (port.empty() || std::strtol(port.c_str(), nullptr, 10) == u.port) return;
    }
    throw Error(ErrorCode::InsufficientPrivilege,
                "pg_rag: provider host \"" + u.host + ":" + std::to_string(u.port) + "\" is not allowed", "",
                "A superuser can add it to pg_rag.allowed_provider_hosts.");
}

struct Client::Impl {
    CURLM* multi = nullptr;
    std::vector<CURL*> idle;  // reused easy handles (their connections stay in the multi's cache)
    std::mt19937_64 rng{std::random_device{}()};

    CURL* take_handle() {
        if (!idle.empty()) {
            CURL* h = idle.back();
            idle.pop_back();
            curl_easy_reset(h);
            return h;
        }
        CURL* h = curl_easy_init();
        if (!h) throw Error(ErrorCode::InternalError, "pg_rag: could not create an HTTP handle");
        return h;
    }
};

Request json_post(std::string url, std::string json_body, const std::vector<std::string>& headers) {
    Request r;
    r.url = std::move(url);
    r.headers = {"Content-Type: application/json"};
    for (const auto& h : headers)
        if (!h.empty()) r.headers.push_back(h);
    r.body = std::move(json_body);
    return r;
}

std::string trim_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

bool is_retryable_status(long status) {
    // 529 is Anthropic's "overloaded": as transient as a 503.
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504 || status == 529;
}

long retry_delay_ms(const std::string& retry_after, const std::string& retry_after_ms, int retry,
                    const Options& options, double jitter01) {
    long delay = -1;
    char* end = nullptr;
    if (!retry_after_ms.empty()) {
        double ms = std::strtod(retry_after_ms.c_str(), &end);
        if (end != retry_after_ms.c_str() && ms >= 0) delay = static_cast<long>(ms);
    }
    if (delay < 0 && !retry_after.empty()) {
        double s = std::strtod(retry_after.c_str(), &end);
        if (end != retry_after.c_str() && s >= 0) delay = static_cast<long>(s * 1000);
    }
    if (delay < 0) {
        double backoff = static_cast<double>(options.base_retry_delay_ms) * std::pow(2.0, std::min(retry - 1, 20));
        backoff = std::min(backoff, static_cast<double>(options.max_retry_delay_ms));
        delay = static_cast<long>(backoff * (0.5 + 0.5 * jitter01));  // jitter keeps many clients from retrying in step
    }
    return std::min(delay, options.max_retry_delay_ms);
}

Client::Client() : impl_(new Impl) {
    // curl_global_init is not thread-safe (before libcurl 7.84): once per process, whatever thread comes first.
    static std::once_flag once;
    static CURLcode init_result = CURLE_OK;
    std::call_once(once, [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (init_result == CURLE_OK) impl_->multi = curl_multi_init();
    if (!impl_->multi) {
        delete impl_;
        throw Error(ErrorCode::InternalError, "pg_rag: could not initialise libcurl");
    }
}

Client::~Client() {
    for (CURL* h : impl_->idle) curl_easy_cleanup(h);
    curl_multi_cleanup(impl_->multi);
    delete impl_;
}

std::vector<Response> Client::send_all(const std::vector<Request>& requests, const Options& options,
                                       const InterruptCheck& interrupted) {
    std::vector<Response> responses(requests.size());
    std::deque<size_t> ready;
    for (size_t i = 0; i < requests.size(); ++i) ready.push_back(i);
    std::vector<std::pair<Clock::time_point, size_t>> waiting;  // retries not due yet
    std::vector<std::unique_ptr<Transfer>> active;
    // Refuse the whole call before anything is sent when one URL may not be used.
    for (const auto& r : requests) {
        parse_url(r.url);
        check_allowed_host(r.url, options.allowed_hosts);
    }

    // Returns an in-flight or finished transfer's handle to the pool.
    auto release = [&](Transfer& t) {
        curl_multi_remove_handle(impl_->multi, t.easy);
        curl_slist_free_all(t.headers);
        t.headers = nullptr;
        impl_->idle.push_back(t.easy);
        t.easy = nullptr;
    };
    // Cleans up everything in flight if we leave by an exception (cancel, allocation failure).
    struct Guard {
        std::vector<std::unique_ptr<Transfer>>& active;
        std::function<void(Transfer&)> release;
        ~Guard() {
            for (auto& t : active)
                if (t->easy) release(*t);
        }
    } guard{active, release};

    auto start = [&](size_t index) {
        auto t = std::make_unique<Transfer>();
        t->index = index;
        t->easy = impl_->take_handle();
        const Request& r = requests[index];
        if (r.on_data) t->sink = &r.on_data;
        for (const auto& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
        CURL* e = t->easy;
        curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM games inside a Postgres backend
        // Only HTTP(S), never a redirect: a key must not follow a Location to another host, and no
        // gopher:// or file:// request can be forged. The path is sent as checked (no dot resolution).
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
        if (!r.body.empty()) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
        }
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, options.timeout_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(options.connect_timeout_ms, options.timeout_ms));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate when the server offers it
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
        curl_multi_add_handle(impl_->multi, e);
        ++stats_.requests;
        ++responses[index].attempts;
        active.push_back(std::move(t));
    };

    auto finish = [&](Transfer& t, CURLcode code) {
        Response& out = responses[t.index];
        long status = 0;
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
        out.status = code == CURLE_OK ? status : 0;
        out.body = std::move(t.body);
        out.timed_out = code == CURLE_OPERATION_TIMEDOUT;
        out.transport_error.clear();
        if (code != CURLE_OK)
            out.transport_error = t.callback_failed ? "out of memory while reading the response"
                                  : t.error[0]      ? t.error
                                                    : curl_easy_strerror(code);
        if (t.sink_error) std::rethrow_exception(t.sink_error);  // the Guard releases the handles
        bool retry = (code == CURLE_OK ? is_retryable_status(status) : is_retryable_transport(code)) && !t.delivered;
        if (retry && out.attempts <= options.max_retries) {
            std::uniform_real_distribution<double> jitter(0, 1);
            long delay = retry_delay_ms(t.retry_after, t.retry_after_ms, out.attempts, options, jitter(impl_->rng));
            waiting.emplace_back(Clock::now() + std::chrono::milliseconds(delay), t.index);
            ++stats_.retries;
        }
        release(t);
    };

    while (!ready.empty() || !waiting.empty() || !active.empty()) {
        if (interrupted && interrupted())
            throw Error(ErrorCode::QueryCanceled, "canceling statement due to user request");
        auto now = Clock::now();
        for (auto it = waiting.begin(); it != waiting.end();) {
            if (it->first <= now) {
                ready.push_back(it->second);
                it = waiting.erase(it);
            } else {
                ++it;
            }
        }
        while (static_cast<int>(active.size()) < std::max(1, options.max_concurrency) && !ready.empty()) {
            start(ready.front());
            ready.pop_front();
        }
        if (active.empty()) {
            // Only retries waiting: sleep towards the earliest, in slices short enough to notice a cancel.
            if (!waiting.empty()) {
                auto next = std::min_element(waiting.begin(), waiting.end())->first;
                auto slice = std::min<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(kPollMs));
                if (slice > Clock::duration::zero()) std::this_thread::sleep_for(slice);
            }
            continue;
        }
        int running = 0;
        curl_multi_perform(impl_->multi, &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(impl_->multi, &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
            CURLcode code = msg->data.result;
            auto owned = std::find_if(active.begin(), active.end(), [&](const auto& p) { return p.get() == t; });
            std::unique_ptr<Transfer> done = std::move(*owned);
            active.erase(owned);
            try {
                finish(*done, code);
            } catch (...) {
                if (done->easy) release(*done);
                throw;
            }
        }
        if (!active.empty()) curl_multi_poll(impl_->multi, nullptr, 0, kPollMs, nullptr);
    }
    return responses;
}

}  // namespace pgrag::http
