// An approximate nearest-neighbour index: IVF (spherical k-means lists: directions) over int8 codes of
// each row's residual to its list's unit centroid (scaled to the row's length for L2 and inner product),
// whose candidates are re-ranked with the exact kernels (distance.hpp).
//
// Contract for callers (the shared snapshot and rag_search):
// - The index is a position-independent byte string: build_quantized_index streams it, QuantizedIndex
//   is a read-only view over it (a read-only mmap is fine; `bytes` must be 8-byte aligned, 64 is best).
// - Rows are numbered 0..rows-1 as in the MatrixView it was built over; search is given the same view
//   and reports rows: Neighbour::id = ids[row], Neighbour::owner = the row number (the caller maps rows
//   to owners). Callers hide rows (deleted, other models, filters, row-level scopes) through `accept`.
// - Distances are exact and bit-identical to distance() (cosine via the view's norms, which must be
//   kernels().dot(row, row)); results are ordered by distance then id, NaN last, like nearest().
// - Errors: open() throws Error(DataException) for bytes that are not a valid index (magic, version,
//   sizes, offsets) and Error(InvalidParameterValue) for wrong rows/dims/alignment; build throws
//   Error(InvalidParameterValue) for unsupported metrics (L1), Error(ProgramLimitExceeded) past 2^32-1 rows.
// - No BLAS: k-means multiplies rows by centroids with our own single-threaded AVX-512/AVX2 tile kernel
//   (quantized_kernels*.cpp), faster here than OpenBLAS 0.3.21, which falls back to its Prescott
//   kernels on this CPU, and with no library threads to keep out of a backend (bench/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "distance.hpp"
#include "vector_index.hpp"

namespace pgrag {

// The rows an index is built over and re-ranks with: row r is values + r*dims, squared norm norms[r], id ids[r].
struct MatrixView {
    const float* values;
    const double* norms;
    const int64_t* ids;
    size_t rows;
    size_t dims;
};

struct QuantizedBuildOptions {
    size_t lists = 0;  // k-means lists; 0: about sqrt(rows)
    // Rows k-means trains on; 0: up to 250 000 rows, max(64 * lists, 32768) and then every row if that
    // sample has not converged in 6 rounds; above, max(64 * lists, 65536).
    size_t sample = 0;
    int iterations = -1;  // k-means rounds at most; -1: 15 up to 250 000 rows (recall 0.888 -> 0.952 at 100k), else 10
    uint64_t seed = 1;
    // Cosine, L2, or InnerProduct / NegativeInnerProduct (either serves both); lists always partition
    // directions (k-means on unit rows), the codes follow the metric.
    Metric metric = Metric::Cosine;
};

// What a build did: its lists, the rows k-means trained on and the centroid updates it made (it stops
// early once at most 1/1000 of the rows change list).
struct QuantizedBuildReport {
    size_t lists = 0, trained_rows = 0;
    int rounds = 0;
};

// Builds the index over every row of m and streams its serialized bytes to `write` (in chunks of at
// most a few MB; the caller never needs the whole index in memory). `check` is polled every ~50 ms and
// may throw to cancel. Single-threaded. Deterministic for a given seed, data and CPU path.
QuantizedBuildReport build_quantized_index(const MatrixView& m, const QuantizedBuildOptions& o,
                                           const std::function<void(const void*, size_t)>& write,
                                           const std::function<void()>& check);

// The exact number of bytes build_quantized_index(m, o, ...) streams (to size a file region ahead).
size_t quantized_index_bytes(const MatrixView& m, const QuantizedBuildOptions& o);

// How a search went: whether it fell back to an exact scan (then probes_used is the lists probed
// before it gave up), how many lists it probed, how many accepted rows it re-ranked exactly.
struct SearchReport {
    bool exact_fallback = false;
    size_t probes_used = 0;
    size_t candidates = 0;
};

// A read-only view over serialized bytes; it allocates nothing proportional to rows.
class QuantizedIndex {
  public:
    // Validates the header and layout (O(lists)); throws Error on a mismatch (see the top of this file).
    static QuantizedIndex open(const uint8_t* bytes, size_t size, size_t expected_rows, size_t expected_dims);

    struct SearchOptions {
        size_t probes = 0;  // lists probed at least; 0: default_probes(): 1/64 of the lists, 8192 rows at least
        size_t rerank = 0;  // candidates re-ranked exactly; 0: default_rerank(k) = max(4k, 40)
    };

    // The k nearest rows among those `accept(row)` lets through (an empty accept lets every row through):
    // candidates by the codes, re-ranked exactly on m. With a filter, probing goes on past `probes` lists
    // until it has seen `rerank` (>= k) accepted rows and a quarter as many as the `probes` lists hold
    // rows; once that would scan more than a quarter of the rows, it scans m exactly instead
    // (report->exact_fallback): selective filters take the exact path, which is then cheaper and exact.
    // So it returns min(k, accepted rows) rows.
    // A metric the index was not built for, or a query it cannot rank (zero, non-finite),
    // is scanned exactly too.
    std::vector<Neighbour> search(const MatrixView& m, const float* query, Metric metric, size_t k,
                                  const std::function<bool(size_t row)>& accept, const SearchOptions& so,
                                  const std::function<void()>& check, SearchReport* report = nullptr) const;

    size_t memory_bytes() const { return size_; }  // the index's own bytes (codes, centroids, lists)
    size_t rows() const;
    size_t dims() const;
    size_t lists() const;
    Metric metric() const;  // what it was built for
    size_t default_probes() const;
    static size_t default_rerank(size_t k);

  private:
    QuantizedIndex() = default;
    const uint8_t* bytes_ = nullptr;
    size_t size_ = 0;
};

}  // namespace pgrag
