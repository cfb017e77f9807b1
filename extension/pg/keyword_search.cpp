// Keyword search: BM25 scored in C++ over the chunks' tsvectors. The index is held once per database
// in a base snapshot file every backend maps read-only (a flat index, core/bm25_flat.hpp; the scheme and
// its rules: shared_copy.hpp); each backend keeps it in step with what its snapshot sees through the
// change log (kb_changes.hpp): chunks changed since the base are masked in it and re-read into a small
// private Bm25Index, and the rankings are those of one index of the live chunks (same statistics, same
// scores). Without a usable base (a transaction that wrote and has none mapped, a failure to write the
// file) a private Bm25Index holds every chunk, as before 0.8.0. Bases are (re)built as the vector
// copy's are (vector_search.cpp): by the first search, when no base can be caught up to the snapshot,
// when the overlay outgrows max(10 000 chunks, 10% of the base) and the base is small, or by
// rag_refresh_search_copies(). pg_rag.search_cache_mb caps the private memory only (the overlay, or
// the private index): over it, BM25 runs in SQL.
#include <algorithm>
#include <memory>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "../core/bm25_snapshot.hpp"
#include "../core/error.hpp"
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
}

namespace pgrag::pg {
namespace {

constexpr size_t kInlineRebuildRows = 200000;  // above: a stale base waits for rag_refresh_search_copies()
constexpr int kBuildWaitMs = 120000;           // the longest a search with nothing to map waits for a builder

size_t overlay_limit(size_t base_rows) { return std::max<size_t>(10000, base_rows / 10); }

// Postings of every chunk whoever owns it (loaded as the table's owner): each chunk's scope tells who
// may see it, and a ranking counts and returns only what its caller may see.
struct KeywordCopy {
    ChangeTracker tracker;
    int64_t reloads = 0;  // full reads of the table (private indexes and bases built)
    int64_t updates = 0;
    Oid chunks = InvalidOid;
    double cap_mb = -1;
    bool too_big = false;                // over pg_rag.search_cache_mb: BM25 in SQL instead
    std::unique_ptr<Bm25Snapshot> base;  // nullptr: `index` holds every chunk
    uint64_t generation = 0;
    RefusedBase refused;                   // a newer base this transaction could not catch up from: not retried in it
    std::unique_ptr<Bm25Overlay> overlay;  // with a base: its masked rows and the re-read chunks
    std::unique_ptr<Bm25Index> index;      // without a base: every chunk
    ScopeTable scopes;                     // the base's numbering, then the chunks re-read since
};
KeywordCopy copy;

constexpr const char* kWebSyntax = R"("|(^|\s)-\S|\s(or|OR)\s)";
constexpr const char* kConfig =
    "coalesce(nullif(current_setting('pg_rag.text_search_config', true), ''), 'english')::regconfig";

// Whether there is a copy to rank with (a base and its overlay, or a private index).
bool loaded() { return copy.overlay || copy.index; }

// Calls fn with the live copy: the overlay over the base, or the private index (same interface).
template <typename Fn>
auto with_live(Fn&& fn) {
    return copy.overlay ? fn(*copy.overlay) : fn(*copy.index);
}

size_t private_bytes() {
    return copy.overlay ? copy.overlay->memory_bytes() : copy.index ? copy.index->memory_bytes() : 0;
}

bool over_cap(size_t bytes, double cap_mb) { return static_cast<double>(bytes) > cap_mb * 1024 * 1024; }

// Reads the chunks of a query selecting (id, document_id, token_count, tsv, owner_id, tenant_id) and
// passes each to `add` (with its scope numbered in `scopes`); `fits` is asked now and then and stops
// the reading when false (the result then).
template <typename Add, typename Fits>
bool read_chunks(const std::string& sql, const std::vector<SqlArg>& args, ScopeTable& scopes, Add&& add, Fits&& fits) {
    Portal portal = open_cursor(sql, args);
    bool ok = true;
    std::vector<TermCount> terms;
    uint64 seen = 0;
    while (ok) {
        throw_if_interrupted();
        uint64 n = pg_guard([&] {
            SPI_cursor_fetch(portal, true, 2000);
            return SPI_processed;
        });
        if (n == 0) break;
        for (uint64 i = 0; i < n; ++i) {
            SqlRow row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
            bool null_id, null_doc, null_len, null_tsv;
            int64 id = DatumGetInt64(row.get(1, &null_id));
            int64 doc = DatumGetInt64(row.get(2, &null_doc));
            int32 length = DatumGetInt32(row.get(3, &null_len));
            Datum d = row.get(4, &null_tsv);
            TSVector tsv = pg_guard([&] { return DatumGetTSVector(d); });
            terms.clear();
            WordEntry* entries = ARRPTR(tsv);
            char* strings = STRPTR(tsv);
            for (int32 e = 0; e < tsv->size; ++e) {
                // tf: the lexeme's positions (1 when it has none), as the SQL BM25 counts them.
                uint32_t tf = entries[e].haspos ? POSDATALEN(tsv, &entries[e]) : 1;
                terms.push_back({std::string_view(strings + entries[e].pos, entries[e].len), tf});
            }
            add(id, doc, length, terms, scopes.intern(optional_text(row, 5), optional_text(row, 6)));
        }
        pg_guard([&] { SPI_freetuptable(SPI_tuptable); });
        seen += n;
        if (seen % 50000 < n && !fits()) ok = false;
    }
    pg_guard([&] {
        SPI_cursor_close(portal);
        SPI_finish();
    });
    return ok && fits();
}

// Adds chunks to the live copy; false once its private memory is over the cap.
bool add_live(const std::string& sql, const std::vector<SqlArg>& args) {
    auto fits = [&] { return !over_cap(private_bytes(), copy.cap_mb); };
    return with_live([&](auto& live) {
        return read_chunks(
            sql, args, copy.scopes,
            [&](int64_t id, int64_t doc, int32_t length, const std::vector<TermCount>& terms, ScopeId scope) {
                live.add(id, doc, length, terms, scope);
            },
            fits);
    });
}

std::string select_rows(const ExtensionCatalog& cat, Oid chunks) {
    return "SELECT id, document_id, token_count, tsv, " +
           std::string(chunks_have_owners(chunks) ? "owner_id, tenant_id" : "NULL::text, NULL::text") + " FROM " +
           cat.schema_sql + ".rag_chunks";
}

std::string base_key(Oid chunks) { return chunk_table_key(chunks); }

void forget() {
    copy.tracker = ChangeTracker();
    copy.overlay.reset();  // before the base it refers to
    copy.base.reset();
    copy.generation = 0;
    copy.index.reset();
    copy.scopes = ScopeTable();
    copy.too_big = false;
}

// Re-reads the changed chunks: each taken out of the copy (masked in the base, or removed from the
// delta or the private index), then added again as the snapshot sees it, if it does.
void apply(const ExtensionCatalog& cat, const CatchUp& change) {
    if (change.reread.empty() || !loaded()) return;
    copy.updates++;
    with_live([&](auto& live) {
        for (int64_t id : change.reread) live.remove(id);
        return 0;
    });
    bool fits = as_role(relation_owner(cat, "rag_chunks"), [&] {
        return add_live(select_rows(cat, copy.chunks) + " WHERE id = ANY($1)",
                        {{INT8ARRAYOID, int8_array(change.reread)}});
    });
    if (!fits) {
        copy.overlay.reset();
        copy.index.reset();
        copy.too_big = true;
        if (copy.base) copy.tracker.snapshot.clear();  // the overlay is gone: start over next time
    }
}

// Maps the base file `f` and catches up from its snapshot to ours; false (nothing changed) when the
// file is not a valid base of this table, or our snapshot cannot be reached from its.
bool adopt(const ExtensionCatalog& cat, const snapshot::Listed& f) {
    std::unique_ptr<Bm25Snapshot> base;
    try {
        base = Bm25Snapshot::open(f.path);
    } catch (const Error&) {
        throw;  // a cancel
    } catch (const std::runtime_error&) {
        return false;  // corrupt, or removed since listed: the next builder replaces it
    }
    if (base->meta().chunk_table != copy.chunks) return false;
    ScopeTable scopes;
    for (size_t s = 0; s < base->scope_entries().size(); ++s)
        if (scopes.intern(base->scope_entries()[s].owner, base->scope_entries()[s].tenant) != s) return false;
    ChangeTracker tracker;
    tracker.snapshot = base->meta().db_snapshot;
    CatchUp change = catch_up(cat, tracker);
    if (change.reload) return false;
    forget();
    copy.tracker = std::move(tracker);
    copy.tracker.snapshot.clear();  // until the overlay is consistent: a failure below starts over
    copy.base = std::move(base);
    copy.generation = f.generation;
    copy.scopes = std::move(scopes);
    copy.overlay = std::make_unique<Bm25Overlay>(copy.base->index());
    apply(cat, change);
    if (!copy.too_big) copy.tracker.snapshot = change.snapshot;  // else: start over next time
    return true;
}

std::optional<snapshot::Listed> newest_base() {
    std::vector<snapshot::Listed> files = snapshot::list(snapshot_dir(), kBm25SnapshotKind, base_key(copy.chunks));
    if (files.empty()) return std::nullopt;
    return files.front();
}

// Whether this transaction may write a base: it wrote nothing, and its snapshot is the statement's (a
// repeatable-read snapshot may be older than the newest base: it would replace it with older data).
bool may_build() { return !xid_assigned() && (!IsolationUsesXactSnapshot() || !newest_base()); }

void warn(const std::string& message) {
    pg_guard([&] { ereport(WARNING, (errmsg("%s", message.c_str()))); });
}

// Writes a new base of every committed chunk (under the directory's lock) and maps it. False when
// another backend holds the lock past `wait_ms`, or the file could not be written (a warning says so).
bool build_base(const ExtensionCatalog& cat, int wait_ms) {
    std::optional<snapshot::Listed> before = newest_base();
    std::optional<snapshot::DirLock> lock = [&]() -> std::optional<snapshot::DirLock> {
        try {
            return lock_snapshot_dir(wait_ms);
        } catch (const Error&) {
            throw;  // a cancel
        } catch (const std::runtime_error& e) {
            warn(std::string("pg_rag: cannot write shared search copies, searching a private copy: ") + e.what());
            return std::nullopt;
        }
    }();
    if (!lock) return false;
    // Another backend may have built one while we waited.
    std::optional<snapshot::Listed> now = newest_base();
    if (now && (!before || now->generation > before->generation) && adopt(cat, *now)) return true;
    std::string dir = snapshot_dir(), key = base_key(copy.chunks);
    snapshot::Listed file{snapshot::next_generation(dir), ""};
    file.path = snapshot::file_name(dir, kBm25SnapshotKind, key, file.generation);
    {
        // The rows are read after the snapshot is noted: whatever committed in between is re-read by
        // every backend catching up from it.
        Bm25FlatBuilder rows;
        ScopeTable scopes;
        std::string s0;
        as_role(relation_owner(cat, "rag_chunks"), [&] {
            run_sql("SELECT pg_catalog.pg_current_snapshot()::text", {}, true,
                    [&](const SqlRow& row) { s0 = optional_text(row, 1).value_or(""); });
            read_chunks(
                select_rows(cat, copy.chunks) + " ORDER BY id", {}, scopes,
                [&](int64_t id, int64_t doc, int32_t length, const std::vector<TermCount>& terms, ScopeId scope) {
                    rows.add(id, doc, length, terms, scope);
                },
                [] { return true; });
        });
        copy.reloads++;
        try {
            snapshot::Writer w(file.path, kBm25SnapshotKind, throw_if_interrupted);
            write_bm25_snapshot(w, rows, scopes, {s0, copy.chunks}, throw_if_interrupted);
            w.commit();
        } catch (const Error&) {
            throw;
        } catch (const std::runtime_error& e) {
            warn(std::string("pg_rag: could not write a shared search copy, searching a private copy: ") + e.what());
            return false;
        }
    }
#ifdef __GLIBC__
    malloc_trim(0);  // the builder's memory back to the system: this backend would otherwise keep it
#endif
    remove_superseded(kBm25SnapshotKind, key, file.generation, copy.chunks);
    return adopt(cat, file);
}

// Every chunk into a private index, as before shared copies (or none over the cap).
void load_private(const ExtensionCatalog& cat) {
    forget();
    CatchUp change = catch_up(cat, copy.tracker);  // from nothing: only the snapshot and our own writes
    copy.reloads++;
    copy.index = std::make_unique<Bm25Index>();
    bool fits = as_role(relation_owner(cat, "rag_chunks"),
                        [&] { return add_live(select_rows(cat, copy.chunks) + " ORDER BY id", {}); });
    if (!fits) {
        copy.index.reset();
        copy.too_big = true;
    }
    copy.tracker.snapshot = change.snapshot;
}

size_t overlay_rows() { return copy.overlay ? copy.overlay->delta().chunks() + copy.overlay->masked_rows() : 0; }

// After a catch-up: a base whose overlay outgrew its limit is rebuilt now when small.
void after_catch_up(const ExtensionCatalog& cat) {
    if (copy.base && copy.overlay && overlay_rows() > overlay_limit(copy.base->index().rows()) &&
        copy.base->index().rows() < kInlineRebuildRows && may_build())
        build_base(cat, 0);
    if (loaded() && over_cap(private_bytes(), copy.cap_mb)) {
        copy.overlay.reset();
        copy.index.reset();
        copy.too_big = true;
        if (copy.base) copy.tracker.snapshot.clear();  // the overlay is gone: start over next time
    }
}

// Brings the copy to this statement's snapshot: maps a newer base, re-reads the chunks changed since,
// or builds / reloads. Every chunk, as the table's owner: what the caller may see is decided at search time.
void sync(const ExtensionCatalog& cat) {
    Oid chunks = readable_chunks(cat);
    double cap_mb = search_cache_mb();
    if (copy.chunks != chunks || copy.cap_mb != cap_mb) forget();
    copy.chunks = chunks;
    copy.cap_mb = cap_mb;
    std::optional<uint64_t> mapped = copy.base ? std::optional<uint64_t>(copy.generation) : std::nullopt;
    if (!xid_assigned() && adopt_newest_base(newest_base(), mapped, copy.refused,
                                             [&](const snapshot::Listed& f) { return adopt(cat, f); }))
        return after_catch_up(cat);
    if (!copy.tracker.snapshot.empty()) {
        CatchUp change = catch_up(cat, copy.tracker);
        copy.tracker.snapshot.clear();  // until the copy is consistent again
        bool reload = change.reload || (copy.too_big && !change.reread.empty()) ||
                      (copy.index && change.reread.size() > copy.index->chunks() / 2 + 1000);
        if (!reload) {
            apply(cat, change);
            if (!copy.too_big || !copy.base) copy.tracker.snapshot = change.snapshot;
            return after_catch_up(cat);
        }
    }
    // Start over: the newest base if our snapshot can be reached from it, else a new base, else privately.
    std::optional<snapshot::Listed> newest = newest_base();
    if (newest && adopt(cat, *newest)) return after_catch_up(cat);
    if (may_build() && build_base(cat, newest ? 0 : kBuildWaitMs)) return after_catch_up(cat);
    load_private(cat);
}

// The scopes the caller sees, or none when row-level security does not apply to them (they see all).
std::optional<VisibleScopes> visible_scopes(const ExtensionCatalog& cat) {
    if (!row_security_applies(readable_chunks(cat))) return std::nullopt;
    return copy.scopes.visible_to(current_viewer());
}

Bm25Params params() { return {real_setting("pg_rag.bm25_k1"), real_setting("pg_rag.bm25_b")}; }

// BM25 in SQL, for a knowledge base over the memory cap: the same ranking, without the copy.
std::vector<ScoredChunk> sql_top_k(const ExtensionCatalog& cat, const std::vector<std::string>& terms,
                                   const std::string& query, bool web, size_t k, Datum filter) {
    const std::string& s = cat.schema_sql;
    std::string sql =
        "WITH stats AS (SELECT count(*)::float8 AS n, greatest(coalesce(avg(token_count), 0)::float8, 1) AS avgdl "
        "FROM " +
        s + ".rag_chunks), df AS MATERIALIZED (SELECT t AS lexeme, (SELECT count(*) FROM " + s +
        ".rag_chunks c WHERE c.tsv @@ quote_literal(t)::tsquery) AS df FROM unnest($1::text[]) t), "
        "candidates AS (SELECT c.id, c.document_id, c.tsv, c.token_count FROM " +
        s + ".rag_chunks c JOIN " + s +
        ".rag_documents d ON d.id = c.document_id WHERE c.tsv @@ (CASE WHEN $2 THEN websearch_to_tsquery(" + kConfig +
        ", $3) ELSE array_to_string(ARRAY(SELECT quote_literal(t) FROM unnest($1::text[]) t), ' | ')::tsquery END)"
        " AND ($4::jsonb IS NULL OR d.metadata @> $4)) "
        "SELECT cand.id, cand.document_id, sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * (u.tf * ($5 + 1)) / "
        "(u.tf + $5 * (1 - $6 + $6 * cand.token_count / stats.avgdl)))::float8 AS bm25 FROM candidates cand CROSS JOIN "
        "stats CROSS JOIN LATERAL (SELECT x.lexeme, coalesce(array_length(x.positions, 1), 1) AS tf FROM "
        "unnest(cand.tsv) "
        "x) u JOIN df ON df.lexeme = u.lexeme GROUP BY cand.id, cand.document_id ORDER BY bm25 DESC, cand.id LIMIT $7";
    Bm25Params p = params();
    std::vector<ScoredChunk> out;
    run_sql(sql,
            {{TEXTARRAYOID, text_array(terms)},
             {BOOLOID, BoolGetDatum(web)},
             {TEXTOID, text_datum(query)},
             {JSONBOID, filter, filter == 0},
             {FLOAT8OID, Float8GetDatum(p.k1)},
             {FLOAT8OID, Float8GetDatum(p.b)},
             {INT4OID, Int32GetDatum(static_cast<int32>(k))}},
            true, [&](const SqlRow& row) {
                bool n;
                out.push_back(
                    {DatumGetInt64(row.get(1, &n)), DatumGetInt64(row.get(2, &n)), DatumGetFloat8(row.get(3, &n))});
            });
    return out;
}

}  // namespace

