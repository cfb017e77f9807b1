// IVF over int8 residual codes (quantized_index.hpp): k-means lists, codes stored list by list, a
// probe of the nearest lists scored by the codes, then the best candidates re-ranked exactly.
#include "quantized_index.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "error.hpp"
#include "kmeans.hpp"
#include "quantized_kernels.hpp"

namespace pgrag {
namespace {

constexpr char kMagic[8] = {'P', 'G', 'R', 'A', 'G', 'Q', 'I', 'X'};
constexpr uint32_t kVersion = 1;
constexpr size_t kSectionAlign = 64;
constexpr size_t kAssignBlock = 256;             // rows per block when assigning rows to lists
constexpr size_t kWriteChunk = size_t{4} << 20;  // bytes handed to `write` at a time
constexpr size_t kDefaultSamplePerList = 64;
constexpr size_t kDefaultSampleAtLeast = 65536;  // small bases: k-means converges poorly on 64 per list
// Up to this many rows k-means trains on every row for more rounds: ~100 rows per list is too few to
// place the centroids well in 10 rounds (bench/README.md, "Approximate index (core)").
constexpr size_t kSmallBaseRows = 250000;
constexpr int kSmallBaseIterations = 15;
constexpr size_t kSmallBaseSample = 32768;  // a small base trains on this many rows first...
constexpr int kSampleRounds = 6;            // ...and on every row only if that has not converged in these
constexpr int kDefaultIterations = 10;
constexpr size_t kDefaultProbeRows = 8192;  // default probes scan at least this many rows...
constexpr size_t kDefaultProbeShare = 64;   // ...and at least 1/64 of the lists
constexpr size_t kEstimateRows = 2048;      // rows seen before a filter's share of accepted rows counts

enum class IndexMetric : uint32_t { Cosine = 0, L2 = 1, InnerProduct = 2 };

// Fixed-size header; every offset is from the start of the bytes.
struct Header {
    char magic[8];
    uint32_t version;
    uint32_t metric;  // IndexMetric
    uint64_t rows, dims, lists, stride;
    uint64_t centroids, centroid_norms, scale, bias, list_offsets, row_numbers, row_norms, codes, total;
    uint64_t reserved;
};
static_assert(sizeof(Header) == 128, "the header is part of the format");

size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

// Section offsets for a given shape.
Header layout(size_t rows, size_t dims, size_t lists, IndexMetric metric) {
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = kVersion;
    h.metric = static_cast<uint32_t>(metric);
    h.rows = rows;
    h.dims = dims;
    h.lists = lists;
    h.stride = align_up(dims, kCodeAlign);
    size_t at = align_up(sizeof(Header), kSectionAlign);
    auto section = [&](size_t bytes) {
        size_t start = at;
        at = align_up(at + bytes, kSectionAlign);
        return start;
    };
    h.centroids = section(lists * dims * sizeof(float));
    h.centroid_norms = section(lists * sizeof(float));
    h.scale = section(h.stride * sizeof(float));
    h.bias = section(h.stride * sizeof(float));
    h.list_offsets = section((lists + 1) * sizeof(uint64_t));
    h.row_numbers = section(rows * sizeof(uint32_t));
    h.row_norms = section(rows * sizeof(float));
    h.codes = section(rows * h.stride);
    h.total = at;
    return h;
}

bool index_metric_of(Metric metric, IndexMetric* out) {
    switch (metric) {
        case Metric::Cosine:
            *out = IndexMetric::Cosine;
            return true;
        case Metric::L2:
            *out = IndexMetric::L2;
            return true;
        case Metric::InnerProduct:
        case Metric::NegativeInnerProduct:
            *out = IndexMetric::InnerProduct;
            return true;
        default:
            return false;
    }
}

// Copies row r of m into out as floats, normalized to unit length for cosine (a zero row stays zero).
void load_row(const MatrixView& m, size_t r, bool normalize, float* out) {
    const float* src = m.values + r * m.dims;
    if (!normalize) {
        std::memcpy(out, src, m.dims * sizeof(float));
        return;
    }
    double norm = m.norms[r];
    float inv = norm > 0 && std::isfinite(norm) ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
    for (size_t i = 0; i < m.dims; ++i) out[i] = src[i] * inv;
}

// What a row's code is relative to: its unit centroid for cosine, else the centroid scaled to the row's
// length (in scratch).
const float* code_origin(const float* unit_centroid, double squared_norm, bool cosine, size_t dims, float* scratch) {
    if (cosine) return unit_centroid;
    const float length =
        squared_norm > 0 && std::isfinite(squared_norm) ? static_cast<float>(std::sqrt(squared_norm)) : 0;
    for (size_t i = 0; i < dims; ++i) scratch[i] = length * unit_centroid[i];
    return scratch;
}

// Buffers bytes for `write` and hands them over in large chunks.
class ChunkWriter {
  public:
    explicit ChunkWriter(const std::function<void(const void*, size_t)>& write) : write_(write) {
        buffer_.reserve(kWriteChunk);
    }
    void put(const void* p, size_t n) {
        const uint8_t* b = static_cast<const uint8_t*>(p);
        while (n) {
            size_t take = std::min(n, kWriteChunk - buffer_.size());
            buffer_.insert(buffer_.end(), b, b + take);
            b += take;
            n -= take;
            if (buffer_.size() == kWriteChunk) flush();
        }
    }
    void pad_to(size_t offset) {
        static const uint8_t zeros[kSectionAlign] = {};
        while (written_ + buffer_.size() < offset)
            put(zeros, std::min(sizeof zeros, offset - written_ - buffer_.size()));
    }
    void flush() {
        if (buffer_.empty()) return;
        write_(buffer_.data(), buffer_.size());
        written_ += buffer_.size();
        buffer_.clear();
    }
    size_t position() const { return written_ + buffer_.size(); }

