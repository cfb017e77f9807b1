// Search over a knowledge base distributed with Citus. The queries run on the coordinator as the
// tables' owner, as the in-memory copies are read, with the read policy applied explicitly for the
// caller's identity (known here, not on the workers: pg_rag.user_id is a setting of this session);
// Citus pushes ORDER BY ... LIMIT k down to every shard and merges the shards' top-k.
#include "distributed_search.hpp"

#include <algorithm>
#include <cmath>

#include "../core/error.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "identity.hpp"
#include "search.hpp"
#include "spi.hpp"

extern "C" {
#include "utils/acl.h"
}

namespace pgrag::pg {
namespace {

constexpr const char* kWebSyntax = R"("|(^|\s)-\S|\s(or|OR)\s)";
constexpr const char* kConfig =
    "coalesce(nullif(current_setting('pg_rag.text_search_config', true), ''), 'english')::regconfig";

// A query's text and its $n arguments, built together.
struct Query {
    std::string sql;
    std::vector<SqlArg> args;
    std::string arg(SqlArg a) {
        args.push_back(a);
        return "$" + std::to_string(args.size());
    }
};

Oid relation(const ExtensionCatalog& cat, const char* name) {
    Oid relid = pg_guard([&] { return get_relname_relid(name, cat.schema); });
    if (relid == InvalidOid)
        throw Error(ErrorCode::UndefinedObject, std::string("pg_rag: table ") + name + " not found");
    return relid;
}

// The caller must be allowed to SELECT the table, as a query of theirs would check.
void check_readable(const ExtensionCatalog& cat, const char* name) {
    Oid relid = relation(cat, name);
    pg_guard([&] {
        if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, name);
    });
}

// The read policy of rag_chunks (rag_read) for the caller, as a condition on alias c; none when row-level
// security does not apply to them.
std::string visible_to_caller(Query& q, Oid chunks) {
    if (!row_security_applies(chunks)) return "";
    Identity id = current_identity();
    std::string sql = " AND (c.owner_id IS NULL OR c.owner_id = " + q.arg({TEXTOID, text_datum(id.user)}) + ")";
    if (id.tenant)
        sql += " AND (c.tenant_id IS NULL OR c.tenant_id = " + q.arg({TEXTOID, text_datum(*id.tenant)}) + ")";
    else
        sql += " AND c.tenant_id IS NULL";
    return sql;
}

// The query's terms (distinct lexemes, sorted), whether it uses web search syntax, and the tsquery the
// candidates must match, as text (lexemes are normalised here: the shards need no configuration).
struct KeywordQuery {
    std::vector<std::string> terms;
    std::vector<std::string> term_queries;  // each term alone, as tsquery text
    std::string match;
};

std::vector<std::string> text_values(Datum array) {
    Datum* items = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    pg_guard([&] {
        deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &count);
    });
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        if (nulls[i]) throw Error(ErrorCode::NullValueNotAllowed, "rag_bm25_score: terms must not contain NULL");
        out.push_back(pg_guard([&] { return std::string(TextDatumGetCString(items[i])); }));
    }
    return out;
}

KeywordQuery parse_keywords(const std::string& query) {
    KeywordQuery kq;
    std::string sql =
        std::string("WITH t AS (SELECT ARRAY(SELECT DISTINCT u.lexeme FROM unnest(to_tsvector(") + kConfig +
        ", $1)) u ORDER BY 1) AS terms) SELECT t.terms, ARRAY(SELECT quote_literal(x)::tsquery::text FROM "
        "unnest(t.terms) WITH ORDINALITY x(x, i) ORDER BY i), (CASE WHEN $1 ~ $2 THEN websearch_to_tsquery(" +
        kConfig +
        ", $1) ELSE array_to_string(ARRAY(SELECT quote_literal(x) FROM unnest(t.terms) x), ' | ')::tsquery "
        "END)::text FROM t";
    run_sql(sql, {{TEXTOID, text_datum(query)}, {TEXTOID, text_datum(kWebSyntax)}}, true, [&](const SqlRow& row) {
        bool n;
        kq.terms = text_values(row.get(1, &n));
        kq.term_queries = text_values(row.get(2, &n));
        Datum m = row.get(3, &n);
        if (!n) kq.match = pg_guard([&] { return std::string(TextDatumGetCString(m)); });
    });
    return kq;
}

