// Hybrid search: fusing a vector ranking and a keyword ranking into one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pgrag {

// One side's hits, best first (vector: ascending distance; keyword: descending BM25).
struct RankedHit {
    int64_t id;
    double score;  // the side's own score (distance or BM25); fusion may use it
};

struct FusedHit {
    int64_t id;
    double score;
    int vector_rank;   // 1-based; 0 when the chunk is not in the vector side
    int keyword_rank;  // 1-based; 0 when the chunk is not in the keyword side
};

struct FusionSettings {
    double rrf_k = 60;
    double vector_weight = 1;
    double keyword_weight = 1;
    bool lexical_embedder = false;  // the vector side is the built-in lexical embedder
};

// How many candidates each side should contribute for a fused top-k.
size_t fusion_candidates(size_t k);

// The fused top-k, best first (ties by ascending id).
std::vector<FusedHit> fuse(const std::vector<RankedHit>& vector_hits, const std::vector<RankedHit>& keyword_hits,
                           const FusionSettings& settings, size_t k);

}  // namespace pgrag
