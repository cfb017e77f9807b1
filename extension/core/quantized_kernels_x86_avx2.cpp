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

const QuantizedKernelTable kTable = {score_codes};

}  // namespace

const QuantizedKernelTable* quantized_kernels_avx2() { return &kTable; }

}  // namespace pgrag
#endif
