// Exact vector search over the knowledge base from a backend-local matrix, and corpus statistics
// for BM25, both cached until the knowledge base changes.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../core/distance.hpp"
#include "../core/error.hpp"
#include "../core/vector_index.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "catalog.hpp"
#include "embedding.hpp"
#include "settings.hpp"
#include "spi.hpp"

namespace pgrag::pg {
namespace {

// Identifies the state of the knowledge base as this statement sees it (rag_kb_version(): every
// statement that changes documents or chunks inserts a row into rag_kb_changes, transactionally).
std::string kb_fingerprint(const ExtensionCatalog& cat) {
    std::string fingerprint;
    run_sql("SELECT " + cat.schema_sql + ".rag_kb_version()", {}, true, [&](const SqlRow& row) {
                bool is_null;
                Datum d = row.get(1, &is_null);
                fingerprint = pg_guard([&] { return std::string(TextDatumGetCString(d)); });
            });
    return fingerprint;
}

// The vectors of one dimension, as of one fingerprint.
struct VectorCache {
    std::string fingerprint;
    Oid user = InvalidOid;  // loaded with this role's privileges: another role (SET ROLE) reloads
    size_t dims = 0;
    bool too_big = false;
    std::unique_ptr<VectorMatrix> matrix;
    std::map<std::string, uint16_t> groups;  // embedding_model -> group tag
};
VectorCache cache;

struct StatsCache {
    std::string fingerprint;
    int64 chunks = 0;
    double average_tokens = 0;
} stats_cache;

// (Re)loads every chunk embedding of `dims` dimensions, in batches through a cursor.
void load_vectors(const ExtensionCatalog& cat, const std::string& fingerprint, size_t dims) {
    cache = VectorCache{};
    cache.fingerprint = fingerprint;  // read before loading: a newer state only ever forces a reload
    cache.user = GetUserId();
    cache.dims = dims;
    double cap_mb = search_cache_mb();
    int64 rows = 0;
    run_sql("SELECT count(*) FROM " + cat.schema_sql + ".rag_chunks WHERE embedding IS NOT NULL AND " + cat.schema_sql +
                ".dims(embedding) = $1",
            {{INT4OID, Int32GetDatum(static_cast<int32>(dims))}}, true, [&](const SqlRow& row) {
                bool is_null;
                rows = DatumGetInt64(row.get(1, &is_null));
            });
    if (static_cast<double>(rows) * static_cast<double>(dims) * 4.0 > cap_mb * 1024 * 1024) {
        cache.too_big = true;
        return;
    }
    auto matrix = std::make_unique<VectorMatrix>(dims, static_cast<size_t>(rows));
    std::string sql = "SELECT id, document_id, embedding, coalesce(embedding_model, '') FROM " + cat.schema_sql +
                      ".rag_chunks WHERE embedding IS NOT NULL AND " + cat.schema_sql + ".dims(embedding) = $1";
    Oid types[1] = {INT4OID};
    Datum values[1] = {Int32GetDatum(static_cast<int32>(dims))};
    Portal portal = pg_guard([&] {
        SPI_connect();
        return SPI_cursor_open_with_args(nullptr, sql.c_str(), 1, types, values, nullptr, true, 0);
    });
    for (;;) {
        throw_if_interrupted();
        uint64 n = pg_guard([&] {
            SPI_cursor_fetch(portal, true, 2000);
            return SPI_processed;
        });
        if (n == 0) break;
        for (uint64 i = 0; i < n; ++i) {
            SqlRow row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
            bool null_id, null_doc, null_emb, null_model;
            int64 id = DatumGetInt64(row.get(1, &null_id));
            int64 doc = DatumGetInt64(row.get(2, &null_doc));
            Datum e = row.get(3, &null_emb);
            Datum m = row.get(4, &null_model);
            std::string model = pg_guard([&] { return std::string(TextDatumGetCString(m)); });
            auto* emb = pg_guard([&] { return reinterpret_cast<Embedding*>(PG_DETOAST_DATUM(e)); });
            auto [it, inserted] = cache.groups.emplace(model, static_cast<uint16_t>(cache.groups.size()));
            matrix->add(id, doc, it->second, emb->x);
        }
        pg_guard([&] { SPI_freetuptable(SPI_tuptable); });
    }
    pg_guard([&] {
        SPI_cursor_close(portal);
        SPI_finish();
    });
    cache.matrix = std::move(matrix);
}

Metric metric_from(const std::string& name) {
    if (name == "cosine") return Metric::Cosine;
    if (name == "l2") return Metric::L2;
    if (name == "inner_product") return Metric::NegativeInnerProduct;
    throw Error(ErrorCode::InvalidParameterValue, "unknown distance metric \"" + name + "\"", "",
                "Valid metrics are cosine, l2 and inner_product.");
}

const char* operator_for(Metric m) {
    return m == Metric::Cosine ? "<=>" : m == Metric::L2 ? "<->" : "<#>";
}

}  // namespace
}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_search_vector(query, k, filter, model, metric) -> (chunk_id, document_id, distance): exact top-k,
// ordered by distance then chunk id, exactly as ORDER BY embedding <op> query, id LIMIT k.
PGRAG_FUNCTION(rag_search_vector) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) throw Error(ErrorCode::NullValueNotAllowed, "query and k must not be NULL");
    Embedding* query = embedding_arg(fcinfo, 0);
    int k = PG_GETARG_INT32(1);
    if (k < 1 || k > 10000) throw Error(ErrorCode::InvalidParameterValue, "k must be between 1 and 10000, not " + std::to_string(k));
    Datum filter = PG_ARGISNULL(2) ? (Datum)0 : PG_GETARG_DATUM(2);
    std::optional<std::string> model;
    if (!PG_ARGISNULL(3)) model = text_arg(fcinfo, 3);
    Metric metric = metric_from(PG_ARGISNULL(4) ? distance_metric() : text_arg(fcinfo, 4));
    ExtensionCatalog cat = extension_catalog(fcinfo);
    size_t dims = static_cast<size_t>(query->dim);

    std::string fingerprint = kb_fingerprint(cat);
    if (cache.fingerprint != fingerprint || cache.dims != dims || cache.user != GetUserId())
        load_vectors(cat, fingerprint, dims);

    std::vector<Neighbour> found;
    if (cache.too_big) {
        // Over pg_rag.search_cache_mb: the same exact answer from a plain scan.
        std::string sql = "SELECT c.id, c.document_id, (c.embedding " + std::string(operator_for(metric)) +
                          " $1)::float8 AS distance FROM " + cat.schema_sql + ".rag_chunks c JOIN " + cat.schema_sql +
                          ".rag_documents d ON d.id = c.document_id WHERE c.embedding IS NOT NULL AND " + cat.schema_sql +
                          ".dims(c.embedding) = $2 AND ($3::text IS NULL OR c.embedding_model = $3) AND ($4::jsonb IS NULL"
                          " OR d.metadata @> $4) ORDER BY 3, 1 LIMIT $5";
        Datum model_datum = model ? pg_guard([&] { return PointerGetDatum(cstring_to_text(model->c_str())); }) : (Datum)0;
        run_sql(sql,
                {{cat.embedding_type, PointerGetDatum(query)},
                 {INT4OID, Int32GetDatum(static_cast<int32>(dims))},
                 {TEXTOID, model_datum, !model},
                 {JSONBOID, filter, filter == 0},
                 {INT4OID, Int32GetDatum(k)}},
                true, [&](const SqlRow& row) {
                    bool n1, n2, n3;
                    found.push_back({DatumGetInt64(row.get(1, &n1)), DatumGetInt64(row.get(2, &n2)),
                                     DatumGetFloat8(row.get(3, &n3))});
                });
    } else {
        RowFilter rows;
        std::vector<int64_t> owners;
        if (model) {
            auto it = cache.groups.find(*model);
            rows.group = it == cache.groups.end() ? 65535 : it->second;  // unknown model: nothing matches
        }
        if (filter != 0) {
            run_sql("SELECT id FROM " + cat.schema_sql + ".rag_documents WHERE metadata @> $1 ORDER BY id",
                    {{JSONBOID, filter}}, true, [&](const SqlRow& row) {
                        bool is_null;
                        owners.push_back(DatumGetInt64(row.get(1, &is_null)));
                    });
            rows.owners = &owners;
        }
        found = nearest(*cache.matrix, query->x, metric, static_cast<size_t>(k), rows, throw_if_interrupted);
    }

    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& n : found) {
        Datum values[3] = {Int64GetDatum(n.id), Int64GetDatum(n.owner), Float8GetDatum(n.distance)};
        bool nulls[3] = {false, false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}

// rag_kb_stats() -> (chunks, average_tokens): BM25's corpus statistics, cached until the KB changes.
PGRAG_FUNCTION(rag_kb_stats) {
    ExtensionCatalog cat = extension_catalog(fcinfo);
    std::string fingerprint = kb_fingerprint(cat);
    if (stats_cache.fingerprint != fingerprint) {
        StatsCache fresh;
        fresh.fingerprint = fingerprint;
        run_sql("SELECT count(*), coalesce(avg(token_count), 0)::float8 FROM " + cat.schema_sql + ".rag_chunks", {}, true,
                [&](const SqlRow& row) {
                    bool n1, n2;
                    fresh.chunks = DatumGetInt64(row.get(1, &n1));
                    fresh.average_tokens = DatumGetFloat8(row.get(2, &n2));
                });
        stats_cache = fresh;
    }
    return pg_guard([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) elog(ERROR, "return type must be a row type");
        desc = BlessTupleDesc(desc);
        Datum values[2] = {Int64GetDatum(stats_cache.chunks), Float8GetDatum(stats_cache.average_tokens)};
        bool nulls[2] = {false, false};
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}
