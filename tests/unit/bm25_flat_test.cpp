// The flat shared BM25 index plus a private overlay (masked base rows, a delta) ranks exactly as one
// Bm25Index holding the live chunks: same statistics, ids, order and bit-identical scores.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>

#include "core/bm25_flat.hpp"
#include "core/bm25_snapshot.hpp"
#include "core/error.hpp"

namespace {

using pgrag::Bm25Filter;
using pgrag::Bm25Flat;
using pgrag::Bm25FlatBuilder;
using pgrag::Bm25Index;
using pgrag::Bm25Overlay;
using pgrag::Bm25Params;
using pgrag::ScopeId;
using pgrag::ScoredChunk;
using pgrag::VisibleScopes;

struct Doc {
    int64_t id, owner;
    int32_t length;
    ScopeId scope;
    std::map<std::string, uint32_t> tf;
};

std::vector<pgrag::TermCount> counts(const Doc& d) {
    std::vector<pgrag::TermCount> terms;
    for (const auto& [lexeme, tf] : d.tf) terms.push_back({lexeme, tf});
    return terms;
}

// A Zipf-like document: word w drawn with probability ~ 1 / (w + 1), some repeated (tf > 1).
Doc random_doc(std::mt19937& rng, int64_t id, ScopeId scopes) {
    static std::vector<double> weights = [] {
        std::vector<double> w;
        for (int i = 0; i < 400; ++i) w.push_back(1.0 / (i + 1));
        return w;
    }();
    std::discrete_distribution<int> word(weights.begin(), weights.end());
    Doc d{id,
          static_cast<int64_t>(rng() % 9),
          static_cast<int32_t>(rng() % 50),
          static_cast<ScopeId>(rng() % scopes),
          {}};
    for (int j = 0; j < d.length; ++j) d.tf["w" + std::to_string(word(rng))]++;
    if (rng() % 41 == 0) d.tf.clear();  // a chunk without words still counts in N
    return d;
}

// A flat index held in an 8-byte aligned buffer.
struct FlatBytes {
    std::vector<uint64_t> words;
    size_t size = 0;
    void append(const void* data, size_t n) {
        words.resize((size + n + 7) / 8);
        std::memcpy(reinterpret_cast<char*>(words.data()) + size, data, n);
        size += n;
    }
    const void* data() const { return words.data(); }
};

FlatBytes write_flat(const std::vector<Doc>& docs, const std::vector<std::string>& scope_keys = {}) {
    Bm25FlatBuilder builder;
    for (const Doc& d : docs) builder.add(d.id, d.owner, d.length, counts(d), d.scope);
    FlatBytes bytes;
    builder.write([&](const void* p, size_t n) { bytes.append(p, n); }, scope_keys);
    return bytes;
}

void expect_identical(const std::vector<ScoredChunk>& got, const std::vector<ScoredChunk>& want,
                      const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].id, want[i].id) << what << " rank " << i;
        EXPECT_EQ(got[i].owner, want[i].owner) << what << " rank " << i;
        EXPECT_EQ(got[i].score, want[i].score) << what << " rank " << i;  // bit-identical
    }
}

VisibleScopes scopes_of(const std::vector<ScopeId>& ids) {
    VisibleScopes v;
    for (ScopeId s : ids) {
        if (v.marks.size() <= s) v.marks.resize(s + 1, 0);
        v.marks[s] = 1;
        v.ids.push_back(s);
    }
    return v;
}

std::vector<std::string> random_query(std::mt19937& rng) {
    std::vector<std::string> q;
    size_t n = 1 + rng() % 5;
    for (size_t i = 0; i < n; ++i) {
        // Mostly frequent words, some rare, some unknown.
        unsigned w = rng() % 4 == 0 ? rng() % 400 : rng() % 30;
        std::string t = rng() % 17 == 0 ? "nowhere" + std::to_string(i) : "w" + std::to_string(w);
        if (std::find(q.begin(), q.end(), t) == q.end()) q.push_back(t);
    }
    std::sort(q.begin(), q.end());
    return q;
}