CopyInfo keyword_copy_info(const ExtensionCatalog& cat) {
    CopyInfo info;
    info.state = copy.too_big ? "over cap" : copy.overlay ? "shared" : copy.index ? "in memory" : "not loaded";
    if (loaded()) {
        // What the caller may see of it: the copy's size would count other users' chunks.
        std::optional<VisibleScopes> visible = visible_scopes(cat);
        const VisibleScopes* v = visible ? &*visible : nullptr;
        info.chunks = static_cast<int64_t>(with_live([&](const auto& live) { return live.chunks(v); }));
        if (copy.overlay) {
            info.generation = static_cast<int64_t>(copy.generation);
            info.overlay_rows = static_cast<int64_t>(copy.overlay->delta().chunks(v));
            info.base_rows = info.chunks - info.overlay_rows;
        }
    }
    info.reloads = copy.reloads;
    info.updates = copy.updates;
    return info;
}

namespace {

// Whether the newest base is missing, cannot be caught up from (a pruned log, a truncate), or has an
// overlay past its limit.
bool base_stale(const ExtensionCatalog& cat) {
    std::optional<snapshot::Listed> newest = newest_base();
    if (!newest) return true;
    std::unique_ptr<Bm25Snapshot> base;
    try {
        base = Bm25Snapshot::open(newest->path);
    } catch (const Error&) {
        throw;  // a cancel
    } catch (const std::runtime_error&) {
        return true;
    }
    ChangeTracker tracker;
    tracker.snapshot = base->meta().db_snapshot;
    CatchUp change = catch_up(cat, tracker);
    return change.reload || change.reread.size() > overlay_limit(base->index().rows());
}

}  // namespace

