// Exact nearest neighbours from the in-memory matrix equal a brute-force sort, with filters and ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/vector_index.hpp"

using pgrag::Metric;

TEST(VectorIndex, NearestEqualsBruteForceForEveryMetric) {
    const size_t n = 3000, d = 37;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1, 1);
    pgrag::VectorMatrix m(d);  // no capacity: grows as rows come
    std::vector<std::vector<float>> rows(n, std::vector<float>(d));
    for (size_t i = 0; i < n; ++i) {
        for (auto& x : rows[i]) x = u(rng);
        if (i % 500 == 7) rows[i] = rows[i - 1];  // exact ties: broken by id
        m.add(static_cast<int64_t>(i) + 100, static_cast<int64_t>(i % 3), static_cast<uint16_t>(i % 2), rows[i].data());
    }
    std::vector<float> q(d);
    for (auto& x : q) x = u(rng);
    for (Metric metric : {Metric::Cosine, Metric::L2, Metric::NegativeInnerProduct}) {
        std::vector<int64_t> owners = {0, 2};
        pgrag::RowFilter filter;
        filter.owners = &owners;
        filter.group = 1;
        auto got = pgrag::nearest(m, q.data(), metric, 25, filter);
        std::vector<std::pair<double, int64_t>> expected;
        for (size_t i = 0; i < n; ++i)
            if (i % 2 == 1 && i % 3 != 1)
                expected.push_back(
                    {pgrag::distance(metric, rows[i].data(), q.data(), d), static_cast<int64_t>(i) + 100});
        std::sort(expected.begin(), expected.end());
        ASSERT_EQ(got.size(), 25u);
        for (size_t i = 0; i < 25; ++i) {
            EXPECT_EQ(got[i].id, expected[i].second) << "rank " << i;
            EXPECT_EQ(got[i].distance, expected[i].first);  // bit-identical to the per-pair kernel
        }
    }
    EXPECT_TRUE(pgrag::nearest(m, q.data(), Metric::Cosine, 0, {}).empty());
    EXPECT_EQ(pgrag::nearest(m, q.data(), Metric::Cosine, 10 * n, {}).size(), n);
}

TEST(VectorIndex, RemovedRowsAreNeverReturnedAndCompactionKeepsTheAnswer) {
    const size_t n = 5000, d = 8;
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> u(-1, 1);
    pgrag::VectorMatrix m(d);
    std::vector<std::vector<float>> rows(n, std::vector<float>(d));
    for (size_t i = 0; i < n; ++i) {
        for (auto& x : rows[i]) x = u(rng);
        m.add(static_cast<int64_t>(i), 0, 0, rows[i].data());
    }
    m.add(0, 0, 0, rows[1].data());  // present already: ignored
    for (size_t i = 0; i < n; ++i) {
        if (i % 4 != 0) {
            ASSERT_TRUE(m.remove(static_cast<int64_t>(i)));  // compacts on the way
        }
    }
    EXPECT_FALSE(m.remove(1));
    EXPECT_EQ(m.live_rows(), n / 4);
    std::vector<float> q(d);
    for (auto& x : q) x = u(rng);
    auto got = pgrag::nearest(m, q.data(), Metric::L2, 10, {});
    std::vector<std::pair<double, int64_t>> expected;
    for (size_t i = 0; i < n; i += 4)
        expected.push_back({pgrag::distance(Metric::L2, rows[i].data(), q.data(), d), static_cast<int64_t>(i)});
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(got.size(), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(got[i].id, expected[i].second);
}
