// Portable kernels: the shared kernel bodies with a one-float "vector"; runs on any CPU, including ARM64.
#include <cmath>

#include "distance.hpp"
#include "lanes.hpp"

namespace pgrag {
namespace {

using V = float;
constexpr size_t W = 1;
inline V vzero() { return 0.0f; }
inline V vone() { return 1.0f; }
inline V vload(const float* p) { return *p; }
inline V vsub(V a, V b) { return a - b; }
inline V vabs(V a) { return std::fabs(a); }
inline V vfma(V a, V b, V c) { return std::fma(a, b, c); }  // correctly rounded on every platform
inline void vstore(float* p, V a) { *p = a; }
inline void vflush(double* p, V a) { *p += static_cast<double>(a); }
inline double vreduce(double* p) { return reduce_lanes(p, kFloatLanes); }

#include "distance_simd.inc"

}  // namespace

const KernelTable& portable_kernels() { return kTable; }

}  // namespace pgrag
