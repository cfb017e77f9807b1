// Where the JWKS comes from: a file, or a URL fetched with the core library's HTTP client.
#pragma once

#include <functional>
#include <string>

namespace pgrag::server {

// Accepts a file path, an https URL, or an http URL on a loopback host (plain http elsewhere would let
// anyone on the path swap the keys). Throws std::invalid_argument for anything else.
void check_jwks_location(const std::string& location);

// A function returning the JWKS document at location (read or fetched anew on every call, at most
// 1 MB); it throws std::runtime_error when the file cannot be read or the URL does not answer 200.
std::function<std::string()> jwks_fetcher(const std::string& location);

}  // namespace pgrag::server
