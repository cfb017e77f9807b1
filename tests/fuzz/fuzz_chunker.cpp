// libFuzzer target for the chunker: the first bytes choose the strategy, size and overlap; the rest
// is the text (valid UTF-8, as Postgres text always is). Checks the documented invariants: exact
// offsets, no empty or blank chunk, no chunk over the size, non-decreasing starts, and no
// non-whitespace character left out of every chunk.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunker.hpp"
#include "core/error.hpp"
#include "core/extract.hpp"

namespace {

void fail(const char* what, const pgrag::ChunkOptions& o) {
    std::fprintf(stderr, "chunker invariant broken: %s (strategy %s, max %d, overlap %d)\n", what, o.strategy.c_str(),
                 o.max_size, o.overlap);
    std::abort();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const kStrategies[] = {"characters", "recursive", "sentences", "markdown", "tokens"};
    if (size < 4) return 0;
    pgrag::ChunkOptions o;
    o.strategy = kStrategies[data[0] % 5];
    o.max_size = 1 + (data[1] | (data[2] & 0x3) << 8) % 300;
    o.overlap = data[3] == 0xFF ? -1 : data[3] % o.max_size;  // -1: the default, max / 5
    std::string_view text(reinterpret_cast<const char*>(data) + 4, size - 4);
    if (pgrag::invalid_utf8_offset(text) != std::string_view::npos) return 0;

    std::vector<pgrag::Chunk> chunks;
    try {
        chunks = pgrag::chunk_text(text, o, [] {});
    } catch (const pgrag::Error&) {
        return 0;  // only bad options may throw
    }
    // Byte offset of every code point (and of the end).
    std::vector<size_t> at;
    for (size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) at.push_back(i);
    at.push_back(text.size());
    int cps = static_cast<int>(at.size()) - 1;
    int covered = 0;  // code points before this one are in a chunk or whitespace
    for (size_t i = 0; i < chunks.size(); ++i) {
        const pgrag::Chunk& c = chunks[i];
        if (c.seq != static_cast<int>(i) + 1) fail("seq", o);
        if (c.char_start < 0 || c.char_start >= c.char_end || c.char_end > cps) fail("offsets out of range", o);
        if (text.substr(at[c.char_start], at[c.char_end] - at[c.char_start]) != c.content)
            fail("content != text at offsets", o);
        if (std::all_of(c.content.begin(), c.content.end(), is_space)) fail("blank chunk", o);
        size_t measured =
            o.strategy == "tokens" ? pgrag::approximate_tokens(c.content) : pgrag::code_point_count(c.content);
        if (measured > static_cast<size_t>(o.max_size)) fail("chunk larger than max", o);
        if (i > 0 && c.char_start < chunks[i - 1].char_start) fail("starts go backwards", o);
        for (int k = covered; k < c.char_start; ++k)
            if (!is_space(text[at[k]])) fail("text left out of every chunk", o);
        covered = std::max(covered, c.char_end);
    }
    for (int k = covered; k < cps; ++k)
        if (!is_space(text[at[k]])) fail("text left out at the end", o);
    return 0;
}
