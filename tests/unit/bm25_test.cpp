// BM25 top-k (MaxScore) from the in-memory index equals exhaustive scoring, through adds and removes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/bm25.hpp"

namespace {

struct Doc {
    int64_t id, owner;
    int32_t length;
    std::map<std::string, uint32_t> tf;
};

// Exhaustive BM25 over the live documents, exactly as the SQL reference defines it.
std::vector<pgrag::ScoredChunk> brute_force(const std::map<int64_t, Doc>& docs, const std::vector<std::string>& terms,
                                            size_t k, const pgrag::Bm25Params& p,
                                            const std::vector<int64_t>* owners = nullptr) {
    double n = static_cast<double>(docs.size()), sum = 0;
    for (const auto& [id, d] : docs) sum += d.length;
    double avgdl = std::max(docs.empty() ? 0 : sum / n, 1.0);
    std::map<std::string, double> dfs;
    for (const auto& t : terms)
        for (const auto& [id, d] : docs) dfs[t] += static_cast<double>(d.tf.count(t));
    std::vector<pgrag::ScoredChunk> all;
    for (const auto& [id, d] : docs) {
        if (owners && !std::binary_search(owners->begin(), owners->end(), d.owner)) continue;
        double score = 0;
        bool any = false;
        for (const auto& t : terms) {
            auto it = d.tf.find(t);
            if (it == d.tf.end()) continue;
            any = true;
            double df = dfs[t];
            double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
            double f = it->second;
            score += idf * (f * (p.k1 + 1)) / (f + p.k1 * (1 - p.b + p.b * d.length / avgdl));
        }
        if (any) all.push_back({id, d.owner, score});
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return std::abs(a.score - b.score) > 1e-12 ? a.score > b.score : a.id < b.id;
    });
    if (all.size() > k) all.resize(k);
    return all;
}

void add(pgrag::Bm25Index& index, const Doc& d) {
    std::vector<pgrag::TermCount> terms;
    for (const auto& [lexeme, tf] : d.tf) terms.push_back({lexeme, tf});
    index.add(d.id, d.owner, d.length, terms);
}

void expect_same(const std::vector<pgrag::ScoredChunk>& got, const std::vector<pgrag::ScoredChunk>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].id, want[i].id) << "rank " << i;
        EXPECT_NEAR(got[i].score, want[i].score, 1e-9) << "rank " << i;
    }
}

// A Zipf-like corpus: word w drawn with probability ~ 1 / (w + 1).
std::map<int64_t, Doc> corpus(std::mt19937& rng, int64_t first_id, size_t n) {
    std::vector<double> weights;
    for (int w = 0; w < 2000; ++w) weights.push_back(1.0 / (w + 1));
    std::discrete_distribution<int> word(weights.begin(), weights.end());
    std::uniform_int_distribution<int> len(5, 60);
    std::map<int64_t, Doc> docs;
    for (size_t i = 0; i < n; ++i) {
        Doc d{first_id + static_cast<int64_t>(i), static_cast<int64_t>(i % 7), len(rng), {}};
        for (int j = 0; j < d.length; ++j) d.tf["w" + std::to_string(word(rng))]++;
        if (i % 97 == 3) d.tf.clear(), d.length = 0;  // chunks without words still count in N
        docs[d.id] = d;
    }
    return docs;
}

}  // namespace

TEST(Bm25, TopKEqualsExhaustiveScoring) {
    std::mt19937 rng(11);
    auto docs = corpus(rng, 1, 3000);
    pgrag::Bm25Index index;
    for (const auto& [id, d] : docs) add(index, d);
    pgrag::Bm25Params p;
    for (auto terms : std::vector<std::vector<std::string>>{
             {"w0"}, {"w1", "w50"}, {"w3", "w7", "w400", "w1999"}, {"w0", "w1", "w2", "w3", "w900"}, {"nope"}}) {
        std::sort(terms.begin(), terms.end());
        for (size_t k : {1, 10, 100}) expect_same(index.top_k(terms, k, p), brute_force(docs, terms, k, p));
    }
}

TEST(Bm25, StatisticsFollowAddsAndRemoves) {
    std::mt19937 rng(12);
    auto docs = corpus(rng, 1, 2000);
    pgrag::Bm25Index index;
    for (const auto& [id, d] : docs) add(index, d);
    // Remove most chunks (forcing compaction), then add new ones, re-adding ids never happens.
    for (int64_t id = 1; id <= 1800; ++id)
        if (id % 5 != 0) {
            ASSERT_TRUE(index.remove(id));
            docs.erase(id);
        }
    EXPECT_FALSE(index.remove(3));
    auto more = corpus(rng, 5000, 500);
    for (const auto& [id, d] : more) add(index, d), docs[id] = d;
    EXPECT_EQ(index.chunks(), docs.size());
    double sum = 0;
    for (const auto& [id, d] : docs) sum += d.length;
    EXPECT_DOUBLE_EQ(index.average_length(), sum / static_cast<double>(docs.size()));
    pgrag::Bm25Params p{0.9, 0.4};
    std::vector<std::string> terms = {"w1", "w12", "w5"};
    std::sort(terms.begin(), terms.end());
    expect_same(index.top_k(terms, 20, p), brute_force(docs, terms, 20, p));
    std::vector<int64_t> owners = {2, 5};
    expect_same(index.top_k(terms, 20, p, {&owners}), brute_force(docs, terms, 20, p, &owners));
}

TEST(Bm25, TiesAreBrokenByIdAndCandidatesScoreTheSame) {
    pgrag::Bm25Index index;
    for (int64_t id = 50; id > 0; --id) index.add(id, 0, 3, {{"same", 2}, {"x", 1}});  // identical chunks
    index.add(100, 0, 3, {{"other", 1}});
    auto got = index.top_k({"same"}, 5, {});
    ASSERT_EQ(got.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(got[i].id, static_cast<int64_t>(i + 1));
    auto some = index.top_k_of({"other", "same"}, {100, 7, 3, 999}, 10, {});
    ASSERT_EQ(some.size(), 3u);
    EXPECT_EQ(some[0].id, 100);  // rarer term, higher idf
    EXPECT_EQ(some[1].id, 3);
    EXPECT_EQ(some[2].id, 7);
}
