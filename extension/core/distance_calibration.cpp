// The default kernel path: the widest one is not always the fastest (AVX-512 scanned 100k x 768 at half
// the AVX2 speed on an AMD EPYC), so when a CPU has both SIMD paths each scans 1.5 MB once per process.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "distance.hpp"

namespace pgrag {
namespace {

constexpr size_t kCalibrationDim = 768;
constexpr size_t kCalibrationRows = 512;  // 1.5 MiB: beyond L1 and most of L2; a scan takes ~0.1 ms
constexpr int kCalibrationRounds = 5;     // alternating, minimum kept: robust against a preempted round

// Deterministic values in [-1, 1) without a random engine (filling must stay cheap).
std::vector<float> calibration_rows() {
    std::vector<float> rows(kCalibrationRows * kCalibrationDim);
    uint32_t state = 12345;
    for (float& x : rows) {
        state = state * 1664525u + 1013904223u;
        x = static_cast<float>(state >> 8) * 0x1p-23f - 1.0f;
    }
    return rows;
}

// Seconds for one exact-search-like scan: one query (the first row) against every row, one dot per row.
double scan_seconds(const KernelTable& k, const std::vector<float>& rows) {
    auto start = std::chrono::steady_clock::now();
    volatile double sink = 0;
    double sum = 0;
    for (size_t r = 0; r < kCalibrationRows; ++r)
        sum += k.dot(rows.data() + r * kCalibrationDim, rows.data(), kCalibrationDim);
    sink = sum;
    (void)sink;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

KernelCalibration calibrate() {
    KernelCalibration c;
    bool avx2 = isa_supported(Isa::Avx2), avx512 = isa_supported(Isa::Avx512);
    if (!(avx2 && avx512)) {
        c.chosen = widest_supported_isa();
        return c;
    }
    std::vector<float> rows = calibration_rows();
    double best[2] = {1e30, 1e30};
    const KernelTable* paths[2] = {&kernels_for(Isa::Avx2), &kernels_for(Isa::Avx512)};
    scan_seconds(*paths[0], rows);  // warm-up: page faults and caches
    for (int round = 0; round < kCalibrationRounds; ++round)
        for (int p = 0; p < 2; ++p) best[p] = std::min(best[p], scan_seconds(*paths[p], rows));
    c.measured = true;
    c.avx2_ms = best[0] * 1e3;
    c.avx512_ms = best[1] * 1e3;
    c.chosen = choose_by_calibration(c.avx2_ms, c.avx512_ms);
    return c;
}

}  // namespace

Isa choose_by_calibration(double avx2_ms, double avx512_ms) {
    return avx512_ms * kAvx512Margin < avx2_ms ? Isa::Avx512 : Isa::Avx2;
}

const KernelCalibration& kernel_calibration() {
    static const KernelCalibration calibration = calibrate();  // once per process, thread-safe
    return calibration;
}

}  // namespace pgrag
