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

const QuantizedKernelTable kTable = {score_codes};

}  // namespace

const QuantizedKernelTable* quantized_kernels_avx512() { return &kTable; }

}  // namespace pgrag
#endif
