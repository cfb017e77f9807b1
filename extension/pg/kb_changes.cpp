// Catching up with the change log: the log rows a snapshot sees now and did not see at the last catch-up.
#include "kb_changes.hpp"

#include <algorithm>

#include "args.hpp"
#include "boundary.hpp"
#include "spi.hpp"

namespace pgrag::pg {
namespace {

// $1 the last snapshot (NULL: none), $2 our newest applied log row, $3 our transaction then.
// Rows of another transaction are new when the old snapshot did not see them (only those at or above
// its xmin can be); ours are told apart by id, since a snapshot never lists its own transaction.
// A snapshot older than the last one (a cursor opened earlier, an imported snapshot: something the
// old one saw is not visible now) cannot be reached by applying rows: it reloads, as does a pruned log.
const char* kCatchUpSql = R"(
WITH s AS (SELECT pg_current_snapshot() AS now, $1::pg_snapshot AS old, pg_current_xact_id_if_assigned() AS me)
SELECT s.now::text, s.me::text,
       s.old IS NULL OR h.pruned_before > pg_snapshot_xmin(s.old)
         OR pg_snapshot_xmin(s.now) < pg_snapshot_xmin(s.old) OR pg_snapshot_xmax(s.now) < pg_snapshot_xmax(s.old)
         OR EXISTS (SELECT FROM pg_snapshot_xip(s.now) x WHERE pg_visible_in_snapshot(x, s.old)),
       o.ids, coalesce(o.truncated, false), m.ids, coalesce(m.truncated, false), coalesce(m.max_id, 0), m.older, m.total
FROM s CROSS JOIN @@.rag_chunk_changes_horizon h
CROSS JOIN LATERAL (
    SELECT array_agg(x) FILTER (WHERE x IS NOT NULL) AS ids, bool_or(c.chunk_ids IS NULL) AS truncated
    FROM @@.rag_chunk_changes c LEFT JOIN LATERAL unnest(c.chunk_ids) x ON true
    WHERE s.old IS NOT NULL AND c.xid >= pg_snapshot_xmin(s.old) AND c.xid IS DISTINCT FROM s.me
      AND NOT pg_visible_in_snapshot(c.xid, s.old)) o
CROSS JOIN LATERAL (
    SELECT array_agg(x) FILTER (WHERE x IS NOT NULL) AS ids,
           bool_or(c.chunk_ids IS NULL AND c.id > a.after) AS truncated, max(c.id) AS max_id,
           count(DISTINCT c.id) FILTER (WHERE c.id <= a.after) AS older, count(DISTINCT c.id) AS total
    FROM (SELECT CASE WHEN s.me::text = $3 THEN $2 ELSE 0 END AS after) a
    CROSS JOIN @@.rag_chunk_changes c
    LEFT JOIN LATERAL unnest(CASE WHEN c.id > a.after THEN c.chunk_ids END) x ON true
    WHERE c.xid = s.me) m
)";

std::string text_of(const SqlRow& row, int column, bool* is_null) {
    Datum d = row.get(column, is_null);
    if (*is_null) return "";
    return pg_guard([&] { return std::string(TextDatumGetCString(d)); });
}

}  // namespace

Datum int8_array(const std::vector<int64_t>& ids) {
    return pg_guard([&] {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * std::max<size_t>(1, ids.size())));
        for (size_t i = 0; i < ids.size(); ++i) items[i] = Int64GetDatum(ids[i]);
        return PointerGetDatum(
            construct_array(items, static_cast<int>(ids.size()), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}

std::vector<int64_t> int8_values(Datum array) {
    Datum* items = nullptr;
    bool* nulls = nullptr;
    int n = 0;
    pg_guard([&] {
        deconstruct_array(DatumGetArrayTypeP(array), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &items, &nulls, &n);
    });
    std::vector<int64_t> out;
    out.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        if (!nulls[i]) out.push_back(DatumGetInt64(items[i]));
    return out;
}

CatchUp catch_up(const ExtensionCatalog& cat, ChangeTracker& tracker) {
    std::string sql = kCatchUpSql;
    for (size_t at; (at = sql.find("@@")) != std::string::npos;) sql.replace(at, 2, cat.schema_sql);
    Datum old = tracker.snapshot.empty() ? (Datum)0 : text_datum(tracker.snapshot);
    Datum own_xid = text_datum(tracker.own_xid);
    CatchUp result;
    std::string me;
    bool stale = true, others_truncated = false, own_truncated = false;
    std::vector<int64_t> others, own_new;
    int64_t own_max = 0, own_older = 0, own_total = 0;
    // The log is internal: read it as its owner, within the caller's snapshot.
    as_role(relation_owner(cat, "rag_chunk_changes"), [&] {
        run_sql(sql,
                {{TEXTOID, old, tracker.snapshot.empty()},
                 {INT8OID, Int64GetDatum(tracker.own_max_log_id)},
                 {TEXTOID, own_xid}},
                true, [&](const SqlRow& row) {
                    bool n;
                    result.snapshot = text_of(row, 1, &n);
                    me = text_of(row, 2, &n);
                    Datum d = row.get(3, &n);
                    stale = n || DatumGetBool(d);
                    d = row.get(4, &n);
                    if (!n) others = int8_values(d);
                    others_truncated = DatumGetBool(row.get(5, &n));
                    d = row.get(6, &n);
                    if (!n) own_new = int8_values(d);
                    own_truncated = DatumGetBool(row.get(7, &n));
                    own_max = DatumGetInt64(row.get(8, &n));
                    own_older = DatumGetInt64(row.get(9, &n));
                    own_total = DatumGetInt64(row.get(10, &n));
                });
    });
    result.reload = stale || others_truncated;
    result.reread = std::move(others);
    // Our own earlier changes: once our transaction has ended (committed or rolled back), or a savepoint
    // took some back, re-read what it touched: the snapshot now tells what stayed.
    bool same_xact = !me.empty() && me == tracker.own_xid;
    if (!same_xact || own_older < tracker.own_log_rows) {
        if (tracker.reload_after_own) result.reload = true;
        result.reread.insert(result.reread.end(), tracker.own_touched.begin(), tracker.own_touched.end());
        if (!same_xact) {
            tracker.own_touched.clear();
            tracker.reload_after_own = false;
        }
    }
    tracker.own_xid = me;
    tracker.own_max_log_id = own_max;
    tracker.own_log_rows = own_total;
    tracker.own_touched.insert(tracker.own_touched.end(), own_new.begin(), own_new.end());
    result.reread.insert(result.reread.end(), own_new.begin(), own_new.end());
    if (own_truncated) {
        result.reload = true;
        tracker.reload_after_own = true;
    }
    std::sort(result.reread.begin(), result.reread.end());
    result.reread.erase(std::unique(result.reread.begin(), result.reread.end()), result.reread.end());
    return result;
}

}  // namespace pgrag::pg
