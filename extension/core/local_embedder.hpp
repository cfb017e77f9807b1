// The built-in offline embedder: feature hashing of words, word pairs and character trigrams.
// Lexical, not semantic: texts that share vocabulary get similar vectors; synonyms do not.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "interrupt.hpp"

namespace pgrag {

// The model name the local embedder reports (and keys caches with).
constexpr const char* kLocalModelName = "pg_rag-local-hash-v1";

// Embeds text into `dims` dimensions, L2-normalised; all zeros when the text has no word at all.
// Deterministic on every platform and build: integer hashing, sorted accumulation, sqrt only.
// Memory is a small multiple of the text: at most max_entries distinct feature hashes are held at
// once (0: one per 8 bytes of text, at least 4096); more take extra passes, same result bit for bit.
// `check` is polled throughout and may throw to cancel.
std::vector<float> local_embed(std::string_view text, int dims, const InterruptCheck& check = nullptr,
                               size_t max_entries = 0);

}  // namespace pgrag
