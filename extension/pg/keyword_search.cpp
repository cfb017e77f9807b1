// Keyword search: BM25 scored in C++ over a backend-local inverted index of the chunks' tsvectors,
// kept in step with the knowledge base through the change log.
#include <algorithm>
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

// Postings of every chunk whoever owns it (loaded as the table's owner): each chunk's scope tells who
// may see it, and a ranking counts and returns only what its caller may see.
struct KeywordCopy {
    ChangeTracker tracker;
    int64_t reloads = 0;
    int64_t updates = 0;
    double cap_mb = -1;
    bool too_big = false;  // over pg_rag.search_cache_mb: BM25 in SQL instead
    std::unique_ptr<Bm25Index> index;
    ScopeTable scopes;
};
KeywordCopy copy;

constexpr const char* kWebSyntax = R"("|(^|\s)-\S|\s(or|OR)\s)";
constexpr const char* kConfig =
    "coalesce(nullif(current_setting('pg_rag.text_search_config', true), ''), 'english')::regconfig";

bool over_cap(const Bm25Index& index, double cap_mb) {
    return static_cast<double>(index.memory_bytes()) > cap_mb * 1024 * 1024;
}

// Adds the chunks of a query selecting (id, document_id, token_count, tsv, owner_id, tenant_id); false
// once over the cap.
bool add_rows(const std::string& sql, const std::vector<SqlArg>& args, double cap_mb) {
    Portal portal = open_cursor(sql, args);
    bool fits = true;
    std::vector<TermCount> terms;
    uint64 seen = 0;
    while (fits) {
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
            copy.index->add(id, doc, length, terms, copy.scopes.intern(optional_text(row, 5), optional_text(row, 6)));
        }
        pg_guard([&] { SPI_freetuptable(SPI_tuptable); });
        seen += n;
        if (seen % 50000 < n && over_cap(*copy.index, cap_mb)) fits = false;
    }
    pg_guard([&] {
        SPI_cursor_close(portal);
        SPI_finish();
    });
    return fits && !over_cap(*copy.index, cap_mb);
}

std::string select_rows(const ExtensionCatalog& cat, Oid chunks) {
    return "SELECT id, document_id, token_count, tsv, " +
           std::string(chunks_have_owners(chunks) ? "owner_id, tenant_id" : "NULL::text, NULL::text") + " FROM " +
           cat.schema_sql + ".rag_chunks";
}

void load(const ExtensionCatalog& cat, Oid chunks, double cap_mb) {
    copy.index = std::make_unique<Bm25Index>();
    copy.scopes = ScopeTable();
    copy.cap_mb = cap_mb;
    copy.too_big = false;
    if (!add_rows(select_rows(cat, chunks) + " ORDER BY id", {}, cap_mb)) {
        copy.index.reset();
        copy.too_big = true;
    }
}

// Every chunk, as the table's owner: what the caller may see is decided at search time.
void sync(const ExtensionCatalog& cat) {
    Oid chunks = readable_chunks(cat);
    double cap_mb = search_cache_mb();
    CatchUp change = catch_up(cat, copy.tracker);
    bool reload = change.reload || copy.tracker.snapshot.empty() || copy.cap_mb != cap_mb ||
                  (copy.too_big && !change.reread.empty()) ||
                  (copy.index && change.reread.size() > copy.index->chunks() / 2 + 1000);
    copy.tracker.snapshot.clear();  // until the copy is consistent again
    as_role(relation_owner(cat, "rag_chunks"), [&] {
        if (reload) {
            copy.reloads++;
            load(cat, chunks, cap_mb);
        } else if (!change.reread.empty() && copy.index) {
            copy.updates++;
            for (int64_t id : change.reread) copy.index->remove(id);
            if (!add_rows(select_rows(cat, chunks) + " WHERE id = ANY($1)", {{INT8ARRAYOID, int8_array(change.reread)}},
                          cap_mb)) {
                copy.index.reset();
                copy.too_big = true;
            }
        }
    });
    copy.tracker.snapshot = change.snapshot;
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
    info.state = copy.too_big ? "over cap" : copy.index ? "in memory" : "not loaded";
    if (copy.index) {
        std::optional<VisibleScopes> visible = visible_scopes(cat);
        info.chunks = static_cast<int64_t>(copy.index->chunks(visible ? &*visible : nullptr));
    }
    info.reloads = copy.reloads;
    info.updates = copy.updates;
    return info;
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
    if (copy.too_big) return sql_top_k(cat, terms, query, web, k, filter);
    std::vector<int64_t> owners;
    if (filter != 0) owners = documents_matching(cat, filter);
    std::optional<VisibleScopes> visible = visible_scopes(cat);
    Bm25Filter rows{filter != 0 ? &owners : nullptr, visible ? &*visible : nullptr};
    if (!web) return copy.index->top_k(terms, k, params(), rows, throw_if_interrupted);
    // Web-search syntax: the candidates are what websearch_to_tsquery matches, scored by the same BM25.
    std::vector<int64_t> candidates;
    run_sql(
        "SELECT c.id FROM " + cat.schema_sql + ".rag_chunks c WHERE c.tsv @@ websearch_to_tsquery(" + kConfig + ", $1)",
        {{TEXTOID, text_datum(query)}}, true, [&](const SqlRow& row) {
            bool n;
            candidates.push_back(DatumGetInt64(row.get(1, &n)));
        });
    return copy.index->top_k_of(terms, candidates, k, params(), rows, throw_if_interrupted);
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
    if (copy.index) {
        // The statistics of what the caller may see, as their rankings use them.
        std::optional<VisibleScopes> visible = visible_scopes(cat);
        chunks = static_cast<int64>(copy.index->chunks(visible ? &*visible : nullptr));
        average = copy.index->average_length(visible ? &*visible : nullptr);
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
