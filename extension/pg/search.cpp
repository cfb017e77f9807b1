// rag_search's retrieval (vector, keyword or hybrid) and the one map from metric names to operators.
#include <optional>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/fusion.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "distributed_search.hpp"
#include "search.hpp"
#include "settings.hpp"
#include "spi.hpp"

namespace pgrag::pg {
namespace {

struct MetricName {
    const char* name;
    Metric metric;
    const char* op;
};
// inner_product is the negated inner product, as the <#> operator (smaller is nearer).
constexpr MetricName kMetrics[] = {{"cosine", Metric::Cosine, "<=>"},
                                   {"l2", Metric::L2, "<->"},
                                   {"inner_product", Metric::NegativeInnerProduct, "<#>"}};

enum class SearchMode { Vector, Keyword, Hybrid };

SearchMode mode_from(const std::string& name) {
    if (name == "vector") return SearchMode::Vector;
    if (name == "keyword") return SearchMode::Keyword;
    if (name == "hybrid") return SearchMode::Hybrid;
    throw Error(ErrorCode::InvalidParameterValue, "rag_search: unknown mode \"" + name + "\"", "",
                "Valid modes are vector, keyword and hybrid.");
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string::npos; }

// The query's embedding by the configured provider, and the model name chunks must carry to be compared.
std::pair<Embedding*, std::string> embed_query(const ExtensionCatalog& cat, const std::string& query) {
    Embedding* embedding = nullptr;
    std::string model;
    run_sql("SELECT " + cat.schema_sql + ".rag_embed($1), " + cat.schema_sql + ".rag_embedding_model()",
            {{TEXTOID, text_datum(query)}}, false, [&](const SqlRow& row) {
                bool n1, n2;
                Datum e = row.get(1, &n1);
                Datum m = row.get(2, &n2);
                embedding = pg_guard([&] {
                    // Copied out of SPI's memory, which run_sql releases.
                    struct varlena* v = PG_DETOAST_DATUM(e);
                    void* out = SPI_palloc(VARSIZE(v));
                    memcpy(out, v, VARSIZE(v));
                    return reinterpret_cast<Embedding*>(out);
                });
                if (!n2) model = pg_guard([&] { return std::string(TextDatumGetCString(m)); });
            });
    return {embedding, model};
}

FusionSettings fusion_settings() {
    FusionSettings s;
    s.rrf_k = real_setting("pg_rag.rrf_k");
    s.vector_weight = real_setting("pg_rag.hybrid_vector_weight");
    s.keyword_weight = real_setting("pg_rag.hybrid_keyword_weight");
    const char* provider = pg_guard([&] { return GetConfigOption("pg_rag.embedding_provider", false, false); });
    s.lexical_embedder = provider && std::string(provider) == "local";
    return s;
}

struct Ranked {
    int64_t id;
    double score;
    int vector_rank;   // 0: none
    int keyword_rank;  // 0: none
};

}  // namespace

Metric metric_from(const std::string& name) {
    for (const auto& m : kMetrics)
        if (name == m.name) return m.metric;
    throw Error(ErrorCode::InvalidParameterValue, "unknown distance metric \"" + name + "\"", "",
                "Valid metrics are cosine, l2 and inner_product.");
}

const char* operator_for(Metric metric) {
    for (const auto& m : kMetrics)
        if (metric == m.metric) return m.op;
    throw Error(ErrorCode::InvalidParameterValue, "metric without an SQL operator");
}

double score_for(Metric metric, double distance) { return metric == Metric::Cosine ? 1 - distance : -distance; }

}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_distance_operator(metric) -> text: the operator of a metric name (NULL: pg_rag.distance_metric).
PGRAG_FUNCTION(rag_distance_operator) {
    std::string name = PG_ARGISNULL(0) ? distance_metric() : text_arg(fcinfo, 0);
    return text_datum(operator_for(metric_from(name)));
}

