#include "visibility.hpp"

#include <algorithm>

namespace pgrag {
namespace {

// One string per pair: a presence flag before each part, so "none" and "" never meet (SQL text holds no NUL).
std::string key_of(const std::optional<std::string>& owner, const std::optional<std::string>& tenant) {
    std::string key;
    key += owner ? '1' : '0';
    if (owner) key += *owner;
    key += '\0';
    key += tenant ? '1' : '0';
    if (tenant) key += *tenant;
    return key;
}

}  // namespace

ScopeTable::ScopeTable() {
    ids_.emplace(key_of(std::nullopt, std::nullopt), kSharedScope);
    entries_.push_back({std::nullopt, std::nullopt});
}

ScopeId ScopeTable::intern(const std::optional<std::string>& owner, const std::optional<std::string>& tenant) {
    if (!owner && !tenant) return kSharedScope;
    auto [it, inserted] = ids_.emplace(key_of(owner, tenant), static_cast<ScopeId>(ids_.size()));
    if (inserted) entries_.push_back({owner, tenant});
    return it->second;
}

VisibleScopes ScopeTable::visible_to(const Viewer& viewer) const {
    VisibleScopes visible;
    visible.marks.assign(ids_.size(), 0);
    // Shared or the viewer's, of any tenant or the viewer's (with no tenant, both are "any").
    for (const auto& owner : {std::optional<std::string>(), std::optional<std::string>(viewer.user)})
        for (const auto& tenant : {std::optional<std::string>(), viewer.tenant}) {
            auto it = ids_.find(key_of(owner, tenant));
            if (it != ids_.end() && !visible.marks[it->second]) {
                visible.marks[it->second] = 1;
                visible.ids.push_back(it->second);
            }
        }
    std::sort(visible.ids.begin(), visible.ids.end());
    return visible;
}

}  // namespace pgrag