// A term in more than 1/kCommonShare of the chunks is common: the first round of a keyword search scores
// only the chunks holding a rarer one (distributed_keyword_top_k).
constexpr double kCommonShare = 10;

// BM25's corpus statistics over every shard, restricted to what the caller may see (as on one node).
struct CorpusStats {
    double n = 0;
    double length_sum = 0;
    std::vector<double> df;
};

// Two pushed-down aggregates: N and the total length (no tsvector read), then each term's df through
// the shards' GIN index (a per-row test of every term would decompress every chunk's tsvector).
CorpusStats corpus_stats(const ExtensionCatalog& cat, Oid chunks, const KeywordQuery& kq) {
    Query corpus;
    corpus.sql = "SELECT count(*), coalesce(sum(c.token_count), 0)::float8 FROM " + cat.schema_sql +
                 ".rag_chunks c WHERE true" + visible_to_caller(corpus, chunks);
    Query df;
    df.sql = "SELECT t.i, count(*) FROM unnest(" + df.arg({TEXTARRAYOID, text_array(kq.term_queries)}) +
             "::text[]) WITH ORDINALITY t(q, i) JOIN " + cat.schema_sql +
             ".rag_chunks c ON c.tsv @@ t.q::tsquery WHERE true" + visible_to_caller(df, chunks) + " GROUP BY t.i";
    CorpusStats stats;
    stats.df.assign(kq.term_queries.size(), 0);
    as_role(relation_owner(cat, "rag_chunks"), [&] {
        run_sql(corpus.sql, corpus.args, true, [&](const SqlRow& row) {
            bool n;
            stats.n = static_cast<double>(DatumGetInt64(row.get(1, &n)));
            stats.length_sum = DatumGetFloat8(row.get(2, &n));
        });
        run_sql(df.sql, df.args, true, [&](const SqlRow& row) {
            bool n;
            int64 i = DatumGetInt64(row.get(1, &n));
            if (i >= 1 && static_cast<size_t>(i) <= stats.df.size())
                stats.df[static_cast<size_t>(i) - 1] = static_cast<double>(DatumGetInt64(row.get(2, &n)));
        });
    });
    return stats;
}

