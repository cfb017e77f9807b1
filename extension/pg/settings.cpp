#include "settings.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "../core/distance.hpp"
#include "../core/embedding_providers.hpp"
#include "boundary.hpp"

namespace pgrag::pg {
namespace {

int kernel_setting = 0;
char* embedding_provider = nullptr;
char* embedding_model = nullptr;
char* embedding_url = nullptr;
int embedding_dimensions = 0;
int local_dims = 384;
int request_timeout_ms = 30000;
int max_retries = 3;
int embedding_batch_size = 96;
int max_concurrent_requests = 4;
bool cache_enabled = true;
bool answer_cache_enabled = true;
char* openai_api_key = nullptr;
char* gemini_api_key = nullptr;
char* anthropic_api_key = nullptr;
char* text_search_config = nullptr;
int progress_every = 100;
char* distance_metric_setting = nullptr;
double bm25_k1 = 1.2;
double bm25_b = 0.75;
int rrf_k = 60;
double hybrid_vector_weight = 1.0;
double hybrid_keyword_weight = 1.0;
char* llm_providers = nullptr;
char* system_prompt_setting = nullptr;
int max_context_tokens_setting = 3000;
int max_answer_tokens = 512;
double llm_temperature = 0.0;
struct ChatProviderSettings {
    const char* name;
    char* model = nullptr;
    char* url = nullptr;
};
ChatProviderSettings chat_settings[] = {{"openai"}, {"ollama"}, {"anthropic"}, {"gemini"}};
int search_cache_mb_setting = 1024;

const struct config_enum_entry kKernelOptions[] = {
    {"auto", 0, false}, {"portable", 1, false}, {"avx2", 2, false}, {"avx512", 3, false}, {nullptr, 0, false},
};

Isa isa_for(int option) {
    switch (option) {
        case 1: return Isa::Portable;
        case 2: return Isa::Avx2;
        case 3: return Isa::Avx512;
        default: return best_supported_isa();
    }
}

// Check hooks must neither throw nor ereport: they report through GUC_check_errdetail.
bool check_kernel(int* newval, void**, GucSource) {
    if (isa_supported(isa_for(*newval))) return true;
    GUC_check_errdetail("This CPU does not support that kernel path.");
    return false;
}

void assign_kernel(int newval, void*) {
    try {
        use_isa(isa_for(newval));
    } catch (...) {
        // check_kernel refused unsupported paths already
    }
}

bool check_provider(char** newval, void**, GucSource) {
    if (*newval && is_embedding_provider(*newval)) return true;
    GUC_check_errdetail("Valid embedding providers are local, openai, ollama and gemini.");
    return false;
}

bool check_metric(char** newval, void**, GucSource) {
    if (*newval && (std::strcmp(*newval, "cosine") == 0 || std::strcmp(*newval, "l2") == 0 ||
                    std::strcmp(*newval, "inner_product") == 0))
        return true;
    GUC_check_errdetail("Valid metrics are cosine, l2 and inner_product.");
    return false;
}

// The non-empty, trimmed items of a comma-separated list.
std::vector<std::string> list_items(const char* list) {
    std::vector<std::string> items;
    std::string text = list ? list : "";
    for (size_t start = 0; start <= text.size();) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

// Each item of the comma-separated list must be a provider; the list must not be empty.
bool check_llm_providers(char** newval, void**, GucSource) {
    try {
        std::vector<std::string> items = list_items(*newval);
        for (const auto& item : items)
            if (!is_chat_provider(item)) {
                GUC_check_errdetail("Valid providers are openai, ollama, anthropic, gemini and extractive.");
                return false;
            }
        if (items.empty()) {
            GUC_check_errdetail("List at least one provider, e.g. 'extractive'.");
            return false;
        }
        return true;
    } catch (...) {
        return false;
    }
}

// A secret: only superusers may set it, and only they see it in SHOW and pg_settings.
void define_secret(const char* name, const char* description, char** target) {
    DefineCustomStringVariable(name, description, "Also read from the server's environment when empty.", target, "",
                               PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, nullptr, nullptr,
                               nullptr);
}

std::string key_for(const std::string& provider) {
    const char* configured = provider == "openai"      ? openai_api_key
                             : provider == "gemini"    ? gemini_api_key
                             : provider == "anthropic" ? anthropic_api_key
                                                       : nullptr;
    if (configured && *configured) return configured;
    const char* env = provider == "openai"      ? std::getenv("OPENAI_API_KEY")
                      : provider == "gemini"    ? std::getenv("GEMINI_API_KEY")
                      : provider == "anthropic" ? std::getenv("ANTHROPIC_API_KEY")
                                                : nullptr;
    return env ? env : "";
}

}  // namespace

void define_settings() {
    DefineCustomEnumVariable("pg_rag.kernel", "Distance kernel path: auto, portable, avx2 or avx512.",
                             "auto picks the fastest path this CPU supports; all paths return identical results.",
                             &kernel_setting, 0, kKernelOptions, PGC_USERSET, 0, check_kernel, assign_kernel, nullptr);
    DefineCustomStringVariable("pg_rag.embedding_provider", "Embedding provider: local, openai, ollama or gemini.",
                               nullptr, &embedding_provider, "local", PGC_USERSET, 0, check_provider, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.embedding_model", "Embedding model; empty means the provider's default.", nullptr,
                               &embedding_model, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.embedding_url", "Base URL of the embedding provider; empty means its default.",
                               nullptr, &embedding_url, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.embedding_dimensions",
                            "Dimensions to request from the provider; 0 means the model's own size.", nullptr,
                            &embedding_dimensions, 0, 0, 16000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.local_dims", "Dimensions of the built-in local embedder.", nullptr, &local_dims,
                            384, 1, 16000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.request_timeout", "Timeout of one provider request (each attempt).", nullptr,
                            &request_timeout_ms, 30000, 100, 3600 * 1000, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable("pg_rag.max_retries", "Retries after a 429, 5xx or connection failure.", nullptr,
                            &max_retries, 3, 0, 20, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.embedding_batch_size", "Texts per embedding request (capped by the provider).",
                            nullptr, &embedding_batch_size, 96, 1, 2048, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.max_concurrent_requests", "Provider requests in flight at once per call.", nullptr,
                            &max_concurrent_requests, 4, 1, 64, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("pg_rag.embedding_cache", "Reuse stored embeddings of identical texts.", nullptr,
                             &cache_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.text_search_config",
                               "Text search configuration of the knowledge base's keyword index.", nullptr,
                               &text_search_config, "english", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.progress_every", "Bulk loads report progress every this many rows (0: never).",
                            nullptr, &progress_every, 100, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.distance_metric", "Metric of vector search: cosine, l2 or inner_product.",
                               nullptr, &distance_metric_setting, "cosine", PGC_USERSET, 0, check_metric, nullptr,
                               nullptr);
    DefineCustomIntVariable("pg_rag.search_cache_mb",
                            "Memory per backend for the vectors exact search scans; above it, search scans the table.",
                            nullptr, &search_cache_mb_setting, 1024, 0, INT_MAX / 2, PGC_USERSET, GUC_UNIT_MB, nullptr,
                            nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.bm25_k1", "BM25 term-frequency saturation (k1).", nullptr, &bm25_k1, 1.2, 0, 100,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.bm25_b", "BM25 length normalisation (b).", nullptr, &bm25_b, 0.75, 0, 1, PGC_USERSET,
                             0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.rrf_k", "Reciprocal rank fusion constant of hybrid search.", nullptr, &rrf_k, 60, 1,
                            100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.hybrid_vector_weight", "Weight of the vector ranking in hybrid search.", nullptr,
                             &hybrid_vector_weight, 1.0, 0, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.hybrid_keyword_weight", "Weight of the keyword ranking in hybrid search.", nullptr,
                             &hybrid_keyword_weight, 1.0, 0, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.llm_providers",
                               "Answer providers in fallback order: openai, ollama, anthropic, gemini, extractive.",
                               nullptr, &llm_providers, "extractive", PGC_USERSET, 0, check_llm_providers, nullptr,
                               nullptr);
    for (auto& c : chat_settings) {
        // Postgres copies a setting's name (its descriptions must be literals: they are kept by pointer).
        std::string name = std::string("pg_rag.") + c.name + "_chat_model";
        DefineCustomStringVariable(name.c_str(), "Chat model of this provider; empty means its default.", nullptr,
                                   &c.model, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
        name = std::string("pg_rag.") + c.name + "_chat_url";
        DefineCustomStringVariable(name.c_str(), "Base URL of this chat provider; empty means its default.",
                                   nullptr, &c.url, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    }
    DefineCustomBoolVariable("pg_rag.answer_cache", "Serve repeated questions (no session) from the answer cache.",
                             nullptr, &answer_cache_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.system_prompt", "System prompt of rag_answer; empty means the built-in one.",
                               nullptr, &system_prompt_setting, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.max_context_tokens", "Token budget of sources and history in a prompt.", nullptr,
                            &max_context_tokens_setting, 3000, 100, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.max_answer_tokens", "Most tokens a generated answer may have.", nullptr,
                            &max_answer_tokens, 512, 1, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.llm_temperature", "Sampling temperature of generated answers.", nullptr,
                             &llm_temperature, 0.0, 0.0, 2.0, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    define_secret("pg_rag.openai_api_key", "API key for OpenAI-compatible providers (or OPENAI_API_KEY).",
                  &openai_api_key);
    define_secret("pg_rag.gemini_api_key", "API key for Gemini (or GEMINI_API_KEY).", &gemini_api_key);
    define_secret("pg_rag.anthropic_api_key", "API key for Anthropic (or ANTHROPIC_API_KEY).", &anthropic_api_key);
    MarkGUCPrefixReserved("pg_rag");
}

EmbeddingSettings embedding_settings(const char* provider, const char* model) {
    EmbeddingSettings s;
    s.provider = provider ? provider : embedding_provider;
    if (!is_embedding_provider(s.provider)) embedding_codec(s.provider);  // throws the unknown-provider error
    bool same_provider = !provider || s.provider == embedding_provider;
    // Model and URL settings belong to the configured provider; an override of the provider uses its defaults.
    s.model = model ? model : (same_provider && embedding_model ? embedding_model : "");
    s.base_url = same_provider && embedding_url ? embedding_url : "";
    s.api_key = key_for(s.provider);
    s.dimensions = embedding_dimensions;
    s.local_dims = local_dims;
    s.batch_size = embedding_batch_size;
    s.http.timeout_ms = request_timeout_ms;
    s.http.max_retries = max_retries;
    s.http.max_concurrency = max_concurrent_requests;
    return s;
}

bool embedding_cache_enabled() { return cache_enabled; }

std::string distance_metric() { return distance_metric_setting ? distance_metric_setting : "cosine"; }

double search_cache_mb() { return static_cast<double>(search_cache_mb_setting); }

std::vector<ChatSettings> chat_providers() {
    std::vector<ChatSettings> out;
    for (const auto& item : list_items(llm_providers ? llm_providers : "extractive")) {
        ChatSettings c;
        c.provider = item;
        for (const auto& p : chat_settings)
            if (item == p.name) {
                c.model = p.model ? p.model : "";
                c.base_url = p.url ? p.url : "";
            }
        c.api_key = key_for(item);
        c.max_tokens = max_answer_tokens;
        c.temperature = llm_temperature;
        c.http.timeout_ms = request_timeout_ms;
        c.http.max_retries = max_retries;
        out.push_back(c);
    }
    return out;
}

std::string system_prompt() { return system_prompt_setting && *system_prompt_setting ? system_prompt_setting : kDefaultSystemPrompt; }

int max_context_tokens() { return max_context_tokens_setting; }

std::string answer_settings_key() {
    std::string key = std::string(llm_providers ? llm_providers : "") + "|" + system_prompt() + "|" +
                      std::to_string(max_context_tokens_setting) + "|" + std::to_string(max_answer_tokens) + "|" +
                      std::to_string(llm_temperature);
    for (const auto& c : chat_providers()) key += "|" + c.provider + ":" + resolved_chat_model(c) + "@" + c.base_url;
    return key;
}

}  // namespace pgrag::pg
