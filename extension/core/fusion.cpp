#include "fusion.hpp"

#include <algorithm>
#include <unordered_map>

namespace pgrag {

size_t fusion_candidates(size_t k) { return std::max<size_t>(4 * k, 40); }

// Weighted reciprocal rank fusion (see FusionSettings for how the vector side is weighed).
std::vector<FusedHit> fuse(const std::vector<RankedHit>& vector_hits, const std::vector<RankedHit>& keyword_hits,
                           const FusionSettings& settings, size_t k) {
    std::unordered_map<int64_t, size_t> slot;
    std::vector<FusedHit> all;
    auto add = [&](const std::vector<RankedHit>& hits, bool vector_side, double weight) {
        for (size_t r = 0; r < hits.size(); ++r) {
            auto [it, inserted] = slot.emplace(hits[r].id, all.size());
            if (inserted) all.push_back({hits[r].id, 0.0, 0, 0});
            FusedHit& h = all[it->second];
            (vector_side ? h.vector_rank : h.keyword_rank) = static_cast<int>(r + 1);
            h.score += weight / (settings.rrf_k + static_cast<double>(r + 1));
        }
    };
    double vector_weight = settings.vector_weight * (settings.lexical_embedder ? settings.lexical_vector_weight : 1.0);
    add(vector_hits, true, vector_weight);
    add(keyword_hits, false, settings.keyword_weight);
    std::sort(all.begin(), all.end(), [](const FusedHit& a, const FusedHit& b) {
        return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    if (all.size() > k) all.resize(k);
    return all;
}

}  // namespace pgrag
