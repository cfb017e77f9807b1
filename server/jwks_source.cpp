// JWKS from a file or over http(s).
#include "jwks_source.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/http_client.hpp"
#include "options.hpp"

namespace pgrag::server {
namespace {

constexpr size_t kMaxJwksBytes = 1 << 20;

bool is_url(const std::string& location) { return location.find("://") != std::string::npos; }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the JWKS file " + path + ": " + std::strerror(errno));
    std::string text(kMaxJwksBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxJwksBytes) throw std::runtime_error("the JWKS file " + path + " is larger than 1 MB");
    return text;
}

std::string fetch_url(const std::string& url) {
    http::Request request;
    request.url = url;
    request.headers = {"Accept: application/json"};
    std::string body;
    request.on_data = [&body](std::string_view bytes) {
        if (body.size() + bytes.size() > kMaxJwksBytes) throw std::runtime_error("the JWKS is larger than 1 MB");
        body.append(bytes);
    };
    http::Options options;
    options.timeout_ms = 10000;
    options.connect_timeout_ms = 5000;
    options.max_retries = 1;
    options.max_concurrency = 1;
    http::Client client;
    http::Response response = client.send_all({request}, options, nullptr).front();
    if (!response.transport_error.empty())
        throw std::runtime_error("cannot fetch the JWKS: " + response.transport_error);
    if (response.status != 200)
        throw std::runtime_error("the JWKS URL answered HTTP " + std::to_string(response.status));
    return body;
}

}  // namespace

void check_jwks_location(const std::string& location) {
    if (location.empty()) throw std::invalid_argument("--jwt-jwks must name a file or a URL");
    if (!is_url(location)) return;
    const char* kWhere = "--jwt-jwks must be a file, an https:// URL, or an http:// URL on a loopback host";
    std::string scheme = location.substr(0, location.find("://"));
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "https" && scheme != "http") throw std::invalid_argument(kWhere);
    http::UrlParts url;
    try {
        url = http::parse_url(location);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("--jwt-jwks: ") + e.what());
    }
    std::string host = url.host;
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (url.scheme != "https" && !(url.scheme == "http" && is_loopback(host))) throw std::invalid_argument(kWhere);
}

std::function<std::string()> jwks_fetcher(const std::string& location) {
    check_jwks_location(location);
    if (is_url(location)) return [location] { return fetch_url(location); };
    return [location] { return read_file(location); };
}

}  // namespace pgrag::server