std::optional<RefreshedCopy> refresh_keyword_copy(const ExtensionCatalog& cat, bool force) {
    Oid chunks = readable_chunks(cat);
    double cap_mb = search_cache_mb();
    if (copy.chunks != chunks || copy.cap_mb != cap_mb) forget();
    copy.chunks = chunks;
    copy.cap_mb = cap_mb;
    RefreshedCopy r;
    if (force || base_stale(cat)) {
        std::optional<snapshot::Listed> before = newest_base();
        r.rebuilt = build_base(cat, kBuildWaitMs);
        std::optional<snapshot::Listed> after = newest_base();
        r.rebuilt = r.rebuilt && after && (!before || after->generation > before->generation);
    }
    if (!copy.base) sync(cat);
    if (!copy.base) return std::nullopt;  // none could be written
    r.generation = static_cast<int64_t>(copy.generation);
    r.chunks = static_cast<int64_t>(copy.base->index().rows());
    return r;
}

double real_setting(const char* name) {
    const char* value = pg_guard([&] { return GetConfigOption(name, false, false); });
    return std::strtod(value, nullptr);
}

std::vector<int64_t> documents_matching(const ExtensionCatalog& cat, Datum filter) {
    std::vector<int64_t> owners;
    run_sql("SELECT id FROM " + cat.schema_sql + ".rag_documents WHERE metadata @> $1 ORDER BY id",
            {{JSONBOID, filter}}, true, [&](const SqlRow& row) {
                bool is_null;
                owners.push_back(DatumGetInt64(row.get(1, &is_null)));
            });
    return owners;
}

