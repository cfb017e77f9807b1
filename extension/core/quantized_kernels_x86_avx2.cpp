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

// min_ps(a, b) is a < b ? a : b and max_ps(a, b) a > b ? a : b: the portable selects exactly.
void widen_range(const float* x, const float* c, size_t dims, float* lo, float* hi) {
    size_t i = 0;
    for (; i + 8 <= dims; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(c + i));
        _mm256_storeu_ps(lo + i, _mm256_min_ps(d, _mm256_loadu_ps(lo + i)));
        _mm256_storeu_ps(hi + i, _mm256_max_ps(d, _mm256_loadu_ps(hi + i)));
    }
    for (; i < dims; ++i) widen_one(x[i] - c[i], lo + i, hi + i);
}

// 8 code values as int32.
inline __m256i code8(const float* x, const float* c, const float* bias, const float* inverse) {
    __m256 r = _mm256_sub_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(c));
    __m256 q = _mm256_mul_ps(_mm256_sub_ps(r, _mm256_loadu_ps(bias)), _mm256_loadu_ps(inverse));
    q = _mm256_max_ps(_mm256_min_ps(q, _mm256_set1_ps(127.0f)), _mm256_set1_ps(-127.0f));
    return _mm256_sub_epi32(_mm256_cvttps_epi32(_mm256_add_ps(q, _mm256_set1_ps(128.5f))), _mm256_set1_epi32(128));
}

void encode(const float* x, const float* c, const float* bias, const float* inverse, size_t dims, int8_t* out) {
    size_t i = 0;
    for (; i + 16 <= dims; i += 16) {
        __m256i a = code8(x + i, c + i, bias + i, inverse + i),
                b = code8(x + i + 8, c + i + 8, bias + i + 8, inverse + i + 8);
        // packs works per 128-bit lane: a0-3 b0-3 | a4-7 b4-7, reordered to a0-7 b0-7, then to bytes.
        __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
        __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), bytes);
    }
    for (; i < dims; ++i) out[i] = code_of(x[i] - c[i], bias[i], inverse[i]);
}

const QuantizedKernelTable kTable = {score_codes, centroid_products, widen_range, encode};

}  // namespace

const QuantizedKernelTable* quantized_kernels_avx2() { return &kTable; }

}  // namespace pgrag
#endif
