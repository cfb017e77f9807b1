// Spherical k-means for the lists of the approximate index (quantized_index.hpp): unit centroids of
// unit rows, every row scored against every centroid by the tile kernel (quantized_kernels.hpp) each
// round. (Hamerly's bounds and scoring only the lists near a row's own were tried: in 768 dimensions
// distances concentrate, the bounds skipped under 10 % of the rows, and restricted rounds left rows
// out of their nearest list: recall on the hard mixture fell from 0.95 to 0.71; bench/README.md.)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace pgrag {

// splitmix64: small, fast, and the same sequence everywhere.
struct Random {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// Calls `check` when at least 50 ms passed since the last call.
class Deadline {
  public:
    explicit Deadline(const std::function<void()>& check) : check_(check), last_(std::chrono::steady_clock::now()) {}
    void poll() {
        if (!check_) return;
        auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(50)) return;
        last_ = now;
        check_();
    }

  private:
    const std::function<void()>& check_;
    std::chrono::steady_clock::time_point last_;
};

// Centroids packed for the tile kernel, with their squared norms.
class CentroidPanels {
  public:
    CentroidPanels(const std::vector<float>& centroids, size_t lists, size_t dims);
    // Nearest centroid of each of `count` rows in `block` (row-major, readable up to a multiple of
    // kTileRows rows): argmin ||c||^2 - 2 x.c.
    void nearest(const float* block, size_t count, uint32_t* out);
    const std::vector<float>& norms() const { return norms_; }

  private:
    size_t lists_, dims_;
    std::vector<float> panels_, norms_, scores_;
};

struct KMeansResult {
    std::vector<float> centroids;  // lists x dims, unit (or zero)
    std::vector<uint32_t> assign;  // each row's nearest centroid among `centroids`
    int rounds = 0;                // centroid updates made
    bool converged = false;        // stopped because at most 1/1000 of the rows changed list
};

// At most `iterations` rounds of assign and average on `count` unit rows (readable up to a multiple of
// kTileRows rows), from random distinct rows; an emptied list takes half of the largest. Stops early
// once at most 1/1000 of the rows change list. The assignment returned is to the centroids returned.
KMeansResult spherical_kmeans(const float* rows, size_t count, size_t dims, size_t lists, int iterations, Random& rng,
                              Deadline& deadline);

}  // namespace pgrag
