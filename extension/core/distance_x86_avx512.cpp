// AVX-512F kernels; this file alone is compiled with -mavx512f -mfma and runs only after CPU detection.
#include "distance.hpp"

#if defined(__x86_64__)
// GCC 12 warns inside its own avx512fintrin.h (_mm512_cvtps_pd and _mm512_extractf64x4_pd start from an
// "undefined" register).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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

// reduce_lanes(p, 32) with the same additions in the same order: width 16, 8, 4, 2, 1.
inline double vreduce(const double* p) {
    __m512d w8 = _mm512_add_pd(_mm512_add_pd(_mm512_loadu_pd(p), _mm512_loadu_pd(p + 16)),
                               _mm512_add_pd(_mm512_loadu_pd(p + 8), _mm512_loadu_pd(p + 24)));
    __m256d w4 = _mm256_add_pd(_mm512_castpd512_pd256(w8), _mm512_extractf64x4_pd(w8, 1));
    __m128d w2 = _mm_add_pd(_mm256_castpd256_pd128(w4), _mm256_extractf128_pd(w4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(w2, _mm_unpackhi_pd(w2, w2)));
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
