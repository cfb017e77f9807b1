// The chat providers the server streams with, as SQL users configured them (pg_rag.llm_providers and
// the per-provider model and URL settings, read through rag_setting on a pooled connection).
#pragma once

#include <string>
#include <vector>

#include "core/answer.hpp"
#include "pool.hpp"

namespace pgrag::server {

struct ProviderConfig {
    ChatSettings settings;
    // The provider needs an API key the server cannot obtain: keys stay in the database, readable only
    // through functions the server is not (yet) granted, so generation with it fails with a clear 502.
    bool key_unavailable = false;
};

// The effective providers in fallback order; generation is limited to request_timeout_ms.
std::vector<ProviderConfig> chat_provider_config(Lease& db, long request_timeout_ms);

// Throws the 502 error of a provider whose key is unavailable (a pgrag::Error the fallback can record).
void check_provider_usable(const ProviderConfig& p);

}  // namespace pgrag::server
