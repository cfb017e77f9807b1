// The portable int8 scoring kernel and the run-time choice of path (quantized_kernels.hpp).
#include "quantized_kernels.hpp"

namespace pgrag {
namespace {

void score_codes_portable(const int8_t* codes, size_t count, size_t stride, const float* w, float* out) {
    for (size_t i = 0; i < count; ++i) {
        const int8_t* c = codes + i * stride;
        float acc[kCodeAlign] = {};
        for (size_t j = 0; j < stride; j += kCodeAlign)
            for (size_t l = 0; l < kCodeAlign; ++l) acc[l] += w[j + l] * static_cast<float>(c[j + l]);
        float s = 0;
        for (size_t l = 0; l < kCodeAlign; ++l) s += acc[l];
        out[i] = s;
    }
}

void centroid_products_portable(const float* rows, size_t count, size_t dims, const float* panels, size_t width,
                                float* out) {
    for (size_t p = 0; p < width; p += kPanelWidth) {
        const float* panel = panels + p * dims;
        for (size_t r = 0; r < count; ++r) {
            float acc[kPanelWidth] = {};
            const float* x = rows + r * dims;
            for (size_t i = 0; i < dims; ++i)
                for (size_t j = 0; j < kPanelWidth; ++j) acc[j] += x[i] * panel[i * kPanelWidth + j];
            for (size_t j = 0; j < kPanelWidth; ++j) out[r * width + p + j] = acc[j];
        }
    }
}

void widen_range_portable(const float* x, const float* c, size_t dims, float* lo, float* hi) {
    for (size_t i = 0; i < dims; ++i) widen_one(x[i] - c[i], lo + i, hi + i);
}

void encode_portable(const float* x, const float* c, const float* bias, const float* inverse, size_t dims,
                     int8_t* out) {
    for (size_t i = 0; i < dims; ++i) out[i] = code_of(x[i] - c[i], bias[i], inverse[i]);
}

const QuantizedKernelTable kPortable = {score_codes_portable, centroid_products_portable, widen_range_portable,
                                        encode_portable};

}  // namespace

const QuantizedKernelTable& quantized_kernels_portable() { return kPortable; }

const QuantizedKernelTable& quantized_kernels() {
    switch (active_isa()) {
        case Isa::Avx512:
            if (quantized_kernels_avx512()) return *quantized_kernels_avx512();
            break;
        case Isa::Avx2:
            if (quantized_kernels_avx2()) return *quantized_kernels_avx2();
            break;
        default:
            break;
    }
    return kPortable;
}

#if !defined(__x86_64__)
const QuantizedKernelTable* quantized_kernels_avx2() { return nullptr; }
const QuantizedKernelTable* quantized_kernels_avx512() { return nullptr; }
#endif

}  // namespace pgrag
