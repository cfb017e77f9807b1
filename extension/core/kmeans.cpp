// Spherical k-means (kmeans.hpp).
#include "kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "distance.hpp"
#include "quantized_kernels.hpp"

namespace pgrag {
namespace {

constexpr size_t kBlockRows = 256;        // rows scored per call of the tile kernel
constexpr size_t kConvergedShare = 1000;  // stop once at most 1/1000 of the rows change list

size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

// Means of the rows of each list, unit length; an emptied list takes half of the largest.
void update_centroids(const float* rows, size_t count, size_t dims, const std::vector<uint32_t>& assign, size_t lists,
                      std::vector<float>& centroids, Deadline& deadline) {
    std::vector<double> sums(lists * dims, 0.0);
    std::vector<size_t> sizes(lists, 0);
    for (size_t r = 0; r < count; ++r) {
        if ((r & 1023) == 0) deadline.poll();
        double* s = &sums[assign[r] * dims];
        const float* x = rows + r * dims;
        for (size_t i = 0; i < dims; ++i) s[i] += x[i];
        sizes[assign[r]]++;
    }
    for (size_t j = 0; j < lists; ++j) {
        if (sizes[j] == 0) continue;
        for (size_t i = 0; i < dims; ++i) centroids[j * dims + i] = static_cast<float>(sums[j * dims + i] / sizes[j]);
    }
    for (size_t j = 0; j < lists; ++j) {
        if (sizes[j] != 0) continue;
        size_t big = static_cast<size_t>(std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
        // Two copies of the big centroid nudged apart; the next round splits its rows between them.
        for (size_t i = 0; i < dims; ++i) {
            float c = centroids[big * dims + i];
            float nudge = (i % 2 ? 1.0f : -1.0f) * (std::fabs(c) + 1e-6f) / 1024.0f;
            centroids[j * dims + i] = c + nudge;
            centroids[big * dims + i] = c - nudge;
        }
        sizes[j] = sizes[big] / 2;
        sizes[big] -= sizes[j];
    }
    for (size_t j = 0; j < lists; ++j) {
        double s = 0;
        for (size_t i = 0; i < dims; ++i) s += double(centroids[j * dims + i]) * centroids[j * dims + i];
        if (s > 0)
            for (size_t i = 0; i < dims; ++i) centroids[j * dims + i] = float(centroids[j * dims + i] / std::sqrt(s));
    }
}

}  // namespace

CentroidPanels::CentroidPanels(const std::vector<float>& centroids, size_t lists, size_t dims)
    : lists_(lists), dims_(dims), panels_(align_up(lists, kPanelWidth) * dims, 0.0f), norms_(lists) {
    for (size_t j = 0; j < lists; ++j) {
        double s = 0;
        for (size_t i = 0; i < dims; ++i) {
            const float c = centroids[j * dims + i];
            s += double(c) * c;
            panels_[(j / kPanelWidth) * dims * kPanelWidth + i * kPanelWidth + j % kPanelWidth] = c;
        }
        norms_[j] = static_cast<float>(s);
    }
}

void CentroidPanels::nearest(const float* block, size_t count, uint32_t* out) {
    const size_t width = align_up(lists_, kPanelWidth), tiled = align_up(count, kTileRows);
    scores_.resize(tiled * width);
    quantized_kernels().centroid_products(block, tiled, dims_, panels_.data(), width, scores_.data());
    for (size_t r = 0; r < count; ++r) {
        const float* s = scores_.data() + r * width;
        size_t best = 0;
        float best_key = std::numeric_limits<float>::infinity();
        for (size_t j = 0; j < lists_; ++j) {
            float key = norms_[j] - 2.0f * s[j];
            if (key < best_key) {  // NaN rows (non-finite input) stay in list 0
                best_key = key;
                best = j;
            }
        }
        out[r] = static_cast<uint32_t>(best);
    }
}

KMeansResult spherical_kmeans(const float* rows, size_t count, size_t dims, size_t lists, int iterations, Random& rng,
                              Deadline& deadline) {
    KMeansResult result;
    std::vector<float>& centroids = result.centroids;
    centroids.resize(lists * dims);
    {
        std::vector<size_t> pick(count);
        for (size_t i = 0; i < count; ++i) pick[i] = i;
        for (size_t j = 0; j < lists; ++j) {
            std::swap(pick[j], pick[j + rng.below(count - j)]);
            std::memcpy(&centroids[j * dims], rows + pick[j] * dims, dims * sizeof(float));
        }
    }
    std::vector<uint32_t>& assign = result.assign;
    assign.assign(count, 0);
    std::vector<uint32_t> next(count);
    for (bool first = true;; first = false) {
        CentroidPanels panels(centroids, lists, dims);
        for (size_t start = 0; start < count; start += kBlockRows) {
            deadline.poll();
            panels.nearest(rows + start * dims, std::min(kBlockRows, count - start), &next[start]);
        }
        size_t changed = 0;
        for (size_t r = 0; r < count; ++r) changed += first || next[r] != assign[r];
        assign.swap(next);
        result.converged = changed <= count / kConvergedShare;
        if (result.rounds >= iterations || result.converged) break;
        update_centroids(rows, count, dims, assign, lists, centroids, deadline);
        ++result.rounds;
    }
    return result;
}

}  // namespace pgrag
