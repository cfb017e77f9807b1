// Exact (and approximate) vector search over the knowledge base. The vectors of one dimension are held
// once per database in a base snapshot file every backend maps read-only (shared_copy.hpp explains the
// base + private overlay scheme and its rules); each backend keeps its copy in step with what its
// snapshot sees through the change log (kb_changes.hpp): chunks changed since the base are masked in it
// and re-read into a small private matrix. Without a usable base (a transaction that wrote and has none
// mapped, a failure to write the file) the private matrix holds every chunk, as before 0.8.0.
//
// When bases are (re)built: by the first search of a dimension (nothing to map yet); when no base can be
// caught up to the snapshot (the change log was pruned past its snapshot, a truncate); when the overlay
// outgrows max(10 000 rows, 10% of the base) and the base is small enough to rebuild inside a query
// (kInlineRebuildRows); otherwise rag_refresh_search_copies() (the server's maintenance loop calls it)
// rebuilds. Only a transaction without an xid (it wrote nothing: the base holds committed data only) in
// READ COMMITTED (a repeatable-read snapshot may be older than the newest base) replaces a base.
// pg_rag.search_cache_mb caps the private matrix only (the overlay, or the private copy); the files
// use disk and the page cache, counted once however many backends map them.
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

#include "../core/error.hpp"
#include "../core/quantized_index.hpp"
#include "../core/vector_snapshot.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "identity.hpp"
#include "kb_changes.hpp"
#include "search.hpp"
#include "settings.hpp"
#include "shared_copy.hpp"
#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/acl.h"
}

