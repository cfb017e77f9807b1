// Standard base64 (RFC 4648, with padding), for OpenAI's encoding_format "base64".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgrag::server {

std::string base64_encode(std::string_view bytes);

// The floats as little-endian float32 bytes, base64-encoded.
std::string float32_base64(const std::vector<float>& values);

}  // namespace pgrag::server