std::vector<ScoredChunk> keyword_top_k(const ExtensionCatalog& cat, const std::string& query, size_t k, Datum filter) {
    // The query's terms: the distinct lexemes of to_tsvector(pg_rag.text_search_config, query).
    std::vector<std::string> terms;
    bool web = false;
    run_sql(std::string("SELECT ARRAY(SELECT DISTINCT u.lexeme FROM unnest(to_tsvector(") + kConfig +
                ", $1)) u ORDER BY 1), $1 ~ $2",
            {{TEXTOID, text_datum(query)}, {TEXTOID, text_datum(kWebSyntax)}}, true, [&](const SqlRow& row) {
                bool n;
                Datum a = row.get(1, &n);
                Datum* items = nullptr;
                bool* nulls = nullptr;
                int count = 0;
                pg_guard([&] {
                    deconstruct_array(DatumGetArrayTypeP(a), TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &count);
                });
                for (int i = 0; i < count; ++i)
                    terms.push_back(pg_guard([&] { return std::string(TextDatumGetCString(items[i])); }));
                web = DatumGetBool(row.get(2, &n));
            });
    if (terms.empty()) return {};  // nothing but stop-words
    sync(cat);
    if (copy.too_big || !loaded()) return sql_top_k(cat, terms, query, web, k, filter);
    std::vector<int64_t> owners;
    if (filter != 0) owners = documents_matching(cat, filter);
    std::optional<VisibleScopes> visible = visible_scopes(cat);
    Bm25Filter rows{filter != 0 ? &owners : nullptr, visible ? &*visible : nullptr};
    if (!web)
        return with_live([&](const auto& live) { return live.top_k(terms, k, params(), rows, throw_if_interrupted); });
    // Web-search syntax: the candidates are what websearch_to_tsquery matches, scored by the same BM25.
    std::vector<int64_t> candidates;
    run_sql(
        "SELECT c.id FROM " + cat.schema_sql + ".rag_chunks c WHERE c.tsv @@ websearch_to_tsquery(" + kConfig + ", $1)",
        {{TEXTOID, text_datum(query)}}, true, [&](const SqlRow& row) {
            bool n;
            candidates.push_back(DatumGetInt64(row.get(1, &n)));
        });
    return with_live(
        [&](const auto& live) { return live.top_k_of(terms, candidates, k, params(), rows, throw_if_interrupted); });
}

}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_bm25(query, k, filter) -> (chunk_id, score): BM25 top-k, score descending then chunk id.
PGRAG_FUNCTION(rag_bm25) {
    if (PG_ARGISNULL(0)) throw Error(ErrorCode::NullValueNotAllowed, "rag_bm25: the query must not be NULL");
    if (PG_ARGISNULL(1)) throw Error(ErrorCode::NullValueNotAllowed, "rag_bm25: k must not be NULL");
    int k = PG_GETARG_INT32(1);
    if (k < 1 || k > 10000)
        throw Error(ErrorCode::InvalidParameterValue,
                    "rag_bm25: k must be between 1 and 10000, not " + std::to_string(k));
    Datum filter = PG_ARGISNULL(2) ? (Datum)0 : PG_GETARG_DATUM(2);
    ExtensionCatalog cat = extension_catalog(fcinfo);
    std::vector<ScoredChunk> found = keyword_top_k(cat, text_arg(fcinfo, 0), static_cast<size_t>(k), filter);
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& c : found) {
        Datum values[2] = {Int64GetDatum(c.id), Float8GetDatum(c.score)};
        bool nulls[2] = {false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}

// rag_kb_stats() -> (chunks, average_tokens): BM25's corpus statistics as this statement sees them.
PGRAG_FUNCTION(rag_kb_stats) {
    ExtensionCatalog cat = extension_catalog(fcinfo);
    sync(cat);
    int64 chunks = 0;
    double average = 0;
    if (loaded()) {
        // The statistics of what the caller may see, as their rankings use them.
        std::optional<VisibleScopes> visible = visible_scopes(cat);
        const VisibleScopes* v = visible ? &*visible : nullptr;
        chunks = static_cast<int64>(with_live([&](const auto& live) { return live.chunks(v); }));
        average = with_live([&](const auto& live) { return live.average_length(v); });
    } else {
        run_sql("SELECT count(*), coalesce(avg(token_count), 0)::float8 FROM " + cat.schema_sql + ".rag_chunks", {},
                true, [&](const SqlRow& row) {
                    bool n1, n2;
                    chunks = DatumGetInt64(row.get(1, &n1));
                    average = DatumGetFloat8(row.get(2, &n2));
                });
    }
    return pg_guard([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "return type must be a row type");
        desc = BlessTupleDesc(desc);
        Datum values[2] = {Int64GetDatum(chunks), Float8GetDatum(average)};
        bool nulls[2] = {false, false};
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}
