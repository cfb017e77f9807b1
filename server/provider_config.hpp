// The chat providers the server streams with, as the database configures them: rag_chat_provider_credentials()
// gives each with the key bound to its URL when the server's role is granted EXECUTE on it.
#pragma once

#include <string>
#include <vector>

#include "core/answer.hpp"
#include "pool.hpp"

namespace pgrag::server {

struct ProviderConfig {
    ChatSettings settings;
    // The provider needs an API key and the server's role may not read keys (no EXECUTE on
    // rag_chat_provider_credentials): generation with it fails with a clear 502 naming the grant.
    bool key_unavailable = false;
};

// The effective providers in fallback order; generation is limited to request_timeout_ms.
std::vector<ProviderConfig> chat_provider_config(Lease& db, long request_timeout_ms);

// Throws the 502 error of a provider whose key is unavailable or not configured (a pgrag::Error the fallback can
// record).
void check_provider_usable(const ProviderConfig& p);

}  // namespace pgrag::server
