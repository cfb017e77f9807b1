// k-means of the approximate index: the assignment is the nearest centroid, separated clusters converge
// early, and a small base trains on a sample only when the sample converges (else on every row).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/distance.hpp"
#include "core/kmeans.hpp"
#include "core/quantized_index.hpp"
#include "core/quantized_kernels.hpp"

namespace {

// n unit rows of d dims, padded to whole tiles: around `centres` random directions with noise `spread`
// (centres 0: uniform directions).
std::vector<float> unit_rows(size_t n, size_t d, size_t centres, float spread, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::vector<float> c(std::max<size_t>(centres, 1) * d), rows((n + pgrag::kTileRows) * d, 0.0f);
    for (auto& x : c) x = g(rng);
    for (size_t r = 0; r < n; ++r) {
        float* x = &rows[r * d];
        const size_t k = centres ? rng() % centres : 0;
        double s = 0;
        for (size_t i = 0; i < d; ++i) {
            x[i] = (centres ? c[k * d + i] : 0.0f) + spread * g(rng);
            s += double(x[i]) * x[i];
        }
        for (size_t i = 0; i < d; ++i) x[i] = static_cast<float>(x[i] / std::sqrt(s));
    }
    return rows;
}

pgrag::KMeansResult kmeans(const std::vector<float>& rows, size_t n, size_t d, size_t lists, int iterations) {
    pgrag::Random rng{1};
    std::function<void()> none;
    pgrag::Deadline deadline(none);
    return pgrag::spherical_kmeans(rows.data(), n, d, lists, iterations, rng, deadline);
}

TEST(KMeans, AssignsEveryRowToItsNearestCentroidAndConvergesOnSeparatedClusters) {
    const size_t n = 3000, d = 24, lists = 20;
    std::vector<float> rows = unit_rows(n, d, lists, 0.1f, 7);
    pgrag::KMeansResult k = kmeans(rows, n, d, lists, 50);
    EXPECT_TRUE(k.converged);
    EXPECT_LT(k.rounds, 50);
    for (size_t j = 0; j < lists; ++j)  // unit centroids
        EXPECT_NEAR(pgrag::kernels().dot(&k.centroids[j * d], &k.centroids[j * d], d), 1.0, 1e-4);
    for (size_t r = 0; r < n; ++r) {
        const float* x = &rows[r * d];
        size_t best = 0;
        double best_dot = -2;
        for (size_t j = 0; j < lists; ++j) {
            double p = pgrag::exact::dot(x, &k.centroids[j * d], d);
            if (p > best_dot) best_dot = p, best = j;
        }
        const double mine = pgrag::exact::dot(x, &k.centroids[k.assign[r] * d], d);
        EXPECT_NEAR(mine, best_dot, 1e-4) << "row " << r << " in list " << k.assign[r] << ", nearest " << best;
    }
}

TEST(KMeans, StopsAtTheRoundLimitWhenNotConverged) {
    const size_t n = 4000, d = 16, lists = 60;
    std::vector<float> rows = unit_rows(n, d, 0, 1.0f, 3);  // uniform directions: slow to settle
    pgrag::KMeansResult k = kmeans(rows, n, d, lists, 2);
    EXPECT_FALSE(k.converged);
    EXPECT_EQ(k.rounds, 2);
}

pgrag::QuantizedBuildReport build_report(size_t n, size_t d, size_t centres, float spread) {
    std::vector<float> rows = unit_rows(n, d, centres, spread, 11);
    std::vector<double> norms(n);
    std::vector<int64_t> ids(n);
    for (size_t r = 0; r < n; ++r) {
        norms[r] = pgrag::kernels().dot(&rows[r * d], &rows[r * d], d);
        ids[r] = static_cast<int64_t>(r);
    }
    pgrag::MatrixView m{rows.data(), norms.data(), ids.data(), n, d};
    pgrag::QuantizedBuildOptions o;
    o.lists = 200;
    return pgrag::build_quantized_index(
        m, o, [](const void*, size_t) {}, nullptr);
}

TEST(KMeans, ASmallBaseTrainsOnASampleWhenItConverges) {
    pgrag::QuantizedBuildReport r = build_report(40000, 768, 1000, 0.6f);
    EXPECT_EQ(r.trained_rows, 32768u);
    EXPECT_LE(r.rounds, 6);
}

TEST(KMeans, ASmallBaseTrainsOnEveryRowWhenTheSampleDoesNotConverge) {
    pgrag::QuantizedBuildReport r = build_report(40000, 16, 0, 1.0f);
    EXPECT_EQ(r.trained_rows, 40000u);
    EXPECT_GT(r.rounds, 6);
}

}  // namespace
