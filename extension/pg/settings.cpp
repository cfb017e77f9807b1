#include "settings.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "../core/distance.hpp"
#include "../core/embedding_providers.hpp"
#include "../core/error.hpp"
#include "boundary.hpp"
#include "catalog.hpp"
#include "spi.hpp"

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
char* allowed_provider_hosts = nullptr;
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
int search_mode_setting = 2;  // VectorSearchMode::Auto
int search_probes_setting = 0;
int search_rerank_setting = 0;
int search_index_rows_setting = 100000;
const struct config_enum_entry search_modes[] = {
    {"exact", 0, false}, {"approximate", 1, false}, {"auto", 2, false}, {nullptr, 0, false}};
char* user_id_setting = nullptr;
char* tenant_id_setting = nullptr;
bool user_admin_setting = false;

const struct config_enum_entry kKernelOptions[] = {
    {"auto", 0, false}, {"portable", 1, false}, {"avx2", 2, false}, {"avx512", 3, false}, {nullptr, 0, false},
};

Isa isa_for(int option) {
    switch (option) {
        case 1:
            return Isa::Portable;
        case 2:
            return Isa::Avx2;
        case 3:
            return Isa::Avx512;
        default:
            return best_supported_isa();
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

// A provider URL: empty (the provider's default) or an http(s) base URL without query or user info.
bool check_url(char** newval, void**, GucSource) {
    try {
        if (*newval && **newval) http::parse_base_url(*newval);
        return true;
    } catch (const std::exception& e) {
        GUC_check_errdetail("%s", e.what());
        return false;
    } catch (...) {
        return false;
    }
}

// Every item a host or host:port.
bool check_hosts(char** newval, void**, GucSource) {
    try {
        for (const auto& item : list_items(*newval))
            if (item.find_first_of("/@?# ") != std::string::npos) {
                GUC_check_errdetail("List host names or host:port, e.g. 'api.openai.com, 127.0.0.1:11434'.");
                return false;
            }
        return true;
    } catch (...) {
        return false;
    }
}

// Where a provider URL points is a privilege: superusers, or roles granted SET ON PARAMETER.
void define_url(const char* name, const char* description, char** target) {
    DefineCustomStringVariable(name, description, "Only superusers and roles granted SET on it may change it.", target,
                               "", PGC_SUSET, 0, check_url, nullptr, nullptr);
}

// The environment's key of a provider and the base URL it is bound to (the provider's default unless
// *_BASE_URL is set beside it).
struct EnvKey {
    const char* key;
    const char* base_url;
};

EnvKey environment_key(const std::string& provider) {
    const char* key = provider == "openai"      ? std::getenv("OPENAI_API_KEY")
                      : provider == "gemini"    ? std::getenv("GEMINI_API_KEY")
                      : provider == "anthropic" ? std::getenv("ANTHROPIC_API_KEY")
                                                : nullptr;
    const char* base = provider == "openai"      ? std::getenv("OPENAI_BASE_URL")
                       : provider == "gemini"    ? std::getenv("GEMINI_BASE_URL")
                       : provider == "anthropic" ? std::getenv("ANTHROPIC_BASE_URL")
                                                 : nullptr;
    return {key, base};
}

// True when url is at or below bound; a bound URL that does not parse covers nothing.
bool within(const std::string& url, const std::string& bound) {
    try {
        return http::url_within(url, bound);
    } catch (const Error&) {
        return false;
    }
}

// The keys rag_set_provider_key stored for provider, read as the table's owner (callers cannot read it).
std::vector<std::pair<std::string, std::string>> stored_keys(const std::string& provider) {
    std::vector<std::pair<std::string, std::string>> keys;  // (base_url, api_key)
    // Where the table is and who owns it, from the catalogs (no SQL a caller's search_path could
    // redirect). None: the library without the extension, or one not yet updated to 0.6.0.
    Oid relid = pg_guard([] {
        Oid ext = get_extension_oid("pg_rag", true);
        if (ext == InvalidOid) return InvalidOid;
        Oid schema = InvalidOid;
        Relation rel = table_open(ExtensionRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
        SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
        HeapTuple tuple = systable_getnext(scan);
        if (HeapTupleIsValid(tuple)) schema = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extnamespace;
        systable_endscan(scan);
        table_close(rel, AccessShareLock);
        return schema == InvalidOid ? InvalidOid : get_relname_relid("rag_provider_keys", schema);
    });
    if (relid == InvalidOid) return keys;
    const char* quoted = pg_guard(
        [&] { return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid)); });
    std::string table = quoted;
    Oid owner = pg_guard([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
        if (!HeapTupleIsValid(tuple)) return InvalidOid;
        Oid result = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return result;
    });
    if (owner == InvalidOid) return keys;
    Datum name = pg_guard([&] { return PointerGetDatum(cstring_to_text(provider.c_str())); });
    as_role(owner, [&] {
        // Qualified operator: this runs as the owner, under the caller's search_path.
        run_sql("SELECT base_url, api_key FROM " + table + " WHERE provider OPERATOR(pg_catalog.=) $1",
                {{TEXTOID, name}}, true, [&](const SqlRow& row) {
                    bool null_url, null_key;
                    Datum url = row.get(1, &null_url);
                    Datum key = row.get(2, &null_key);
                    if (null_url || null_key) return;
                    const char* u = pg_guard([&] { return text_to_cstring(DatumGetTextPP(url)); });
                    const char* k = pg_guard([&] { return text_to_cstring(DatumGetTextPP(key)); });
                    keys.emplace_back(u, k);
                });
    });
    return keys;
}

// The key bound to url for provider: the stored key with the longest bound URL covering url, else the
// environment's key when url is within its bound URL, else "".
std::string key_for(const std::string& provider, const std::string& url, const std::string& default_url) {
    std::string best_key;
    size_t best_length = 0;
    for (const auto& [bound, key] : stored_keys(provider))
        if (within(url, bound) && (best_key.empty() || bound.size() > best_length)) {
            best_key = key;
            best_length = bound.size();
        }
    if (!best_key.empty()) return best_key;
    EnvKey env = environment_key(provider);
    if (env.key && *env.key && within(url, env.base_url && *env.base_url ? env.base_url : default_url)) return env.key;
    return "";
}

std::vector<std::string> allowed_hosts() { return list_items(allowed_provider_hosts); }

// The chat providers' settings, without keys.
std::vector<ChatSettings> chat_settings_list() {
    std::vector<ChatSettings> out;
    for (const auto& item : list_items(llm_providers ? llm_providers : "extractive")) {
        ChatSettings c;
        c.provider = item;
        for (const auto& p : chat_settings)
            if (item == p.name) {
                c.model = p.model ? p.model : "";
                c.base_url = p.url ? p.url : "";
            }
        c.max_tokens = max_answer_tokens;
        c.temperature = llm_temperature;
        c.http.timeout_ms = request_timeout_ms;
        c.http.max_retries = max_retries;
        c.http.allowed_hosts = allowed_hosts();
        out.push_back(c);
    }
    return out;
}

}  // namespace

