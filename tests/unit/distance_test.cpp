// Kernels against a double-precision reference, on random and adversarial inputs, on every path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/distance.hpp"

using pgrag::Isa;
using pgrag::Metric;

namespace {

const Metric kMetrics[] = {Metric::L2, Metric::Cosine, Metric::InnerProduct, Metric::NegativeInnerProduct, Metric::L1};
const size_t kLengths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 384, 768, 1536, 4095, 16000};

// Reference in long double, plus the scale (sum of term magnitudes) the error is measured against.
struct Reference {
    long double value;
    long double scale;
};

Reference reference(Metric m, const std::vector<float>& a, const std::vector<float>& b) {
    long double dot = 0, na = 0, nb = 0, l2 = 0, l1 = 0, abs_dot = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        long double x = a[i], y = b[i];
        dot += x * y;
        abs_dot += std::fabs(x * y);
        na += x * x;
        nb += y * y;
        l2 += (x - y) * (x - y);
        l1 += std::fabs(x - y);
    }
    switch (m) {
        case Metric::L2:
            return {std::sqrt(l2), std::sqrt(l2)};
        case Metric::InnerProduct:
            return {dot, abs_dot};
        case Metric::NegativeInnerProduct:
            return {-dot, abs_dot};
        case Metric::L1:
            return {l1, l1};
        case Metric::Cosine: {
            long double s = dot / std::sqrt(na * nb);
            return {1 - s, 1 + abs_dot / std::sqrt(na * nb)};
        }
    }
    return {0, 0};
}

