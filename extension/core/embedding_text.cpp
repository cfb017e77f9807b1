#include "embedding_text.hpp"

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "error.hpp"

namespace pgrag {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Shortens long literals in messages so an error never echoes megabytes of input.
std::string quote_for_message(std::string_view text) {
    constexpr size_t kMax = 60;
    if (text.size() <= kMax) return "\"" + std::string(text) + "\"";
    return "\"" + std::string(text.substr(0, kMax)) + "...\"";
}

[[noreturn]] void syntax_error(std::string_view text, const std::string& detail) {
    throw Error(ErrorCode::InvalidTextRepresentation,
                "invalid input syntax for type embedding: " + quote_for_message(text), detail);
}

// Parses one number starting at text[pos]; advances pos past it.
float parse_element(std::string_view text, size_t& pos) {
    const char* begin = text.data() + pos;
    const char* end = text.data() + text.size();
    const char* start = begin;
    if (start < end && *start == '+') ++start;  // from_chars rejects a leading '+', users write it
    float value = 0;
    auto [ptr, ec] = std::from_chars(start, end, value);
    if (ptr == start) syntax_error(text, "Expected a number at position " + std::to_string(pos + 1) + ".");
    if (ec == std::errc::result_out_of_range) {
        // Out of float range: overflow is an error, underflow rounds towards zero as float4 input does.
        // strtod, not from_chars: from_chars leaves the value unset when even a double overflows (1e400).
        double wide = std::strtod(std::string(start, ptr).c_str(), nullptr);
        if (std::isinf(wide) || std::fabs(wide) > FLT_MAX)
            throw Error(ErrorCode::NumericValueOutOfRange,
                        "\"" + std::string(begin, ptr) + "\" is out of range for type embedding");
        value = static_cast<float>(wide);
    }
    if (std::isnan(value)) throw Error(ErrorCode::DataException, "NaN not allowed in embedding");
    if (std::isinf(value)) throw Error(ErrorCode::DataException, "infinite value not allowed in embedding");
    pos = static_cast<size_t>(ptr - text.data());
    return value;
}

}  // namespace

std::vector<float> parse_embedding(std::string_view text) {
    size_t pos = 0;
    auto skip_space = [&] {
        while (pos < text.size() && is_space(text[pos])) ++pos;
    };
    skip_space();
    if (pos >= text.size() || text[pos] != '[') syntax_error(text, "Embedding contents must start with \"[\".");
    ++pos;
    std::vector<float> values;
    skip_space();
    if (pos < text.size() && text[pos] == ']')
        throw Error(ErrorCode::DataException, "embedding must have at least 1 dimension");
    for (;;) {
        skip_space();
        values.push_back(parse_element(text, pos));
        if (values.size() > static_cast<size_t>(kMaxEmbeddingDims))
            throw Error(ErrorCode::ProgramLimitExceeded,
                        "embedding cannot have more than " + std::to_string(kMaxEmbeddingDims) + " dimensions");
        skip_space();
        if (pos >= text.size()) syntax_error(text, "Unexpected end of input: missing \"]\".");
        if (text[pos] == ',') {
            ++pos;
            continue;
        }
        if (text[pos] == ']') {
            ++pos;
            break;
        }
        syntax_error(text, "Unexpected character at position " + std::to_string(pos + 1) + ".");
    }
    skip_space();
    if (pos != text.size()) syntax_error(text, "Junk after closing right bracket.");
    return values;
}

std::string format_embedding(const float* values, size_t count) {
    std::string out;
    out.reserve(count * 12 + 2);
    out.push_back('[');
    char buf[32];
    for (size_t i = 0; i < count; ++i) {
        if (i) out.push_back(',');
        auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, values[i]);
        (void)ec;  // 32 bytes always suffice for a float
        out.append(buf, ptr);
    }
    out.push_back(']');
    return out;
}

void check_embedding_values(const float* values, size_t count) {
    if (count < 1) throw Error(ErrorCode::DataException, "embedding must have at least 1 dimension");
    if (count > static_cast<size_t>(kMaxEmbeddingDims))
        throw Error(ErrorCode::ProgramLimitExceeded,
                    "embedding cannot have more than " + std::to_string(kMaxEmbeddingDims) + " dimensions");
    for (size_t i = 0; i < count; ++i) {
        if (std::isnan(values[i])) throw Error(ErrorCode::DataException, "NaN not allowed in embedding");
        if (std::isinf(values[i])) throw Error(ErrorCode::DataException, "infinite value not allowed in embedding");
    }
}

void check_same_dims(size_t a, size_t b) {
    if (a != b)
        throw Error(ErrorCode::DataException,
                    "different embedding dimensions " + std::to_string(a) + " and " + std::to_string(b));
}

}  // namespace pgrag
