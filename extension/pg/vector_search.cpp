// Exact vector search over the knowledge base from a backend-local matrix, kept in step with the
// knowledge base through the change log.
#include <algorithm>
#include <map>
#include <memory>

#include "../core/error.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "identity.hpp"
#include "kb_changes.hpp"
#include "search.hpp"
#include "settings.hpp"
#include "spi.hpp"

namespace pgrag::pg {
namespace {

// The vectors of one dimension, of every chunk whoever owns it (loaded as the table's owner): each
// row's scope tells who may see it, and a search skips the rows its caller may not.
struct VectorCopy {
    ChangeTracker tracker;
    int64_t reloads = 0;
    int64_t updates = 0;
    size_t dims = 0;
    double cap_mb = -1;  // pg_rag.search_cache_mb when loaded: a different cap decides afresh
    bool too_big = false;
    std::unique_ptr<VectorMatrix> matrix;
    std::map<std::string, uint16_t> groups;  // embedding_model -> group tag
    ScopeTable scopes;
};
VectorCopy copy;

bool over_cap(size_t rows, size_t dims, double cap_mb) {
    return static_cast<double>(rows) * static_cast<double>(dims) * 4.0 > cap_mb * 1024 * 1024;
}

// Adds the rows of a query selecting (id, document_id, embedding, model, owner_id, tenant_id), fetched
// in batches.
void add_rows(const std::string& sql, const std::vector<SqlArg>& args) {
    Portal portal = open_cursor(sql, args);
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
            auto [it, inserted] = copy.groups.emplace(model, static_cast<uint16_t>(copy.groups.size()));
            ScopeId scope = copy.scopes.intern(optional_text(row, 5), optional_text(row, 6));
            copy.matrix->add(id, doc, it->second, emb->x, scope);
        }
        pg_guard([&] { SPI_freetuptable(SPI_tuptable); });
    }
    pg_guard([&] {
        SPI_cursor_close(portal);
        SPI_finish();
    });
}

std::string select_rows(const ExtensionCatalog& cat, Oid chunks) {
    return "SELECT id, document_id, embedding, coalesce(embedding_model, ''), " +
           std::string(chunks_have_owners(chunks) ? "owner_id, tenant_id" : "NULL::text, NULL::text") + " FROM " +
           cat.schema_sql + ".rag_chunks WHERE embedding IS NOT NULL AND " + cat.schema_sql + ".dims(embedding) = $1";
}

// (Re)loads every chunk embedding of `dims` dimensions, unless they exceed the cap.
void load(const ExtensionCatalog& cat, Oid chunks, size_t dims, double cap_mb) {
    copy.matrix.reset();
    copy.groups.clear();
    copy.scopes = ScopeTable();
    copy.dims = dims;
    copy.cap_mb = cap_mb;
    copy.too_big = false;
    int64 rows = 0;
    run_sql("SELECT count(*) FROM " + cat.schema_sql + ".rag_chunks WHERE embedding IS NOT NULL AND " + cat.schema_sql +
                ".dims(embedding) = $1",
            {{INT4OID, Int32GetDatum(static_cast<int32>(dims))}}, true, [&](const SqlRow& row) {
                bool is_null;
                rows = DatumGetInt64(row.get(1, &is_null));
            });
    if (over_cap(static_cast<size_t>(rows), dims, cap_mb)) {
        copy.too_big = true;
        return;
    }
    // Headroom: appending past capacity moves the whole matrix.
    copy.matrix = std::make_unique<VectorMatrix>(dims, static_cast<size_t>(rows + rows / 8 + 1024));
    add_rows(select_rows(cat, chunks) + " ORDER BY id", {{INT4OID, Int32GetDatum(static_cast<int32>(dims))}});
}

// Brings the copy to this statement's snapshot: re-reads the chunks changed since, or reloads. Every
// chunk, as the table's owner: what the caller may see is decided at search time.
void sync(const ExtensionCatalog& cat, size_t dims) {
    Oid chunks = readable_chunks(cat);
    double cap_mb = search_cache_mb();
    CatchUp change = catch_up(cat, copy.tracker);
    bool reload = change.reload || copy.tracker.snapshot.empty() || copy.dims != dims || copy.cap_mb != cap_mb ||
                  (copy.too_big && !change.reread.empty()) ||
                  (copy.matrix && change.reread.size() > copy.matrix->live_rows() / 2 + 1000);
    copy.tracker.snapshot.clear();  // until the copy is consistent again
    as_role(relation_owner(cat, "rag_chunks"), [&] {
        if (reload) {
            copy.reloads++;
            load(cat, chunks, dims, cap_mb);
        } else if (!change.reread.empty() && copy.matrix) {
            copy.updates++;
            for (int64_t id : change.reread) copy.matrix->remove(id);
            add_rows(select_rows(cat, chunks) + " AND id = ANY($2)",
                     {{INT4OID, Int32GetDatum(static_cast<int32>(dims))}, {INT8ARRAYOID, int8_array(change.reread)}});
            if (over_cap(copy.matrix->live_rows(), dims, cap_mb)) {
                copy.matrix.reset();
                copy.too_big = true;
            }
        }
    });
    copy.tracker.snapshot = change.snapshot;
}

