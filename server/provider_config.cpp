// Provider settings and keys through SQL, so an administrator keeps one configuration (the database's).
#include "provider_config.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/answer_json.hpp"
#include "core/chat_providers.hpp"
#include "core/error.hpp"

namespace pgrag::server {

namespace {

// Without the grant: the same providers with their models and URLs, but no keys (rag_setting is public).
std::vector<ChatSettings> settings_without_keys(Lease& db) {
    auto row = db.value(
        "SELECT jsonb_agg(jsonb_build_object('provider', p, 'model', rag_setting('pg_rag.' || p || '_chat_model'),"
        " 'base_url', rag_setting('pg_rag.' || p || '_chat_url'),"
        " 'max_tokens', rag_setting('pg_rag.max_answer_tokens')::integer,"
        " 'temperature', rag_setting('pg_rag.llm_temperature')::float8,"
        " 'timeout_ms', rag_setting('pg_rag.request_timeout')::bigint,"
        " 'max_retries', rag_setting('pg_rag.max_retries')::integer,"
        " 'allowed_hosts', to_jsonb(string_to_array(nullif(replace(rag_setting('pg_rag.allowed_provider_hosts'),"
        " ' ', ''), ''), ','))) ORDER BY n)"
        " FROM unnest(string_to_array(replace(rag_setting('pg_rag.llm_providers'), ' ', ''), ',')) WITH ORDINALITY"
        " AS x(p, n) WHERE p <> ''");
    nlohmann::json list = nlohmann::json::parse(row.value_or("[]"));
    for (auto& p : list)
        if (p["provider"] == "extractive") p["base_url"] = "";
    return chat_settings_from_json(list.is_null() ? nlohmann::json::array() : list);
}

}  // namespace

std::vector<ProviderConfig> chat_provider_config(Lease& db, long request_timeout_ms) {
    std::vector<ChatSettings> settings;
    bool granted = true;
    try {
        // One round trip: every provider with the key bound to its URL (EXECUTE granted to the server's role).
        settings = chat_settings_from_json(
            nlohmann::json::parse(db.value("SELECT rag_chat_provider_credentials()").value_or("[]")));
    } catch (const DbError& e) {
        if (e.sqlstate() != "42501") throw;
        granted = false;
        settings = settings_without_keys(db);
    }
    std::vector<ProviderConfig> out;
    for (auto& s : settings) {
        ProviderConfig p;
        p.settings = std::move(s);
        p.settings.http.timeout_ms = std::min(p.settings.http.timeout_ms, request_timeout_ms);
        p.key_unavailable = !granted && chat_codec(p.settings.provider).key_env != nullptr;
        out.push_back(std::move(p));
    }
    if (out.empty()) throw Error(ErrorCode::InvalidParameterValue, "pg_rag.llm_providers is empty");
    return out;
}

void check_provider_usable(const ProviderConfig& p) {
    if (p.key_unavailable)
        throw Error(ErrorCode::ExternalRoutineException,
                    "pg_rag: " + p.settings.provider + ": provider key not available to the server",
                    "GRANT EXECUTE ON FUNCTION rag_chat_provider_credentials() TO the server's role.");
    if (chat_codec(p.settings.provider).key_env && p.settings.api_key.empty())
        throw Error(ErrorCode::ExternalRoutineException,
                    "pg_rag: " + p.settings.provider + ": no API key is bound to " + resolved_chat_url(p.settings),
                    "Store one with rag_set_provider_key(), or give Postgres the provider's key variable.");
}

}  // namespace pgrag::server
