// Text form of embeddings: "[1,2,3]", the same form pgvector uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgrag {

// The largest number of dimensions an embedding may have.
constexpr int kMaxEmbeddingDims = 16000;

// Parses "[x1, x2, ...]"; throws Error (InvalidTextRepresentation, DataException, ...) on bad input.
std::vector<float> parse_embedding(std::string_view text);

// Formats values as "[x1,x2,...]" with the shortest text that reads back to the same floats.
std::string format_embedding(const float* values, size_t count);

// Throws unless every value is finite and the count is within 1..kMaxEmbeddingDims.
void check_embedding_values(const float* values, size_t count);

// Throws the standard dimension-mismatch error when a != b.
void check_same_dims(size_t a, size_t b);

}  // namespace pgrag
