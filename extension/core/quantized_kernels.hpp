// Kernels of the approximate index (quantized_index.cpp): scoring int8 codes against a float query,
// with the SIMD path chosen at run time like distance.hpp's (these scores only pick candidates, so
// paths may differ in the last bits; the re-ranked distances never do).
#pragma once

#include <cstddef>
#include <cstdint>

#include "distance.hpp"

namespace pgrag {

struct QuantizedKernelTable {
    // out[i] = sum over j < stride of w[j] * codes[i * stride + j]; stride is a multiple of 16.
    void (*score_codes)(const int8_t* codes, size_t count, size_t stride, const float* w, float* out);
};

// Code stride of a row: dims rounded up to the kernels' step.
constexpr size_t kCodeAlign = 16;

const QuantizedKernelTable& quantized_kernels_portable();
const QuantizedKernelTable* quantized_kernels_avx2();    // nullptr where not compiled
const QuantizedKernelTable* quantized_kernels_avx512();  // nullptr where not compiled
// The table of the active kernel path (active_isa()).
const QuantizedKernelTable& quantized_kernels();

}  // namespace pgrag
