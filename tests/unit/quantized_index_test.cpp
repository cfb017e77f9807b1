// The approximate index: recall on a Gaussian mixture, exact and ordered results, filters that still
// return k rows, every metric, corrupt bytes refused, cancellation and determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "core/error.hpp"
#include "core/quantized_index.hpp"
#include "core/quantized_kernels.hpp"

using pgrag::Metric;
using pgrag::QuantizedIndex;

namespace {

// Rows drawn from a mixture of `centres` Gaussians (centres N(0,1), spread sigma), with their norms and ids.
struct Mixture {
    size_t rows, dims;
    std::vector<float> values, centre_values;
    std::vector<double> norms;
    std::vector<int64_t> ids;
    std::mt19937 rng;
    float sigma;

    Mixture(size_t n, size_t d, size_t centres, float spread, unsigned seed)
        : rows(n), dims(d), values(n * d), centre_values(centres * d), norms(n), ids(n), rng(seed), sigma(spread) {
        std::normal_distribution<float> g(0, 1);
        for (auto& x : centre_values) x = g(rng);
        for (size_t r = 0; r < n; ++r) {
            draw(&values[r * d]);
            norms[r] = pgrag::kernels().dot(&values[r * d], &values[r * d], d);
            ids[r] = static_cast<int64_t>(r) * 7 + 3;
        }
    }
    void draw(float* out) {
        std::normal_distribution<float> g(0, 1);
        size_t c = std::uniform_int_distribution<size_t>(0, centre_values.size() / dims - 1)(rng);
        for (size_t i = 0; i < dims; ++i) out[i] = centre_values[c * dims + i] + sigma * g(rng);
    }
    std::vector<float> query() {
        std::vector<float> q(dims);
        draw(q.data());
        return q;
    }
    pgrag::MatrixView view() const { return {values.data(), norms.data(), ids.data(), rows, dims}; }
};

std::vector<uint8_t> build(const pgrag::MatrixView& m, const pgrag::QuantizedBuildOptions& o,
                           const std::function<void()>& check = nullptr) {
    std::vector<uint8_t> bytes;
    pgrag::build_quantized_index(
        m, o,
        [&](const void* p, size_t n) {
            const uint8_t* b = static_cast<const uint8_t*>(p);
            bytes.insert(bytes.end(), b, b + n);
        },
        check);
    return bytes;
}

pgrag::QuantizedBuildOptions options(Metric metric, size_t lists = 0) {
    pgrag::QuantizedBuildOptions o;
    o.metric = metric;
    o.lists = lists;
    return o;
}

bool before(const pgrag::Neighbour& a, const pgrag::Neighbour& b) {
    bool an = std::isnan(a.distance), bn = std::isnan(b.distance);
    if (an != bn) return bn;
    if (!an && a.distance != b.distance) return a.distance < b.distance;
    return a.id < b.id;
}

// The reference: every accepted row by distance(), ordered by distance then id.
std::vector<pgrag::Neighbour> brute_force(const pgrag::MatrixView& m, const float* q, Metric metric, size_t k,
                                          const std::function<bool(size_t)>& accept = nullptr) {
    std::vector<pgrag::Neighbour> all;
    for (size_t r = 0; r < m.rows; ++r)
        if (!accept || accept(r))
            all.push_back(
                {m.ids[r], static_cast<int64_t>(r), pgrag::distance(metric, m.values + r * m.dims, q, m.dims)});
    std::sort(all.begin(), all.end(), before);
    if (all.size() > k) all.resize(k);
    return all;
}

double recall(const std::vector<pgrag::Neighbour>& got, const std::vector<pgrag::Neighbour>& want) {
    std::set<int64_t> ids;
    for (auto& n : want) ids.insert(n.id);
    size_t hit = 0;
    for (auto& n : got) hit += ids.count(n.id);
    return want.empty() ? 1.0 : double(hit) / want.size();
}

void expect_exact_and_ordered(const pgrag::MatrixView& m, const float* q, Metric metric,
                              const std::vector<pgrag::Neighbour>& got) {
    for (size_t i = 0; i < got.size(); ++i) {
        size_t row = static_cast<size_t>(got[i].owner);
        ASSERT_LT(row, m.rows);
        EXPECT_EQ(got[i].id, m.ids[row]);
        double d = pgrag::distance(metric, m.values + row * m.dims, q, m.dims);
        EXPECT_TRUE(std::memcmp(&d, &got[i].distance, sizeof d) == 0) << "rank " << i;  // bit for bit
        if (i) {
            EXPECT_TRUE(before(got[i - 1], got[i])) << "rank " << i;
        }
    }
}

}  // namespace

