// AVX-512F kernels; this file alone is compiled with -mavx512f -mfma and runs only after CPU detection.
#include "distance.hpp"

#if defined(__x86_64__)
// GCC 12 warns inside its own avx512fintrin.h (_mm512_cvtps_pd starts from an "undefined" register).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>

#include "lanes.hpp"

namespace pgrag {
namespace {

using V = __m512;
constexpr size_t W = 16;
inline V vzero() { return _mm512_setzero_ps(); }
inline V vone() { return _mm512_set1_ps(1.0f); }
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V vabs(V a) { return _mm512_abs_ps(a); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline void vstore(float* p, V a) { _mm512_storeu_ps(p, a); }
inline void vflush(double* p, V a) {
    __m256 low = _mm512_castps512_ps256(a);
    __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
    _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), _mm512_cvtps_pd(low)));
    _mm512_storeu_pd(p + 8, _mm512_add_pd(_mm512_loadu_pd(p + 8), _mm512_cvtps_pd(high)));
}

#include "distance_simd.inc"

}  // namespace

const KernelTable* avx512_kernels() { return &kTable; }

}  // namespace pgrag
#else
namespace pgrag {
const KernelTable* avx512_kernels() { return nullptr; }
}  // namespace pgrag
#endif
