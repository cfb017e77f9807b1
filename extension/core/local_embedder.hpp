// The built-in offline embedder: feature hashing of words, word pairs and character trigrams.
// Lexical, not semantic: texts that share vocabulary get similar vectors; synonyms do not.
#pragma once

#include <string_view>
#include <vector>

namespace pgrag {

// The model name the local embedder reports (and keys caches with).
constexpr const char* kLocalModelName = "pg_rag-local-hash-v1";

// Embeds text into `dims` dimensions, L2-normalised; all zeros when the text has no word at all.
// Deterministic on every platform and build: integer hashing, sorted accumulation, sqrt only.
std::vector<float> local_embed(std::string_view text, int dims);

}  // namespace pgrag