  private:
    const std::function<void(const void*, size_t)>& write_;
    std::vector<uint8_t> buffer_;
    size_t written_ = 0;
};

size_t lists_for(size_t rows, const QuantizedBuildOptions& o) {
    size_t lists = o.lists ? std::min(o.lists, rows) : static_cast<size_t>(std::lround(std::sqrt(double(rows))));
    return rows && !lists ? 1 : lists;
}

// Unit rows [pick...] of m, padded to whole tiles for the kernels.
std::vector<float> unit_rows(const MatrixView& m, const std::vector<uint32_t>& pick, Deadline& deadline) {
    std::vector<float> rows(align_up(pick.size(), kTileRows) * m.dims, 0.0f);
    for (size_t j = 0; j < pick.size(); ++j) {
        if ((j & 4095) == 0) deadline.poll();
        load_row(m, pick[j], true, &rows[j * m.dims]);
    }
    return rows;
}

// `count` distinct random rows of [0, n), in order (reads m in order).
std::vector<uint32_t> random_rows(size_t n, size_t count, Random& rng) {
    std::vector<uint32_t> pick(n);
    for (size_t i = 0; i < n; ++i) pick[i] = static_cast<uint32_t>(i);
    for (size_t j = 0; j < count; ++j) std::swap(pick[j], pick[j + rng.below(n - j)]);
    pick.resize(count);
    std::sort(pick.begin(), pick.end());
    return pick;
}

// The lists' centroids; when k-means saw every row, also its assignment and the unit rows.
struct Trained {
    std::vector<float> centroids, rows;
    std::vector<uint32_t> assign;
};

// k-means for the lists. Explicit options train on `sample` rows (default: max(64 * lists, 65536)) for
// `iterations` rounds. By default a small base first trains on a sample of kSmallBaseSample rows;
// only if that has not converged within kSampleRounds does it train on every row, for
// kSmallBaseIterations rounds (data that needs it: bench/README.md, "Approximate index (core)").
Trained train_lists(const MatrixView& m, const QuantizedBuildOptions& o, size_t lists, Random& rng, Deadline& deadline,
                    QuantizedBuildReport& report) {
    Trained out;
    const size_t n = m.rows, dims = m.dims;
    if (!lists) return out;
    const bool small = n <= kSmallBaseRows;
    const int iterations = o.iterations >= 0 ? o.iterations : small ? kSmallBaseIterations : kDefaultIterations;
    size_t count = o.sample ? std::min(o.sample, n)
                   : small  ? std::min(n, std::max(kDefaultSamplePerList * lists, kSmallBaseSample))
                            : std::min(n, std::max(kDefaultSamplePerList * lists, kDefaultSampleAtLeast));
    count = std::max(count, lists);
    const bool progressive = small && !o.sample && o.iterations < 0 && count < n;
    std::vector<float> rows = unit_rows(m, random_rows(n, count, rng), deadline);
    KMeansResult k =
        spherical_kmeans(rows.data(), count, dims, lists, progressive ? kSampleRounds : iterations, rng, deadline);
    report.trained_rows = count;
    report.rounds = k.rounds;
    if (progressive && !k.converged) {
        std::vector<uint32_t> every(n);
        for (size_t i = 0; i < n; ++i) every[i] = static_cast<uint32_t>(i);
        rows = unit_rows(m, every, deadline);
        count = n;
        // From the start again: going on from the sample's centroids settles in worse lists (recall
        // 0.908 against 0.960 on the hard mixture at 100k).
        k = spherical_kmeans(rows.data(), n, dims, lists, iterations, rng, deadline);
        report.trained_rows = n;
        report.rounds += k.rounds;
    }
    out.centroids = std::move(k.centroids);
    if (count == n) {  // trained on every row, in order: its assignment is the final one
        out.assign = std::move(k.assign);
        out.rows = std::move(rows);
    }
    return out;
}

}  // namespace

size_t quantized_index_bytes(const MatrixView& m, const QuantizedBuildOptions& o) {
    IndexMetric metric = IndexMetric::Cosine;
    index_metric_of(o.metric, &metric);
    return layout(m.rows, m.dims, lists_for(m.rows, o), metric).total;
}

QuantizedBuildReport build_quantized_index(const MatrixView& m, const QuantizedBuildOptions& o,
                                           const std::function<void(const void*, size_t)>& write,
                                           const std::function<void()>& check) {
    IndexMetric metric;
    if (!index_metric_of(o.metric, &metric))
        throw Error(ErrorCode::InvalidParameterValue, "the approximate index supports cosine, l2 and inner product");
    if (m.dims == 0) throw Error(ErrorCode::InvalidParameterValue, "the approximate index needs dimensions");
    if (m.rows > std::numeric_limits<uint32_t>::max())
        throw Error(ErrorCode::ProgramLimitExceeded, "the approximate index holds at most 4294967295 rows");
    if (o.iterations < -1)
        throw Error(ErrorCode::InvalidParameterValue, "k-means iterations must be -1 (by size) or more");
    const size_t n = m.rows, dims = m.dims;
    // Lists partition directions (spherical k-means on unit rows) for every metric: with L2 k-means,
    // noisy rows gather in a few lists around short centroids. Codes are residuals to the unit centroid,
    // for cosine of the unit row, otherwise of the row to the centroid scaled to the row's length.
    const bool cosine = metric == IndexMetric::Cosine;
    const size_t lists = lists_for(n, o);
    Deadline deadline(check);
    Random rng{o.seed};

    QuantizedBuildReport report;
    report.lists = lists;
    Trained trained = train_lists(m, o, lists, rng, deadline, report);
    std::vector<float>& centroids = trained.centroids;
    std::vector<float>& trained_rows = trained.rows;
    std::vector<uint32_t>& assign = trained.assign;
    CentroidPanels panels(centroids, lists, dims);
    const std::vector<float>& norms = panels.norms();

    // Every row to its nearest list (unless k-means did), and the range of the residuals per dimension.
    const bool assigned = assign.size() == n;
    assign.resize(n);
    std::vector<float> lo(dims, std::numeric_limits<float>::infinity()),
        hi(dims, -std::numeric_limits<float>::infinity());
    {
        std::vector<float> block(kAssignBlock * dims, 0.0f), scaled(dims);
        for (size_t start = 0; start < n; start += kAssignBlock) {
            deadline.poll();
            size_t count = std::min(kAssignBlock, n - start);
            const float* unit = assigned ? &trained_rows[start * dims] : block.data();
            if (!assigned) {
                for (size_t r = 0; r < count; ++r) load_row(m, start + r, true, &block[r * dims]);
                panels.nearest(block.data(), count, &assign[start]);
            }
            for (size_t r = 0; r < count; ++r) {
                const size_t row = start + r;
                const float* x = cosine ? &unit[r * dims] : m.values + row * dims;
                const float* c = code_origin(&centroids[assign[row] * dims], m.norms[row], cosine, dims, scaled.data());
                quantized_kernels().widen_range(x, c, dims, lo.data(), hi.data());
            }
        }
    }
    std::vector<float>().swap(trained_rows);
    // code = round((residual - bias) / scale) in [-127, 127].
    Header h = layout(n, dims, lists, metric);
    std::vector<float> scale(h.stride, 0.0f), bias(h.stride, 0.0f), inverse(h.stride, 0.0f);
    for (size_t i = 0; i < dims; ++i) {
        if (!(hi[i] >= lo[i])) continue;  // no finite residual in this dimension
        bias[i] = 0.5f * (lo[i] + hi[i]);
        scale[i] = (hi[i] - lo[i]) / 254.0f;
        inverse[i] = scale[i] > 0 ? 1.0f / scale[i] : 0.0f;
    }
    std::vector<uint64_t> offsets(lists + 1, 0);
    for (size_t r = 0; r < n; ++r) offsets[assign[r] + 1]++;
    for (size_t j = 0; j < lists; ++j) offsets[j + 1] += offsets[j];
    std::vector<uint32_t> members(n);
    {
        std::vector<uint64_t> fill(offsets.begin(), offsets.end() - 1);
        for (size_t r = 0; r < n; ++r) members[fill[assign[r]]++] = static_cast<uint32_t>(r);
    }
    std::vector<uint32_t>().swap(assign);

    ChunkWriter out(write);
    out.put(&h, sizeof h);
    out.pad_to(h.centroids);
    out.put(centroids.data(), centroids.size() * sizeof(float));
    out.pad_to(h.centroid_norms);
    out.put(norms.data(), norms.size() * sizeof(float));
    out.pad_to(h.scale);
    out.put(scale.data(), scale.size() * sizeof(float));
    out.pad_to(h.bias);
    out.put(bias.data(), bias.size() * sizeof(float));
    out.pad_to(h.list_offsets);
    out.put(offsets.data(), offsets.size() * sizeof(uint64_t));
    out.pad_to(h.row_numbers);
    out.put(members.data(), members.size() * sizeof(uint32_t));
    out.pad_to(h.row_norms);
    {
        std::vector<float> row_norms(n);
        for (size_t p = 0; p < n; ++p) row_norms[p] = static_cast<float>(m.norms[members[p]]);
        out.put(row_norms.data(), n * sizeof(float));
    }
    out.pad_to(h.codes);
    std::vector<float> x(dims), scaled(dims);
    std::vector<int8_t> code(h.stride, 0);
    for (size_t j = 0; j < lists; ++j) {
        for (size_t p = offsets[j]; p < offsets[j + 1]; ++p) {
            if ((p & 1023) == 0) deadline.poll();
            const size_t row = members[p];
            load_row(m, row, cosine, x.data());
            const float* c = code_origin(&centroids[j * dims], m.norms[row], cosine, dims, scaled.data());
            quantized_kernels().encode(x.data(), c, bias.data(), inverse.data(), dims, code.data());
            out.put(code.data(), code.size());
        }
    }
    out.pad_to(h.total);
    out.flush();
    return report;
}

// ---------------------------------------------------------------------------------------------------

namespace {

const Header& header_of(const uint8_t* bytes) { return *reinterpret_cast<const Header*>(bytes); }

template <class T>
const T* section_of(const uint8_t* bytes, uint64_t offset) {
    return reinterpret_cast<const T*>(bytes + offset);
}

[[noreturn]] void corrupt(const std::string& why) {
    throw Error(ErrorCode::DataException, "the approximate index is corrupt: " + why);
}

}  // namespace

QuantizedIndex QuantizedIndex::open(const uint8_t* bytes, size_t size, size_t expected_rows, size_t expected_dims) {
    if (!bytes && size) throw Error(ErrorCode::InvalidParameterValue, "no bytes for the approximate index");
    if (reinterpret_cast<uintptr_t>(bytes) % alignof(uint64_t) != 0)
        throw Error(ErrorCode::InvalidParameterValue, "the approximate index must be 8-byte aligned in memory");
    if (size < sizeof(Header)) corrupt("shorter than its header");
    const Header& h = header_of(bytes);
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) corrupt("wrong magic");
    if (h.version != kVersion) corrupt("unknown version " + std::to_string(h.version));
    if (h.metric > static_cast<uint32_t>(IndexMetric::InnerProduct)) corrupt("unknown metric");
    if (h.dims == 0 || h.dims > (size_t{1} << 20) || h.rows > std::numeric_limits<uint32_t>::max() ||
        h.lists > std::max<uint64_t>(h.rows, 0) || (h.rows && !h.lists))
        corrupt("impossible shape");
    Header expected = layout(h.rows, h.dims, h.lists, static_cast<IndexMetric>(h.metric));
    if (std::memcmp(&expected, &h, sizeof h) != 0) corrupt("wrong layout");
    if (h.total != size) corrupt(size < h.total ? "truncated" : "longer than its layout");
    if (h.dims != expected_dims)
        throw Error(ErrorCode::InvalidParameterValue, "the approximate index has " + std::to_string(h.dims) +
                                                          " dimensions, not " + std::to_string(expected_dims));
    if (h.rows != expected_rows)
        throw Error(ErrorCode::InvalidParameterValue, "the approximate index has " + std::to_string(h.rows) +
                                                          " rows, not " + std::to_string(expected_rows));
    const uint64_t* offsets = section_of<uint64_t>(bytes, h.list_offsets);
    if (offsets[0] != 0 || offsets[h.lists] != h.rows) corrupt("list offsets do not cover the rows");
    for (size_t j = 0; j < h.lists; ++j)
        if (offsets[j + 1] < offsets[j]) corrupt("list offsets decrease");
    QuantizedIndex index;
    index.bytes_ = bytes;
    index.size_ = size;
    return index;
}

