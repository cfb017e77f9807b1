// Keeping a backend's in-memory copy of the chunks in step with what its snapshot sees, from the
// change log (rag_chunk_changes) instead of reloading everything after every write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog.hpp"

namespace pgrag::pg {

// What a copy knows about the state it mirrors.
struct ChangeTracker {
    std::string snapshot;              // pg_current_snapshot() it last caught up to; empty: not loaded
    std::string own_xid;               // our transaction when own_touched was recorded
    std::vector<int64_t> own_touched;  // chunks our (uncommitted) transaction changed: re-read once it ends
    int64_t own_max_log_id = 0;        // newest log row of our transaction applied
    int64_t own_log_rows = 0;          // how many of ours there were then (fewer now: a savepoint rolled back)
    bool reload_after_own = false;     // our transaction truncated: reload once it ends or rolls back
};

// What a copy must do to reach the current snapshot: reload everything, or re-read these chunks
// (remove each from the copy, then add it again if the snapshot still sees it).
struct CatchUp {
    bool reload = false;
    std::vector<int64_t> reread;
    std::string snapshot;  // the state reached
};

// Reads the change log (as its owner) and advances `tracker`'s own-transaction bookkeeping; the caller
// applies the result and then sets tracker.snapshot = result.snapshot (or clears it if applying failed).
CatchUp catch_up(const ExtensionCatalog& cat, ChangeTracker& tracker);

// An int8[] Datum of ids, and the ids of an int8[] Datum.
Datum int8_array(const std::vector<int64_t>& ids);
std::vector<int64_t> int8_values(Datum array);

}  // namespace pgrag::pg
