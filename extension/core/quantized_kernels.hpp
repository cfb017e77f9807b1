// Kernels of the approximate index (quantized_index.cpp): scoring int8 codes against a float query,
// and the products of rows with k-means centroids, with the SIMD path chosen at run time like
// distance.hpp's. These numbers only pick lists and candidates, so paths may differ in the last
// bits; the re-ranked distances never do.
#pragma once

#include <cstddef>
#include <cstdint>

#include "distance.hpp"

namespace pgrag {

// Code stride of a row: dims rounded up to the kernels' step.
constexpr size_t kCodeAlign = 16;
// Centroids are packed in panels of kPanelWidth: panel p holds centroids p*kPanelWidth.. as
// dims rows of kPanelWidth floats (element (i, j) at p*dims*kPanelWidth + i*kPanelWidth + j).
constexpr size_t kPanelWidth = 48;
// Rows are multiplied kTileRows at a time.
constexpr size_t kTileRows = 8;

struct QuantizedKernelTable {
    // out[i] = sum over j < stride of w[j] * codes[i * stride + j]; stride is a multiple of kCodeAlign.
    void (*score_codes)(const int8_t* codes, size_t count, size_t stride, const float* w, float* out);
    // out[r * width + j] = dot(rows + r * dims, centroid j) for r < count (a multiple of kTileRows) and
    // j < width (a multiple of kPanelWidth), centroids packed as above.
    void (*centroid_products)(const float* rows, size_t count, size_t dims, const float* panels, size_t width,
                              float* out);
    // lo[i] = min(lo[i], x[i] - c[i]), hi[i] = max(...): NaN never widens (identical on every path).
    void (*widen_range)(const float* x, const float* c, size_t dims, float* lo, float* hi);
    // out[i] = round half up of ((x[i] - c[i] - bias[i]) * inverse[i]) clamped to [-127, 127], NaN to 127
    // (identical on every path).
    void (*encode)(const float* x, const float* c, const float* bias, const float* inverse, size_t dims, int8_t* out);
};

// One code value, as every path computes it.
inline int8_t code_of(float r, float bias, float inverse) {
    float q = (r - bias) * inverse;
    q = q < 127.0f ? q : 127.0f;
    q = q > -127.0f ? q : -127.0f;
    return static_cast<int8_t>(static_cast<int>(q + 128.5f) - 128);  // truncating a positive: round half up
}
inline void widen_one(float d, float* lo, float* hi) {
    *lo = d < *lo ? d : *lo;
    *hi = d > *hi ? d : *hi;
}

const QuantizedKernelTable& quantized_kernels_portable();
const QuantizedKernelTable* quantized_kernels_avx2();    // nullptr where not compiled
const QuantizedKernelTable* quantized_kernels_avx512();  // nullptr where not compiled
// The table of the active kernel path (active_isa()).
const QuantizedKernelTable& quantized_kernels();

}  // namespace pgrag