size_t QuantizedIndex::rows() const { return header_of(bytes_).rows; }
size_t QuantizedIndex::dims() const { return header_of(bytes_).dims; }
size_t QuantizedIndex::lists() const { return header_of(bytes_).lists; }

Metric QuantizedIndex::metric() const {
    switch (static_cast<IndexMetric>(header_of(bytes_).metric)) {
        case IndexMetric::L2:
            return Metric::L2;
        case IndexMetric::InnerProduct:
            return Metric::NegativeInnerProduct;
        default:
            return Metric::Cosine;
    }
}

size_t QuantizedIndex::default_probes() const {
    const Header& h = header_of(bytes_);
    if (h.lists == 0) return 0;
    size_t by_share = (h.lists + kDefaultProbeShare - 1) / kDefaultProbeShare;
    size_t by_rows = (kDefaultProbeRows * h.lists + h.rows - 1) / h.rows;  // lists hold rows/lists on average
    return std::min<size_t>(h.lists, std::max(by_share, by_rows));
}

size_t QuantizedIndex::default_rerank(size_t k) { return std::max<size_t>(4 * k, 40); }

namespace {

struct Candidate {
    float key;  // approximate distance: lower is nearer
    uint32_t row;
};

bool candidate_worse(const Candidate& a, const Candidate& b) {  // max-heap: the worst on top
    if (a.key != b.key) return a.key < b.key;
    return a.row < b.row;
}

// nearest()'s order: distance, then id; NaN last.
bool neighbour_before(const Neighbour& a, const Neighbour& b) {
    bool an = std::isnan(a.distance), bn = std::isnan(b.distance);
    if (an != bn) return bn;
    if (!an && a.distance != b.distance) return a.distance < b.distance;
    return a.id < b.id;
}

// The exact distance of row r, as nearest() computes it (bit-identical to distance()).
double exact_distance(const KernelTable& kt, const MatrixView& m, size_t r, const float* query, double query_norm,
                      Metric metric) {
    const float* row = m.values + r * m.dims;
    switch (metric) {
        case Metric::Cosine:
            return cosine_distance_from(kt.dot(row, query, m.dims), m.norms[r], query_norm);
        case Metric::L2:
            return std::sqrt(kt.l2_squared(row, query, m.dims));
        case Metric::InnerProduct:
            return kt.dot(row, query, m.dims);
        case Metric::NegativeInnerProduct:
            return -kt.dot(row, query, m.dims);
        case Metric::L1:
            return kt.l1(row, query, m.dims);
    }
    return NAN;
}

// The k nearest accepted rows by an exact scan of m.
std::vector<Neighbour> exact_scan(const MatrixView& m, const float* query, Metric metric, size_t k,
                                  const std::function<bool(size_t)>& accept, const std::function<void()>& check) {
    const KernelTable& kt = kernels();
    const double query_norm = kt.dot(query, query, m.dims);
    std::vector<Neighbour> best;  // max-heap by neighbour_before
    if (k == 0) return best;
    for (size_t r = 0; r < m.rows; ++r) {
        if (check && (r & 4095) == 0) check();
        if (accept && !accept(r)) continue;
        Neighbour n{m.ids[r], static_cast<int64_t>(r), exact_distance(kt, m, r, query, query_norm, metric)};
        if (best.size() < k) {
            best.push_back(n);
            std::push_heap(best.begin(), best.end(), neighbour_before);
        } else if (neighbour_before(n, best.front())) {
            std::pop_heap(best.begin(), best.end(), neighbour_before);
            best.back() = n;
            std::push_heap(best.begin(), best.end(), neighbour_before);
        }
    }
    std::sort(best.begin(), best.end(), neighbour_before);
    return best;
}

}  // namespace

