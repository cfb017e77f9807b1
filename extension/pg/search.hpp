// Retrieval over the knowledge base shared by the search functions: the metric map, and the vector
// and keyword top-k from the per-backend copies.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../core/bm25.hpp"
#include "../core/vector_index.hpp"
#include "catalog.hpp"
#include "embedding.hpp"

namespace pgrag::pg {

// The one map of metric names: cosine, l2, inner_product (throws on anything else).
Metric metric_from(const std::string& name);
// The SQL operator of a metric: <=>, <-> or <#>.
const char* operator_for(Metric metric);
// rag_search's score of a distance: 1 - distance for cosine, -distance otherwise (higher is better).
double score_for(Metric metric, double distance);

// Documents whose metadata contains `filter`, ascending (the caller's privileges).
std::vector<int64_t> documents_matching(const ExtensionCatalog& cat, Datum filter);

// Exact top-k by distance then id among chunks with the query's dimensions (and model, and filter).
std::vector<Neighbour> vector_top_k(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                    const std::optional<std::string>& model, Metric metric);

// BM25 top-k by score descending then id (empty when the query has only stop-words).
std::vector<ScoredChunk> keyword_top_k(const ExtensionCatalog& cat, const std::string& query, size_t k, Datum filter);

// What a backend's copy holds, for rag_search_copies(): not loaded, in memory, or over the cap.
struct CopyInfo {
    std::string state;
    int64_t chunks = 0;
    int64_t reloads = 0;  // full loads
    int64_t updates = 0;  // catch-ups that re-read changed chunks only
};
// (chunks: those the caller may see)
CopyInfo vector_copy_info(const ExtensionCatalog& cat);
CopyInfo keyword_copy_info(const ExtensionCatalog& cat);

// A real-valued setting read in C (its definition gives the default).
double real_setting(const char* name);

}  // namespace pgrag::pg
