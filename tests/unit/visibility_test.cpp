// Who sees which chunks of the in-memory copies: the scope rule, and vector and BM25 top-k that skip
// invisible chunks in their rows and (BM25) in their statistics, equal to a search over the visible
// chunks alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/bm25.hpp"
#include "core/vector_index.hpp"
#include "core/visibility.hpp"

namespace {

using pgrag::ScopeTable;
using pgrag::Viewer;
using pgrag::VisibleScopes;
using Owner = std::optional<std::string>;

std::vector<std::string> seen(const ScopeTable& table, const std::vector<std::pair<Owner, Owner>>& scopes,
                              const Viewer& viewer) {
    VisibleScopes v = table.visible_to(viewer);
    std::vector<std::string> out;
    for (const auto& [owner, tenant] : scopes) {
        ScopeTable copy = table;
        if (pgrag::visible(v, copy.intern(owner, tenant)))
            out.push_back(owner.value_or("-") + "@" + tenant.value_or("-"));
    }
    return out;
}

// Four owners and tenants; chunk i belongs to scope i % 6 of these.
const std::vector<std::pair<Owner, Owner>> kScopes = {
    {std::nullopt, std::nullopt}, {"alice", std::nullopt}, {"bob", std::nullopt},
    {std::nullopt, "acme"},       {"alice", "acme"},       {"bob", "acme"}};

}  // namespace

TEST(Visibility, SharedOrOwnAndAnyTenantOrOwn) {
    ScopeTable table;
    for (const auto& [owner, tenant] : kScopes) table.intern(owner, tenant);
    table.intern("alice", "globex");
    EXPECT_EQ(table.intern(std::nullopt, std::nullopt), pgrag::kSharedScope);
    EXPECT_EQ(table.intern("alice", "acme"), table.intern("alice", "acme"));
    EXPECT_NE(table.intern("", std::nullopt), table.intern(std::nullopt, std::nullopt));  // "" is a name, not none
    std::vector<std::pair<Owner, Owner>> all = kScopes;
    all.push_back({"alice", "globex"});
    EXPECT_EQ(seen(table, all, {"alice", std::nullopt}), (std::vector<std::string>{"-@-", "alice@-"}));
    EXPECT_EQ(seen(table, all, {"alice", "acme"}),
              (std::vector<std::string>{"-@-", "alice@-", "-@acme", "alice@acme"}));
    EXPECT_EQ(seen(table, all, {"carol", "acme"}), (std::vector<std::string>{"-@-", "-@acme"}));
    // Listed too, for the statistics: never more than four, whatever the number of users.
    EXPECT_EQ(table.visible_to({"alice", "acme"}).ids.size(), 4u);
    EXPECT_EQ(table.visible_to({"nobody", std::nullopt}).ids, (std::vector<pgrag::ScopeId>{pgrag::kSharedScope}));
    // A scope interned after the list was made is not visible through it.
    VisibleScopes v = table.visible_to({"alice", std::nullopt});
    EXPECT_FALSE(pgrag::visible(v, table.intern("alice", "later")));
}

TEST(Visibility, VectorTopKReturnsVisibleRowsOnly) {
    const size_t n = 1200, d = 16;
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    ScopeTable table;
    pgrag::VectorMatrix m(d);
    std::vector<std::vector<float>> rows(n, std::vector<float>(d));
    std::vector<pgrag::ScopeId> scope_of(n);
    for (size_t i = 0; i < n; ++i) {
        for (auto& x : rows[i]) x = u(rng);
        scope_of[i] = table.intern(kScopes[i % 6].first, kScopes[i % 6].second);
        m.add(static_cast<int64_t>(i), 0, 0, rows[i].data(), scope_of[i]);
    }
    VisibleScopes alice = table.visible_to({"alice", std::nullopt});
    EXPECT_EQ(m.live_rows(&alice), n / 3);
    std::vector<float> q(d);
    for (auto& x : q) x = u(rng);
    pgrag::RowFilter filter;
    filter.scopes = &alice;
    auto got = pgrag::nearest(m, q.data(), pgrag::Metric::Cosine, 50, filter);
    std::vector<std::pair<double, int64_t>> expected;
    for (size_t i = 0; i < n; ++i)
        if (i % 6 < 2) expected.push_back({pgrag::distance(pgrag::Metric::Cosine, rows[i].data(), q.data(), d), i});
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(got.size(), 50u);
    for (size_t i = 0; i < 50; ++i) EXPECT_EQ(got[i].id, expected[i].second) << "rank " << i;
    // Removing rows keeps the per-scope counts.
    for (size_t i = 0; i < n; i += 2) m.remove(static_cast<int64_t>(i));
    EXPECT_EQ(m.live_rows(&alice), n / 6);
    EXPECT_EQ(m.live_rows(nullptr), n / 2);
}