TEST(QuantizedIndex, RecallOnAMixtureForEveryMetric) {
    Mixture mix(20000, 48, 100, 1.0f, 1);
    auto m = mix.view();
    for (Metric metric : {Metric::Cosine, Metric::L2, Metric::NegativeInnerProduct}) {
        auto bytes = build(m, options(metric));
        auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
        EXPECT_EQ(index.lists(), 141u);  // about sqrt(rows)
        double total = 0;
        const int queries = 40;
        for (int i = 0; i < queries; ++i) {
            auto q = mix.query();
            pgrag::SearchReport report;
            QuantizedIndex::SearchOptions no_slack;  // ranked by the codes alone: they must be close
            no_slack.rerank = 10;
            auto got = index.search(m, q.data(), metric, 10, nullptr, no_slack, nullptr, &report);
            ASSERT_EQ(got.size(), 10u);
            EXPECT_FALSE(report.exact_fallback);
            EXPECT_EQ(report.probes_used, index.default_probes());
            expect_exact_and_ordered(m, q.data(), metric, got);
            total += recall(got, brute_force(m, q.data(), metric, 10));
        }
        EXPECT_GE(total / queries, 0.9) << "metric " << static_cast<int>(metric);
    }
}

TEST(QuantizedIndex, ProbingEveryListWithAFullRerankIsExact) {
    Mixture mix(3000, 20, 30, 0.5f, 2);
    auto m = mix.view();
    for (Metric metric : {Metric::Cosine, Metric::L2, Metric::NegativeInnerProduct, Metric::InnerProduct}) {
        auto bytes = build(m, options(metric == Metric::InnerProduct ? Metric::NegativeInnerProduct : metric));
        auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
        auto q = mix.query();
        QuantizedIndex::SearchOptions so;
        so.probes = index.lists();
        so.rerank = m.rows;
        auto got = index.search(m, q.data(), metric, 25, nullptr, so, nullptr);
        auto want = brute_force(m, q.data(), metric, 25);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].id, want[i].id) << "rank " << i;
            EXPECT_EQ(got[i].distance, want[i].distance);
        }
    }
}

TEST(QuantizedIndex, TiesAreOrderedById) {
    Mixture mix(2000, 16, 10, 0.5f, 3);
    // Rows 1..5 copy row 0: same codes, same distance; ids decide, whatever their rows.
    for (size_t r = 1; r <= 5; ++r) std::copy_n(&mix.values[0], 16, &mix.values[r * 16]);
    for (size_t r = 0; r <= 5; ++r) mix.norms[r] = mix.norms[0];
    mix.ids[0] = 100000, mix.ids[3] = 5, mix.ids[5] = 6;
    auto m = mix.view();
    auto bytes = build(m, options(Metric::L2));
    auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
    std::vector<float> q(mix.values.begin(), mix.values.begin() + 16);
    q[0] += 0.01f;
    auto got = index.search(m, q.data(), Metric::L2, 6, nullptr, {}, nullptr);
    ASSERT_EQ(got.size(), 6u);
    EXPECT_EQ(got[0].id, 5);
    EXPECT_EQ(got[1].id, 6);
    EXPECT_EQ(got[5].id, 100000);
    for (auto& n : got) EXPECT_EQ(n.distance, got[0].distance);
    expect_exact_and_ordered(m, q.data(), Metric::L2, got);
}

