// Naive scalar kernels, compiled without auto-vectorisation: the baseline of bench_kernels.
#pragma once
#include <cstddef>

float naive_dot(const float* a, const float* b, size_t n);
float naive_l2(const float* a, const float* b, size_t n);
float naive_cosine(const float* a, const float* b, size_t n);
float naive_l1(const float* a, const float* b, size_t n);