// Compares every statistic and ranking of `live` (overlay) against `ref` (one index of the live chunks).
void expect_same_as(const Bm25Overlay& live, const Bm25Index& ref, std::mt19937& rng, int64_t max_id,
                    const std::string& what) {
    Bm25Params p{1.2, 0.75};
    std::vector<std::optional<VisibleScopes>> views = {std::nullopt, scopes_of({0}), scopes_of({0, 2}),
                                                       scopes_of({1, 3, 4}), scopes_of({5})};
    for (const auto& v : views) {
        const VisibleScopes* s = v ? &*v : nullptr;
        ASSERT_EQ(live.chunks(s), ref.chunks(s)) << what;
        ASSERT_EQ(live.average_length(s), ref.average_length(s)) << what;
        for (int w = 0; w < 400; w += 7)
            ASSERT_EQ(live.document_frequency("w" + std::to_string(w), s),
                      ref.document_frequency("w" + std::to_string(w), s))
                << what << " w" << w;
    }
    std::vector<int64_t> owners = {1, 4, 5};
    for (int round = 0; round < 40; ++round) {
        std::vector<std::string> q = random_query(rng);
        size_t k = std::vector<size_t>{1, 3, 10, 50, 100000}[rng() % 5];
        const auto& v = views[rng() % views.size()];
        Bm25Filter filter{rng() % 3 == 0 ? &owners : nullptr, v ? &*v : nullptr};
        std::string where = what + " round " + std::to_string(round);
        expect_identical(live.top_k(q, k, p, filter), ref.top_k(q, k, p, filter), where + " top_k");
        // Candidates: random ids, some unknown or taken out, some repeated, any order.
        std::vector<int64_t> candidates;
        size_t n = rng() % 300;
        for (size_t i = 0; i < n; ++i) candidates.push_back(static_cast<int64_t>(rng() % (max_id + 20)));
        expect_identical(live.top_k_of(q, candidates, k, p, filter), ref.top_k_of(q, candidates, k, p, filter),
                         where + " top_k_of");
    }
}

TEST(Bm25Flat, BaseAloneRanksAsTheIndex) {
    std::mt19937 rng(7);
    std::vector<Doc> docs;
    for (int64_t i = 0; i < 3000; ++i) docs.push_back(random_doc(rng, 1 + i * 3, 4));
    std::shuffle(docs.begin(), docs.end(), rng);  // the builder sorts rows by id
    FlatBytes bytes = write_flat(docs);
    Bm25Flat flat(bytes.data(), bytes.size);
    flat.verify();
    EXPECT_EQ(flat.rows(), 3000u);
    EXPECT_EQ(flat.bytes(), bytes.size);
    Bm25Index ref;
    for (const Doc& d : docs) ref.add(d.id, d.owner, d.length, counts(d), d.scope);
    Bm25Overlay live(flat);
    EXPECT_EQ(live.masked_rows(), 0u);
    expect_same_as(live, ref, rng, 9000, "base alone");
}

// A term in every chunk next to a rarer one, with ties: the first threshold (from the rarer term's
// chunks) leaves the common term out from the start and still returns exactly the index's top k.
TEST(Bm25Flat, ACommonTermBesideARareOneRanksAsTheIndex) {
    std::vector<Doc> docs;
    for (int64_t i = 0; i < 5000; ++i) {
        Doc d{1 + i, 1, 20, 0, {{"common", 1 + static_cast<uint32_t>(i % 3)}}};
        if (i % 50 == 0) d.tf["rare"] = 2;    // 100 chunks, equal scores but for "common"
        if (i % 700 == 0) d.tf["rarer"] = 1;  // a few score higher
        docs.push_back(d);
    }
    FlatBytes bytes = write_flat(docs);
    Bm25Flat flat(bytes.data(), bytes.size);
    Bm25Index ref;
    for (const Doc& d : docs) ref.add(d.id, d.owner, d.length, counts(d), d.scope);
    Bm25Overlay live(flat);
    Bm25Params p{1.2, 0.75};
    std::vector<int64_t> owners = {1};
    for (const auto& q : std::vector<std::vector<std::string>>{
             {"common", "rare"}, {"common", "rare", "rarer"}, {"common", "rarer"}, {"common"}})
        for (size_t k : {1, 5, 10, 100, 101, 6000})
            for (const std::vector<int64_t>* o : std::vector<const std::vector<int64_t>*>{nullptr, &owners}) {
                Bm25Filter filter{o, nullptr};
                expect_identical(live.top_k(q, k, p, filter), ref.top_k(q, k, p, filter),
                                 q.back() + " k " + std::to_string(k));
            }
}