TEST(QuantizedIndex, FiltersReturnKRowsWhenKAreAccepted) {
    Mixture mix(20000, 32, 100, 0.6f, 4);
    auto m = mix.view();
    auto bytes = build(m, options(Metric::Cosine));
    auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
    auto q = mix.query();

    // 10% of the rows, 5 lists asked for: the probe widens until it saw enough accepted rows.
    auto ten_percent = [](size_t row) { return row % 10 == 3; };
    QuantizedIndex::SearchOptions five;
    five.probes = 5;
    pgrag::SearchReport report;
    auto got = index.search(m, q.data(), Metric::Cosine, 10, ten_percent, five, nullptr, &report);
    ASSERT_EQ(got.size(), 10u);
    for (auto& n : got) EXPECT_TRUE(ten_percent(static_cast<size_t>(n.owner)));
    expect_exact_and_ordered(m, q.data(), Metric::Cosine, got);
    EXPECT_FALSE(report.exact_fallback);
    EXPECT_GT(report.probes_used, 5u);
    EXPECT_GE(recall(got, brute_force(m, q.data(), Metric::Cosine, 10, ten_percent)), 0.8);

    // 1%: too few accepted rows in the lists for that, so it scans exactly (cheaper then, and exact).
    auto one_percent = [](size_t row) { return row % 97 == 5; };
    got = index.search(m, q.data(), Metric::Cosine, 10, one_percent, {}, nullptr, &report);
    EXPECT_TRUE(report.exact_fallback);
    auto want = brute_force(m, q.data(), Metric::Cosine, 10, one_percent);
    ASSERT_EQ(got.size(), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(got[i].id, want[i].id);

    // 12 accepted rows, far apart: no probe finds 10 of them cheaply, so it scans exactly.
    auto twelve = [](size_t row) { return row % 1601 == 17; };
    got = index.search(m, q.data(), Metric::Cosine, 10, twelve, five, nullptr, &report);
    EXPECT_TRUE(report.exact_fallback);
    want = brute_force(m, q.data(), Metric::Cosine, 10, twelve);
    ASSERT_EQ(got.size(), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(got[i].id, want[i].id);
    expect_exact_and_ordered(m, q.data(), Metric::Cosine, got);

    // Fewer accepted rows than k: all of them.
    auto three = [](size_t row) { return row == 7 || row == 9000 || row == 19999; };
    got = index.search(m, q.data(), Metric::Cosine, 10, three, {}, nullptr, &report);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(recall(got, brute_force(m, q.data(), Metric::Cosine, 10, three)), 1.0);

    // Nothing accepted: nothing returned.
    got = index.search(
        m, q.data(), Metric::Cosine, 10, [](size_t) { return false; }, {}, nullptr);
    EXPECT_TRUE(got.empty());
}

TEST(QuantizedIndex, OtherMetricsAndDegenerateQueriesScanExactly) {
    Mixture mix(3000, 16, 20, 0.5f, 5);
    auto m = mix.view();
    auto bytes = build(m, options(Metric::Cosine));
    auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
    auto q = mix.query();
    pgrag::SearchReport report;
    for (Metric metric : {Metric::L2, Metric::L1}) {
        auto got = index.search(m, q.data(), metric, 5, nullptr, {}, nullptr, &report);
        EXPECT_TRUE(report.exact_fallback);
        auto want = brute_force(m, q.data(), metric, 5);
        ASSERT_EQ(got.size(), 5u);
        for (size_t i = 0; i < 5; ++i) EXPECT_EQ(got[i].id, want[i].id);
    }
    std::vector<float> zero(16, 0.0f);  // cosine of a zero query is NaN for every row: ids decide
    auto got = index.search(m, zero.data(), Metric::Cosine, 3, nullptr, {}, nullptr, &report);
    EXPECT_TRUE(report.exact_fallback);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].id, m.ids[0]);
    EXPECT_TRUE(std::isnan(got[0].distance));
    EXPECT_EQ(index.search(m, q.data(), Metric::Cosine, 10 * m.rows, nullptr, {}, nullptr).size(), m.rows);
    EXPECT_TRUE(index.search(m, q.data(), Metric::Cosine, 0, nullptr, {}, nullptr).empty());
    EXPECT_THROW(pgrag::build_quantized_index(
                     m, options(Metric::L1), [](const void*, size_t) {}, nullptr),
                 pgrag::Error);
}

