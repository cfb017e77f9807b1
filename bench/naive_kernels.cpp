// The textbook loops a first implementation would write; CMake builds this file with -fno-tree-vectorize.
#include "naive_kernels.hpp"

#include <cmath>

float naive_dot(const float* a, const float* b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

float naive_l2(const float* a, const float* b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return std::sqrt(s);
}

float naive_cosine(const float* a, const float* b, size_t n) {
    float d = 0, x = 0, y = 0;
    for (size_t i = 0; i < n; ++i) {
        d += a[i] * b[i];
        x += a[i] * a[i];
        y += b[i] * b[i];
    }
    return 1 - d / std::sqrt(x * y);
}

float naive_l1(const float* a, const float* b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; ++i) s += std::fabs(a[i] - b[i]);
    return s;
}
