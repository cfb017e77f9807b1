// Distance kernels: ours (each supported path) vs a naive scalar loop vs OpenBLAS, in one run,
// then a table of ratios, since bare times on shared machines mean little.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/distance.hpp"
#include "naive_kernels.hpp"

extern "C" void openblas_set_num_threads(int);

using pgrag::Isa;
using pgrag::Metric;

namespace {

constexpr size_t kPairs = 2;          // two pairs alternate: L1-resident, so this measures the kernel, not memory
constexpr size_t kManyRows = 100000;  // one-vs-many
constexpr size_t kManyDim = 768;

std::vector<float> random_floats(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1, 1);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

const char* metric_name(Metric m) {
    switch (m) {
        case Metric::L2:
            return "l2";
        case Metric::Cosine:
            return "cosine";
        case Metric::InnerProduct:
            return "dot";
        case Metric::L1:
            return "l1";
        default:
            return "?";
    }
}

float naive(Metric m, const float* a, const float* b, size_t n) {
    switch (m) {
        case Metric::L2:
            return naive_l2(a, b, n);
        case Metric::Cosine:
            return naive_cosine(a, b, n);
        case Metric::L1:
            return naive_l1(a, b, n);
        default:
            return naive_dot(a, b, n);
    }
}

// impl: "naive", "openblas" or an ISA name.
void pair_benchmark(benchmark::State& state, Metric m, size_t dim, std::string impl) {
    auto a = random_floats(kPairs * dim, 1), b = random_floats(kPairs * dim, 2);
    Isa isa = Isa::Portable;
    bool ours = pgrag::parse_isa(impl.c_str(), &isa);
    if (ours) pgrag::use_isa(isa);
    size_t p = 0;
    for (auto _ : state) {
        const float* x = a.data() + p * dim;
        const float* y = b.data() + p * dim;
        if (ours)
            benchmark::DoNotOptimize(pgrag::distance(m, x, y, dim));
        else if (impl == "naive")
            benchmark::DoNotOptimize(naive(m, x, y, dim));
        else
            benchmark::DoNotOptimize(cblas_sdot(static_cast<int>(dim), x, 1, y, 1));
        p = (p + 1) % kPairs;
    }
    state.SetItemsProcessed(state.iterations());
}

const std::vector<float>& many_rows() {
    static std::vector<float> rows = random_floats(kManyRows * kManyDim, 3);
    return rows;
}

// One query against 100k contiguous rows: ours (dot and cosine) vs cblas_sgemv vs the naive loop.
void many_benchmark(benchmark::State& state, Metric m, std::string impl) {
    const auto& rows = many_rows();
    auto q = random_floats(kManyDim, 4);
    std::vector<const float*> ptrs(kManyRows);
    for (size_t i = 0; i < kManyRows; ++i) ptrs[i] = rows.data() + i * kManyDim;
    std::vector<double> out(kManyRows);
    std::vector<float> outf(kManyRows);
    Isa isa = Isa::Portable;
    bool ours = pgrag::parse_isa(impl.c_str(), &isa);
    if (ours) pgrag::use_isa(isa);
    for (auto _ : state) {
        if (ours) {
            pgrag::distances_one_to_many(m, q.data(), ptrs.data(), kManyRows, kManyDim, out.data());
        } else if (impl == "naive") {
            for (size_t i = 0; i < kManyRows; ++i) outf[i] = naive(m, q.data(), ptrs[i], kManyDim);
        } else {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(kManyRows), static_cast<int>(kManyDim), 1.0f,
                        rows.data(), static_cast<int>(kManyDim), q.data(), 1, 0.0f, outf.data(), 1);
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::DoNotOptimize(outf.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kManyRows));
}

std::vector<std::string> our_paths() {
    std::vector<std::string> names;
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
        if (pgrag::isa_supported(isa)) names.push_back(pgrag::isa_name(isa));
    return names;
}

// Keeps each benchmark's CPU time per iteration for the ratio table: on a shared machine wall time also
// counts other tenants' time slices (memory stalls are CPU time, so memory-bound scans still count).
class RecordingReporter : public benchmark::ConsoleReporter {
  public:
    std::map<std::string, double> ns;
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs)
            if (run.run_type == Run::RT_Iteration) ns[run.benchmark_name()] = run.GetAdjustedCPUTime();
        ConsoleReporter::ReportRuns(runs);
    }
};

void print_ratio(const RecordingReporter& r, const std::string& label, const std::string& fast,
                 const std::string& base) {
    auto f = r.ns.find(fast), b = r.ns.find(base);
    if (f == r.ns.end() || b == r.ns.end()) return;
    std::printf("  %-44s %7.2fx\n", label.c_str(), b->second / f->second);
}

}  // namespace

int main(int argc, char** argv) {
    openblas_set_num_threads(1);  // as inside a backend: one thread
    const Metric metrics[] = {Metric::Cosine, Metric::L2, Metric::InnerProduct, Metric::L1};
    for (Metric m : metrics)
        for (size_t dim : {384, 768, 1536}) {
            std::vector<std::string> impls = our_paths();
            impls.push_back("naive");
            if (m == Metric::InnerProduct) impls.push_back("openblas");
            for (const auto& impl : impls) {
                std::string name = std::string("pair/") + metric_name(m) + "/" + std::to_string(dim) + "/" + impl;
                benchmark::RegisterBenchmark(name.c_str(), pair_benchmark, m, dim, impl);
            }
        }
    for (Metric m : {Metric::InnerProduct, Metric::Cosine}) {
        std::vector<std::string> impls = our_paths();
        impls.push_back("naive");
        if (m == Metric::InnerProduct) impls.push_back("openblas");
        for (const auto& impl : impls) {
            std::string name = std::string("one_vs_100k/") + metric_name(m) + "/768/" + impl;
            benchmark::RegisterBenchmark(name.c_str(), many_benchmark, m, impl)->Unit(benchmark::kMillisecond);
        }
    }
    benchmark::Initialize(&argc, argv);
    RecordingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);

    std::string best = pgrag::isa_name(pgrag::best_supported_isa());
    const pgrag::KernelCalibration& calibration = pgrag::kernel_calibration();
    if (calibration.measured)
        std::printf("\nLoad-time calibration (512 x 768 dot scan, best of 5): avx2 %.3f ms, avx512 %.3f ms -> %s\n",
                    calibration.avx2_ms, calibration.avx512_ms, best.c_str());
    std::printf("\nRatios of CPU time (higher is better; baseline measured in this run; default path: %s)\n",
                best.c_str());
    for (Metric m : metrics)
        for (size_t dim : {384, 768, 1536}) {
            std::string base = std::string("pair/") + metric_name(m) + "/" + std::to_string(dim) + "/";
            for (const auto& path : our_paths())
                print_ratio(reporter, base + path + " vs naive", base + path, base + "naive");
            if (m == Metric::InnerProduct)
                print_ratio(reporter, base + best + " vs cblas_sdot", base + best, base + "openblas");
        }
    for (const auto& path : our_paths()) {
        print_ratio(reporter, "one_vs_100k/dot/768/" + path + " vs cblas_sgemv", "one_vs_100k/dot/768/" + path,
                    "one_vs_100k/dot/768/openblas");
        print_ratio(reporter, "one_vs_100k/cosine/768/" + path + " vs cblas_sgemv", "one_vs_100k/cosine/768/" + path,
                    "one_vs_100k/dot/768/openblas");
        print_ratio(reporter, "one_vs_100k/cosine/768/" + path + " vs naive", "one_vs_100k/cosine/768/" + path,
                    "one_vs_100k/cosine/768/naive");
    }
    return 0;
}