Datum float8_array(const std::vector<double>& values) {
    return pg_guard([&] {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * std::max<size_t>(1, values.size())));
        for (size_t i = 0; i < values.size(); ++i) items[i] = Float8GetDatum(values[i]);
        return PointerGetDatum(
            construct_array(items, static_cast<int>(values.size()), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}

}  // namespace

bool knowledge_base_distributed(const ExtensionCatalog& cat) {
    if (pg_guard([] { return get_extension_oid("citus", true); }) == InvalidOid) return false;
    Oid chunks = relation(cat, "rag_chunks");
    bool distributed = false;
    run_sql("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)",
            {{OIDOID, ObjectIdGetDatum(chunks)}}, true, [&](const SqlRow& row) {
                bool n;
                distributed = DatumGetBool(row.get(1, &n));
            });
    return distributed;
}

std::vector<Neighbour> distributed_vector_top_k(const ExtensionCatalog& cat, Embedding* query, size_t k, Datum filter,
                                                const std::optional<std::string>& model, Metric metric) {
    check_readable(cat, "rag_chunks");
    if (filter != 0) check_readable(cat, "rag_documents");
    Oid chunks = relation(cat, "rag_chunks");
    const std::string& s = cat.schema_sql;
    Query q;
    // k and the dimensions are literals: Citus pushes a constant LIMIT down to the shards.
    q.sql = "SELECT c.id, c.document_id, (c.embedding OPERATOR(" + s + "." + operator_for(metric) + ") " +
            q.arg({cat.embedding_type, PointerGetDatum(query)}) + ")::float8 AS distance FROM " + s + ".rag_chunks c";
    if (filter != 0) q.sql += " JOIN " + s + ".rag_documents d ON d.id = c.document_id";
    q.sql += " WHERE c.embedding IS NOT NULL AND " + s + ".dims(c.embedding) = " + std::to_string(query->dim);
    if (model) q.sql += " AND c.embedding_model = " + q.arg({TEXTOID, text_datum(*model)});
    if (filter != 0) q.sql += " AND d.metadata @> " + q.arg({JSONBOID, filter});
    q.sql += visible_to_caller(q, chunks);
    q.sql += " ORDER BY 3, 1 LIMIT " + std::to_string(k);
    std::vector<Neighbour> found;
    as_role(relation_owner(cat, "rag_chunks"), [&] {
        run_sql(q.sql, q.args, true, [&](const SqlRow& row) {
            bool n1, n2, n3;
            found.push_back(
                {DatumGetInt64(row.get(1, &n1)), DatumGetInt64(row.get(2, &n2)), DatumGetFloat8(row.get(3, &n3))});
        });
    });
    return found;
}

std::vector<ScoredChunk> distributed_keyword_top_k(const ExtensionCatalog& cat, const std::string& query, size_t k,
                                                   Datum filter) {
    check_readable(cat, "rag_chunks");
    if (filter != 0) check_readable(cat, "rag_documents");
    KeywordQuery kq = parse_keywords(query);
    if (kq.terms.empty() || kq.match.empty()) return {};  // nothing but stop-words
    Oid chunks = relation(cat, "rag_chunks");
    CorpusStats stats = corpus_stats(cat, chunks, kq);
    // idf as one node computes it from the same N and df; terms no visible chunk has are left out.
    std::vector<std::string> terms;
    std::vector<double> idf;
    for (size_t i = 0; i < kq.terms.size(); ++i) {
        if (stats.df[i] == 0) continue;
        terms.push_back(kq.terms[i]);
        idf.push_back(std::log(1 + (stats.n - stats.df[i] + 0.5) / (stats.df[i] + 0.5)));
    }
    if (terms.empty()) return {};
    double avgdl = std::max(stats.n > 0 ? stats.length_sum / stats.n : 0, 1.0);
    double k1 = real_setting("pg_rag.bm25_k1"), b = real_setting("pg_rag.bm25_b");
    // Every shard's top k of the chunks matching the query (and, with `required`, one of those terms).
    auto top_k = [&](const std::string* required) {
        const std::string& s = cat.schema_sql;
        Query q;
        q.sql = "SELECT c.id, c.document_id, " + s + ".rag_bm25_score(c.tsv, c.token_count, " +
                q.arg({TEXTARRAYOID, text_array(terms)}) + "::text[], " + q.arg({FLOAT8ARRAYOID, float8_array(idf)}) +
                "::float8[], " + q.arg({FLOAT8OID, Float8GetDatum(k1)}) + "::float8, " +
                q.arg({FLOAT8OID, Float8GetDatum(b)}) + "::float8, " + q.arg({FLOAT8OID, Float8GetDatum(avgdl)}) +
                "::float8) AS score FROM " + s + ".rag_chunks c";
        if (filter != 0) q.sql += " JOIN " + s + ".rag_documents d ON d.id = c.document_id";
        q.sql += " WHERE c.tsv @@ " + q.arg({TEXTOID, text_datum(kq.match)}) + "::tsquery";
        if (required) q.sql += " AND c.tsv @@ " + q.arg({TEXTOID, text_datum(*required)}) + "::tsquery";
        if (filter != 0) q.sql += " AND d.metadata @> " + q.arg({JSONBOID, filter});
        q.sql += visible_to_caller(q, chunks);
        q.sql += " ORDER BY 3 DESC, 1 LIMIT " + std::to_string(k);
        std::vector<ScoredChunk> found;
        as_role(relation_owner(cat, "rag_chunks"), [&] {
            run_sql(q.sql, q.args, true, [&](const SqlRow& row) {
                bool n1, n2, n3;
                found.push_back(
                    {DatumGetInt64(row.get(1, &n1)), DatumGetInt64(row.get(2, &n2)), DatumGetFloat8(row.get(3, &n3))});
            });
        });
        return found;
    };
    // MaxScore across shards. A term adds at most idf * (k1 + 1) to a score. Round one scores only the
    // chunks holding a rare term (in at most 1/kCommonShare of the chunks); its k-th score is a floor
    // of the final one. The common terms whose bounds, smallest first, sum below that floor can be left
    // out: a chunk with nothing else cannot reach the top k. If they all can, round one is the answer;
    // otherwise round two scores the chunks holding any other term, and is exact. Fewer than k rows in
    // round one, or no common term to leave out: every candidate is scored, as a plain search would.
    std::vector<std::pair<double, size_t>> common;  // (bound, term), smallest bound first
    std::vector<size_t> rare;
    for (size_t i = 0, j = 0; i < kq.terms.size(); ++i) {
        if (stats.df[i] == 0) continue;  // not among `terms` (idf[j] is the term's of kq.terms[i])
        if (stats.df[i] * kCommonShare > stats.n)
            common.emplace_back(idf[j] * (k1 + 1), i);
        else
            rare.push_back(i);
        ++j;
    }
    std::sort(common.begin(), common.end());
    if (rare.empty() && !common.empty()) {  // only common terms: the rarest of them starts
        rare.push_back(common.back().second);
        common.pop_back();
    }
    auto plan = [](const char* how) { pg_guard([&] { elog(DEBUG1, "pg_rag: distributed keyword search: %s", how); }); };
    if (common.empty()) {
        plan("every candidate scored (no common term)");
        return top_k(nullptr);
    }
    auto any_of = [&](const std::vector<size_t>& which) {
        std::string match;
        for (size_t i : which) match += (match.empty() ? "" : " | ") + kq.term_queries[i];
        return match;
    };
    const std::string first_match = any_of(rare);
    std::vector<ScoredChunk> found = top_k(&first_match);
    if (found.size() < k) {
        plan("every candidate scored (fewer than k chunks hold a rare term)");
        return top_k(nullptr);
    }
    const double floor = found.back().score;
    size_t left_out = 0;  // common terms left out: a prefix of `common`
    double bound = 0;
    while (left_out < common.size() && (bound + common[left_out].first) * (1 + 1e-12) < floor)
        bound += common[left_out++].first;
    if (left_out == common.size()) {
        plan("the rare-term round is exact (every common term left out)");
        return found;
    }
    if (left_out == 0) {
        plan("every candidate scored (no common term can be left out)");
        return top_k(nullptr);
    }
    plan("a second round without the common terms that can be left out");
    for (size_t j = left_out; j < common.size(); ++j) rare.push_back(common[j].second);
    const std::string second_match = any_of(rare);
    return top_k(&second_match);
}

}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

