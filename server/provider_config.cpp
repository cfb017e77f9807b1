// Provider settings through SQL, so an administrator keeps one configuration (the database's).
#include "provider_config.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/chat_providers.hpp"
#include "core/error.hpp"

namespace pgrag::server {

std::vector<ProviderConfig> chat_provider_config(Lease& db, long request_timeout_ms) {
    // One round trip: the list, the answer settings and every chat provider's model and URL.
    auto row = db.value(
        "SELECT jsonb_build_object('providers', rag_setting('pg_rag.llm_providers'),"
        " 'max_tokens', rag_setting('pg_rag.max_answer_tokens'), 'temperature', rag_setting('pg_rag.llm_temperature'),"
        " 'timeout', rag_setting('pg_rag.request_timeout'), 'retries', rag_setting('pg_rag.max_retries'),"
        " 'models', (SELECT jsonb_object_agg(p, jsonb_build_object("
        "      'model', rag_setting('pg_rag.' || p || '_chat_model'), 'url', rag_setting('pg_rag.' || p || "
        "'_chat_url')))"
        "    FROM unnest(ARRAY['openai', 'ollama', 'anthropic', 'gemini']) p))");
    nlohmann::json cfg = nlohmann::json::parse(row.value_or("{}"));
    std::vector<ProviderConfig> out;
    std::string list = cfg.value("providers", std::string("extractive"));
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        name.erase(0, name.find_first_not_of(" \t"));
        name.erase(name.find_last_not_of(" \t") + 1);
        if (!name.empty()) {
            ProviderConfig p;
            p.settings.provider = name;
            const auto& m = cfg["models"];
            if (m.is_object() && m.contains(name)) {
                p.settings.model = m[name].value("model", "");
                p.settings.base_url = m[name].value("url", "");
            }
            p.settings.max_tokens = std::stoi(cfg.value("max_tokens", std::string("512")));
            p.settings.temperature = std::stod(cfg.value("temperature", std::string("0")));
            long timeout = std::stol(cfg.value("timeout", std::string("30000")));
            p.settings.http.timeout_ms = std::min(timeout, request_timeout_ms);
            p.settings.http.max_retries = std::stoi(cfg.value("retries", std::string("3")));
            p.key_unavailable = chat_codec(name).key_env != nullptr;
            out.push_back(p);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (out.empty()) throw Error(ErrorCode::InvalidParameterValue, "pg_rag.llm_providers is empty");
    return out;
}

void check_provider_usable(const ProviderConfig& p) {
    if (p.key_unavailable)
        throw Error(ErrorCode::ExternalRoutineException,
                    "pg_rag: " + p.settings.provider + ": provider key not available to the server",
                    "The server reads provider keys only through a server-only SQL function.");
}

}  // namespace pgrag::server
