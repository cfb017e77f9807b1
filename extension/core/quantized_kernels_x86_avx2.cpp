// AVX2 int8 scoring; this file alone is compiled with -mavx2 -mfma and runs only after CPU detection.
#include "quantized_kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

namespace pgrag {
namespace {

inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 8 codes widened to floats.
inline __m256 load8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

void score_codes(const int8_t* codes, size_t count, size_t stride, const float* w, float* out) {
    for (size_t i = 0; i < count; ++i) {
        const int8_t* c = codes + i * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t j = 0; j < stride; j += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), load8(c + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 8), load8(c + j + 8), a1);
        }
        out[i] = horizontal_sum(_mm256_add_ps(a0, a1));
    }
}

// A 4 x 24 tile of products in 12 of the 16 registers (half a panel, half the tile rows).
void product_tile(const float* x, size_t dims, const float* panel, float* out, size_t width) {
    __m256 acc[4][3];
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; ++r)
#pragma GCC unroll 3
        for (size_t c = 0; c < 3; ++c) acc[r][c] = _mm256_setzero_ps();
    for (size_t i = 0; i < dims; ++i) {
        const float* b = panel + i * kPanelWidth;
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), b2 = _mm256_loadu_ps(b + 16);
#pragma GCC unroll 4
        for (size_t r = 0; r < 4; ++r) {
            __m256 a = _mm256_broadcast_ss(x + r * dims + i);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
            acc[r][2] = _mm256_fmadd_ps(a, b2, acc[r][2]);
        }
    }
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; ++r)
#pragma GCC unroll 3
        for (size_t c = 0; c < 3; ++c) _mm256_storeu_ps(out + r * width + c * 8, acc[r][c]);
}

void centroid_products(const float* rows, size_t count, size_t dims, const float* panels, size_t width, float* out) {
    for (size_t p = 0; p < width; p += kPanelWidth)
        for (size_t r = 0; r < count; r += 4)
            for (size_t half = 0; half < kPanelWidth; half += 24)
                product_tile(rows + r * dims, dims, panels + p * dims + half, out + r * width + p + half, width);
}

static_assert(kPanelWidth % 24 == 0 && kTileRows % 4 == 0, "tiles of 4 rows of 24");

const QuantizedKernelTable kTable = {score_codes, centroid_products};

}  // namespace

const QuantizedKernelTable* quantized_kernels_avx2() { return &kTable; }

}  // namespace pgrag
#endif