namespace {

// The query's terms and idf as one shard's scan passes them for every row: parsed once per query and
// kept in the call's fn_extra, with the raw arguments they came from (new arguments: parsed again).
struct Bm25Terms {
    struct varlena* terms_raw;
    struct varlena* idf_raw;
    int count;
    char** terms;
    int* lengths;
    double* idf;
    bool* skip;  // NULL idf: the term does not count
};

bool same_bytes(const struct varlena* a, const struct varlena* b) {
    return VARSIZE_ANY(a) == VARSIZE_ANY(b) && memcmp(a, b, VARSIZE_ANY(a)) == 0;
}

void free_terms(Bm25Terms* t) {
    for (int i = 0; i < t->count; ++i) pfree(t->terms[i]);
    pfree(t->terms);
    pfree(t->lengths);
    pfree(t->idf);
    pfree(t->skip);
    pfree(t->terms_raw);
    pfree(t->idf_raw);
    pfree(t);
}

const Bm25Terms* bm25_terms(FunctionCallInfo fcinfo) {
    auto* terms_raw = pg_guard([&] { return PG_DETOAST_DATUM(PG_GETARG_DATUM(2)); });
    auto* idf_raw = pg_guard([&] { return PG_DETOAST_DATUM(PG_GETARG_DATUM(3)); });
    auto* cached = static_cast<Bm25Terms*>(fcinfo->flinfo->fn_extra);
    if (cached && same_bytes(cached->terms_raw, terms_raw) && same_bytes(cached->idf_raw, idf_raw)) return cached;
    std::vector<std::string> terms = text_values(PointerGetDatum(terms_raw));
    Datum* idf_items = nullptr;
    bool* idf_nulls = nullptr;
    int idf_count = 0;
    pg_guard([&] {
        deconstruct_array(reinterpret_cast<ArrayType*>(idf_raw), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                          &idf_items, &idf_nulls, &idf_count);
    });
    if (static_cast<size_t>(idf_count) != terms.size())
        throw Error(ErrorCode::InvalidParameterValue, "rag_bm25_score: terms and idf must have the same length");
    return pg_guard([&] {
        if (cached) free_terms(cached);
        MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
        auto* t = static_cast<Bm25Terms*>(palloc(sizeof(Bm25Terms)));
        t->terms_raw = static_cast<struct varlena*>(palloc(VARSIZE_ANY(terms_raw)));
        memcpy(t->terms_raw, terms_raw, VARSIZE_ANY(terms_raw));
        t->idf_raw = static_cast<struct varlena*>(palloc(VARSIZE_ANY(idf_raw)));
        memcpy(t->idf_raw, idf_raw, VARSIZE_ANY(idf_raw));
        t->count = idf_count;
        t->terms = static_cast<char**>(palloc(sizeof(char*) * std::max(1, idf_count)));
        t->lengths = static_cast<int*>(palloc(sizeof(int) * std::max(1, idf_count)));
        t->idf = static_cast<double*>(palloc(sizeof(double) * std::max(1, idf_count)));
        t->skip = static_cast<bool*>(palloc(sizeof(bool) * std::max(1, idf_count)));
        for (int i = 0; i < idf_count; ++i) {
            t->terms[i] = pnstrdup(terms[i].data(), terms[i].size());
            t->lengths[i] = static_cast<int>(terms[i].size());
            t->skip[i] = idf_nulls[i];
            t->idf[i] = idf_nulls[i] ? 0 : DatumGetFloat8(idf_items[i]);
        }
        MemoryContextSwitchTo(old);
        fcinfo->flinfo->fn_extra = t;
        return t;
    });
}

}  // namespace