namespace pgrag::pg {
namespace {

constexpr size_t kInlineRebuildRows = 200000;  // above: a stale base waits for rag_refresh_search_copies()
constexpr int kBuildWaitMs = 120000;           // the longest a search with nothing to map waits for a builder

size_t overlay_limit(size_t base_rows) { return std::max<size_t>(10000, base_rows / 10); }

// Rows held privately, with the group and scope numbering they (and the base, if any) use.
struct PrivateRows {
    std::unique_ptr<VectorMatrix> matrix;
    std::map<std::string, uint16_t> groups;  // embedding_model -> group tag
    ScopeTable scopes;
};

// The vectors of one dimension, of every chunk whoever owns it (loaded as the table's owner): each
// row's scope tells who may see it, and a search skips the rows its caller may not.
struct VectorCopy {
    ChangeTracker tracker;
    int64_t reloads = 0;  // full reads of the table (private copies and bases built)
    int64_t updates = 0;
    size_t dims = 0;
    Oid chunks = InvalidOid;
    double cap_mb = -1;  // pg_rag.search_cache_mb when loaded: a different cap decides afresh
    bool too_big = false;
    // A newer base this transaction could not catch up from (its snapshot is older): not retried in it.
    RefusedBase refused;                   // a newer base this transaction could not catch up from: not retried in it
    std::unique_ptr<VectorSnapshot> base;  // nullptr: `rows` holds every chunk
    std::optional<QuantizedIndex> index;   // the base's approximate index, if it has one
    uint64_t generation = 0;
    std::vector<uint64_t> masked;  // base rows changed since the base's snapshot, a bit each
    std::vector<size_t> base_live_in_scope;
    PrivateRows rows;  // the overlay (with a base) or the private copy
};
VectorCopy copy;

bool over_cap(size_t rows, size_t dims, double cap_mb) {
    return static_cast<double>(rows) * static_cast<double>(dims) * 4.0 > cap_mb * 1024 * 1024;
}

std::string base_key(Oid chunks, size_t dims) { return chunk_table_key(chunks) + "-" + std::to_string(dims); }

// Adds the rows of a query selecting (id, document_id, embedding, model, owner_id, tenant_id), fetched
// in batches.
void add_rows(PrivateRows& into, const std::string& sql, const std::vector<SqlArg>& args) {
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
            auto [it, inserted] = into.groups.emplace(model, static_cast<uint16_t>(into.groups.size()));
            ScopeId scope = into.scopes.intern(optional_text(row, 5), optional_text(row, 6));
            into.matrix->add(id, doc, it->second, emb->x, scope);
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

SqlArg dims_arg(size_t dims) { return {INT4OID, Int32GetDatum(static_cast<int32>(dims))}; }

// Every chunk embedding of `dims` dimensions into `into` (as the table's owner), unless they exceed
// cap_mb: false then.
bool load_all(const ExtensionCatalog& cat, Oid chunks, size_t dims, double cap_mb, PrivateRows& into) {
    int64 rows = 0;
    run_sql("SELECT count(*) FROM " + cat.schema_sql + ".rag_chunks WHERE embedding IS NOT NULL AND " + cat.schema_sql +
                ".dims(embedding) = $1",
            {dims_arg(dims)}, true, [&](const SqlRow& row) {
                bool is_null;
                rows = DatumGetInt64(row.get(1, &is_null));
            });
    if (over_cap(static_cast<size_t>(rows), dims, cap_mb)) return false;
    // Headroom: appending past capacity moves the whole matrix.
    into.matrix = std::make_unique<VectorMatrix>(dims, static_cast<size_t>(rows + rows / 8 + 1024));
    add_rows(into, select_rows(cat, chunks) + " ORDER BY id", {dims_arg(dims)});
    return true;
}

void mask_base_row(size_t row) {
    uint64_t bit = uint64_t{1} << (row & 63);
    if (copy.masked[row >> 6] & bit) return;
    copy.masked[row >> 6] |= bit;
    copy.base_live_in_scope[copy.base->view().scopes[row]]--;
}

size_t masked_rows() {
    size_t n = 0;
    for (uint64_t w : copy.masked) n += static_cast<size_t>(__builtin_popcountll(w));
    return n;
}

// Re-reads the changed chunks: masked in the base, replaced in the private rows by what the snapshot sees.
void apply(const ExtensionCatalog& cat, const CatchUp& change) {
    if (change.reread.empty() || !copy.rows.matrix) return;
    copy.updates++;
    for (int64_t id : change.reread) {
        if (copy.base)
            if (std::optional<size_t> row = copy.base->row_of(id)) mask_base_row(*row);
        copy.rows.matrix->remove(id);
    }
    as_role(relation_owner(cat, "rag_chunks"), [&] {
        add_rows(copy.rows, select_rows(cat, copy.chunks) + " AND id = ANY($2)",
                 {dims_arg(copy.dims), {INT8ARRAYOID, int8_array(change.reread)}});
    });
}

void forget() {
    copy.tracker = ChangeTracker();
    copy.index.reset();
    copy.base.reset();
    copy.generation = 0;
    copy.masked.clear();
    copy.base_live_in_scope.clear();
    copy.rows = PrivateRows();
    copy.too_big = false;
}

// Maps the base file `f` and catches up from its snapshot to ours; false (nothing changed) when the
// file is not a valid base of this table and dimension, or our snapshot cannot be reached from its.
bool adopt(const ExtensionCatalog& cat, const snapshot::Listed& f) {
    std::unique_ptr<VectorSnapshot> base;
    try {
        base = VectorSnapshot::open(f.path);
    } catch (const std::runtime_error&) {
        return false;  // corrupt, or removed since listed: the next builder replaces it
    }
    if (base->meta().chunk_table != copy.chunks || base->dims() != copy.dims) return false;
    PrivateRows rows;
    for (size_t g = 0; g < base->group_names().size(); ++g)
        if (!rows.groups.emplace(base->group_names()[g], static_cast<uint16_t>(g)).second) return false;
    for (size_t s = 0; s < base->scope_entries().size(); ++s)
        if (rows.scopes.intern(base->scope_entries()[s].owner, base->scope_entries()[s].tenant) != s) return false;
    ChangeTracker tracker;
    tracker.snapshot = base->meta().db_snapshot;
    CatchUp change = catch_up(cat, tracker);
    if (change.reload) return false;
    forget();
    copy.tracker = std::move(tracker);
    copy.base_live_in_scope.assign(base->scope_entries().size(), 0);
    RowsView v = base->view();
    for (size_t r = 0; r < v.rows; ++r) copy.base_live_in_scope[v.scopes[r]]++;
    copy.masked.assign((v.rows + 63) / 64, 0);
    if (std::optional<snapshot::File::Section> bytes = base->approximate_index()) {
        try {
            copy.index = QuantizedIndex::open(bytes->bytes, bytes->size, base->rows(), base->dims());
        } catch (const Error&) {
            // An index this library cannot read: exact search over the base until it is rebuilt.
        }
    }
    copy.base = std::move(base);
    copy.generation = f.generation;
    copy.rows = std::move(rows);
    copy.rows.matrix = std::make_unique<VectorMatrix>(copy.dims);
    apply(cat, change);
    copy.tracker.snapshot = change.snapshot;
    return true;
}

std::optional<snapshot::Listed> newest_base() {
    std::vector<snapshot::Listed> files =
        snapshot::list(snapshot_dir(), kVectorSnapshotKind, base_key(copy.chunks, copy.dims));
    if (files.empty()) return std::nullopt;
    return files.front();
}

// Whether this transaction may write a base: it wrote nothing, and its snapshot is the statement's (a
// repeatable-read snapshot may be older than the newest base: it would replace it with older data).
bool may_build() { return !xid_assigned() && (!IsolationUsesXactSnapshot() || !newest_base()); }

void warn(const std::string& message) {
    pg_guard([&] { ereport(WARNING, (errmsg("%s", message.c_str()))); });
}

MatrixView matrix_view(const RowsView& v) { return {v.values, v.norms, v.ids, v.rows, v.dims}; }

// Whether a base of `rows` gets the approximate index: pg_rag.search is approximate, or (when built by
// rag_refresh_search_copies, not inside a search: k-means takes far longer than the copy itself) it
// has pg_rag.search_index_rows chunks.
bool wants_index(size_t rows, bool refreshing) {
    if (rows == 0 || metric_from(distance_metric()) == Metric::L1) return false;
    return search_mode() == VectorSearchMode::Approximate || (refreshing && rows >= search_index_rows());
}

// The approximate index section, for pg_rag.distance_metric. m is compact (a fresh load).
void write_index(snapshot::Writer& w, const VectorMatrix& m, bool refreshing) {
    Metric metric = metric_from(distance_metric());
    if (!wants_index(m.rows(), refreshing)) return;
    QuantizedBuildOptions o;
    o.metric = metric;
    w.begin(kApproximateIndex);
    build_quantized_index(
        matrix_view(m.view()), o, [&](const void* bytes, size_t size) { w.append(bytes, size); }, throw_if_interrupted);
}

// Writes a new base of every committed chunk (under the directory's lock) and maps it. False when
// another backend holds the lock past `wait_ms`, or the file could not be written (a warning says so).
bool build_base(const ExtensionCatalog& cat, int wait_ms, bool refreshing = false) {
    std::optional<snapshot::Listed> before = newest_base();
    std::optional<snapshot::DirLock> lock;
    try {
        lock = lock_snapshot_dir(wait_ms);
    } catch (const Error&) {
        throw;  // a cancel
    } catch (const std::runtime_error& e) {
        warn(std::string("pg_rag: cannot write shared search copies, searching a private copy: ") + e.what());
        return false;
    }
    if (!lock) return false;
    // Another backend may have built one while we waited.
    std::optional<snapshot::Listed> now = newest_base();
    if (now && (!before || now->generation > before->generation) && adopt(cat, *now)) return true;
    PrivateRows rows;
    std::string s0;
    const auto started = std::chrono::steady_clock::now();
    as_role(relation_owner(cat, "rag_chunks"), [&] {
        run_sql("SELECT pg_catalog.pg_current_snapshot()::text", {}, true,
                [&](const SqlRow& row) { s0 = optional_text(row, 1).value_or(""); });
        load_all(cat, copy.chunks, copy.dims, INFINITY, rows);
    });
    copy.reloads++;
    std::string dir = snapshot_dir(), key = base_key(copy.chunks, copy.dims);
    if (rows.matrix->live_rows() == 0) {
        // No chunks of this dimension (any more): no base, and none left to map.
        for (const snapshot::Listed& f : snapshot::list(dir, kVectorSnapshotKind, key)) ::unlink(f.path.c_str());
        return false;
    }
    snapshot::Listed file{snapshot::next_generation(dir), ""};
    file.path = snapshot::file_name(dir, kVectorSnapshotKind, key, file.generation);
    try {
        std::vector<std::string> names(rows.groups.size());
        for (const auto& [name, tag] : rows.groups) names[tag] = name;
        const auto read = std::chrono::steady_clock::now();
        snapshot::Writer w(file.path, kVectorSnapshotKind, throw_if_interrupted);
        write_vector_snapshot(w, *rows.matrix, names, rows.scopes, {s0, copy.chunks});
        const auto vectors = std::chrono::steady_clock::now();
        write_index(w, *rows.matrix, refreshing);
        const auto index = std::chrono::steady_clock::now();
        w.commit();
        const auto ms = [](auto from, auto to) {
            return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
        };
        const long phases[4] = {ms(started, read), ms(read, vectors), ms(vectors, index),
                                ms(index, std::chrono::steady_clock::now())};
        pg_guard([&] {
            elog(DEBUG1, "pg_rag: vector base of %ld rows: read %ld ms, vectors %ld ms, index %ld ms, commit %ld ms",
                 static_cast<long>(rows.matrix->live_rows()), phases[0], phases[1], phases[2], phases[3]);
        });
    } catch (const Error&) {
        throw;
    } catch (const std::runtime_error& e) {
        warn(std::string("pg_rag: could not write a shared search copy, searching a private copy: ") + e.what());
        return false;
    }
    remove_superseded(kVectorSnapshotKind, key, file.generation, copy.chunks);
    return adopt(cat, file);
}

// Every chunk into the private matrix, as before shared copies (or none over the cap).
void load_private(const ExtensionCatalog& cat) {
    forget();
    CatchUp change = catch_up(cat, copy.tracker);  // from nothing: only the snapshot and our own writes
    copy.reloads++;
    copy.rows = PrivateRows();
    as_role(relation_owner(cat, "rag_chunks"),
            [&] { copy.too_big = !load_all(cat, copy.chunks, copy.dims, copy.cap_mb, copy.rows); });
    copy.tracker.snapshot = change.snapshot;
}

size_t overlay_rows() { return (copy.rows.matrix ? copy.rows.matrix->live_rows() : 0) + masked_rows(); }

// After a catch-up: a base whose overlay outgrew its limit is rebuilt now when small, and a private
// matrix over pg_rag.search_cache_mb is dropped (search scans the table until it fits again).
void after_catch_up(const ExtensionCatalog& cat) {
    if (copy.base && overlay_rows() > overlay_limit(copy.base->rows()) && copy.base->rows() < kInlineRebuildRows &&
        may_build())
        build_base(cat, 0);
    if (copy.rows.matrix && over_cap(copy.rows.matrix->live_rows(), copy.dims, copy.cap_mb)) {
        copy.rows.matrix.reset();
        copy.too_big = true;
        if (copy.base) copy.tracker.snapshot.clear();  // the overlay is gone: start over next time
    }
}

// Brings the copy to this statement's snapshot: maps a newer base, re-reads the chunks changed since,
// or builds / reloads. Every chunk, as the table's owner: what the caller may see is decided at search time.
void sync(const ExtensionCatalog& cat, size_t dims) {
    Oid chunks = readable_chunks(cat);
    double cap_mb = search_cache_mb();
    if (copy.dims != dims || copy.chunks != chunks || copy.cap_mb != cap_mb) forget();
    copy.dims = dims;
    copy.chunks = chunks;
    copy.cap_mb = cap_mb;
    std::optional<uint64_t> mapped = copy.base ? std::optional<uint64_t>(copy.generation) : std::nullopt;
    if (!xid_assigned() && adopt_newest_base(newest_base(), mapped, copy.refused,
                                             [&](const snapshot::Listed& f) { return adopt(cat, f); }))
        return after_catch_up(cat);
    if (!copy.tracker.snapshot.empty()) {
        CatchUp change = catch_up(cat, copy.tracker);
        copy.tracker.snapshot.clear();  // until the copy is consistent again
        bool reload =
            change.reload || (copy.too_big && !change.reread.empty()) ||
            (!copy.base && copy.rows.matrix && change.reread.size() > copy.rows.matrix->live_rows() / 2 + 1000);
        if (!reload) {
            apply(cat, change);
            copy.tracker.snapshot = change.snapshot;
            return after_catch_up(cat);
        }
    }
    // Start over: the newest base if our snapshot can be reached from it, else a new base, else privately.
    std::optional<snapshot::Listed> newest = newest_base();
    if (newest && adopt(cat, *newest)) return after_catch_up(cat);
    if (may_build() && build_base(cat, newest ? 0 : kBuildWaitMs)) return after_catch_up(cat);
    load_private(cat);
}

// The scopes the caller sees, or nullptr when row-level security does not apply to them (they see all).
std::optional<VisibleScopes> visible_scopes(const ExtensionCatalog& cat) {
    if (!row_security_applies(readable_chunks(cat))) return std::nullopt;
    return copy.rows.scopes.visible_to(current_viewer());
}

size_t visible_base_rows(const VisibleScopes* visible) {
    if (!copy.base) return 0;
    size_t n = 0;
    if (!visible)
        for (size_t c : copy.base_live_in_scope) n += c;
    else
        for (ScopeId s : visible->ids)
            if (s < copy.base_live_in_scope.size()) n += copy.base_live_in_scope[s];
    return n;
}

bool same_metric(Metric a, Metric b) {
    auto ip = [](Metric m) { return m == Metric::InnerProduct || m == Metric::NegativeInnerProduct; };
    return a == b || (ip(a) && ip(b));
}

// Whether this search goes through the base's index: pg_rag.search, the index's metric, the base's size.
bool use_index(Metric metric) {
    if (!copy.index || !same_metric(copy.index->metric(), metric)) return false;
    VectorSearchMode mode = search_mode();
    return mode == VectorSearchMode::Approximate ||
           (mode == VectorSearchMode::Auto && copy.base->rows() >= search_index_rows());
}

// The base's top k of the rows filter accepts (and not masked): exact, or the index's candidates
// re-ranked exactly.
std::vector<Neighbour> search_base(const float* query, Metric metric, size_t k, const RowFilter& filter,
                                   SearchPlan& plan) {
    RowsView v = copy.base->view();
    v.masked = copy.masked.data();
    if (!use_index(metric)) return nearest(v, query, metric, k, filter, throw_if_interrupted);
    SearchReport report;
    QuantizedIndex::SearchOptions so{search_probes(), search_rerank()};
    std::vector<Neighbour> found = copy.index->search(
        matrix_view(v), query, metric, k, [&](size_t row) { return accepts(v, filter, row); }, so, throw_if_interrupted,
        &report);
    for (Neighbour& n : found) n.owner = v.owners[n.owner];  // the index reports row numbers
    plan.path = report.exact_fallback ? "exact (filter fallback)" : "approximate";
    plan.probes = static_cast<int64_t>(report.probes_used);
    plan.candidates = static_cast<int64_t>(report.candidates);
    return found;
}

// Over the (unmasked) base rows and the private rows, merged by distance then id.
std::vector<Neighbour> search_copy(const float* query, Metric metric, size_t k, const RowFilter& filter,
                                   SearchPlan& plan) {
    std::vector<Neighbour> found;
    if (copy.rows.matrix) found = nearest(*copy.rows.matrix, query, metric, k, filter, throw_if_interrupted);
    if (!copy.base) return found;
    return merge_nearest(search_base(query, metric, k, filter, plan), found, k);
}

std::vector<Neighbour> scan_table(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                  const std::optional<std::string>& model, Metric metric) {
    std::vector<Neighbour> found;
    std::string sql = "SELECT c.id, c.document_id, (c.embedding " + std::string(operator_for(metric)) +
                      " $1)::float8 AS distance FROM " + cat.schema_sql + ".rag_chunks c JOIN " + cat.schema_sql +
                      ".rag_documents d ON d.id = c.document_id WHERE c.embedding IS NOT NULL AND " + cat.schema_sql +
                      ".dims(c.embedding) = $2 AND ($3::text IS NULL OR c.embedding_model = $3) AND ($4::jsonb "
                      "IS NULL OR d.metadata @> $4) ORDER BY 3, 1 LIMIT $5";
    Datum model_datum = model ? text_datum(*model) : (Datum)0;
    run_sql(sql,
            {{cat.embedding_type, PointerGetDatum(query)},
             dims_arg(static_cast<size_t>(query->dim)),
             {TEXTOID, model_datum, !model},
             {JSONBOID, filter, filter == 0},
             {INT4OID, Int32GetDatum(static_cast<int32>(k))}},
            true, [&](const SqlRow& row) {
                bool n1, n2, n3;
                found.push_back(
                    {DatumGetInt64(row.get(1, &n1)), DatumGetInt64(row.get(2, &n2)), DatumGetFloat8(row.get(3, &n3))});
            });
    return found;
}

}  // namespace

CopyInfo vector_copy_info(const ExtensionCatalog& cat) {
    CopyInfo info;
    info.state = copy.too_big ? "over cap" : copy.base ? "shared" : copy.rows.matrix ? "in memory" : "not loaded";
    // What the caller may see of it: the copy's size would count other users' chunks.
    std::optional<VisibleScopes> visible;
    if (copy.base || copy.rows.matrix) visible = visible_scopes(cat);
    const VisibleScopes* v = visible ? &*visible : nullptr;
    size_t private_rows = copy.rows.matrix ? copy.rows.matrix->live_rows(v) : 0;
    info.chunks = static_cast<int64_t>(visible_base_rows(v) + private_rows);
    if (copy.base) {
        info.generation = static_cast<int64_t>(copy.generation);
        info.base_rows = static_cast<int64_t>(visible_base_rows(v));
        info.overlay_rows = static_cast<int64_t>(private_rows);
    }
    info.reloads = copy.reloads;
    info.updates = copy.updates;
    return info;
}

std::vector<Neighbour> vector_top_k(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                    const std::optional<std::string>& model, Metric metric, SearchPlan* plan_out) {
    size_t dims = static_cast<size_t>(query->dim);
    sync(cat, dims);
    SearchPlan plan;
    plan.path = copy.base ? "exact" : "exact (private copy)";
    plan.generation = static_cast<int64_t>(copy.generation);
    if (copy.too_big) {
        // Over pg_rag.search_cache_mb: the same exact answer from a plain scan.
        plan.path = "exact (table scan)";
        if (plan_out) *plan_out = plan;
        return scan_table(cat, query, k, filter, model, metric);
    }
    RowFilter rows;
    std::optional<VisibleScopes> visible = visible_scopes(cat);
    rows.scopes = visible ? &*visible : nullptr;
    std::vector<int64_t> owners;
    if (model) {
        auto it = copy.rows.groups.find(*model);
        rows.group = it == copy.rows.groups.end() ? 65535 : it->second;  // unknown model: nothing matches
    }
    if (filter != 0) {
        owners = documents_matching(cat, filter);
        rows.owners = &owners;
    }
    plan.base_rows = static_cast<int64_t>(visible_base_rows(rows.scopes));
    plan.overlay_rows = static_cast<int64_t>(copy.rows.matrix ? copy.rows.matrix->live_rows(rows.scopes) : 0);
    std::vector<Neighbour> found = search_copy(query->x, metric, k, rows, plan);
    pg_guard([&] {
        elog(DEBUG1, "pg_rag: vector search path %s, probes %ld, candidates %ld, base rows %ld, overlay rows %ld",
             plan.path.c_str(), static_cast<long>(plan.probes), static_cast<long>(plan.candidates),
             static_cast<long>(plan.base_rows), static_cast<long>(plan.overlay_rows));
    });
    if (plan_out) *plan_out = plan;
    return found;
}

namespace {

// The dimensions with a base file of this chunk table, or (none yet) those of the chunks.
std::vector<size_t> dimensions_to_refresh(const ExtensionCatalog& cat, Oid chunks) {
    std::vector<size_t> dims;
    std::string prefix = std::string(kVectorSnapshotKind) + "-" + chunk_table_key(chunks) + "-";
    for (const std::string& path : snapshot::list_all(snapshot_dir())) {
        std::string name = path.substr(path.find_last_of('/') + 1);
        if (name.compare(0, prefix.size(), prefix) != 0 || name.find(".tmp.") != std::string::npos) continue;
        size_t d = std::strtoul(name.c_str() + prefix.size(), nullptr, 10);
        if (d > 0 && std::find(dims.begin(), dims.end(), d) == dims.end()) dims.push_back(d);
    }
    if (dims.empty())
        as_role(relation_owner(cat, "rag_chunks"), [&] {
            run_sql("SELECT DISTINCT " + cat.schema_sql + ".dims(embedding) FROM " + cat.schema_sql +
                        ".rag_chunks WHERE embedding IS NOT NULL",
                    {}, true, [&](const SqlRow& row) {
                        bool n;
                        dims.push_back(static_cast<size_t>(DatumGetInt32(row.get(1, &n))));
                    });
        });
    std::sort(dims.begin(), dims.end());
    return dims;
}

// Whether the newest base of copy.dims is missing, cannot be caught up from (a pruned log, a
// truncate), has an overlay past its limit, or lacks the approximate index it should have.
bool base_stale(const ExtensionCatalog& cat) {
    std::optional<snapshot::Listed> newest = newest_base();
    if (!newest) return true;
    std::unique_ptr<VectorSnapshot> base;
    try {
        base = VectorSnapshot::open(newest->path);
    } catch (const std::runtime_error&) {
        return true;
    }
    ChangeTracker tracker;
    tracker.snapshot = base->meta().db_snapshot;
    CatchUp change = catch_up(cat, tracker);
    return change.reload || change.reread.size() > overlay_limit(base->rows()) ||
           (!base->approximate_index() && wants_index(base->rows(), true));
}

}  // namespace

std::vector<RefreshedCopy> refresh_vector_copies(const ExtensionCatalog& cat, bool force) {
    if (xid_assigned() || IsolationUsesXactSnapshot())
        pg_guard([] {
            ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
                            errmsg("rag_refresh_search_copies() must run in a READ COMMITTED transaction that has "
                                   "not written yet"),
                            errhint("Shared search copies hold committed data only: call it on its own.")));
        });
    Oid chunks = readable_chunks(cat);
    std::vector<RefreshedCopy> out;
    for (size_t dims : dimensions_to_refresh(cat, chunks)) {
        if (copy.dims != dims || copy.chunks != chunks) forget();
        copy.dims = dims;
        copy.chunks = chunks;
        copy.cap_mb = search_cache_mb();
        RefreshedCopy r;
        r.dims = dims;
        if (force || base_stale(cat)) {
            std::optional<snapshot::Listed> before = newest_base();
            r.rebuilt = build_base(cat, kBuildWaitMs, true);
            std::optional<snapshot::Listed> after = newest_base();
            r.rebuilt = r.rebuilt && after && (!before || after->generation > before->generation);
        }
        if (!copy.base) sync(cat, dims);
        if (!copy.base && (!copy.rows.matrix || copy.rows.matrix->live_rows() == 0)) continue;  // no chunks
        r.generation = static_cast<int64_t>(copy.generation);
        r.chunks = copy.base ? static_cast<int64_t>(copy.base->rows()) : 0;
        r.indexed = copy.index.has_value();
        out.push_back(r);
    }
    return out;
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
    std::vector<Neighbour> found = vector_top_k(cat, query, static_cast<size_t>(k), filter, model, metric, nullptr);

    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& n : found) {
        Datum values[3] = {Int64GetDatum(n.id), Int64GetDatum(n.owner), Float8GetDatum(n.distance)};
        bool nulls[3] = {false, false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}

// rag_search_plan(query, k, filter, model) -> (path, probes, candidates, base_rows, overlay_rows,
// generation): runs the vector search rag_search_vector would and says how it went.
PGRAG_FUNCTION(rag_search_plan) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) throw Error(ErrorCode::NullValueNotAllowed, "query and k must not be NULL");
    Embedding* query = embedding_arg(fcinfo, 0);
    int k = PG_GETARG_INT32(1);
    if (k < 1 || k > 10000)
        throw Error(ErrorCode::InvalidParameterValue, "k must be between 1 and 10000, not " + std::to_string(k));
    Datum filter = PG_ARGISNULL(2) ? (Datum)0 : PG_GETARG_DATUM(2);
    std::optional<std::string> model = optional_text_arg(fcinfo, 3);
    ExtensionCatalog cat = extension_catalog(fcinfo);
    SearchPlan plan;
    vector_top_k(cat, query, static_cast<size_t>(k), filter, model, metric_from(distance_metric()), &plan);
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Datum values[6] = {text_datum(plan.path),
                       Int32GetDatum(static_cast<int32>(plan.probes)),
                       Int64GetDatum(plan.candidates),
                       Int64GetDatum(plan.base_rows),
                       Int64GetDatum(plan.overlay_rows),
                       Int64GetDatum(plan.generation)};
    bool no_base = plan.generation == 0;
    bool nulls[6] = {false, false, false, no_base, no_base, no_base};
    pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    return (Datum)0;
}

