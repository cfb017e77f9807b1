// The approximate index against exact search, in one run: build time, memory against the float rows,
// top-10 latency and recall@10 per probe setting, 1% and 10% filters, and the k-means product kernel
// against OpenBLAS sgemm. Data: a Gaussian mixture (centres N(0,1), points centre + N(0, sigma^2)),
// queries drawn from the same mixture, rows normalized for cosine.
//   bench_ann [--rows N] [--dims D] [--centres C] [--sigma S] [--queries Q] [--metric cosine|l2|ip]
//             [--probes 1,2,4,... (0: default)] [--rerank R,... (0: default)] [--lists L] [--sample S] [--iterations I]
//             [--seed S]
#include <cblas.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/quantized_index.hpp"
#include "core/quantized_kernels.hpp"
#include "core/vector_index.hpp"

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

using pgrag::Metric;

namespace {

struct Options {
    size_t rows = 100000, dims = 768, centres = 1000, queries = 200;
    float sigma = 2.0f;  // the hard case (bench/README.md); 1 separates the centres cleanly
    Metric metric = Metric::Cosine;
    std::vector<size_t> probes = {1, 4, 8, 0, 64};  // 0: the index's default
    std::vector<size_t> rerank = {0};
    pgrag::QuantizedBuildOptions build;
};

std::vector<size_t> parse_list(const char* s) {
    std::vector<size_t> out;
    for (const char* p = s; *p;) {
        out.push_back(std::strtoull(p, const_cast<char**>(&p), 10));
        if (*p == ',') ++p;
    }
    return out;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        const char* v = argv[i + 1];
        if (a == "--rows")
            o.rows = std::strtoull(v, nullptr, 10);
        else if (a == "--dims")
            o.dims = std::strtoull(v, nullptr, 10);
        else if (a == "--centres")
            o.centres = std::strtoull(v, nullptr, 10);
        else if (a == "--sigma")
            o.sigma = std::strtof(v, nullptr);
        else if (a == "--queries")
            o.queries = std::strtoull(v, nullptr, 10);
        else if (a == "--probes")
            o.probes = parse_list(v);
        else if (a == "--rerank")
            o.rerank = parse_list(v);
        else if (a == "--lists")
            o.build.lists = std::strtoull(v, nullptr, 10);
        else if (a == "--sample")
            o.build.sample = std::strtoull(v, nullptr, 10);
        else if (a == "--iterations")
            o.build.iterations = std::atoi(v);
        else if (a == "--seed")
            o.build.seed = std::strtoull(v, nullptr, 10);
        else if (a == "--metric") {
            std::string m = v;
            o.metric = m == "l2" ? Metric::L2 : m == "ip" ? Metric::NegativeInnerProduct : Metric::Cosine;
        } else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            std::exit(2);
        }
    }
    o.build.metric = o.metric;
    return o;
}

// Normal deviates fast enough for 768M of them: a table of 2^16 Box-Muller values indexed by a
// splitmix64 stream, 4 per 64-bit draw.
class FastNormal {
  public:
    explicit FastNormal(uint64_t seed) : state_(seed) {
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> g(0, 1);
        table_.resize(1 << 16);
        for (auto& x : table_) x = g(rng);
    }
    void fill(float* out, size_t n, float scale, const float* mean) {
        size_t i = 0;
        while (i < n) {
            uint64_t z = next();
            for (int part = 0; part < 4 && i < n; ++part, ++i, z >>= 16) out[i] = mean[i] + scale * table_[z & 0xffff];
        }
    }
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

  private:
    uint64_t state_;
    std::vector<float> table_;
};

