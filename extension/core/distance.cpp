// Run-time choice of kernel path, and the metric formulas built on the primitives.
#include "distance.hpp"

#include <cmath>
#include <cstring>

#include "error.hpp"

namespace pgrag {
namespace {

bool cpu_has_avx2() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && cpu_has_avx2();
#else
    return false;
#endif
}

Isa& active_slot() {
    static Isa isa = best_supported_isa();
    return isa;
}

// 1 - cosine similarity, clamped so rounding never gives a distance outside [0, 2]; NaN for a zero vector.
double cosine_from(double dot, double na, double nb) {
    double similarity = dot / std::sqrt(na * nb);
    if (similarity > 1.0) similarity = 1.0;
    if (similarity < -1.0) similarity = -1.0;
    return 1.0 - similarity;
}

}  // namespace

bool isa_supported(Isa isa) {
    switch (isa) {
        case Isa::Portable:
            return true;
        case Isa::Avx2:
            return avx2_kernels() != nullptr && cpu_has_avx2();
        case Isa::Avx512:
            return avx512_kernels() != nullptr && cpu_has_avx512();
    }
    return false;
}

Isa widest_supported_isa() {
    if (isa_supported(Isa::Avx512)) return Isa::Avx512;
    if (isa_supported(Isa::Avx2)) return Isa::Avx2;
    return Isa::Portable;
}

Isa best_supported_isa() { return kernel_calibration().chosen; }

Isa active_isa() { return active_slot(); }

void use_isa(Isa isa) {
    if (!isa_supported(isa))
        throw Error(ErrorCode::InvalidParameterValue,
                    std::string("this CPU does not support the ") + isa_name(isa) + " kernel path");
    active_slot() = isa;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Portable:
            return "portable";
        case Isa::Avx2:
            return "avx2";
        case Isa::Avx512:
            return "avx512";
    }
    return "unknown";
}

bool parse_isa(const char* name, Isa* out) {
    if (std::strcmp(name, "auto") == 0)
        *out = best_supported_isa();
    else if (std::strcmp(name, "portable") == 0)
        *out = Isa::Portable;
    else if (std::strcmp(name, "avx2") == 0)
        *out = Isa::Avx2;
    else if (std::strcmp(name, "avx512") == 0)
        *out = Isa::Avx512;
    else
        return false;
    return true;
}

const KernelTable& kernels_for(Isa isa) {
    if (!isa_supported(isa))
        throw Error(ErrorCode::InvalidParameterValue, std::string("kernel path not supported: ") + isa_name(isa));
    switch (isa) {
        case Isa::Avx2:
            return *avx2_kernels();
        case Isa::Avx512:
            return *avx512_kernels();
        default:
            return portable_kernels();
    }
}

const KernelTable& kernels() { return kernels_for(active_isa()); }

double distance(Metric metric, const float* a, const float* b, size_t n) {
    const KernelTable& k = kernels();
    switch (metric) {
        case Metric::L2:
            return std::sqrt(k.l2_squared(a, b, n));
        case Metric::InnerProduct:
            return k.dot(a, b, n);
        case Metric::NegativeInnerProduct:
            return -k.dot(a, b, n);
        case Metric::L1:
            return k.l1(a, b, n);
        case Metric::Cosine: {
            double dot, na, nb;
            k.dot_and_norms(a, b, n, &dot, &na, &nb);
            return cosine_from(dot, na, nb);
        }
    }
    return NAN;
}

double l2_norm(const float* a, size_t n) { return std::sqrt(kernels().dot(a, a, n)); }

double cosine_distance_from(double dot, double norm_a, double norm_b) { return cosine_from(dot, norm_a, norm_b); }

void distances_one_to_many(Metric metric, const float* query, const float* const* rows, size_t count, size_t dim,
                           double* out) {
    const KernelTable& k = kernels();
    switch (metric) {
        case Metric::L2:
            for (size_t i = 0; i < count; ++i) out[i] = std::sqrt(k.l2_squared(rows[i], query, dim));
            break;
        case Metric::InnerProduct:
            for (size_t i = 0; i < count; ++i) out[i] = k.dot(rows[i], query, dim);
            break;
        case Metric::NegativeInnerProduct:
            for (size_t i = 0; i < count; ++i) out[i] = -k.dot(rows[i], query, dim);
            break;
        case Metric::L1:
            for (size_t i = 0; i < count; ++i) out[i] = k.l1(rows[i], query, dim);
            break;
        case Metric::Cosine: {
            double query_norm = k.dot(query, query, dim);  // equals the norm dot_and_norms computes, bit for bit
            for (size_t i = 0; i < count; ++i) {
                double dot, row_norm;
                k.dot_and_norm_b(query, rows[i], dim, &dot, &row_norm);
                out[i] = cosine_from(dot, row_norm, query_norm);
            }
            break;
        }
    }
}

}  // namespace pgrag