TEST(QuantizedIndex, SmallAndEmptyMatrices) {
    Mixture mix(5, 8, 2, 0.5f, 6);
    auto m = mix.view();
    auto bytes = build(m, options(Metric::L2, 50));  // more lists than rows: one per row at most
    auto index = QuantizedIndex::open(bytes.data(), bytes.size(), 5, 8);
    EXPECT_LE(index.lists(), 5u);
    auto q = mix.query();
    auto got = index.search(m, q.data(), Metric::L2, 10, nullptr, {}, nullptr);
    EXPECT_EQ(got.size(), 5u);
    expect_exact_and_ordered(m, q.data(), Metric::L2, got);

    pgrag::MatrixView empty{nullptr, nullptr, nullptr, 0, 8};
    auto none = build(empty, options(Metric::Cosine));
    auto empty_index = QuantizedIndex::open(none.data(), none.size(), 0, 8);
    EXPECT_TRUE(empty_index.search(empty, q.data(), Metric::Cosine, 10, nullptr, {}, nullptr).empty());
}

TEST(QuantizedIndex, OpenRefusesCorruptTruncatedAndMismatchedBytes) {
    Mixture mix(2000, 24, 10, 0.5f, 7);
    auto m = mix.view();
    auto bytes = build(m, options(Metric::Cosine));
    auto code_of = [&](std::vector<uint8_t> b, size_t rows, size_t dims) {
        try {
            QuantizedIndex::open(b.data(), b.size(), rows, dims);
        } catch (const pgrag::Error& e) {
            return static_cast<int>(e.code());
        }
        return -1;
    };
    const int corrupt = static_cast<int>(pgrag::ErrorCode::DataException);
    const int mismatch = static_cast<int>(pgrag::ErrorCode::InvalidParameterValue);
    EXPECT_EQ(code_of(bytes, 2000, 24), -1);
    EXPECT_EQ(code_of(bytes, 2000, 25), mismatch);
    EXPECT_EQ(code_of(bytes, 1999, 24), mismatch);
    EXPECT_EQ(code_of({bytes.begin(), bytes.end() - 1}, 2000, 24), corrupt);  // truncated
    EXPECT_EQ(code_of({bytes.begin(), bytes.begin() + 100}, 2000, 24), corrupt);
    EXPECT_EQ(code_of({}, 2000, 24), corrupt);
    auto extended = bytes;
    extended.push_back(0);
    EXPECT_EQ(code_of(extended, 2000, 24), corrupt);
    auto bad_magic = bytes;
    bad_magic[0] ^= 1;
    EXPECT_EQ(code_of(bad_magic, 2000, 24), corrupt);
    auto bad_version = bytes;
    bad_version[8] = 99;
    EXPECT_EQ(code_of(bad_version, 2000, 24), corrupt);
    auto bad_lists = bytes;
    bad_lists[32] ^= 4;  // the list count no longer matches the layout
    EXPECT_EQ(code_of(bad_lists, 2000, 24), corrupt);
    // A list offset past the rows.
    uint64_t list_offsets;
    std::memcpy(&list_offsets, &bytes[80], sizeof list_offsets);  // Header::list_offsets
    auto bad_offsets = bytes;
    uint64_t huge = 1u << 30;
    std::memcpy(&bad_offsets[list_offsets + 8], &huge, sizeof huge);
    EXPECT_EQ(code_of(bad_offsets, 2000, 24), corrupt);
}

