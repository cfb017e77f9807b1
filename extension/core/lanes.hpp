// The accumulation scheme shared by every kernel path (see distance.hpp).
// Internal linkage on purpose: this header is included by TUs compiled with different -m flags.
#pragma once

#include <cmath>
#include <cstddef>

#include "distance.hpp"

namespace pgrag {
namespace {

// Fast path: element i adds its float term to float lane i % 32; every 256 elements the float lanes
// are flushed into 32 double lanes, so no float lane ever sums more than 8 terms (error <= ~5e-7 of
// the sum of term magnitudes).
constexpr size_t kFloatLanes = 32;
constexpr size_t kFlushBlock = 256;

// Reduces n (a power of two) lane sums in one fixed tree order, identical on every path.
inline double reduce_lanes(double* lanes, size_t n) {
    for (size_t width = n / 2; width >= 1; width /= 2)
        for (size_t i = 0; i < width; ++i) lanes[i] += lanes[i + width];
    return lanes[0];
}

// A fast-path sum that overflowed, or is so small that float underflow may have eaten it, is
// recomputed by the exact double kernels. The decision depends only on the (bit-identical) fast sum.
inline bool needs_exact(double sum) { return !std::isfinite(sum) || std::fabs(sum) < 0x1p-60; }

}  // namespace
}  // namespace pgrag
