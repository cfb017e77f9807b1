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

// Weighted reciprocal rank fusion: w_v / (rrf_k + vector_rank) + w_k / (rrf_k + keyword_rank).
// The vector weight depends on what the embedder is: a semantic model's ranking carries what BM25
// misses (paraphrases), so both sides count alike; the built-in lexical embedder (hashed words, no
// IDF) mostly repeats BM25 less well (XQuAD nDCG@10: vector 0.795, BM25 0.957, RRF 1:1 0.911), so
// its side only breaks near-ties and fills in after the keyword hits (bench/README.md).
struct FusionSettings {
    double rrf_k = 60;
    double vector_weight = 1;
    double keyword_weight = 1;
    bool lexical_embedder = false;        // the vector side is the built-in lexical embedder
    double lexical_vector_weight = 0.01;  // multiplies vector_weight when lexical_embedder (1: plain RRF)
};

// How many candidates each side should contribute for a fused top-k.
size_t fusion_candidates(size_t k);

// The fused top-k, best first (ties by ascending id). Scores are the weighted RRF sums.
std::vector<FusedHit> fuse(const std::vector<RankedHit>& vector_hits, const std::vector<RankedHit>& keyword_hits,
                           const FusionSettings& settings, size_t k);

}  // namespace pgrag
