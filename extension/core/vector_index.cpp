#include "vector_index.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>

namespace pgrag {

void VectorMatrix::add(int64_t id, int64_t owner, uint16_t group, const float* values) {
    values_.insert(values_.end(), values, values + dims_);
    ids_.push_back(id);
    owners_.push_back(owner);
    groups_.push_back(group);
    norms_.push_back(kernels().dot(values, values, dims_));  // equals the norm the <=> operator computes
}

std::vector<Neighbour> nearest(const VectorMatrix& m, const float* query, Metric metric, size_t k, const RowFilter& filter,
                               const std::function<void()>& check) {
    const KernelTable& kt = kernels();
    const size_t dims = m.dims();
    const double query_norm = kt.dot(query, query, dims);
    auto worse = [](const Neighbour& a, const Neighbour& b) {  // max-heap on (distance, id); NaN sorts last
        bool an = std::isnan(a.distance), bn = std::isnan(b.distance);
        if (an != bn) return bn;
        if (!an && a.distance != b.distance) return a.distance < b.distance;
        return a.id < b.id;
    };
    std::priority_queue<Neighbour, std::vector<Neighbour>, decltype(worse)> best(worse);
    if (k == 0) return {};
    for (size_t r = 0; r < m.rows(); ++r) {
        if (check && (r & 4095) == 0) check();
        if (filter.group >= 0 && m.group(r) != filter.group) continue;
        if (filter.owners && !std::binary_search(filter.owners->begin(), filter.owners->end(), m.owner(r))) continue;
        const float* row = m.row(r);
        double d;
        switch (metric) {
            case Metric::Cosine: d = cosine_distance_from(kt.dot(row, query, dims), m.squared_norm(r), query_norm); break;
            case Metric::L2: d = std::sqrt(kt.l2_squared(row, query, dims)); break;
            case Metric::InnerProduct: d = kt.dot(row, query, dims); break;
            case Metric::NegativeInnerProduct: d = -kt.dot(row, query, dims); break;
            case Metric::L1: d = kt.l1(row, query, dims); break;
            default: d = NAN;
        }
        Neighbour n{m.id(r), m.owner(r), d};
        if (best.size() < k) best.push(n);
        else if (worse(n, best.top())) {
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

}  // namespace pgrag