// Random masks and deltas: chunks changed (masked, re-added with new text), deleted, added, changed
// again in the delta; the reference holds exactly the live ones, added in another order.
TEST(Bm25Flat, OverlayRanksAsOneIndexOfTheLiveChunks) {
    for (uint32_t seed = 1; seed <= 12; ++seed) {
        std::mt19937 rng(seed);
        std::map<int64_t, Doc> live_docs;
        std::vector<Doc> base_docs;
        size_t n = 200 + rng() % 2000;
        for (size_t i = 0; i < n; ++i) {
            Doc d = random_doc(rng, static_cast<int64_t>(1 + i * 2), 4);
            base_docs.push_back(d);
            live_docs[d.id] = d;
        }
        FlatBytes bytes = write_flat(base_docs);
        Bm25Flat flat(bytes.data(), bytes.size);
        Bm25Overlay live(flat);
        int64_t max_id = static_cast<int64_t>(2 * n + 1);
        size_t changes = rng() % (n / 2 + 1) + (seed % 3 == 0 ? n : 0);  // sometimes more changes than base
        for (size_t c = 0; c < changes; ++c) {
            int64_t id = static_cast<int64_t>(rng() % (max_id + 50));
            int action = static_cast<int>(rng() % 3);
            bool was_live = live_docs.count(id) != 0;
            ASSERT_EQ(live.contains(id), was_live);
            // Re-reading a chunk: take it out, then add what the snapshot sees (new text, or nothing).
            ASSERT_EQ(live.remove(id), was_live);
            live_docs.erase(id);
            if (action != 0) {
                Doc d = random_doc(rng, id, 6);  // scopes 4 and 5: unknown to the base
                live.add(d.id, d.owner, d.length, counts(d), d.scope);
                live.add(d.id, d.owner + 1, d.length, counts(d), d.scope);  // already live: ignored
                live_docs[id] = d;
            }
        }
        std::vector<Doc> order;
        for (const auto& [id, d] : live_docs) order.push_back(d);
        std::shuffle(order.begin(), order.end(), rng);
        Bm25Index ref;
        for (const Doc& d : order) ref.add(d.id, d.owner, d.length, counts(d), d.scope);
        expect_same_as(live, ref, rng, max_id + 50, "seed " + std::to_string(seed));
    }
}

TEST(Bm25Flat, EveryBaseRowMaskedLeavesTheDeltaAlone) {
    std::mt19937 rng(3);
    std::vector<Doc> docs;
    for (int64_t i = 0; i < 500; ++i) docs.push_back(random_doc(rng, i, 3));
    FlatBytes bytes = write_flat(docs);
    Bm25Flat flat(bytes.data(), bytes.size);
    Bm25Overlay live(flat);
    for (const Doc& d : docs) ASSERT_TRUE(live.remove(d.id));
    EXPECT_FALSE(live.remove(docs[0].id));
    EXPECT_EQ(live.chunks(), 0u);
    EXPECT_EQ(live.average_length(), 0);
    EXPECT_TRUE(live.top_k({"w0", "w1"}, 10, {}).empty());
    Bm25Index ref;
    for (int64_t i = 0; i < 50; ++i) {
        Doc d = random_doc(rng, 1000 + i, 3);
        live.add(d.id, d.owner, d.length, counts(d), d.scope);
        ref.add(d.id, d.owner, d.length, counts(d), d.scope);
    }
    expect_same_as(live, ref, rng, 1100, "all masked");
    EXPECT_EQ(live.masked_rows(), 500u);
}

TEST(Bm25Flat, RepeatedIdsKeepTheFirstAsTheIndexDoes) {
    std::mt19937 rng(5);
    std::vector<Doc> docs;
    Bm25Index ref;
    for (int i = 0; i < 400; ++i) {
        Doc d = random_doc(rng, static_cast<int64_t>(rng() % 150), 2);
        docs.push_back(d);
        ref.add(d.id, d.owner, d.length, counts(d), d.scope);
    }
    FlatBytes bytes = write_flat(docs);
    Bm25Flat flat(bytes.data(), bytes.size);
    flat.verify();
    EXPECT_EQ(flat.rows(), ref.chunks());
    expect_same_as(Bm25Overlay(flat), ref, rng, 150, "repeated ids");
}

