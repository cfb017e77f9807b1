// Truncation and L2 renormalisation of an embedding.
#include "shorten_embedding.hpp"

#include <cmath>

namespace pgrag::server {

std::vector<float> shorten_embedding(const std::vector<float>& v, size_t dims) {
    std::vector<float> out(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(dims));
    double sum = 0;  // in double: a long vector of small floats loses nothing
    for (float x : out) sum += static_cast<double>(x) * x;
    if (sum <= 0) return out;
    double scale = 1.0 / std::sqrt(sum);
    for (float& x : out) x = static_cast<float>(x * scale);
    return out;
}

}  // namespace pgrag::server
