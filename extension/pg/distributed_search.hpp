// Search over a knowledge base distributed with Citus: every shard computes its top-k with pg_rag's
// functions on its worker, the coordinator merges (vector), or scores with corpus-wide BM25 statistics
// gathered across the shards first (keyword). Same rows, order and scores as one node.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../core/bm25.hpp"
#include "../core/vector_index.hpp"
#include "catalog.hpp"
#include "embedding.hpp"

namespace pgrag::pg {

// Whether rag_chunks is a Citus distributed table (false, without a query, when Citus is not installed).
bool knowledge_base_distributed(const ExtensionCatalog& cat);

// vector_top_k's result, from ORDER BY distance, id LIMIT k pushed down to every shard.
std::vector<Neighbour> distributed_vector_top_k(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                                const std::optional<std::string>& model, Metric metric);

// keyword_top_k's result: N, average length and df of the query's terms over all shards, then BM25
// per shard (rag_bm25_score) with those, ORDER BY score DESC, id LIMIT k pushed down and merged.
std::vector<ScoredChunk> distributed_keyword_top_k(const ExtensionCatalog& cat, const std::string& query, size_t k,
                                                   Datum filter);

}  // namespace pgrag::pg