std::vector<Neighbour> QuantizedIndex::search(const MatrixView& m, const float* query, Metric metric, size_t k,
                                              const std::function<bool(size_t row)>& accept, const SearchOptions& so,
                                              const std::function<void()>& check, SearchReport* report) const {
    const Header& h = header_of(bytes_);
    if (m.rows != h.rows || m.dims != h.dims)
        throw Error(ErrorCode::InvalidParameterValue, "the approximate index was built over another matrix");
    SearchReport local;
    SearchReport& rep = report ? *report : local;
    rep = SearchReport{};
    if (k == 0 || h.rows == 0) return {};
    const size_t dims = h.dims, lists = h.lists, stride = h.stride;

    // Cases the codes cannot rank: another metric, a zero query (no direction) or a non-finite one.
    IndexMetric wanted = IndexMetric::Cosine;
    bool usable = index_metric_of(metric, &wanted) && static_cast<uint32_t>(wanted) == h.metric;
    const KernelTable& kt = kernels();
    const double query_norm = kt.dot(query, query, dims);
    if (!std::isfinite(query_norm) || !(query_norm > 0)) usable = false;  // no direction to probe by
    if (!usable) {
        rep.exact_fallback = true;
        return exact_scan(m, query, metric, k, accept, check);
    }

    // The query as the codes see it (unit length for cosine), and its products with the centroids.
    std::vector<float> q(dims);
    const float qscale = wanted == IndexMetric::Cosine ? static_cast<float>(1.0 / std::sqrt(query_norm)) : 1.0f;
    for (size_t i = 0; i < dims; ++i) q[i] = query[i] * qscale;
    const float* centroids = section_of<float>(bytes_, h.centroids);
    const float* scale = section_of<float>(bytes_, h.scale);
    const float* bias = section_of<float>(bytes_, h.bias);
    const uint64_t* offsets = section_of<uint64_t>(bytes_, h.list_offsets);
    const uint32_t* row_numbers = section_of<uint32_t>(bytes_, h.row_numbers);
    const float* row_norms = section_of<float>(bytes_, h.row_norms);
    const int8_t* codes = section_of<int8_t>(bytes_, h.codes);

    // dot(q, row) ~ dot(q, centroid) + dot(q, bias) + sum_i q_i scale_i code_i.
    std::vector<float> w(stride, 0.0f);
    double q_bias = 0;
    for (size_t i = 0; i < dims; ++i) {
        w[i] = q[i] * scale[i];
        q_bias += double(q[i]) * bias[i];
    }
    std::vector<float> centroid_dot(lists);
    for (size_t j = 0; j < lists; ++j)
        centroid_dot[j] = static_cast<float>(kt.dot(centroids + j * dims, q.data(), dims));
    // Ascending sign * dot is nearest first (InnerProduct as a distance: the smallest dot is nearest).
    const float sign = metric == Metric::InnerProduct ? 1.0f : -1.0f;
    std::vector<std::pair<float, uint32_t>> order(lists);
    for (size_t j = 0; j < lists; ++j) {
        // Lists are directions (unit centroids): nearest direction first, for every metric (L2 included:
        // rows of one direction and similar lengths share a list).
        float key = sign * centroid_dot[j];
        order[j] = {key == key ? key : std::numeric_limits<float>::infinity(), static_cast<uint32_t>(j)};
    }
    std::sort(order.begin(), order.end());

    const size_t probes = std::min(lists, so.probes ? so.probes : default_probes());
    const size_t rerank = std::max(k, so.rerank ? so.rerank : default_rerank(k));
    const size_t widen_limit = h.rows / 4;  // past this many scanned rows a filtered search scans exactly
    // A filtered search sees at least a quarter as many accepted rows as the probes hold rows (and
    // fills the re-rank pool): an unfiltered probe's candidate count, within a factor that keeps
    // selective filters on the exact path, which is then both cheaper and exact.
    size_t accepted_wanted = rerank;
    if (accept) {
        size_t probe_rows = 0;
        for (size_t p = 0; p < probes; ++p) probe_rows += offsets[order[p].second + 1] - offsets[order[p].second];
        accepted_wanted = std::max(rerank, probe_rows / 4);
    }
    std::vector<Candidate> heap;
    heap.reserve(rerank + 1);
    std::vector<float> scores;
    size_t scanned = 0, accepted = 0;
    for (size_t p = 0; p < lists; ++p) {
        if (check) check();
        const size_t list = order[p].second;
        const size_t begin = offsets[list], count = offsets[list + 1] - begin;
        if (p >= probes && heap.size() >= rerank && (!accept || accepted >= accepted_wanted)) break;
        // Rows still to scan at the share of accepted rows seen so far (once that share means something):
        // past the limit, give up on the lists early.
        const bool widening = p >= probes;
        const bool estimate = accept && accepted < accepted_wanted && (widening || scanned >= kEstimateRows);
        size_t more = widening ? count : 0;
        if (estimate) more = accepted ? std::max(more, (accepted_wanted - accepted) * scanned / accepted) : h.rows;
        if ((widening || estimate) && scanned + more > widen_limit) {
            rep.exact_fallback = true;
            rep.probes_used = p;
            return exact_scan(m, query, metric, k, accept, check);
        }
        rep.probes_used = p + 1;
        scanned += count;
        scores.resize(count);
        quantized_kernels().score_codes(codes + begin * stride, count, stride, w.data(), scores.data());
        const float along = centroid_dot[list], bias_dot = static_cast<float>(q_bias);
        for (size_t i = 0; i < count; ++i) {
            const uint32_t row = row_numbers[begin + i];
            if (row >= h.rows) corrupt("a row number is out of range");
            // dot(q, row) ~ |row| dot(q, unit centroid) + dot(q, bias) + codes (|row| = 1 for cosine).
            const float length = wanted == IndexMetric::Cosine ? 1.0f : std::sqrt(std::max(row_norms[begin + i], 0.0f));
            float dot = length * along + bias_dot + scores[i];
            float key = wanted == IndexMetric::L2 ? row_norms[begin + i] - 2.0f * dot : sign * dot;
            if (key != key) key = std::numeric_limits<float>::infinity();
            Candidate c{key, row};
            if (accept) {
                if (!accept(row)) continue;
                ++accepted;
            }
            if (heap.size() >= rerank && !candidate_worse(c, heap.front())) continue;
            heap.push_back(c);
            std::push_heap(heap.begin(), heap.end(), candidate_worse);
            if (heap.size() > rerank) {
                std::pop_heap(heap.begin(), heap.end(), candidate_worse);
                heap.pop_back();
            }
        }
    }
    rep.candidates = heap.size();

    // Exact re-rank of the candidates.
    std::vector<Neighbour> out;
    out.reserve(heap.size());
    for (const Candidate& c : heap)
        out.push_back(
            {m.ids[c.row], static_cast<int64_t>(c.row), exact_distance(kt, m, c.row, query, query_norm, metric)});
    std::sort(out.begin(), out.end(), neighbour_before);
    if (out.size() > k) out.resize(k);
    return out;
}

}  // namespace pgrag