namespace {

struct Chunk {
    int32_t length;
    std::map<std::string, uint32_t> tf;
    pgrag::ScopeId scope;
};

// BM25 over `chunks` alone (their own N, average length and df), ids ascending on ties.
std::vector<pgrag::ScoredChunk> bm25_over(const std::map<int64_t, Chunk>& chunks, const std::vector<std::string>& terms,
                                          size_t k, const pgrag::Bm25Params& p) {
    double n = static_cast<double>(chunks.size()), sum = 0;
    for (const auto& [id, c] : chunks) sum += c.length;
    double avgdl = std::max(chunks.empty() ? 0 : sum / n, 1.0);
    std::vector<pgrag::ScoredChunk> all;
    for (const auto& [id, c] : chunks) {
        double score = 0;
        bool any = false;
        for (const auto& t : terms) {
            auto it = c.tf.find(t);
            if (it == c.tf.end()) continue;
            any = true;
            double df = 0;
            for (const auto& [other_id, other] : chunks) df += static_cast<double>(other.tf.count(t));
            double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
            double f = it->second;
            score += idf * (f * (p.k1 + 1)) / (f + p.k1 * (1 - p.b + p.b * c.length / avgdl));
        }
        if (any) all.push_back({id, 0, score});
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return std::abs(a.score - b.score) > 1e-12 ? a.score > b.score : a.id < b.id;
    });
    if (all.size() > k) all.resize(k);
    return all;
}

}  // namespace

TEST(Visibility, Bm25RanksWithTheStatisticsOfVisibleChunksOnly) {
    std::mt19937 rng(21);
    std::uniform_int_distribution<int> word(0, 40), len(3, 30);
    ScopeTable table;
    pgrag::Bm25Index index;
    std::map<int64_t, Chunk> chunks;
    for (int64_t id = 1; id <= 1500; ++id) {
        const auto& [owner, tenant] = kScopes[static_cast<size_t>(id) % 6];
        Chunk c{len(rng), {}, table.intern(owner, tenant)};
        // Bob's chunks are longer and full of "secret": they must not move anyone else's scores.
        if (owner == "bob") c.length += 40, c.tf["secret"] = 5;
        for (int j = 0; j < c.length - (owner == "bob" ? 40 : 0); ++j) c.tf["w" + std::to_string(word(rng))]++;
        std::vector<pgrag::TermCount> terms;
        for (const auto& [lexeme, tf] : c.tf) terms.push_back({lexeme, tf});
        index.add(id, 0, c.length, terms, c.scope);
        chunks[id] = c;
    }
    for (int64_t id = 1; id <= 1500; id += 7) index.remove(id), chunks.erase(id);
    pgrag::Bm25Params p;
    for (const Viewer& viewer : {Viewer{"alice", std::nullopt}, Viewer{"alice", "acme"}, Viewer{"carol", "acme"}}) {
        VisibleScopes v = table.visible_to(viewer);
        std::map<int64_t, Chunk> visible;
        for (const auto& [id, c] : chunks)
            if (pgrag::visible(v, c.scope)) visible[id] = c;
        EXPECT_EQ(index.chunks(&v), visible.size());
        EXPECT_LT(index.chunks(&v), index.chunks());
        EXPECT_EQ(index.document_frequency("secret", &v), 0u);
        EXPECT_GT(index.document_frequency("secret"), 0u);
        double sum = 0;
        for (const auto& [id, c] : visible) sum += c.length;
        EXPECT_DOUBLE_EQ(index.average_length(&v), sum / static_cast<double>(visible.size()));
        for (std::vector<std::string> terms : {std::vector<std::string>{"w1"}, {"secret", "w3", "w7"}, {"w0", "w2"}}) {
            std::sort(terms.begin(), terms.end());
            auto want = bm25_over(visible, terms, 15, p);
            for (auto got : {index.top_k(terms, 15, p, {nullptr, &v}), index.top_k_of(terms,
                                                                                      [&] {
                                                                                          std::vector<int64_t> ids;
                                                                                          for (const auto& [id, c] :
                                                                                               chunks)
                                                                                              ids.push_back(id);
                                                                                          return ids;
                                                                                      }(),
                                                                                      15, p, {nullptr, &v})}) {
                ASSERT_EQ(got.size(), want.size());
                for (size_t i = 0; i < got.size(); ++i) {
                    EXPECT_EQ(got[i].id, want[i].id) << viewer.user << " rank " << i;
                    EXPECT_NEAR(got[i].score, want[i].score, 1e-9) << viewer.user << " rank " << i;
                }
            }
        }
    }
}
