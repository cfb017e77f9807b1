// base64url without padding (RFC 7515 §2): the encoding of a JWT's three parts and of a JWK's n and e.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgrag::server {

std::string base64url_encode(std::string_view bytes);

// Strict: only A-Z a-z 0-9 - _, no padding, no whitespace, and the unused low bits of the last
// character must be zero, so every byte string has exactly one accepted encoding. nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace pgrag::server