struct Mixture {
    std::vector<float> centres;
    FastNormal normal;
    size_t dims;
    float sigma;
    bool normalize;
    Mixture(const Options& o) : centres(o.centres * o.dims), normal(42), dims(o.dims), sigma(o.sigma) {
        normalize = o.metric == Metric::Cosine;
        std::vector<float> zero(o.dims, 0.0f);
        for (size_t c = 0; c < o.centres; ++c) normal.fill(&centres[c * o.dims], o.dims, 1.0f, zero.data());
    }
    // One point; returns its centre.
    size_t draw(float* out) {
        size_t c = normal.next() % (centres.size() / dims);
        normal.fill(out, dims, sigma, &centres[c * dims]);
        if (normalize) {
            double s = 0;
            for (size_t i = 0; i < dims; ++i) s += double(out[i]) * out[i];
            float inv = static_cast<float>(1.0 / std::sqrt(s));
            for (size_t i = 0; i < dims; ++i) out[i] *= inv;
        }
        return c;
    }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double thread_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

double recall(const std::vector<pgrag::Neighbour>& got, const std::vector<pgrag::Neighbour>& want) {
    std::set<int64_t> ids;
    for (auto& n : want) ids.insert(n.id);
    size_t hit = 0;
    for (auto& n : got) hit += ids.count(n.id);
    return want.empty() ? 1.0 : double(hit) / want.size();
}

// The k-means product (rows x centroids) with our kernel on each path vs cblas_sgemm, GFLOP/s.
void compare_products(size_t dims) {
    const size_t rows = 2048, lists = 1008, width = lists;  // 1008 = 21 panels of 48
    FastNormal g(7);
    std::vector<float> zero(dims, 0.0f), x(rows * dims), c(lists * dims), out(rows * width);
    for (size_t r = 0; r < rows; ++r) g.fill(&x[r * dims], dims, 1.0f, zero.data());
    for (size_t j = 0; j < lists; ++j) g.fill(&c[j * dims], dims, 1.0f, zero.data());
    std::vector<float> panels(width * dims);
    for (size_t j = 0; j < lists; ++j)
        for (size_t i = 0; i < dims; ++i)
            panels[(j / pgrag::kPanelWidth) * dims * pgrag::kPanelWidth + i * pgrag::kPanelWidth +
                   j % pgrag::kPanelWidth] = c[j * dims + i];
    const double flop = 2.0 * rows * lists * dims;
    auto gflops = [&](auto&& run) {
        double best = 1e30;
        for (int rep = 0; rep < 3; ++rep) {
            double t0 = thread_cpu_seconds();
            run();
            best = std::min(best, thread_cpu_seconds() - t0);
        }
        return flop / best / 1e9;
    };
    openblas_set_num_threads(1);
    double blas = gflops([&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(lists), int(dims), 1.0f, x.data(),
                    int(dims), c.data(), int(dims), 0.0f, out.data(), int(lists));
    });
    std::printf("\n### k-means product: %zu rows x %zu centroids x %zu dims, one thread (CPU time, best of 3)\n\n",
                rows, lists, dims);
    std::printf("| kernel | GFLOP/s | vs OpenBLAS sgemm |\n|---|---|---|\n");
    std::printf("| OpenBLAS %s sgemm (its choice for this CPU) | %.1f | 1.00x |\n", openblas_get_corename(), blas);
    for (pgrag::Isa isa : {pgrag::Isa::Avx512, pgrag::Isa::Avx2, pgrag::Isa::Portable}) {
        if (!pgrag::isa_supported(isa)) continue;
        pgrag::use_isa(isa);
        double ours = gflops([&] {
            pgrag::quantized_kernels().centroid_products(x.data(), rows, dims, panels.data(), width, out.data());
        });
        std::printf("| ours, %s | %.1f | %.2fx |\n", pgrag::isa_name(isa), ours, ours / blas);
    }
    pgrag::use_isa(pgrag::best_supported_isa());
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected to a file
    Options o = parse(argc, argv);
    const char* metric_name = o.metric == Metric::Cosine ? "cosine" : o.metric == Metric::L2 ? "l2" : "inner product";
    std::printf("## %zu rows x %zu dims, %zu centres, sigma %.2f, %s, %zu queries, kernels %s\n\n", o.rows, o.dims,
                o.centres, o.sigma, metric_name, o.queries, pgrag::isa_name(pgrag::active_isa()));

    // The rows, straight into the exact index's matrix (no second copy); ids and norms for the view.
    auto t0 = std::chrono::steady_clock::now();
    Mixture mix(o);
    pgrag::VectorMatrix matrix(o.dims, o.rows);
    std::vector<int64_t> ids(o.rows);
    std::vector<double> norms(o.rows);
    std::vector<uint16_t> centre_of(o.rows);
    std::vector<float> row(o.dims);
    for (size_t r = 0; r < o.rows; ++r) {
        centre_of[r] = static_cast<uint16_t>(mix.draw(row.data()));
        ids[r] = static_cast<int64_t>(r);
        matrix.add(ids[r], static_cast<int64_t>(r % 100), 0, row.data());
        norms[r] = matrix.squared_norm(r);
    }
    pgrag::MatrixView view{matrix.row(0), norms.data(), ids.data(), o.rows, o.dims};
    std::vector<std::vector<float>> queries(o.queries, std::vector<float>(o.dims));
    std::vector<size_t> query_centre(o.queries);
    for (size_t i = 0; i < o.queries; ++i) query_centre[i] = mix.draw(queries[i].data());
    std::printf("data generated in %.1f s\n", seconds_since(t0));

    // Build.
    std::vector<uint8_t> bytes;
    bytes.reserve(o.rows * (o.dims + 16) + (size_t{64} << 20));
    t0 = std::chrono::steady_clock::now();
    double cpu0 = thread_cpu_seconds();
    const pgrag::QuantizedBuildReport built = pgrag::build_quantized_index(
        view, o.build,
        [&](const void* p, size_t n) {
            const uint8_t* b = static_cast<const uint8_t*>(p);
            bytes.insert(bytes.end(), b, b + n);
        },
        nullptr);
    double build_wall = seconds_since(t0), build_cpu = thread_cpu_seconds() - cpu0;
    auto index = pgrag::QuantizedIndex::open(bytes.data(), bytes.size(), o.rows, o.dims);
    const double float_bytes = double(o.rows) * o.dims * sizeof(float);
    std::printf(
        "build: %.1f s wall, %.1f s CPU (one thread); %zu lists, k-means on %zu rows, %d rounds; index %.1f MB = "
        "%.1f%% of the float rows (%.1f MB)\n",
        build_wall, build_cpu, index.lists(), built.trained_rows, built.rounds, index.memory_bytes() / 1e6,
        100.0 * index.memory_bytes() / float_bytes, float_bytes / 1e6);

