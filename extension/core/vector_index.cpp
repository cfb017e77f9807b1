#include "vector_index.hpp"

#include <sys/mman.h>
#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>

#include <cstring>
#include <new>

namespace pgrag {

VectorMatrix::VectorMatrix(size_t dims, size_t capacity) : dims_(dims) {
    if (capacity) grow(capacity);
    ids_.reserve(capacity);
    alive_.reserve(capacity);
    owners_.reserve(capacity);
    groups_.reserve(capacity);
    scopes_.reserve(capacity);
    norms_.reserve(capacity);
}

VectorMatrix::~VectorMatrix() {
    if (values_) munmap(values_, capacity_ * dims_ * sizeof(float));
}

// Moves the values to a larger anonymous mapping, asking for transparent huge pages.
void VectorMatrix::grow(size_t rows) {
    size_t row_bytes = std::max<size_t>(dims_, 1) * sizeof(float);
    size_t bytes = std::max<size_t>(rows * row_bytes, 4096);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint: fine if the kernel declines
#endif
    if (values_) {
        std::memcpy(p, values_, ids_.size() * dims_ * sizeof(float));
        munmap(values_, capacity_ * dims_ * sizeof(float));
    }
    values_ = static_cast<float*>(p);
    capacity_ = bytes / row_bytes;
}

void VectorMatrix::add(int64_t id, int64_t owner, uint16_t group, const float* values, ScopeId scope) {
    if (!row_of_.emplace(id, ids_.size()).second) return;
    if (ids_.size() == capacity_) grow(std::max<size_t>(1024, capacity_ * 2));
    std::memcpy(values_ + ids_.size() * dims_, values, dims_ * sizeof(float));
    ids_.push_back(id);
    owners_.push_back(owner);
    groups_.push_back(group);
    scopes_.push_back(scope);
    if (live_in_scope_.size() <= scope) live_in_scope_.resize(scope + 1, 0);
    live_in_scope_[scope]++;
    norms_.push_back(kernels().dot(values, values, dims_));  // equals the norm the <=> operator computes
    alive_.push_back(1);
}

bool VectorMatrix::remove(int64_t id) {
    auto it = row_of_.find(id);
    if (it == row_of_.end()) return false;
    alive_[it->second] = 0;
    live_in_scope_[scopes_[it->second]]--;
    row_of_.erase(it);
    if (ids_.size() - row_of_.size() > std::max<size_t>(1024, row_of_.size())) compact();
    return true;
}

// Moves the live rows down over the removed ones, keeping their order.
void VectorMatrix::compact() {
    size_t w = 0;
    for (size_t r = 0; r < ids_.size(); ++r) {
        if (!alive_[r]) continue;
        if (w != r) {
            std::memmove(values_ + w * dims_, values_ + r * dims_, dims_ * sizeof(float));
            ids_[w] = ids_[r];
            owners_[w] = owners_[r];
            groups_[w] = groups_[r];
            scopes_[w] = scopes_[r];
            norms_[w] = norms_[r];
        }
        row_of_[ids_[w]] = w;
        ++w;
    }
    ids_.resize(w);
    owners_.resize(w);
    groups_.resize(w);
    scopes_.resize(w);
    norms_.resize(w);
    alive_.assign(w, 1);
}

size_t VectorMatrix::live_rows(const VisibleScopes* visible) const {
    if (!visible) return live_rows();
    size_t n = 0;
    for (ScopeId s : visible->ids)
        if (s < live_in_scope_.size()) n += live_in_scope_[s];
    return n;
}

constexpr size_t kPrefetchRows = 2;  // measured: 2 ahead beats 4, 8 and 16 (bench/README.md)

RowsView VectorMatrix::view() const {
    RowsView v;
    v.rows = ids_.size();
    v.dims = dims_;
    v.values = values_;
    v.norms = norms_.data();
    v.ids = ids_.data();
    v.owners = owners_.data();
    v.groups = groups_.data();
    v.scopes = scopes_.data();
    v.alive = alive_.data();
    return v;
}

bool accepts(const RowsView& v, const RowFilter& filter, size_t r) {
    if (v.skipped(r)) return false;
    if (filter.group >= 0 && v.groups[r] != filter.group) return false;
    if (filter.owners && !std::binary_search(filter.owners->begin(), filter.owners->end(), v.owners[r])) return false;
    return !filter.scopes || visible(*filter.scopes, v.scopes[r]);
}

double distance_to(const float* row, double row_norm, const float* query, double query_norm, size_t dims,
                   Metric metric) {
    const KernelTable& kt = kernels();
    // Not distances_one_to_many: cosine here uses the stored row norm, one dot product per row
    // instead of dot plus norm (21 ms vs 35 ms at 100k x 768). Same arithmetic, same bits.
    switch (metric) {
        case Metric::Cosine:
            return cosine_distance_from(kt.dot(row, query, dims), row_norm, query_norm);
        case Metric::L2:
            return std::sqrt(kt.l2_squared(row, query, dims));
        case Metric::InnerProduct:
            return kt.dot(row, query, dims);
        case Metric::NegativeInnerProduct:
            return -kt.dot(row, query, dims);
        case Metric::L1:
            return kt.l1(row, query, dims);
        default:
            return NAN;
    }
}

namespace {

// Ascending (distance, id), NaN last: as a priority_queue order, the worst of the best is on top.
bool sorts_before(const Neighbour& a, const Neighbour& b) {
    bool an = std::isnan(a.distance), bn = std::isnan(b.distance);
    if (an != bn) return bn;
    if (!an && a.distance != b.distance) return a.distance < b.distance;
    return a.id < b.id;
}

}  // namespace

std::vector<Neighbour> nearest(const VectorMatrix& m, const float* query, Metric metric, size_t k,
                               const RowFilter& filter, const std::function<void()>& check) {
    return nearest(m.view(), query, metric, k, filter, check);
}

std::vector<Neighbour> nearest(const RowsView& v, const float* query, Metric metric, size_t k, const RowFilter& filter,
                               const std::function<void()>& check) {
    const size_t dims = v.dims;
    const double query_norm = kernels().dot(query, query, dims);
    std::priority_queue<Neighbour, std::vector<Neighbour>, decltype(&sorts_before)> best(&sorts_before);
    if (k == 0) return {};
    for (size_t r = 0; r < v.rows; ++r) {
        if (check && (r & 4095) == 0) check();
        if (!accepts(v, filter, r)) continue;
        const float* row = v.values + r * dims;
        if (r + kPrefetchRows < v.rows) {
            // Keep more cache misses in flight than the hardware prefetcher does on one stream.
            const char* ahead = reinterpret_cast<const char*>(row + kPrefetchRows * dims);
            for (size_t off = 0; off < dims * sizeof(float); off += 64) __builtin_prefetch(ahead + off);
        }
        Neighbour n{v.ids[r], v.owners[r], distance_to(row, v.norms[r], query, query_norm, dims, metric)};
        if (best.size() < k)
            best.push(n);
        else if (sorts_before(n, best.top())) {
            best.pop();
            best.push(n);
        }
    }
    std::vector<Neighbour> out;
    while (!best.empty()) {
        out.push_back(best.top());
        best.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<Neighbour> merge_nearest(const std::vector<Neighbour>& a, const std::vector<Neighbour>& b, size_t k) {
    std::vector<Neighbour> out;
    size_t i = 0, j = 0;
    while (out.size() < k && (i < a.size() || j < b.size())) {
        if (j == b.size() || (i < a.size() && sorts_before(a[i], b[j])))
            out.push_back(a[i++]);
        else
            out.push_back(b[j++]);
    }
    return out;
}

}  // namespace pgrag