// rag_bm25_score(tsv, token_count, terms, idf, k1, b, avgdl) -> float8: the chunk's BM25 for the query's
// terms (idf aligned with terms), the same expression as rag_bm25's, summed term by term.
PGRAG_FUNCTION(rag_bm25_score) {
    TSVector tsv = pg_guard([&] { return PG_GETARG_TSVECTOR(0); });
    double length = static_cast<double>(PG_GETARG_INT32(1));
    const Bm25Terms* q = bm25_terms(fcinfo);
    double k1 = PG_GETARG_FLOAT8(4), b = PG_GETARG_FLOAT8(5), avgdl = PG_GETARG_FLOAT8(6);
    WordEntry* entries = ARRPTR(tsv);
    char* strings = STRPTR(tsv);
    double score = 0;
    for (int i = 0; i < q->count; ++i) {
        if (q->skip[i]) continue;
        for (int32 e = 0; e < tsv->size; ++e) {
            if (static_cast<int>(entries[e].len) != q->lengths[i] ||
                memcmp(strings + entries[e].pos, q->terms[i], entries[e].len) != 0)
                continue;
            // tf: the lexeme's positions (1 when it has none), as rag_bm25 counts them.
            double f = entries[e].haspos ? POSDATALEN(tsv, &entries[e]) : 1;
            score += q->idf[i] * ((f * (k1 + 1)) / (f + k1 * (1 - b + b * length / avgdl)));
            break;
        }
    }
    return Float8GetDatum(score);
}
