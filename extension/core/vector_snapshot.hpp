// The vector payload of a snapshot file (snapshot_file.hpp): every chunk embedding of one dimension of
// one knowledge base, as of one database snapshot, in the columns a search scans (ids ascending), with
// the group (embedding model) names and the scope table its rows refer to, and optionally the bytes of
// an approximate index over those rows.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "snapshot_file.hpp"
#include "vector_index.hpp"

namespace pgrag {

constexpr const char* kVectorSnapshotKind = "vectors";

// Section tags of the vector payload.
enum VectorSection : uint32_t {
    kIds = 1,
    kOwners = 2,
    kGroups = 3,
    kScopes = 4,
    kNorms = 5,
    kValues = 6,
    kGroupNames = 7,
    kScopeEntries = 8,
    kApproximateIndex = 9,
};

// What a base reflects: the database snapshot (pg_current_snapshot() text) and the chunk table.
struct VectorSnapshotMeta {
    std::string db_snapshot;
    uint64_t chunk_table = 0;
};

// Writes the live rows of m (ids ascending) and their tables into w; the caller may add sections
// (the approximate index) before w.commit().
void write_vector_snapshot(snapshot::Writer& w, const VectorMatrix& m, const std::vector<std::string>& group_names,
                           const ScopeTable& scopes, const VectorSnapshotMeta& meta);

// A mapped vector snapshot.
class VectorSnapshot {
  public:
    // Throws snapshot::InvalidSnapshot when the file or its payload is inconsistent.
    static std::unique_ptr<VectorSnapshot> open(const std::string& path);

    RowsView view() const { return view_; }
    size_t rows() const { return view_.rows; }
    size_t dims() const { return view_.dims; }
    const VectorSnapshotMeta& meta() const { return meta_; }
    const std::vector<std::string>& group_names() const { return group_names_; }     // by group tag
    const std::vector<ScopeEntry>& scope_entries() const { return scope_entries_; }  // by scope id
    // The row of id (none: absent).
    std::optional<size_t> row_of(int64_t id) const;
    // The approximate index's bytes (none: not built) and its metadata value `key`.
    std::optional<snapshot::File::Section> approximate_index() const { return file_->section(kApproximateIndex); }
    std::optional<std::string> meta_value(const std::string& key) const { return file_->meta(key); }
    const snapshot::File& file() const { return *file_; }

  private:
    std::unique_ptr<snapshot::File> file_;
    RowsView view_;
    VectorSnapshotMeta meta_;
    std::vector<std::string> group_names_;
    std::vector<ScopeEntry> scope_entries_;
};

}  // namespace pgrag
