#include "vector_snapshot.hpp"

#include <algorithm>
#include <cstring>

namespace pgrag {
namespace {

// Text lists: u32 count, then per item a presence byte (0: none) and, when present, u32 length + bytes.
void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

void put_optional(std::string& out, const std::optional<std::string>& s) {
    out += s ? '\1' : '\0';
    if (!s) return;
    put_u32(out, static_cast<uint32_t>(s->size()));
    out += *s;
}

struct Reader {
    const uint8_t* at;
    const uint8_t* end;
    bool ok = true;
    uint32_t u32() {
        uint32_t v = 0;
        if (end - at < 4) return ok = false, 0;
        std::memcpy(&v, at, 4);
        at += 4;
        return v;
    }
    std::optional<std::string> optional_text() {
        if (at == end) return ok = false, std::nullopt;
        if (*at++ == 0) return std::nullopt;
        uint32_t n = u32();
        if (!ok || static_cast<size_t>(end - at) < n) return ok = false, std::nullopt;
        std::string s(reinterpret_cast<const char*>(at), n);
        at += n;
        return s;
    }
};

// Appends column `get(row)` of m's live rows.
template <typename T, typename Get>
void put_column(snapshot::Writer& w, uint32_t tag, const VectorMatrix& m, Get get) {
    std::vector<T> buffer;
    buffer.reserve(4096);
    w.begin(tag);
    for (size_t r = 0; r < m.rows(); ++r) {
        if (!m.alive(r)) continue;
        buffer.push_back(get(r));
        if (buffer.size() == 4096) {
            w.append(buffer.data(), buffer.size() * sizeof(T));
            buffer.clear();
        }
    }
    w.append(buffer.data(), buffer.size() * sizeof(T));
}

}  // namespace

void write_vector_snapshot(snapshot::Writer& w, const VectorMatrix& m, const std::vector<std::string>& group_names,
                           const ScopeTable& scopes, const VectorSnapshotMeta& meta) {
    int64_t last = 0;
    bool first = true;
    for (size_t r = 0; r < m.rows(); ++r) {
        if (!m.alive(r)) continue;
        if (!first && m.id(r) <= last) throw std::invalid_argument("vector snapshot rows must have ascending ids");
        last = m.id(r);
        first = false;
    }
    w.meta("rows", std::to_string(m.live_rows()));
    w.meta("dims", std::to_string(m.dims()));
    w.meta("db_snapshot", meta.db_snapshot);
    w.meta("chunk_table", std::to_string(meta.chunk_table));
    put_column<int64_t>(w, kIds, m, [&](size_t r) { return m.id(r); });
    put_column<int64_t>(w, kOwners, m, [&](size_t r) { return m.owner(r); });
    put_column<uint16_t>(w, kGroups, m, [&](size_t r) { return m.group(r); });
    put_column<ScopeId>(w, kScopes, m, [&](size_t r) { return m.scope(r); });
    put_column<double>(w, kNorms, m, [&](size_t r) { return m.squared_norm(r); });
    w.begin(kValues);
    for (size_t r = 0; r < m.rows(); ++r)
        if (m.alive(r)) w.append(m.row(r), m.dims() * sizeof(float));
    std::string names;
    put_u32(names, static_cast<uint32_t>(group_names.size()));
    for (const std::string& g : group_names) put_optional(names, g);
    w.section(kGroupNames, names.data(), names.size());
    std::string entries;
    put_u32(entries, static_cast<uint32_t>(scopes.entries().size()));
    for (const ScopeEntry& e : scopes.entries()) {
        put_optional(entries, e.owner);
        put_optional(entries, e.tenant);
    }
    w.section(kScopeEntries, entries.data(), entries.size());
}

std::unique_ptr<VectorSnapshot> VectorSnapshot::open(const std::string& path) {
    auto s = std::make_unique<VectorSnapshot>();
    s->file_ = snapshot::File::open(path, kVectorSnapshotKind);
    auto bad = [&](const std::string& why) {
        return snapshot::InvalidSnapshot("vector snapshot \"" + path + "\" " + why);
    };
    const snapshot::File& f = *s->file_;
    auto number = [&](const char* key) -> size_t {
        std::optional<std::string> v = f.meta(key);
        if (!v || v->empty() || v->find_first_not_of("0123456789") != std::string::npos || v->size() > 15)
            throw bad(std::string("has no valid ") + key);
        return static_cast<size_t>(std::stoull(*v));
    };
    RowsView& v = s->view_;
    v.rows = number("rows");
    v.dims = number("dims");
    s->meta_.chunk_table = number("chunk_table");
    s->meta_.db_snapshot = f.meta("db_snapshot").value_or("");
    auto column = [&](uint32_t tag, size_t item) -> const uint8_t* {
        std::optional<snapshot::File::Section> sec = f.section(tag);
        if (!sec || sec->size != v.rows * item) throw bad("has a section of the wrong size");
        return sec->bytes;
    };
    v.ids = reinterpret_cast<const int64_t*>(column(kIds, sizeof(int64_t)));
    v.owners = reinterpret_cast<const int64_t*>(column(kOwners, sizeof(int64_t)));
    v.groups = reinterpret_cast<const uint16_t*>(column(kGroups, sizeof(uint16_t)));
    v.scopes = reinterpret_cast<const ScopeId*>(column(kScopes, sizeof(ScopeId)));
    v.norms = reinterpret_cast<const double*>(column(kNorms, sizeof(double)));
    v.values = reinterpret_cast<const float*>(column(kValues, v.dims * sizeof(float)));
    for (size_t r = 1; r < v.rows; ++r)
        if (v.ids[r] <= v.ids[r - 1]) throw bad("has ids out of order");
    for (uint32_t tag : {kGroupNames, kScopeEntries}) {
        std::optional<snapshot::File::Section> sec = f.section(tag);
        if (!sec) throw bad("lacks a table");
        Reader rd{sec->bytes, sec->bytes + sec->size};
        uint32_t n = rd.u32();
        for (uint32_t i = 0; i < n && rd.ok; ++i) {
            if (tag == kGroupNames)
                s->group_names_.push_back(rd.optional_text().value_or(""));
            else {
                ScopeEntry e;
                e.owner = rd.optional_text();
                e.tenant = rd.optional_text();
                s->scope_entries_.push_back(std::move(e));
            }
        }
        if (!rd.ok || rd.at != rd.end) throw bad("has a bad table");
    }
    if (s->scope_entries_.empty() || s->scope_entries_[0].owner || s->scope_entries_[0].tenant)
        throw bad("has a bad scope table");
    for (size_t r = 0; r < v.rows; ++r)
        if (v.scopes[r] >= s->scope_entries_.size() || v.groups[r] >= s->group_names_.size())
            throw bad("has a row of an unknown scope or group");
    return s;
}

std::optional<size_t> VectorSnapshot::row_of(int64_t id) const {
    const int64_t* end = view_.ids + view_.rows;
    const int64_t* at = std::lower_bound(view_.ids, end, id);
    if (at == end || *at != id) return std::nullopt;
    return static_cast<size_t>(at - view_.ids);
}

}  // namespace pgrag