std::vector<float> random_vector(std::mt19937& rng, size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

// Values spanning many magnitudes and both signs.
std::vector<float> adversarial_vector(std::mt19937& rng, size_t n, int exponent_range) {
    std::uniform_int_distribution<int> exponent(-exponent_range, exponent_range);
    std::uniform_real_distribution<float> mantissa(0.5f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = std::ldexp(mantissa(rng), exponent(rng)) * (rng() & 1 ? -1.0f : 1.0f);
    return v;
}

std::vector<Isa> supported_paths() {
    std::vector<Isa> paths;
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
        if (pgrag::isa_supported(isa)) paths.push_back(isa);
    return paths;
}

void expect_close(Metric m, const std::vector<float>& a, const std::vector<float>& b) {
    Reference ref = reference(m, a, b);
    double got = pgrag::distance(m, a.data(), b.data(), a.size());
    long double err = std::fabs(static_cast<long double>(got) - ref.value);
    long double bound = 1e-6L * std::max(std::fabs(ref.value), ref.scale) + 1e-300L;
    EXPECT_LE(err, bound) << "metric " << static_cast<int>(m) << " n=" << a.size() << " got " << got << " ref "
                          << static_cast<double>(ref.value);
}

class EveryPath : public ::testing::TestWithParam<Isa> {
  protected:
    void SetUp() override { pgrag::use_isa(GetParam()); }
    void TearDown() override { pgrag::use_isa(pgrag::best_supported_isa()); }
};

}  // namespace

TEST_P(EveryPath, AgreesWithReferenceOnRandomInputs) {
    std::mt19937 rng(42);
    for (size_t n : kLengths) {
        auto a = random_vector(rng, n, -1, 1), b = random_vector(rng, n, -1, 1);
        for (Metric m : kMetrics) expect_close(m, a, b);
    }
}

TEST_P(EveryPath, AgreesWithReferenceOnAdversarialInputs) {
    std::mt19937 rng(7);
    for (size_t n : kLengths) {
        for (int range : {3, 30, 60}) {  // mixed magnitudes from 2^-60 to 2^60
            auto a = adversarial_vector(rng, n, range), b = adversarial_vector(rng, n, range);
            for (Metric m : kMetrics) expect_close(m, a, b);
        }
        auto tiny_a = random_vector(rng, n, -1e-30f, 1e-30f), tiny_b = random_vector(rng, n, -1e-30f, 1e-30f);
        auto huge_a = random_vector(rng, n, -1e30f, 1e30f), huge_b = random_vector(rng, n, -1e30f, 1e30f);
        for (Metric m : kMetrics) {
            expect_close(m, tiny_a, tiny_b);
            expect_close(m, huge_a, huge_b);
        }
    }
}

TEST_P(EveryPath, CosineOfZeroVectorIsNaN) {
    std::vector<float> zero(5, 0.0f), one(5, 1.0f);
    EXPECT_TRUE(std::isnan(pgrag::distance(Metric::Cosine, zero.data(), one.data(), 5)));
    EXPECT_DOUBLE_EQ(pgrag::distance(Metric::Cosine, one.data(), one.data(), 5), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Kernels, EveryPath, ::testing::ValuesIn(supported_paths()),
                         [](const auto& info) { return std::string(pgrag::isa_name(info.param)); });

// Forcing the portable path gives the very same bits as the SIMD paths, and one-vs-many equals pairwise.
TEST(KernelDispatch, AllPathsAndOneToManyAreBitIdentical) {
    std::mt19937 rng(3);
    for (size_t n : kLengths) {
        std::vector<std::vector<float>> rows;
        for (int r = 0; r < 5; ++r) rows.push_back(adversarial_vector(rng, n, 20));
        auto q = random_vector(rng, n, -2, 2);
        std::vector<const float*> ptrs;
        for (auto& r : rows) ptrs.push_back(r.data());
        for (Metric m : kMetrics) {
            pgrag::use_isa(Isa::Portable);
            std::vector<double> expected;
            for (auto& r : rows) expected.push_back(pgrag::distance(m, r.data(), q.data(), n));
            for (Isa isa : supported_paths()) {
                pgrag::use_isa(isa);
                std::vector<double> many(rows.size());
                pgrag::distances_one_to_many(m, q.data(), ptrs.data(), ptrs.size(), n, many.data());
                for (size_t i = 0; i < rows.size(); ++i) {
                    double pair = pgrag::distance(m, rows[i].data(), q.data(), n);
                    EXPECT_EQ(std::memcmp(&pair, &expected[i], sizeof pair), 0) << pgrag::isa_name(isa) << " n=" << n;
                    EXPECT_EQ(std::memcmp(&many[i], &expected[i], sizeof pair), 0)
                        << pgrag::isa_name(isa) << " n=" << n;
                }
            }
        }
    }
    pgrag::use_isa(pgrag::best_supported_isa());
}

TEST(KernelDispatch, NamesParseAndUnsupportedPathsAreRefused) {
    Isa isa;
    EXPECT_TRUE(pgrag::parse_isa("portable", &isa));
    EXPECT_EQ(isa, Isa::Portable);
    EXPECT_TRUE(pgrag::parse_isa("auto", &isa));
    EXPECT_EQ(isa, pgrag::best_supported_isa());
    EXPECT_FALSE(pgrag::parse_isa("sse9", &isa));
    EXPECT_TRUE(pgrag::isa_supported(Isa::Portable));
    for (Isa candidate : {Isa::Avx2, Isa::Avx512}) {
        if (!pgrag::isa_supported(candidate)) {
            EXPECT_THROW(pgrag::use_isa(candidate), std::exception);
        }
    }
}

// The 32 lane totals are reduced in one fixed tree (width 16, 8, 4, 2, 1) on every path, including the
// SIMD paths' in-register reductions. With one exact term per lane the expected bits follow from the tree.
TEST(KernelDispatch, LaneTotalsReduceInTheDocumentedTreeOrder) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> exponent(-40, 40);  // 80 binary orders: additions round in double
    std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
    std::vector<float> a(32), ones(32, 1.0f);
    int told_apart = 0;
    for (int trial = 0; trial < 50; ++trial) {
        for (float& x : a) x = std::ldexp(mantissa(rng), exponent(rng)) * (rng() & 1 ? -1.0f : 1.0f);
        double tree[32], other[32];
        for (size_t i = 0; i < 32; ++i) tree[i] = other[i] = a[i];
        for (size_t width = 16; width >= 1; width /= 2)
            for (size_t i = 0; i < width; ++i) tree[i] += tree[i + width];
        for (size_t width = 16; width >= 1; width /= 2)  // another tree: neighbours first
            for (size_t i = 0; i < width; ++i) other[i] = other[2 * i] + other[2 * i + 1];
        told_apart += tree[0] != other[0];
        for (Isa isa : supported_paths()) {
            double got = pgrag::kernels_for(isa).dot(a.data(), ones.data(), a.size());
            EXPECT_EQ(std::memcmp(&got, &tree[0], sizeof got), 0) << pgrag::isa_name(isa) << " trial " << trial;
        }
    }
    EXPECT_GT(told_apart, 10) << "the data must tell summation orders apart";
}

TEST(KernelCalibration, Avx512OnlyWhenFasterByTheMargin) {
    EXPECT_EQ(pgrag::choose_by_calibration(10.0, 10.0), Isa::Avx2);  // a tie keeps the narrower path
    EXPECT_EQ(pgrag::choose_by_calibration(10.0, 9.5), Isa::Avx2);   // within the margin: noise
    EXPECT_EQ(pgrag::choose_by_calibration(10.0, 20.0), Isa::Avx2);  // AVX-512 slower (the EPYC case)
    EXPECT_EQ(pgrag::choose_by_calibration(10.0, 10.0 / pgrag::kAvx512Margin - 0.01), Isa::Avx512);
    EXPECT_EQ(pgrag::choose_by_calibration(10.0, 5.0), Isa::Avx512);
}

TEST(KernelCalibration, AutoIsTheCalibratedChoiceAndSupported) {
    const pgrag::KernelCalibration& c = pgrag::kernel_calibration();
    EXPECT_TRUE(pgrag::isa_supported(c.chosen));
    EXPECT_EQ(pgrag::best_supported_isa(), c.chosen);
    EXPECT_EQ(&pgrag::kernel_calibration(), &c);  // measured once per process
    Isa parsed;
    ASSERT_TRUE(pgrag::parse_isa("auto", &parsed));
    EXPECT_EQ(parsed, c.chosen);
    if (c.measured) {
        EXPECT_GT(c.avx2_ms, 0.0);
        EXPECT_GT(c.avx512_ms, 0.0);
        EXPECT_EQ(c.chosen, pgrag::choose_by_calibration(c.avx2_ms, c.avx512_ms));
    } else {
        EXPECT_EQ(c.chosen, pgrag::widest_supported_isa());
    }
}
