// Who may see a chunk, as the in-memory copies record it. Every chunk carries a scope: its document's
// (owner, tenant) pair interned to a small number, scope 0 being the shared knowledge base (no owner,
// any tenant). A search asks which scopes its caller sees and skips the others, in the rows it returns
// and in the statistics it ranks with, so one copy serves every caller of a pooled connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pgrag {

using ScopeId = uint32_t;
constexpr ScopeId kSharedScope = 0;  // owner NULL, tenant NULL

// The scopes a caller sees (a pointer to none: the caller sees every scope), marked for the row loops
// and listed for the statistics (at most four: no per-query cost grows with the number of users).
struct VisibleScopes {
    std::vector<uint8_t> marks;  // marks[scope] != 0: visible
    std::vector<ScopeId> ids;    // the visible scopes, ascending
};

// Whether scope is visible (a scope the list does not know is not).
inline bool visible(const VisibleScopes& scopes, ScopeId scope) {
    return scope < scopes.marks.size() && scopes.marks[scope];
}

// The caller a search answers to: rag_current_user() and rag_current_tenant() (none: no tenant).
struct Viewer {
    std::string user;
    std::optional<std::string> tenant;
};

// An (owner, tenant) pair: none is shared (owner) or any tenant.
struct ScopeEntry {
    std::optional<std::string> owner;
    std::optional<std::string> tenant;
};

// The (owner, tenant) pairs of a copy's chunks, each numbered once.
class ScopeTable {
  public:
    ScopeTable();
    // The scope of a document owned by `owner` (none: shared) within `tenant` (none: any tenant).
    ScopeId intern(const std::optional<std::string>& owner, const std::optional<std::string>& tenant);
    size_t size() const { return ids_.size(); }
    // The pairs by scope number; interning them in this order into a new table gives the same numbers.
    const std::vector<ScopeEntry>& entries() const { return entries_; }
    // One entry per scope: 1 where the owner is none or viewer.user and the tenant none or
    // viewer.tenant, the rule of the row-level security policies (at most four scopes are visible).
    VisibleScopes visible_to(const Viewer& viewer) const;

  private:
    std::unordered_map<std::string, ScopeId> ids_;
    std::vector<ScopeEntry> entries_;
};

}  // namespace pgrag
