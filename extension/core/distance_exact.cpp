// Exact kernels: float products are exact in double; element i goes to double lane i % 16.
// Used where the fast float-lane sums overflow or underflow (see lanes.hpp); plain C++ on every path.
#include <cmath>

#include "distance.hpp"
#include "lanes.hpp"

namespace pgrag::exact {
namespace {
constexpr size_t kLanes = 16;
}

double dot(const float* a, const float* b, size_t n) {
    double lanes[kLanes] = {};
    for (size_t i = 0; i < n; ++i) lanes[i % kLanes] += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return reduce_lanes(lanes, kLanes);
}

double l2_squared(const float* a, const float* b, size_t n) {
    double lanes[kLanes] = {};
    for (size_t i = 0; i < n; ++i) {
        double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        lanes[i % kLanes] += d * d;
    }
    return reduce_lanes(lanes, kLanes);
}

double l1(const float* a, const float* b, size_t n) {
    double lanes[kLanes] = {};
    for (size_t i = 0; i < n; ++i)
        lanes[i % kLanes] += std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    return reduce_lanes(lanes, kLanes);
}

}  // namespace pgrag::exact
