#include "bm25_snapshot.hpp"

#include "error.hpp"

namespace pgrag {

// A presence byte ('0' none, '1' then the text) per part, the parts separated by NUL (SQL text holds none).
std::string scope_key(const ScopeEntry& e) {
    std::string key;
    key += e.owner ? '1' : '0';
    if (e.owner) key += *e.owner;
    key += '\0';
    key += e.tenant ? '1' : '0';
    if (e.tenant) key += *e.tenant;
    return key;
}

std::optional<ScopeEntry> parse_scope_key(std::string_view key) {
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos || key.find('\0', nul + 1) != std::string_view::npos) return std::nullopt;
    auto part = [](std::string_view p, std::optional<std::string>& out) {
        if (p == "0") return true;
        if (p.empty() || p[0] != '1') return false;
        out = std::string(p.substr(1));
        return true;
    };
    ScopeEntry e;
    if (!part(key.substr(0, nul), e.owner) || !part(key.substr(nul + 1), e.tenant)) return std::nullopt;
    return e;
}

void write_bm25_snapshot(snapshot::Writer& w, const Bm25FlatBuilder& chunks, const ScopeTable& scopes,
                         const Bm25SnapshotMeta& meta, const InterruptCheck& check) {
    std::vector<std::string> keys;
    for (const ScopeEntry& e : scopes.entries()) keys.push_back(scope_key(e));
    w.meta("rows", std::to_string(chunks.chunks()));
    w.meta("db_snapshot", meta.db_snapshot);
    w.meta("chunk_table", std::to_string(meta.chunk_table));
    w.begin(kBm25FlatIndex);
    chunks.write([&](const void* bytes, size_t size) { w.append(bytes, size); }, keys, check);
}

std::unique_ptr<Bm25Snapshot> Bm25Snapshot::open(const std::string& path) {
    auto s = std::make_unique<Bm25Snapshot>();
    s->file_ = snapshot::File::open(path, kBm25SnapshotKind);
    auto bad = [&](const std::string& why) {
        return snapshot::InvalidSnapshot("BM25 snapshot \"" + path + "\" " + why);
    };
    const snapshot::File& f = *s->file_;
    std::optional<std::string> table = f.meta("chunk_table");
    if (!table || table->empty() || table->size() > 15 || table->find_first_not_of("0123456789") != std::string::npos)
        throw bad("has no valid chunk_table");
    s->meta_.chunk_table = std::stoull(*table);
    s->meta_.db_snapshot = f.meta("db_snapshot").value_or("");
    std::optional<snapshot::File::Section> sec = f.section(kBm25FlatIndex);
    if (!sec) throw bad("lacks its index");
    try {
        s->index_.emplace(sec->bytes, sec->size);
    } catch (const Error& e) {
        throw bad(std::string("holds a bad index: ") + e.what());
    }
    // Scope numbers as the writer had them, the shared scope first.
    for (ScopeId scope = 0; scope < s->index_->scope_count(); ++scope) {
        std::optional<ScopeEntry> e = parse_scope_key(s->index_->scope_key(scope));
        if (!e) throw bad("has a bad scope name");
        s->scope_entries_.push_back(std::move(*e));
    }
    if (s->scope_entries_.empty() || s->scope_entries_[0].owner || s->scope_entries_[0].tenant)
        throw bad("has a bad scope table");
    return s;
}

}  // namespace pgrag