TEST(Bm25Flat, EmptyIndexAndScopeNames) {
    FlatBytes bytes = write_flat({}, {"", "1alice\0"});
    Bm25Flat flat(bytes.data(), bytes.size);
    flat.verify();
    EXPECT_EQ(flat.rows(), 0u);
    EXPECT_EQ(flat.scope_count(), 2u);
    EXPECT_EQ(flat.scope_key(1), "1alice");
    EXPECT_EQ(flat.scope_key(7), "");
    Bm25Overlay live(flat);
    EXPECT_TRUE(live.top_k({"w1"}, 5, {}).empty());
    EXPECT_FALSE(live.remove(3));
    live.add(3, 1, 10, {{"w1", 2}});
    ASSERT_EQ(live.top_k({"w1"}, 5, {}).size(), 1u);
    EXPECT_EQ(live.top_k({"w1"}, 5, {})[0].id, 3);
}

// Damaged bytes end in a clear Error, never in a read outside the range.
TEST(Bm25Flat, DamagedBytesAreRejected) {
    std::mt19937 rng(11);
    std::vector<Doc> docs;
    for (int64_t i = 0; i < 200; ++i) docs.push_back(random_doc(rng, i, 3));
    FlatBytes good = write_flat(docs, {"", "a", "b"});
    auto rejects = [](const void* data, size_t size) {
        try {
            Bm25Flat flat(data, size);
            flat.verify();
        } catch (const pgrag::Error& e) {
            EXPECT_EQ(e.code(), pgrag::ErrorCode::DataException);
            EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
            return true;
        }
        return false;
    };
    EXPECT_FALSE(rejects(good.data(), good.size));
    for (size_t size : {size_t{0}, size_t{7}, size_t{87}, size_t{88}, good.size / 2, good.size - 8, good.size - 1})
        EXPECT_TRUE(rejects(good.data(), size)) << size;
    // Misaligned.
    std::vector<uint64_t> shifted(good.words.size() + 1);
    std::memcpy(reinterpret_cast<char*>(shifted.data()) + 4, good.data(), good.size);
    EXPECT_TRUE(rejects(reinterpret_cast<char*>(shifted.data()) + 4, good.size));
    // Any single damaged word of the header, and random damage anywhere (every one caught by verify or
    // harmless; none may crash: run under the sanitizers too).
    for (size_t word = 0; word < 11; ++word) {
        FlatBytes bad = good;
        bad.words[word] ^= 0x0100000000000000ull | (uint64_t{1} << (word * 5 % 60));
        EXPECT_TRUE(rejects(bad.data(), bad.size)) << "header word " << word;
    }
    int caught = 0;
    for (int round = 0; round < 300; ++round) {
        FlatBytes bad = good;
        size_t word = 11 + rng() % (bad.words.size() - 11);
        bad.words[word] ^= uint64_t{0xffffffff} << (rng() % 2 * 32);
        try {
            Bm25Flat flat(bad.data(), bad.size);
            Bm25Overlay live(flat);
            for (int64_t id = 0; id < 200; id += 13) live.remove(id);
            live.top_k({"w0", "w1", "w5"}, 10, {});
            live.top_k_of({"w0", "w2"}, {1, 2, 3, 50, 150}, 10, {});
            flat.verify();
        } catch (const pgrag::Error& e) {
            EXPECT_EQ(e.code(), pgrag::ErrorCode::DataException) << e.what();
            caught++;
        }
    }
    EXPECT_GT(caught, 250);  // only damage to tfs or lengths within their bounds can pass unnoticed
}

TEST(Bm25Flat, LongLoopsCanBeCancelled) {
    std::mt19937 rng(13);
    std::vector<Doc> docs;
    for (int64_t i = 0; i < 20000; ++i) docs.push_back(random_doc(rng, i, 1));
    Bm25FlatBuilder builder;
    for (const Doc& d : docs) builder.add(d.id, d.owner, d.length, counts(d), d.scope);
    int calls = 0;
    auto cancel = [&] {
        if (++calls > 2) throw std::runtime_error("canceled");
    };
    FlatBytes bytes;
    EXPECT_THROW(builder.write([&](const void* p, size_t n) { bytes.append(p, n); }, {}, cancel), std::runtime_error);
    bytes = FlatBytes();
    builder.write([&](const void* p, size_t n) { bytes.append(p, n); });
    Bm25Flat flat(bytes.data(), bytes.size);
    calls = 0;
    EXPECT_THROW(flat.verify(cancel), std::runtime_error);
    Bm25Overlay live(flat);
    calls = 0;
    // Every chunk holds w0 in practice: thousands of rows to visit with k large.
    EXPECT_THROW(live.top_k({"w0", "w1", "w2"}, 20000, {}, {}, cancel), std::runtime_error);
    std::vector<int64_t> all;
    for (int64_t i = 0; i < 20000; ++i) all.push_back(i);
    calls = 0;
    EXPECT_THROW(live.top_k_of({"w0"}, all, 10, {}, {}, cancel), std::runtime_error);
}