void define_settings() {
    DefineCustomEnumVariable("pg_rag.kernel", "Distance kernel path: auto, portable, avx2 or avx512.",
                             "auto picks the fastest path this CPU supports; all paths return identical results.",
                             &kernel_setting, 0, kKernelOptions, PGC_USERSET, 0, check_kernel, assign_kernel, nullptr);
    DefineCustomStringVariable("pg_rag.embedding_provider", "Embedding provider: local, openai, ollama or gemini.",
                               nullptr, &embedding_provider, "local", PGC_USERSET, 0, check_provider, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.embedding_model", "Embedding model; empty means the provider's default.",
                               nullptr, &embedding_model, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    define_url("pg_rag.embedding_url", "Base URL of the embedding provider; empty means its default.", &embedding_url);
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
    DefineCustomEnumVariable("pg_rag.search",
                             "Vector search: exact, approximate (the shared copy's index) or auto (by size).",
                             "auto is approximate over shared copies of at least pg_rag.search_index_rows chunks; "
                             "with approximate, a shared copy is built with an index whatever its size.",
                             &search_mode_setting, 2, search_modes, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.search_probes", "Lists the approximate index probes at least; 0: its default.",
                            nullptr, &search_probes_setting, 0, 0, 1 << 20, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.search_rerank",
                            "Candidates the approximate index re-ranks exactly; 0: its default for k.", nullptr,
                            &search_rerank_setting, 0, 0, 1 << 24, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.search_index_rows",
                            "Shared vector copies of at least this many chunks are built with an approximate index.",
                            nullptr, &search_index_rows_setting, 100000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomRealVariable("pg_rag.bm25_k1", "BM25 term-frequency saturation (k1).", nullptr, &bm25_k1, 1.2, 0, 100,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.bm25_b", "BM25 length normalisation (b).", nullptr, &bm25_b, 0.75, 0, 1,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_rag.rrf_k", "Reciprocal rank fusion constant of hybrid search.", nullptr, &rrf_k, 60, 1,
                            100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.hybrid_vector_weight", "Weight of the vector ranking in hybrid search.", nullptr,
                             &hybrid_vector_weight, 1.0, 0, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("pg_rag.hybrid_keyword_weight", "Weight of the keyword ranking in hybrid search.", nullptr,
                             &hybrid_keyword_weight, 1.0, 0, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "pg_rag.llm_providers", "Answer providers in fallback order: openai, ollama, anthropic, gemini, extractive.",
        nullptr, &llm_providers, "extractive", PGC_USERSET, 0, check_llm_providers, nullptr, nullptr);
    for (auto& c : chat_settings) {
        // Postgres copies a setting's name (its descriptions must be literals: they are kept by pointer).
        std::string name = std::string("pg_rag.") + c.name + "_chat_model";
        DefineCustomStringVariable(name.c_str(), "Chat model of this provider; empty means its default.", nullptr,
                                   &c.model, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
        name = std::string("pg_rag.") + c.name + "_chat_url";
        define_url(name.c_str(), "Base URL of this chat provider; empty means its default.", &c.url);
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
    // API keys are not settings (anyone can read a setting's placeholder): see rag_set_provider_key().
    DefineCustomStringVariable("pg_rag.allowed_provider_hosts",
                               "Hosts (or host:port) provider requests may go to, comma-separated; empty means any.",
                               nullptr, &allowed_provider_hosts, "", PGC_SUSET, 0, check_hosts, nullptr, nullptr);
    // Who is calling, for row-level security: asserted by a trusted role (superusers, or roles granted
    // SET ON PARAMETER, e.g. the HTTP server's), never by the user it describes.
    DefineCustomStringVariable("pg_rag.user_id", "The user the session acts for; empty means the role's name.",
                               "Only superusers and roles granted SET on it may change it.", &user_id_setting, "",
                               PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("pg_rag.tenant_id", "The tenant the session acts for; empty means none.",
                               "Only superusers and roles granted SET on it may change it.", &tenant_id_setting, "",
                               PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("pg_rag.user_admin", "The user may write the shared knowledge base.",
                             "Only superusers and roles granted SET on it may change it.", &user_admin_setting, false,
                             PGC_SUSET, 0, nullptr, nullptr, nullptr);
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
    s.http.allowed_hosts = allowed_hosts();
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

VectorSearchMode search_mode() { return static_cast<VectorSearchMode>(search_mode_setting); }

size_t search_probes() { return static_cast<size_t>(search_probes_setting); }

size_t search_rerank() { return static_cast<size_t>(search_rerank_setting); }

size_t search_index_rows() { return static_cast<size_t>(search_index_rows_setting); }

std::string user_id() { return user_id_setting ? user_id_setting : ""; }

std::string tenant_id() { return tenant_id_setting ? tenant_id_setting : ""; }

bool user_admin() { return user_admin_setting; }

void bind_embedding_key(EmbeddingSettings& s) {
    if (s.provider == "local") return;
    EmbeddingSettings defaults = s;
    defaults.base_url.clear();
    s.api_key = key_for(s.provider, resolved_embedding_url(s), resolved_embedding_url(defaults));
}

std::vector<ChatSettings> chat_providers() {
    std::vector<ChatSettings> out = chat_settings_list();
    for (auto& c : out) {
        if (c.provider == "extractive") continue;
        ChatSettings defaults = c;
        defaults.base_url.clear();
        c.api_key = key_for(c.provider, resolved_chat_url(c), resolved_chat_url(defaults));
    }
    return out;
}

std::string system_prompt() {
    return system_prompt_setting && *system_prompt_setting ? system_prompt_setting : kDefaultSystemPrompt;
}

int max_context_tokens() { return max_context_tokens_setting; }

std::string answer_settings_key() {
    std::string key = std::string(llm_providers ? llm_providers : "") + "|" + system_prompt() + "|" +
                      std::to_string(max_context_tokens_setting) + "|" + std::to_string(max_answer_tokens) + "|" +
                      std::to_string(llm_temperature);
    for (const auto& c : chat_settings_list())
        key += "|" + c.provider + ":" + resolved_chat_model(c) + "@" + c.base_url;
    return key;
}

}  // namespace pgrag::pg
