// The BM25 payload of a snapshot file (snapshot_file.hpp): the flat keyword index (bm25_flat.hpp) of
// every chunk of one knowledge base as of one database snapshot, with the scope table its rows use.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bm25_flat.hpp"
#include "snapshot_file.hpp"
#include "visibility.hpp"

namespace pgrag {

constexpr const char* kBm25SnapshotKind = "bm25";

// Section tags of the BM25 payload.
enum Bm25Section : uint32_t {
    kBm25FlatIndex = 1,
};

// What a base reflects: the database snapshot (pg_current_snapshot() text) and the chunk table.
struct Bm25SnapshotMeta {
    std::string db_snapshot;
    uint64_t chunk_table = 0;
};

// Writes the builder's chunks, numbered by `scopes`, into w (then w.commit() publishes them).
void write_bm25_snapshot(snapshot::Writer& w, const Bm25FlatBuilder& chunks, const ScopeTable& scopes,
                         const Bm25SnapshotMeta& meta, const InterruptCheck& check = nullptr);

// A mapped BM25 snapshot: the flat index over the file's bytes and the scopes of its rows.
class Bm25Snapshot {
  public:
    // Throws snapshot::InvalidSnapshot when the file or its payload is inconsistent.
    static std::unique_ptr<Bm25Snapshot> open(const std::string& path);

    const Bm25Flat& index() const { return *index_; }
    const Bm25SnapshotMeta& meta() const { return meta_; }
    const std::vector<ScopeEntry>& scope_entries() const { return scope_entries_; }  // by scope id
    const snapshot::File& file() const { return *file_; }

  private:
    std::unique_ptr<snapshot::File> file_;
    std::optional<Bm25Flat> index_;
    Bm25SnapshotMeta meta_;
    std::vector<ScopeEntry> scope_entries_;
};

// A scope's name in the flat index, and back (none: not a scope name).
std::string scope_key(const ScopeEntry& e);
std::optional<ScopeEntry> parse_scope_key(std::string_view key);

}  // namespace pgrag
