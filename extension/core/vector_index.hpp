// Exact nearest-neighbour search over an in-memory matrix of embeddings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "distance.hpp"
#include "visibility.hpp"

namespace pgrag {

// Rows of a search wherever they are stored (a VectorMatrix, a mapped snapshot file): column arrays
// of `rows` entries, values row-major.
struct RowsView {
    size_t rows = 0;
    size_t dims = 0;
    const float* values = nullptr;
    const double* norms = nullptr;  // squared norms
    const int64_t* ids = nullptr;
    const int64_t* owners = nullptr;
    const uint16_t* groups = nullptr;
    const ScopeId* scopes = nullptr;
    const uint8_t* alive = nullptr;    // a byte per row, 0: removed (nullptr: every row is alive)
    const uint64_t* masked = nullptr;  // a bit per row, 1: skipped (nullptr: none)
    bool skipped(size_t r) const { return (alive && !alive[r]) || (masked && (masked[r >> 6] >> (r & 63) & 1)); }
};

// Rows of equal dimension stored contiguously, with each row's squared norm (for cosine).
class VectorMatrix {
  public:
    // capacity: rows to reserve (a scan over one mapping with huge pages: fewer TLB misses).
    explicit VectorMatrix(size_t dims = 0, size_t capacity = 0);
    ~VectorMatrix();
    VectorMatrix(const VectorMatrix&) = delete;
    VectorMatrix& operator=(const VectorMatrix&) = delete;
    size_t dims() const { return dims_; }
    size_t rows() const { return ids_.size(); }  // including removed rows not yet compacted away
    size_t live_rows() const { return row_of_.size(); }
    // Live rows of the scopes marked in `visible` (nullptr: all).
    size_t live_rows(const VisibleScopes* visible) const;

    // Appends a row; `group` is a caller-defined tag (e.g. the embedding model) searches can select,
    // `scope` who may see it. Adding an id that is present does nothing.
    void add(int64_t id, int64_t owner, uint16_t group, const float* values, ScopeId scope = kSharedScope);
    // Removes a row by id (false when absent); removed rows are skipped, and compacted away once they
    // outnumber the live ones.
    bool remove(int64_t id);
    bool contains(int64_t id) const { return row_of_.count(id) != 0; }
    bool alive(size_t row) const { return alive_[row] != 0; }

    int64_t id(size_t row) const { return ids_[row]; }
    int64_t owner(size_t row) const { return owners_[row]; }
    uint16_t group(size_t row) const { return groups_[row]; }
    ScopeId scope(size_t row) const { return scopes_[row]; }
    const float* row(size_t r) const { return values_ + r * dims_; }
    double squared_norm(size_t r) const { return norms_[r]; }
    RowsView view() const;

  private:
    void grow(size_t rows);
    void compact();

    size_t dims_;
    float* values_ = nullptr;  // capacity_ rows, from mmap (or nullptr)
    size_t capacity_ = 0;
    std::vector<int64_t> ids_;
    std::vector<int64_t> owners_;
    std::vector<uint16_t> groups_;
    std::vector<ScopeId> scopes_;
    std::vector<size_t> live_in_scope_;
    std::vector<double> norms_;
    std::vector<uint8_t> alive_;
    std::unordered_map<int64_t, size_t> row_of_;
};

struct Neighbour {
    int64_t id;
    int64_t owner;
    double distance;
};

// Which rows a search may return: optional group, optional sorted list of allowed owners, optional
// visible scopes.
struct RowFilter {
    int group = -1;                                // -1: any
    const std::vector<int64_t>* owners = nullptr;  // sorted; nullptr: any
    const VisibleScopes* scopes = nullptr;         // nullptr: every scope
};

// Whether row r of v passes the filter (alive, unmasked, group, owner, scope).
bool accepts(const RowsView& v, const RowFilter& filter, size_t r);

// The k rows nearest to query by metric, ordered by distance then id: exactly the rows and order of
// ORDER BY emb <op> query, id LIMIT k (the distances are bit-identical to the SQL operators').
// `check` is polled every few thousand rows and may throw to cancel.
std::vector<Neighbour> nearest(const VectorMatrix& m, const float* query, Metric metric, size_t k,
                               const RowFilter& filter, const std::function<void()>& check = nullptr);
std::vector<Neighbour> nearest(const RowsView& v, const float* query, Metric metric, size_t k, const RowFilter& filter,
                               const std::function<void()>& check = nullptr);

// The exact distance of `row` (dims floats, squared norm row_norm) to query by metric, as nearest computes it.
double distance_to(const float* row, double row_norm, const float* query, double query_norm, size_t dims,
                   Metric metric);

// The first k of a and b (each ordered by distance then id, ids distinct) in that order.
std::vector<Neighbour> merge_nearest(const std::vector<Neighbour>& a, const std::vector<Neighbour>& b, size_t k);

}  // namespace pgrag