TEST(QuantizedIndex, ChecksCancelBuildAndSearch) {
    Mixture mix(20000, 32, 50, 0.5f, 8);
    auto m = mix.view();
    struct Cancelled {};
    int calls = 0;
    auto cancel_on_second = [&] {
        if (++calls == 2) throw Cancelled{};
    };
    pgrag::QuantizedBuildOptions slow = options(Metric::Cosine);
    slow.iterations = 1000;  // minutes without the check
    EXPECT_THROW(build(m, slow, cancel_on_second), Cancelled);
    EXPECT_EQ(calls, 2);
    auto bytes = build(m, options(Metric::Cosine));
    auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
    auto q = mix.query();
    EXPECT_THROW(index.search(m, q.data(), Metric::Cosine, 10, nullptr, {}, [] { throw Cancelled{}; }), Cancelled);
    // The exact scan (here for another metric) checks too.
    EXPECT_THROW(index.search(m, q.data(), Metric::L2, 10, nullptr, {}, [] { throw Cancelled{}; }), Cancelled);
}

TEST(QuantizedIndex, BuildIsDeterministicForASeed) {
    Mixture mix(5000, 24, 20, 0.5f, 9);
    auto m = mix.view();
    auto a = build(m, options(Metric::Cosine));
    auto b = build(m, options(Metric::Cosine));
    EXPECT_EQ(a, b);
    auto other = options(Metric::Cosine);
    other.seed = 2;
    EXPECT_NE(build(m, other), a);
    auto index = QuantizedIndex::open(a.data(), a.size(), m.rows, m.dims);
    auto q = mix.query();
    auto first = index.search(m, q.data(), Metric::Cosine, 10, nullptr, {}, nullptr);
    auto second = index.search(m, q.data(), Metric::Cosine, 10, nullptr, {}, nullptr);
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].id, second[i].id);
}

TEST(QuantizedIndex, CodesTakeUnderHalfTheBytesOfTheFloats) {
    Mixture mix(10000, 256, 20, 0.5f, 10);
    auto m = mix.view();
    auto bytes = build(m, options(Metric::L2));
    auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
    EXPECT_EQ(index.memory_bytes(), bytes.size());
    EXPECT_LT(double(index.memory_bytes()), 0.3 * m.rows * m.dims * sizeof(float));
}

TEST(QuantizedKernels, EveryPathScoresCodesAndCentroidProductsLikeADoubleReference) {
    std::mt19937 rng(11);
    std::normal_distribution<float> g(0, 1);
    const size_t dims = 100, stride = 112, count = 37, rows = 16, lists = 96;
    std::vector<int8_t> codes(count * stride, 0);
    std::vector<float> w(stride, 0.0f), x(rows * dims), c(lists * dims), panels(lists * dims), out(rows * lists),
        scores(count);
    for (size_t i = 0; i < count; ++i)
        for (size_t j = 0; j < dims; ++j) codes[i * stride + j] = static_cast<int8_t>(rng() % 255 - 127);
    for (size_t j = 0; j < dims; ++j) w[j] = g(rng);
    for (auto& v : x) v = g(rng);
    for (auto& v : c) v = g(rng);
    for (size_t j = 0; j < lists; ++j)
        for (size_t i = 0; i < dims; ++i)
            panels[(j / pgrag::kPanelWidth) * dims * pgrag::kPanelWidth + i * pgrag::kPanelWidth +
                   j % pgrag::kPanelWidth] = c[j * dims + i];
    std::vector<const pgrag::QuantizedKernelTable*> tables = {&pgrag::quantized_kernels_portable()};
    if (pgrag::isa_supported(pgrag::Isa::Avx2)) tables.push_back(pgrag::quantized_kernels_avx2());
    if (pgrag::isa_supported(pgrag::Isa::Avx512)) tables.push_back(pgrag::quantized_kernels_avx512());
    for (const auto* t : tables) {
        t->score_codes(codes.data(), count, stride, w.data(), scores.data());
        for (size_t i = 0; i < count; ++i) {
            double want = 0, magnitude = 0;
            for (size_t j = 0; j < dims; ++j) {
                want += double(w[j]) * codes[i * stride + j];
                magnitude += std::fabs(double(w[j]) * codes[i * stride + j]);
            }
            EXPECT_NEAR(scores[i], want, 1e-5 * magnitude) << "row " << i;
        }
        t->centroid_products(x.data(), rows, dims, panels.data(), lists, out.data());
        for (size_t r = 0; r < rows; ++r)
            for (size_t j = 0; j < lists; ++j) {
                double want = 0, magnitude = 0;
                for (size_t i = 0; i < dims; ++i) {
                    want += double(x[r * dims + i]) * c[j * dims + i];
                    magnitude += std::fabs(double(x[r * dims + i]) * c[j * dims + i]);
                }
                EXPECT_NEAR(out[r * lists + j], want, 1e-5 * magnitude) << r << ", " << j;
            }
    }
}

