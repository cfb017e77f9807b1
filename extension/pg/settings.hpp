// The pg_rag.* settings (GUCs) and how they resolve into core-library settings.
#pragma once

#include <cstddef>
#include <vector>

#include "../core/answer.hpp"
#include "../core/embedding_providers.hpp"

namespace pgrag::pg {

// Defines every pg_rag.* setting and reserves the prefix; called once from _PG_init.
void define_settings();

// Embedding settings from the GUCs, with per-call provider/model overrides (nullptr: use the GUC).
// No API key: bind_embedding_key adds it when a request is about to be sent.
EmbeddingSettings embedding_settings(const char* provider, const char* model);

// Sets s.api_key to the key bound to s's URL (rag_provider_keys, read as its owner, then the server's
// environment), or "" when none is: a key only ever goes to the endpoint it was configured for.
void bind_embedding_key(EmbeddingSettings& s);

// pg_rag.embedding_cache.
bool embedding_cache_enabled();

// pg_rag.distance_metric: cosine, l2 or inner_product.
std::string distance_metric();

// The generation providers of pg_rag.llm_providers, in fallback order, with their models, URLs and the
// keys bound to those URLs (read now: call it when the requests are about to be sent).
std::vector<ChatSettings> chat_providers();

// Settings that shape answers: pg_rag.system_prompt (or the default), max_context_tokens, and a
// text that changes whenever any answer-relevant setting does (for the answer cache key).
std::string system_prompt();
int max_context_tokens();
std::string answer_settings_key();

// pg_rag.search_cache_mb: the most private memory vector search may keep per backend (the overlay of
// a shared copy, or a private copy); shared copies are files, mapped once for every backend.
double search_cache_mb();

// pg_rag.search, pg_rag.search_probes, pg_rag.search_rerank (0: the index's defaults) and
// pg_rag.search_index_rows (the size from which shared copies carry an approximate index).
enum class VectorSearchMode { Exact = 0, Approximate = 1, Auto = 2 };
VectorSearchMode search_mode();
size_t search_probes();
size_t search_rerank();
size_t search_index_rows();

// pg_rag.user_id, pg_rag.tenant_id ("" when unset) and pg_rag.user_admin: the identity a trusted role
// asserts (identity.hpp resolves them).
std::string user_id();
std::string tenant_id();
bool user_admin();

}  // namespace pgrag::pg
