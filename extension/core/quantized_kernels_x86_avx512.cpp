// AVX-512 int8 scoring; this file alone is compiled with -mavx512f and runs only after CPU detection.
#include "quantized_kernels.hpp"

#if defined(__x86_64__)
// GCC 12 warns inside its own avx512fintrin.h (as in distance_x86_avx512.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace pgrag {
namespace {

// 16 codes widened to floats.
inline __m512 load16(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

void score_codes(const int8_t* codes, size_t count, size_t stride, const float* w, float* out) {
    for (size_t i = 0; i < count; ++i) {
        const int8_t* c = codes + i * stride;
        __m512 acc = _mm512_setzero_ps();
        for (size_t j = 0; j < stride; j += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + j), load16(c + j), acc);
        out[i] = _mm512_reduce_add_ps(acc);
    }
}

// A kTileRows x kPanelWidth tile of products in 24 registers: per dimension, 3 loads of the panel and
// 8 broadcasts feed 24 fused multiply-adds.
void product_tile(const float* x, size_t dims, const float* panel, float* out, size_t width) {
    __m512 acc[kTileRows][3];
#pragma GCC unroll 8
    for (size_t r = 0; r < kTileRows; ++r)
#pragma GCC unroll 3
        for (size_t c = 0; c < 3; ++c) acc[r][c] = _mm512_setzero_ps();
    for (size_t i = 0; i < dims; ++i) {
        const float* b = panel + i * kPanelWidth;
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), b2 = _mm512_loadu_ps(b + 32);
#pragma GCC unroll 8
        for (size_t r = 0; r < kTileRows; ++r) {
            __m512 a = _mm512_set1_ps(x[r * dims + i]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(a, b2, acc[r][2]);
        }
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < kTileRows; ++r)
#pragma GCC unroll 3
        for (size_t c = 0; c < 3; ++c) _mm512_storeu_ps(out + r * width + c * 16, acc[r][c]);
}

void centroid_products(const float* rows, size_t count, size_t dims, const float* panels, size_t width, float* out) {
    for (size_t p = 0; p < width; p += kPanelWidth)
        for (size_t r = 0; r < count; r += kTileRows)
            product_tile(rows + r * dims, dims, panels + p * dims, out + r * width + p, width);
}

static_assert(kPanelWidth == 48 && kTileRows == 8, "the tile is 8 rows of 3 vectors");

// min_ps(a, b) is a < b ? a : b and max_ps(a, b) a > b ? a : b: the portable selects exactly.
void widen_range(const float* x, const float* c, size_t dims, float* lo, float* hi) {
    size_t i = 0;
    for (; i + 16 <= dims; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(c + i));
        _mm512_storeu_ps(lo + i, _mm512_min_ps(d, _mm512_loadu_ps(lo + i)));
        _mm512_storeu_ps(hi + i, _mm512_max_ps(d, _mm512_loadu_ps(hi + i)));
    }
    for (; i < dims; ++i) widen_one(x[i] - c[i], lo + i, hi + i);
}

void encode(const float* x, const float* c, const float* bias, const float* inverse, size_t dims, int8_t* out) {
    size_t i = 0;
    const __m512 top = _mm512_set1_ps(127.0f), bottom = _mm512_set1_ps(-127.0f), half = _mm512_set1_ps(128.5f);
    const __m512i offset = _mm512_set1_epi32(128);
    for (; i + 16 <= dims; i += 16) {
        __m512 r = _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(c + i));
        __m512 q = _mm512_mul_ps(_mm512_sub_ps(r, _mm512_loadu_ps(bias + i)), _mm512_loadu_ps(inverse + i));
        q = _mm512_max_ps(_mm512_min_ps(q, top), bottom);
        __m512i v = _mm512_sub_epi32(_mm512_cvttps_epi32(_mm512_add_ps(q, half)), offset);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(v));
    }
    for (; i < dims; ++i) out[i] = code_of(x[i] - c[i], bias[i], inverse[i]);
}

const QuantizedKernelTable kTable = {score_codes, centroid_products, widen_range, encode};

}  // namespace

const QuantizedKernelTable* quantized_kernels_avx512() { return &kTable; }

}  // namespace pgrag
#endif