TEST(Bm25Flat, MergeKeepsScoreThenIdOrder) {
    std::vector<ScoredChunk> a = {{5, 0, 3.0}, {2, 0, 1.0}}, b = {{1, 0, 3.0}, {9, 0, 2.0}};
    auto m = pgrag::merge_top_k(a, b, 3);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].id, 1);
    EXPECT_EQ(m[1].id, 5);
    EXPECT_EQ(m[2].id, 9);
}

// The snapshot payload: the flat index in a mapped file, its scope table and metadata.
TEST(Bm25Snapshot, RoundTripsThroughAMappedFile) {
    char tmpl[] = "/tmp/pgrag_bm25_snapshot.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string path = pgrag::snapshot::file_name(dir, pgrag::kBm25SnapshotKind, "77", 1);
    std::mt19937 rng(17);
    pgrag::ScopeTable scopes;
    std::vector<ScopeId> by_user = {scopes.intern(std::string("alice"), std::nullopt),
                                    scopes.intern(std::string("bob"), std::string("acme")),
                                    scopes.intern(std::nullopt, std::string("acme"))};
    Bm25FlatBuilder builder;
    Bm25Index ref;
    for (int64_t i = 0; i < 800; ++i) {
        Doc d = random_doc(rng, i * 5, 1);
        if (i % 4) d.scope = by_user[static_cast<size_t>(i) % 3];
        builder.add(d.id, d.owner, d.length, counts(d), d.scope);
        ref.add(d.id, d.owner, d.length, counts(d), d.scope);
    }
    {
        pgrag::snapshot::Writer w(path, pgrag::kBm25SnapshotKind);
        pgrag::write_bm25_snapshot(w, builder, scopes, {"100:105:", 77});
        w.commit();
    }
    auto snap = pgrag::Bm25Snapshot::open(path);
    EXPECT_TRUE(snap->file().verify());
    EXPECT_EQ(snap->meta().db_snapshot, "100:105:");
    EXPECT_EQ(snap->meta().chunk_table, 77u);
    ASSERT_EQ(snap->scope_entries().size(), 4u);
    EXPECT_EQ(snap->scope_entries()[2].owner, std::optional<std::string>("bob"));
    EXPECT_EQ(snap->scope_entries()[2].tenant, std::optional<std::string>("acme"));
    EXPECT_FALSE(snap->scope_entries()[3].owner);
    // A reader numbering its scopes from the file sees what the writer's numbering saw.
    pgrag::ScopeTable reader;
    for (const pgrag::ScopeEntry& e : snap->scope_entries()) reader.intern(e.owner, e.tenant);
    VisibleScopes bob = reader.visible_to({"bob", std::string("acme")});
    EXPECT_EQ(bob.ids, scopes.visible_to({"bob", std::string("acme")}).ids);
    snap->index().verify();
    Bm25Overlay live(snap->index());
    expect_same_as(live, ref, rng, 4000, "mapped");
    expect_identical(live.top_k({"w1", "w7"}, 10, {}, {nullptr, &bob}),
                     ref.top_k({"w1", "w7"}, 10, {}, {nullptr, &bob}), "bob");
    // A payload that is not a flat index is refused as an invalid snapshot.
    std::string bad_path = pgrag::snapshot::file_name(dir, pgrag::kBm25SnapshotKind, "77", 2);
    {
        pgrag::snapshot::Writer w(bad_path, pgrag::kBm25SnapshotKind);
        w.meta("chunk_table", "77");
        w.section(pgrag::kBm25FlatIndex, "not an index", 12);
        w.commit();
    }
    EXPECT_THROW(pgrag::Bm25Snapshot::open(bad_path), pgrag::snapshot::InvalidSnapshot);
    EXPECT_EQ(pgrag::parse_scope_key(pgrag::scope_key({std::string("a"), std::nullopt}))->owner,
              std::optional<std::string>("a"));
    EXPECT_FALSE(pgrag::parse_scope_key("x"));
    unlink(path.c_str());
    unlink(bad_path.c_str());
    rmdir(dir.c_str());
}

}  // namespace