// rag_search_ranked(query, query_embedding, k, mode, filter) -> (chunk_id, score, vector_rank, keyword_rank),
// best first: what rag_search returns, before it joins the chunks' and documents' columns.
PGRAG_FUNCTION(rag_search_ranked) {
    std::optional<std::string> query = optional_text_arg(fcinfo, 0);
    bool by_embedding = !PG_ARGISNULL(1);
    if (!by_embedding && (!query || blank(*query)))
        throw Error(ErrorCode::InvalidParameterValue, "rag_search: the query is empty");
    if (PG_ARGISNULL(2))
        throw Error(ErrorCode::InvalidParameterValue, "rag_search: k must be between 1 and 1000, not NULL");
    int k = PG_GETARG_INT32(2);
    if (k < 1 || k > 1000)
        throw Error(ErrorCode::InvalidParameterValue,
                    "rag_search: k must be between 1 and 1000, not " + std::to_string(k));
    if (PG_ARGISNULL(3))
        throw Error(ErrorCode::InvalidParameterValue, "rag_search: unknown mode \"NULL\"", "",
                    "Valid modes are vector, keyword and hybrid.");
    SearchMode mode = mode_from(text_arg(fcinfo, 3));
    if (by_embedding) mode = SearchMode::Vector;
    Datum filter = PG_ARGISNULL(4) ? (Datum)0 : PG_GETARG_DATUM(4);
    ExtensionCatalog cat = extension_catalog(fcinfo);
    Metric metric = metric_from(distance_metric());
    size_t candidates = mode == SearchMode::Hybrid ? fusion_candidates(static_cast<size_t>(k)) : static_cast<size_t>(k);

    std::vector<Neighbour> near;
    std::vector<ScoredChunk> words;
    // Citus hook: a distributed knowledge base is searched per shard, merged here (distributed_search.cpp).
    bool distributed = knowledge_base_distributed(cat);
    auto nearest_k = [&](Embedding* q, const std::optional<std::string>& model) {
        return distributed ? distributed_vector_top_k(cat, q, candidates, filter, model, metric)
                           : vector_top_k(cat, q, candidates, filter, model, metric);
    };
    if (mode != SearchMode::Keyword) {
        if (by_embedding) {
            near = nearest_k(embedding_arg(fcinfo, 1), std::nullopt);
        } else {
            auto [embedding, model] = embed_query(cat, *query);
            near = nearest_k(embedding, model);
        }
    }
    if (mode != SearchMode::Vector)
        words = distributed ? distributed_keyword_top_k(cat, *query, candidates, filter)
                            : keyword_top_k(cat, *query, candidates, filter);

    std::vector<Ranked> out;
    if (mode == SearchMode::Vector) {
        for (size_t i = 0; i < near.size(); ++i)
            out.push_back({near[i].id, score_for(metric, near[i].distance), static_cast<int>(i + 1), 0});
    } else if (mode == SearchMode::Keyword) {
        for (size_t i = 0; i < words.size(); ++i)
            out.push_back({words[i].id, words[i].score, 0, static_cast<int>(i + 1)});
    } else {
        std::vector<RankedHit> v, kw;
        for (const auto& n : near) v.push_back({n.id, n.distance});
        for (const auto& w : words) kw.push_back({w.id, w.score});
        for (const FusedHit& h : fuse(v, kw, fusion_settings(), static_cast<size_t>(k)))
            out.push_back({h.id, h.score, h.vector_rank, h.keyword_rank});
    }

    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& r : out) {
        Datum values[4] = {Int64GetDatum(r.id), Float8GetDatum(r.score), Int32GetDatum(r.vector_rank),
                           Int32GetDatum(r.keyword_rank)};
        bool nulls[4] = {false, false, r.vector_rank == 0, r.keyword_rank == 0};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}

// rag_search_copies() -> (copy, state, chunks, reloads, updates, generation, base_rows, overlay_rows):
// this backend's copies (generation, base_rows, overlay_rows: NULL without a shared base).
PGRAG_FUNCTION(rag_search_copies) {
    ExtensionCatalog cat = extension_catalog(fcinfo);
    std::vector<std::pair<std::string, CopyInfo>> copies = {{"vector", vector_copy_info(cat)},
                                                            {"keyword", keyword_copy_info(cat)}};
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& [name, info] : copies) {
        Datum values[8] = {text_datum(name),
                           text_datum(info.state),
                           Int64GetDatum(info.chunks),
                           Int64GetDatum(info.reloads),
                           Int64GetDatum(info.updates),
                           Int64GetDatum(info.generation),
                           Int64GetDatum(info.base_rows),
                           Int64GetDatum(info.overlay_rows)};
        bool no_base = info.generation == 0;
        bool nulls[8] = {false, false, false, false, false, no_base, no_base, no_base};
        // Under the SQL of 0.7.0 the result has the first 5 columns only: the others are not read.
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}
