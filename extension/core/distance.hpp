// Distance kernels for float32 embeddings, with the SIMD path chosen once at run time.
//
// Every path (portable, AVX2, AVX-512) computes float terms into 32 float lanes (element i -> lane
// i % 32), flushes them into double lanes every 256 elements and reduces the lanes in one fixed
// order; sums that overflow or underflow are recomputed exactly in double (lanes.hpp). All paths,
// and the one-vs-many kernel, therefore return bit-identical results: forcing the portable path
// changes speed, never answers, and exact search agrees with ORDER BY to the last bit. Error stays
// below ~3e-7 of the sum of term magnitudes (tests/unit/distance_test.cpp checks 1e-6).
#pragma once

#include <cstddef>

namespace pgrag {

enum class Metric { L2, Cosine, InnerProduct, NegativeInnerProduct, L1 };

enum class Isa { Portable, Avx2, Avx512 };

// The per-ISA primitives (norms are squared).
struct KernelTable {
    double (*dot)(const float* a, const float* b, size_t n);
    double (*l2_squared)(const float* a, const float* b, size_t n);
    double (*l1)(const float* a, const float* b, size_t n);
    void (*dot_and_norms)(const float* a, const float* b, size_t n, double* dot, double* norm_a, double* norm_b);
    void (*dot_and_norm_b)(const float* a, const float* b, size_t n, double* dot, double* norm_b);
};

// Exact double-precision kernels, the fallback of every path (distance_exact.cpp).
namespace exact {
double dot(const float* a, const float* b, size_t n);
double l2_squared(const float* a, const float* b, size_t n);
double l1(const float* a, const float* b, size_t n);
}  // namespace exact

// The widest path this CPU and OS support.
Isa widest_supported_isa();
// The fastest supported path, the default ("auto"): the widest, unless the CPU has both AVX2 and
// AVX-512 and AVX-512 scanned no faster than AVX2 by the margin in this process's calibration.
Isa best_supported_isa();

// AVX-512 must scan this many times faster than AVX2 to be chosen, so the choice does not flap
// between processes on timing noise (and the narrower path, gentler on clocks, wins ties).
constexpr double kAvx512Margin = 1.10;

// What the calibration measured (distance_calibration.cpp): once per process, at first use.
struct KernelCalibration {
    Isa chosen = Isa::Portable;
    bool measured = false;  // false: the CPU has at most one SIMD path, nothing to compare
    double avx2_ms = 0;     // best of a few scans of 512 x 768 floats, one dot per row
    double avx512_ms = 0;
};
const KernelCalibration& kernel_calibration();
// The calibration's rule, deterministic in its inputs: AVX-512 only when faster by kAvx512Margin.
Isa choose_by_calibration(double avx2_ms, double avx512_ms);
// True when this CPU can run the given path.
bool isa_supported(Isa isa);
// The path in use now (best_supported_isa() unless changed by use_isa).
Isa active_isa();
// Switches the path; throws Error(InvalidParameterValue) if the CPU lacks it.
void use_isa(Isa isa);
const char* isa_name(Isa isa);
// Parses "auto", "portable", "avx2", "avx512"; returns false for anything else. "auto" gives best_supported_isa().
bool parse_isa(const char* name, Isa* out);

// The primitives of the active path.
const KernelTable& kernels();
// The primitives of a given path (for tests and benchmarks); the CPU must support it.
const KernelTable& kernels_for(Isa isa);

// Distance between two vectors of n elements by metric (cosine of a zero vector is NaN).
double distance(Metric metric, const float* a, const float* b, size_t n);
// Euclidean norm.
double l2_norm(const float* a, size_t n);
// Cosine distance from a dot product and two squared norms, exactly as distance(Cosine, ...) computes
// it: with norms from kernels().dot(x, x) and the dot from kernels().dot(a, b) the result is bit-identical.
double cosine_distance_from(double dot, double norm_a, double norm_b);
// Scores one query against `count` rows of `dim` floats; out[i] is bit-identical to distance(metric, q, rows[i]).
void distances_one_to_many(Metric metric, const float* query, const float* const* rows, size_t count, size_t dim,
                           double* out);

// Implementations per path (defined in distance_portable.cpp and distance_x86_*.cpp).
const KernelTable& portable_kernels();
const KernelTable* avx2_kernels();    // nullptr where not compiled (non-x86)
const KernelTable* avx512_kernels();  // nullptr where not compiled (non-x86)

}  // namespace pgrag