// rag_refresh_search_copies(force) -> (copy, dims, generation, chunks, indexed, rebuilt): rebuilds the
// shared vector copies that are stale (or all, with force), each dimension's.
PGRAG_FUNCTION(rag_refresh_search_copies) {
    bool force = !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
    ExtensionCatalog cat = extension_catalog(fcinfo);
    // Stale copies are rebuilt for anyone (a search would rebuild them too); forcing rewrites every
    // base of the database, so only the knowledge base's owner may ask for it again and again.
    Oid owner = relation_owner(cat, "rag_chunks");
    if (force && !pg_guard([&] { return has_privs_of_role(GetUserId(), owner); }))
        throw Error(ErrorCode::InsufficientPrivilege,
                    "rag_refresh_search_copies: only the knowledge base's owner may force a rebuild", "",
                    "Without force, stale copies are rebuilt for any caller.");
    std::vector<RefreshedCopy> done = refresh_vector_copies(cat, force);
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const RefreshedCopy& r : done) {
        Datum values[6] = {text_datum("vector"),        Int32GetDatum(static_cast<int32>(r.dims)),
                           Int64GetDatum(r.generation), Int64GetDatum(r.chunks),
                           BoolGetDatum(r.indexed),     BoolGetDatum(r.rebuilt)};
        bool nulls[6] = {false, false, r.generation == 0, false, false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    // The keyword copy: one per knowledge base (no dimension).
    if (std::optional<RefreshedCopy> r = refresh_keyword_copy(cat, force)) {
        Datum values[6] = {text_datum("keyword"),        (Datum)0,
                           Int64GetDatum(r->generation), Int64GetDatum(r->chunks),
                           BoolGetDatum(false),          BoolGetDatum(r->rebuilt)};
        bool nulls[6] = {false, true, false, false, false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}
