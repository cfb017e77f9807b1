// rag_embed(): text to embeddings with the configured provider, through the embedding cache.
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../core/embedding_providers.hpp"
#include "../core/error.hpp"
#include "../core/local_embedder.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "catalog.hpp"
#include "embedding.hpp"
#include "settings.hpp"
#include "spi.hpp"

namespace pgrag::pg {
namespace {

// Per-backend counters, reported by rag_embedding_stats().
struct EmbedStats {
    int64 texts_embedded = 0;  // texts sent to a remote provider
    int64 cache_hits = 0;
    int64 cache_misses = 0;
} stats;

// One HTTP client per backend: its connections stay open between calls (keep-alive).
http::Client& backend_client() {
    static http::Client client;
    return client;
}

Embedding* embedding_from_floats(const std::vector<float>& values) {
    Embedding* e = new_embedding(static_cast<int>(values.size()));
    std::copy(values.begin(), values.end(), e->x);
    return e;
}

// The cache key: provider, the endpoint that computed the vectors (so a role pointing the provider at its
// own server only fills entries of that server), resolved model and requested dimensions (0 = the model's own).
struct CacheKey {
    std::string provider;
    std::string endpoint;
    std::string model;
    int dims;
};

// Looks texts up in rag_embedding_cache (as its owner); returns one optional embedding per text.
std::vector<std::optional<std::vector<float>>> cache_lookup(const ExtensionCatalog& cat, Oid owner, const CacheKey& key,
                                                            const std::vector<std::string>& texts) {
    std::vector<std::optional<std::vector<float>>> found(texts.size());
    // One index lookup per text on the whole primary key, hash included. A plain join (or a LATERAL
    // subquery the planner flattens into one) scans every entry of the model and hashes each pair when
    // the cache has no statistics yet: O(cache size) per call. OFFSET 0 keeps the subquery per text.
    // Every function, operator and type is qualified: this runs as the cache's owner under the
    // caller's search_path, where a look-alike sha256() or = would run with the owner's rights.
    std::string sql =
        "SELECT u.i, c.embedding FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY u(t, i)"
        " CROSS JOIN LATERAL (SELECT e.embedding FROM " +
        cat.schema_sql +
        ".rag_embedding_cache e"
        "  WHERE e.provider OPERATOR(pg_catalog.=) $2 AND e.model OPERATOR(pg_catalog.=) $3"
        "    AND e.dims OPERATOR(pg_catalog.=) $4 AND e.endpoint OPERATOR(pg_catalog.=) $5"
        "    AND e.text_hash OPERATOR(pg_catalog.=) pg_catalog.sha256(pg_catalog.convert_to(u.t, 'UTF8'))"
        "  OFFSET 0) c";
    Datum provider = pg_guard([&] { return PointerGetDatum(cstring_to_text(key.provider.c_str())); });
    Datum model = pg_guard([&] { return PointerGetDatum(cstring_to_text(key.model.c_str())); });
    Datum endpoint = pg_guard([&] { return PointerGetDatum(cstring_to_text(key.endpoint.c_str())); });
    as_role(owner, [&] {
        run_sql(sql,
                {{TEXTARRAYOID, text_array(texts)},
                 {TEXTOID, provider},
                 {TEXTOID, model},
                 {INT4OID, Int32GetDatum(key.dims)},
                 {TEXTOID, endpoint}},
                true, [&](const SqlRow& row) {
                    bool null_i, null_e;
                    int64 i = DatumGetInt64(row.get(1, &null_i)) - 1;
                    Datum d = row.get(2, &null_e);
                    if (null_i || null_e || i < 0 || static_cast<size_t>(i) >= texts.size()) return;
                    auto* e = pg_guard([&] { return reinterpret_cast<Embedding*>(PG_DETOAST_DATUM(d)); });
                    found[static_cast<size_t>(i)] = std::vector<float>(e->x, e->x + e->dim);
                });
    });
    return found;
}

// Stores new embeddings (as the cache's owner); an existing entry wins.
void cache_store(const ExtensionCatalog& cat, Oid owner, const CacheKey& key, const std::vector<std::string>& texts,
                 const std::vector<std::vector<float>>& embeddings) {
    if (texts.empty()) return;
    std::vector<Datum> items;
    for (const auto& e : embeddings) items.push_back(PointerGetDatum(embedding_from_floats(e)));
    Datum embedding_array = pg_guard([&] {
        return PointerGetDatum(
            construct_array(items.data(), static_cast<int>(items.size()), cat.embedding_type, -1, false, TYPALIGN_INT));
    });
    Datum provider = pg_guard([&] { return PointerGetDatum(cstring_to_text(key.provider.c_str())); });
    Datum model = pg_guard([&] { return PointerGetDatum(cstring_to_text(key.model.c_str())); });
    Datum endpoint = pg_guard([&] { return PointerGetDatum(cstring_to_text(key.endpoint.c_str())); });
    std::string sql = "INSERT INTO " + cat.schema_sql +
                      ".rag_embedding_cache (provider, endpoint, model, dims, text_hash, embedding)"
                      " SELECT $2, $6, $3, $4, pg_catalog.sha256(pg_catalog.convert_to(u.t, 'UTF8')), u.e"
                      " FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($5)) u(t, e)"
                      " ON CONFLICT DO NOTHING";  // qualified, as above
    as_role(owner, [&] {
        run_sql(sql,
                {{TEXTARRAYOID, text_array(texts)},
                 {TEXTOID, provider},
                 {TEXTOID, model},
                 {INT4OID, Int32GetDatum(key.dims)},
                 {cat.embedding_array_type, embedding_array},
                 {TEXTOID, endpoint}},
                false);
    });
}

// Sends texts to the remote provider with the key bound to its URL, read only now.
std::vector<std::vector<float>> embed_remote(EmbeddingSettings s, const std::vector<std::string>& texts) {
    bind_embedding_key(s);
    return embed_texts(s, texts, backend_client(), interrupt_pending);
}

// Embeds texts (none NULL) with settings s: local in process, remote through the cache and the provider.
std::vector<std::vector<float>> embed_all(FunctionCallInfo fcinfo, const EmbeddingSettings& s,
                                          const std::vector<std::string>& texts) {
    if (s.provider == "local") {  // in process: polled inside each text too, so a huge text can be cancelled
        std::vector<std::vector<float>> out;
        out.reserve(texts.size());
        for (const auto& t : texts) out.push_back(local_embed(t, s.local_dims, throw_if_interrupted));
        return out;
    }
    if (!embedding_cache_enabled()) {
        auto out = embed_remote(s, texts);
        stats.texts_embedded += static_cast<int64>(texts.size());
        return out;
    }
    ExtensionCatalog cat = extension_catalog(fcinfo);
    Oid owner = relation_owner(cat, "rag_embedding_cache");
    CacheKey key{s.provider, resolved_embedding_url(s), resolved_embedding_model(s), s.dimensions};
    auto cached = cache_lookup(cat, owner, key, texts);

    // Each distinct missing text is sent once, even when it appears several times in the input.
    std::vector<std::string> missing;
    std::unordered_map<std::string_view, size_t> slot_by_text;
    std::vector<size_t> slot_of(texts.size(), SIZE_MAX);
    for (size_t i = 0; i < texts.size(); ++i) {
        if (cached[i]) continue;
        auto [it, inserted] = slot_by_text.emplace(texts[i], missing.size());
        if (inserted) missing.push_back(texts[i]);
        slot_of[i] = it->second;
    }
    std::vector<std::vector<float>> fresh;
    if (!missing.empty()) {
        fresh = embed_remote(s, missing);
        stats.texts_embedded += static_cast<int64>(missing.size());
        cache_store(cat, owner, key, missing, fresh);
    }
    std::vector<std::vector<float>> out(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        if (cached[i]) {
            ++stats.cache_hits;
            out[i] = std::move(*cached[i]);
        } else {
            ++stats.cache_misses;
            out[i] = fresh[slot_of[i]];
        }
    }
    return out;
}

EmbeddingSettings call_settings(FunctionCallInfo fcinfo) {
    auto model = optional_text_arg(fcinfo, 1);
    auto provider = optional_text_arg(fcinfo, 2);
    return embedding_settings(provider ? provider->c_str() : nullptr, model ? model->c_str() : nullptr);
}

}  // namespace
}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_embed(text, model, provider) -> embedding; NULL text gives NULL.
PGRAG_FUNCTION(rag_embed_text) {
    if (PG_ARGISNULL(0)) {
        fcinfo->isnull = true;
        return (Datum)0;
    }
    EmbeddingSettings s = call_settings(fcinfo);
    auto out = embed_all(fcinfo, s, {text_arg(fcinfo, 0)});
    return PointerGetDatum(embedding_from_floats(out.at(0)));
}

