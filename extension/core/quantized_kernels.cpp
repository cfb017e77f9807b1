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

const QuantizedKernelTable kPortable = {score_codes_portable};

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
