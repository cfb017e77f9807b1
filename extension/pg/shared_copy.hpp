// The Postgres side of shared search copies (any payload: vectors, a BM25 index): where a database's
// snapshot files live, when a backend may build or switch to one, and the cleanup a builder does.
//
// A copy is a base file (core/snapshot_file.hpp) written from one committed database snapshot S0 and
// mapped read-only by every backend, plus a private overlay per backend: the chunks its ChangeTracker
// (kb_changes.hpp, started at S0) says changed since, masked in the base and re-read privately. So a
// search sees exactly what its snapshot sees (its own uncommitted writes included) while the bulk of the
// memory is the page cache's, once per database.
//
// Rules every payload follows:
// - Files: "pg_rag/<database oid>/<kind>-<chunk table oid>[-<more>]-<generation>.snap" under the data
//   directory (a backend's working directory), 0600, written under the directory's lock.
// - A base holds committed data only: it is built only by a transaction with no xid assigned (else the
//   backend keeps its current base and overlay, or builds a private copy as before).
// - A backend switches to a newer base only when its transaction has no xid assigned and catching up
//   from the base's S0 to its snapshot works (the base is not newer than what it can see).
// - A builder removes the files of other chunk tables (a dropped and re-created extension), older
//   generations of what it wrote (backends that map them keep their mapping) and the directories of
//   dropped databases.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "../core/snapshot_file.hpp"
#include "catalog.hpp"

namespace pgrag::pg {

// "pg_rag/<MyDatabaseId>" (relative to the data directory).
std::string snapshot_dir();

// The key prefix of the files of this knowledge base: the chunk table's oid.
std::string chunk_table_key(Oid chunks);

// Whether the current transaction has an xid (it wrote something): then it may neither build a base
// nor switch to another.
bool xid_assigned();

// Takes the directory's writers' lock, creating the directory; polls (cancellable) up to wait_ms.
std::optional<snapshot::DirLock> lock_snapshot_dir(int wait_ms);

// After publishing `kept` (a file of kind and key): removes older generations of kind and key, files of
// any kind whose key is another chunk table's, stale temporary files and dropped databases' directories.
// Best effort: a file that cannot be removed is left.
void remove_superseded(const std::string& kind, const std::string& key, uint64_t kept_generation, Oid chunks);

// A newer base this transaction could not catch up from: not retried within the same transaction.
struct RefusedBase {
    uint64_t generation = 0;
    uint32_t transaction = 0;  // the local transaction id that refused it (0: none)
};

// Switches to `newest` when the transaction has written nothing and it is newer than the base mapped
// (`mapped_generation`; none mapped: any) and was not refused in this transaction: `adopt` maps it and
// catches up (false: it could not, remembered in `refused`). True when adopted.
bool adopt_newest_base(const std::optional<snapshot::Listed>& newest, std::optional<uint64_t> mapped_generation,
                       RefusedBase& refused, const std::function<bool(const snapshot::Listed&)>& adopt);

}  // namespace pgrag::pg
