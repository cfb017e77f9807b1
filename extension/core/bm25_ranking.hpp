// The top-k bookkeeping both BM25 indexes rank with (bm25.cpp, bm25_flat.cpp): one order, one bound slack.
#pragma once

#include <algorithm>
#include <cstdint>
#include <queue>
#include <vector>

#include "bm25.hpp"

namespace pgrag::bm25_ranking {

// Bounds are inflated a little so that rounding in a score's sum never exceeds its bound.
constexpr double kBoundSlack = 1 + 1e-9;

// Heap order: the worst of the top k on top (lower score, then higher id).
struct Worse {
    bool operator()(const ScoredChunk& a, const ScoredChunk& b) const {
        return a.score != b.score ? a.score > b.score : a.id < b.id;
    }
};
using TopHeap = std::priority_queue<ScoredChunk, std::vector<ScoredChunk>, Worse>;

inline bool better(double score, int64_t id, const ScoredChunk& than) {
    return score > than.score || (score == than.score && id < than.id);
}

inline bool owner_allowed(const std::vector<int64_t>* owners, int64_t owner) {
    return !owners || std::binary_search(owners->begin(), owners->end(), owner);
}

}  // namespace pgrag::bm25_ranking