// rag_embed(text[], model, provider) -> embedding[] in input order; NULL elements give NULL elements.
PGRAG_FUNCTION(rag_embed_array) {
    if (PG_ARGISNULL(0)) {
        fcinfo->isnull = true;
        return (Datum)0;
    }
    ArrayType* input = pg_guard([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    if (ARR_NDIM(input) > 1) throw Error(ErrorCode::DataException, "rag_embed takes a one-dimensional text array");
    Datum* elements = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    pg_guard([&] { deconstruct_array(input, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count); });
    std::vector<std::string> texts;
    std::vector<int> position;  // index into texts, or -1 for NULL
    for (int i = 0; i < count; ++i) {
        if (nulls[i]) {
            position.push_back(-1);
            continue;
        }
        position.push_back(static_cast<int>(texts.size()));
        texts.push_back(pg_guard([&] { return std::string(text_to_cstring(DatumGetTextPP(elements[i]))); }));
    }
    EmbeddingSettings s = call_settings(fcinfo);
    auto out = texts.empty() ? std::vector<std::vector<float>>{} : embed_all(fcinfo, s, texts);
    ExtensionCatalog cat = extension_catalog(fcinfo);
    std::vector<Datum> items(static_cast<size_t>(std::max(count, 1)));
    std::vector<bool> item_null(items.size(), false);
    for (int i = 0; i < count; ++i) {
        if (position[static_cast<size_t>(i)] < 0) {
            item_null[static_cast<size_t>(i)] = true;
            continue;
        }
        items[static_cast<size_t>(i)] =
            PointerGetDatum(embedding_from_floats(out[static_cast<size_t>(position[static_cast<size_t>(i)])]));
    }
    return pg_guard([&] {
        bool* null_flags = static_cast<bool*>(palloc(sizeof(bool) * items.size()));
        for (size_t i = 0; i < items.size(); ++i) null_flags[i] = item_null[i];
        int dims[1] = {count};
        int lbs[1] = {1};
        return PointerGetDatum(
            construct_md_array(items.data(), null_flags, 1, dims, lbs, cat.embedding_type, -1, false, TYPALIGN_INT));
    });
}

// rag_embed_local(text, dims): the built-in embedder alone; immutable, so usable in generated columns.
PGRAG_FUNCTION(rag_embed_local) {
    std::string text = text_arg(fcinfo, 0);
    int dims = PG_GETARG_INT32(1);
    return PointerGetDatum(embedding_from_floats(local_embed(text, dims, throw_if_interrupted)));
}

// rag_embedding_stats(): this backend's provider requests, retries, texts embedded and cache use.
PGRAG_FUNCTION(rag_embedding_stats) {
    const http::Stats& h = backend_client().stats();
    return pg_guard([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "return type must be a row type");
        desc = BlessTupleDesc(desc);
        Datum values[5] = {Int64GetDatum(static_cast<int64>(h.requests)), Int64GetDatum(static_cast<int64>(h.retries)),
                           Int64GetDatum(stats.texts_embedded), Int64GetDatum(stats.cache_hits),
                           Int64GetDatum(stats.cache_misses)};
        bool nulls[5] = {false, false, false, false, false};
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}
