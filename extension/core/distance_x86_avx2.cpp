// AVX2+FMA kernels; this file alone is compiled with -mavx2 -mfma and runs only after CPU detection.
#include "distance.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>

#include "lanes.hpp"

namespace pgrag {
namespace {

using V = __m256;
constexpr size_t W = 8;
inline V vzero() { return _mm256_setzero_ps(); }
inline V vone() { return _mm256_set1_ps(1.0f); }
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V vabs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline void vstore(float* p, V a) { _mm256_storeu_ps(p, a); }
inline void vflush(double* p, V a) {
    _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), _mm256_cvtps_pd(_mm256_castps256_ps128(a))));
    _mm256_storeu_pd(p + 4, _mm256_add_pd(_mm256_loadu_pd(p + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1))));
}

// reduce_lanes(p, 32) with the same additions in the same order: width 16, 8, 4, 2, 1.
inline double vreduce(const double* p) {
    __m256d w16[4];
    for (int j = 0; j < 4; ++j) w16[j] = _mm256_add_pd(_mm256_loadu_pd(p + 4 * j), _mm256_loadu_pd(p + 16 + 4 * j));
    __m256d w4 = _mm256_add_pd(_mm256_add_pd(w16[0], w16[2]), _mm256_add_pd(w16[1], w16[3]));
    __m128d w2 = _mm_add_pd(_mm256_castpd256_pd128(w4), _mm256_extractf128_pd(w4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(w2, _mm_unpackhi_pd(w2, w2)));
}

#include "distance_simd.inc"

}  // namespace

const KernelTable* avx2_kernels() { return &kTable; }

}  // namespace pgrag
#else
namespace pgrag {
const KernelTable* avx2_kernels() { return nullptr; }
}  // namespace pgrag
#endif
