// The pg_rag.* settings (GUCs) and how they resolve into core-library settings.
#pragma once

#include "../core/embedding_providers.hpp"

namespace pgrag::pg {

// Defines every pg_rag.* setting and reserves the prefix; called once from _PG_init.
void define_settings();

// Embedding settings from the GUCs, with per-call provider/model overrides (nullptr: use the GUC).
EmbeddingSettings embedding_settings(const char* provider, const char* model);

// pg_rag.embedding_cache.
bool embedding_cache_enabled();

// pg_rag.distance_metric: cosine, l2 or inner_product.
std::string distance_metric();

// pg_rag.search_cache_mb: the most memory vector search may keep per backend.
double search_cache_mb();

}  // namespace pgrag::pg
