// `dimensions` of /v1/embeddings: the first dims values, scaled back to unit length, as OpenAI's
// text-embedding-3 models shorten their embeddings (meaningful for models trained that way).
#pragma once

#include <cstddef>
#include <vector>

namespace pgrag::server {

// Requires 1 <= dims <= v.size(); a zero vector stays zero.
std::vector<float> shorten_embedding(const std::vector<float>& v, size_t dims);

}  // namespace pgrag::server