TEST(QuantizedIndex, EveryKernelPathGivesExactResults) {
    Mixture mix(5000, 40, 30, 0.8f, 12);
    auto m = mix.view();
    const pgrag::Isa before_test = pgrag::active_isa();
    auto q = mix.query();
    for (pgrag::Isa isa : {pgrag::Isa::Portable, pgrag::Isa::Avx2, pgrag::Isa::Avx512}) {
        if (!pgrag::isa_supported(isa)) continue;
        pgrag::use_isa(isa);
        auto bytes = build(m, options(Metric::Cosine));
        auto index = QuantizedIndex::open(bytes.data(), bytes.size(), m.rows, m.dims);
        auto got = index.search(m, q.data(), Metric::Cosine, 10, nullptr, {}, nullptr);
        ASSERT_EQ(got.size(), 10u);
        expect_exact_and_ordered(m, q.data(), Metric::Cosine, got);
        EXPECT_GE(recall(got, brute_force(m, q.data(), Metric::Cosine, 10)), 0.8) << pgrag::isa_name(isa);
    }
    pgrag::use_isa(before_test);
}

TEST(QuantizedKernels, EveryPathEncodesAndWidensIdentically) {
    std::mt19937 rng(13);
    std::normal_distribution<float> g(0, 1);
    const size_t dims = 45;  // blocks of 16 and 8, and a tail
    std::vector<float> x(dims), c(dims), bias(dims), inverse(dims);
    for (size_t i = 0; i < dims; ++i) x[i] = g(rng), c[i] = g(rng), bias[i] = 0.1f * g(rng), inverse[i] = 60.0f;
    x[3] = NAN;
    x[4] = 1e30f;
    x[5] = -1e30f;
    x[6] = 0.5f / 64, c[6] = 0, bias[6] = 0, inverse[6] = 64;  // exactly a half: rounds up
    std::vector<int8_t> want(dims), got(dims);
    std::vector<float> want_lo(dims, INFINITY), want_hi(dims, -INFINITY);
    pgrag::quantized_kernels_portable().encode(x.data(), c.data(), bias.data(), inverse.data(), dims, want.data());
    pgrag::quantized_kernels_portable().widen_range(x.data(), c.data(), dims, want_lo.data(), want_hi.data());
    EXPECT_EQ(want[3], 127);
    EXPECT_EQ(want[4], 127);
    EXPECT_EQ(want[5], -127);
    EXPECT_EQ(want[6], 1);
    EXPECT_TRUE(std::isinf(want_lo[3]));  // NaN never widens
    for (pgrag::Isa isa : {pgrag::Isa::Avx2, pgrag::Isa::Avx512}) {
        if (!pgrag::isa_supported(isa)) continue;
        const auto* t = isa == pgrag::Isa::Avx2 ? pgrag::quantized_kernels_avx2() : pgrag::quantized_kernels_avx512();
        t->encode(x.data(), c.data(), bias.data(), inverse.data(), dims, got.data());
        EXPECT_EQ(got, want) << pgrag::isa_name(isa);
        std::vector<float> lo(dims, INFINITY), hi(dims, -INFINITY);
        t->widen_range(x.data(), c.data(), dims, lo.data(), hi.data());
        EXPECT_EQ(lo, want_lo) << pgrag::isa_name(isa);
        EXPECT_EQ(hi, want_hi) << pgrag::isa_name(isa);
    }
}
