// Splitting text into chunks for retrieval: characters, recursive, sentences, markdown, tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "interrupt.hpp"

namespace pgrag {

struct ChunkOptions {
    int max_size = 1000;  // code points (approximate tokens for the "tokens" strategy)
    int overlap = -1;     // same unit; -1 means max_size / 5
    std::string strategy = "recursive";
};

struct Chunk {
    int seq;              // 1-based
    std::string content;  // exactly text[char_start, char_end) in code points
    int char_start;       // 0-based code point offset
    int char_end;         // exclusive
    std::string heading;  // markdown heading path ("Install > Debian"); empty otherwise
};

// Chunks text; throws Error(InvalidParameterValue) for bad options. No chunk is empty or only
// whitespace (chunks are trimmed, offsets follow the trimmed span); deterministic. Iterative (no
// recursion on the input), linear in the text for every strategy except characters with a large
// overlap (output-bound); `check` is polled throughout and may throw to cancel.
std::vector<Chunk> chunk_text(std::string_view text, const ChunkOptions& options,
                              const InterruptCheck& check = nullptr);

// Approximate token count: an ASCII word of n letters or digits counts ceil(n / 4), every other
// non-space character (punctuation, each CJK or other non-ASCII character) counts 1.
size_t approximate_tokens(std::string_view text);

// Number of code points in valid UTF-8.
size_t code_point_count(std::string_view text);

}  // namespace pgrag
