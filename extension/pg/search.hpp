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

// How a vector search ran, for rag_search_plan(): the path (exact, approximate, exact (private copy),
// exact (table scan)), the approximate index's probes and candidates, the rows of the shared base and of
// the private overlay the caller may see, and the base's generation (0: none).
struct SearchPlan {
    std::string path;
    int64_t probes = 0;
    int64_t candidates = 0;
    int64_t base_rows = 0;
    int64_t overlay_rows = 0;
    int64_t generation = 0;
};

// Top-k by distance then id among chunks with the query's dimensions (and model, and filter): exact,
// or by pg_rag.search the approximate index's candidates with their exact distances; plan (if given)
// says which.
std::vector<Neighbour> vector_top_k(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                    const std::optional<std::string>& model, Metric metric, SearchPlan* plan = nullptr);

// What rag_refresh_search_copies() did for one dimension's shared vector copy.
struct RefreshedCopy {
    size_t dims = 0;
    int64_t generation = 0;  // mapped now (0: none could be written)
    int64_t chunks = 0;      // rows of that base
    bool indexed = false;    // it has an approximate index
    bool rebuilt = false;    // this call wrote it
};
// Rebuilds the stale shared vector copies (every one with force); errors unless the transaction is
// READ COMMITTED and has not written.
std::vector<RefreshedCopy> refresh_vector_copies(const ExtensionCatalog& cat, bool force);

// Rebuilds the shared keyword copy if stale (always with force), as refresh_vector_copies() does (the
// caller checked the transaction); none when no base could be written.
std::optional<RefreshedCopy> refresh_keyword_copy(const ExtensionCatalog& cat, bool force);

// BM25 top-k by score descending then id (empty when the query has only stop-words).
std::vector<ScoredChunk> keyword_top_k(const ExtensionCatalog& cat, const std::string& query, size_t k, Datum filter);

// What a backend's copy holds, for rag_search_copies(): not loaded, shared (a base file mapped, plus a
// private overlay), in memory (private), or over the cap.
struct CopyInfo {
    std::string state;
    int64_t chunks = 0;
    int64_t generation = 0;    // of the mapped base (0: none)
    int64_t base_rows = 0;     // unmasked base rows the caller may see
    int64_t overlay_rows = 0;  // private rows the caller may see
    int64_t reloads = 0;       // full loads
    int64_t updates = 0;       // catch-ups that re-read changed chunks only
};
// (chunks: those the caller may see)
CopyInfo vector_copy_info(const ExtensionCatalog& cat);
CopyInfo keyword_copy_info(const ExtensionCatalog& cat);

// A real-valued setting read in C (its definition gives the default).
double real_setting(const char* name);

}  // namespace pgrag::pg