    // Exact baseline, and how the true neighbours sit in the mixture.
    const size_t k = 10;
    std::vector<std::vector<pgrag::Neighbour>> truth(o.queries);
    std::vector<double> exact_ms, exact_cpu_ms;
    size_t own_centre = 0;
    for (size_t i = 0; i < o.queries; ++i) {
        t0 = std::chrono::steady_clock::now();
        double c0 = thread_cpu_seconds();
        truth[i] = pgrag::nearest(matrix, queries[i].data(), o.metric, k, {});
        exact_cpu_ms.push_back((thread_cpu_seconds() - c0) * 1e3);
        exact_ms.push_back(seconds_since(t0) * 1e3);
        for (auto& n : truth[i]) own_centre += centre_of[static_cast<size_t>(n.id)] == query_centre[i];
    }
    const double exact_median = percentile(exact_ms, 0.5);
    std::printf(
        "exact nearest(): median %.2f ms, p95 %.2f ms, median CPU %.2f ms; %.1f%% of the true top-10 share the "
        "query's centre\n\n",
        exact_median, percentile(exact_ms, 0.95), percentile(exact_cpu_ms, 0.5), 100.0 * own_centre / (o.queries * k));

    std::printf(
        "| probes | rerank | median ms | p95 ms | median CPU ms | recall@10 | speed-up vs exact (median) |\n"
        "|---|---|---|---|---|---|---|\n");
    for (size_t rerank : o.rerank)
        for (size_t probes : o.probes) {
            if (probes == 0) probes = index.default_probes();
            pgrag::QuantizedIndex::SearchOptions so;
            so.probes = probes;
            so.rerank = rerank;
            std::vector<double> ms, cpu_ms;
            double total = 0;
            for (size_t i = 0; i < o.queries; ++i) {
                t0 = std::chrono::steady_clock::now();
                double c0 = thread_cpu_seconds();
                auto got = index.search(view, queries[i].data(), o.metric, k, nullptr, so, nullptr);
                cpu_ms.push_back((thread_cpu_seconds() - c0) * 1e3);
                ms.push_back(seconds_since(t0) * 1e3);
                total += recall(got, truth[i]);
            }
            double median = percentile(ms, 0.5);
            std::printf("| %zu%s | %zu | %.3f | %.3f | %.3f | %.3f | %.0fx |\n", probes,
                        probes == index.default_probes() ? " (default)" : "",
                        rerank ? rerank : pgrag::QuantizedIndex::default_rerank(k), median, percentile(ms, 0.95),
                        percentile(cpu_ms, 0.5), total / o.queries, exact_median / median);
        }

    // Filters letting 1% and 10% of the rows through (owner = row % 100), default options, against exact.
    for (int percent : {1, 10}) {
        std::vector<int64_t> owners;
        for (int i = 0; i < percent; ++i) owners.push_back(i);
        pgrag::RowFilter filter;
        filter.owners = &owners;
        auto accept = [percent](size_t r) { return r % 100 < static_cast<size_t>(percent); };
        std::vector<double> ms, cpu_ms, exact_filtered_ms;
        double total = 0;
        size_t fallbacks = 0, probes_used = 0, fewest = k;
        for (size_t i = 0; i < o.queries; ++i) {
            t0 = std::chrono::steady_clock::now();
            auto want = pgrag::nearest(matrix, queries[i].data(), o.metric, k, filter);
            exact_filtered_ms.push_back(seconds_since(t0) * 1e3);
            pgrag::SearchReport report;
            t0 = std::chrono::steady_clock::now();
            double c0 = thread_cpu_seconds();
            auto got = index.search(view, queries[i].data(), o.metric, k, accept, {}, nullptr, &report);
            cpu_ms.push_back((thread_cpu_seconds() - c0) * 1e3);
            ms.push_back(seconds_since(t0) * 1e3);
            total += recall(got, want);
            fallbacks += report.exact_fallback;
            probes_used += report.probes_used;
            fewest = std::min(fewest, got.size());
        }
        std::printf(
            "\n%d%% filter (default options): median %.3f ms (CPU %.3f), p95 %.3f ms, recall@10 %.3f, fewest rows "
            "returned %zu of %zu, %.1f lists probed on average, %zu of %zu exact fallbacks; exact filtered scan "
            "(nearest() with the owner filter) median %.2f ms: %.1fx\n",
            percent, percentile(ms, 0.5), percentile(cpu_ms, 0.5), percentile(ms, 0.95), total / o.queries, fewest, k,
            double(probes_used) / o.queries, fallbacks, o.queries, percentile(exact_filtered_ms, 0.5),
            percentile(exact_filtered_ms, 0.5) / percentile(ms, 0.5));
    }

    compare_products(o.dims);
    return 0;
}