// The scopes the caller sees, or nullptr when row-level security does not apply to them (they see all).
std::optional<VisibleScopes> visible_scopes(const ExtensionCatalog& cat) {
    if (!row_security_applies(readable_chunks(cat))) return std::nullopt;
    return copy.scopes.visible_to(current_viewer());
}

}  // namespace

CopyInfo vector_copy_info(const ExtensionCatalog& cat) {
    CopyInfo info;
    info.state = copy.too_big ? "over cap" : copy.matrix ? "in memory" : "not loaded";
    if (copy.matrix) {
        // What the caller may see of it: the copy's size would count other users' chunks.
        std::optional<VisibleScopes> visible = visible_scopes(cat);
        info.chunks = static_cast<int64_t>(copy.matrix->live_rows(visible ? &*visible : nullptr));
    }
    info.reloads = copy.reloads;
    info.updates = copy.updates;
    return info;
}

std::vector<Neighbour> vector_top_k(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                    const std::optional<std::string>& model, Metric metric) {
    size_t dims = static_cast<size_t>(query->dim);
    sync(cat, dims);
    std::vector<Neighbour> found;
    if (copy.too_big) {
        // Over pg_rag.search_cache_mb: the same exact answer from a plain scan.
        std::string sql = "SELECT c.id, c.document_id, (c.embedding " + std::string(operator_for(metric)) +
                          " $1)::float8 AS distance FROM " + cat.schema_sql + ".rag_chunks c JOIN " + cat.schema_sql +
                          ".rag_documents d ON d.id = c.document_id WHERE c.embedding IS NOT NULL AND " +
                          cat.schema_sql +
                          ".dims(c.embedding) = $2 AND ($3::text IS NULL OR c.embedding_model = $3) AND ($4::jsonb "
                          "IS NULL OR d.metadata @> $4) ORDER BY 3, 1 LIMIT $5";
        Datum model_datum = model ? text_datum(*model) : (Datum)0;
        run_sql(sql,
                {{cat.embedding_type, PointerGetDatum(query)},
                 {INT4OID, Int32GetDatum(static_cast<int32>(dims))},
                 {TEXTOID, model_datum, !model},
                 {JSONBOID, filter, filter == 0},
                 {INT4OID, Int32GetDatum(static_cast<int32>(k))}},
                true, [&](const SqlRow& row) {
                    bool n1, n2, n3;
                    found.push_back({DatumGetInt64(row.get(1, &n1)), DatumGetInt64(row.get(2, &n2)),
                                     DatumGetFloat8(row.get(3, &n3))});
                });
        return found;
    }
    RowFilter rows;
    std::optional<VisibleScopes> visible = visible_scopes(cat);
    rows.scopes = visible ? &*visible : nullptr;
    std::vector<int64_t> owners;
    if (model) {
        auto it = copy.groups.find(*model);
        rows.group = it == copy.groups.end() ? 65535 : it->second;  // unknown model: nothing matches
    }
    if (filter != 0) {
        owners = documents_matching(cat, filter);
        rows.owners = &owners;
    }
    return nearest(*copy.matrix, query->x, metric, k, rows, throw_if_interrupted);
}

}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_search_vector(query, k, filter, model, metric) -> (chunk_id, document_id, distance): exact top-k,
// ordered by distance then chunk id, exactly as ORDER BY embedding <op> query, id LIMIT k.
PGRAG_FUNCTION(rag_search_vector) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) throw Error(ErrorCode::NullValueNotAllowed, "query and k must not be NULL");
    Embedding* query = embedding_arg(fcinfo, 0);
    int k = PG_GETARG_INT32(1);
    if (k < 1 || k > 10000)
        throw Error(ErrorCode::InvalidParameterValue, "k must be between 1 and 10000, not " + std::to_string(k));
    Datum filter = PG_ARGISNULL(2) ? (Datum)0 : PG_GETARG_DATUM(2);
    std::optional<std::string> model = optional_text_arg(fcinfo, 3);
    Metric metric = metric_from(PG_ARGISNULL(4) ? distance_metric() : text_arg(fcinfo, 4));
    ExtensionCatalog cat = extension_catalog(fcinfo);
    std::vector<Neighbour> found = vector_top_k(cat, query, static_cast<size_t>(k), filter, model, metric);

    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& n : found) {
        Datum values[3] = {Int64GetDatum(n.id), Int64GetDatum(n.owner), Float8GetDatum(n.distance)};
        bool nulls[3] = {false, false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}
