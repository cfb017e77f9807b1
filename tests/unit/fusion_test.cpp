// Hybrid fusion: plain RRF for semantic embedders, keyword-led for the built-in lexical embedder.
#include <gtest/gtest.h>

#include "core/fusion.hpp"

namespace {

std::vector<int64_t> ids(const std::vector<pgrag::FusedHit>& hits) {
    std::vector<int64_t> out;
    for (const auto& h : hits) out.push_back(h.id);
    return out;
}

// The vector side likes 3 then 2; BM25 likes 1, 2, 4 (3 does not contain the words).
const std::vector<pgrag::RankedHit> kVector = {{3, 0.1}, {2, 0.2}, {5, 0.3}, {1, 0.4}};
const std::vector<pgrag::RankedHit> kKeyword = {{1, 9.0}, {2, 8.0}, {4, 7.0}};

}  // namespace

TEST(Fusion, SemanticEmbeddersGetPlainReciprocalRankFusion) {
    pgrag::FusionSettings s;
    auto hits = pgrag::fuse(kVector, kKeyword, s, 10);
    // 2: 1/62 + 1/62; 1: 1/64 + 1/61; 3: 1/61; 4: 1/63; 5: 1/63 (ties by id).
    EXPECT_EQ(ids(hits), (std::vector<int64_t>{2, 1, 3, 4, 5}));
    EXPECT_DOUBLE_EQ(hits[0].score, 2.0 / 62);
    EXPECT_EQ(hits[0].vector_rank, 2);
    EXPECT_EQ(hits[0].keyword_rank, 2);
    EXPECT_EQ(hits[2].keyword_rank, 0);
    EXPECT_EQ(ids(pgrag::fuse(kVector, kKeyword, s, 2)), (std::vector<int64_t>{2, 1}));
}

TEST(Fusion, TheLexicalEmbedderFillsInAfterTheKeywordHits) {
    pgrag::FusionSettings s;
    s.lexical_embedder = true;
    auto hits = pgrag::fuse(kVector, kKeyword, s, 10);
    // BM25's order stands; the vector-only chunks follow, in vector order.
    EXPECT_EQ(ids(hits), (std::vector<int64_t>{1, 2, 4, 3, 5}));
    EXPECT_EQ(hits[3].vector_rank, 1);
    EXPECT_EQ(hits[3].keyword_rank, 0);
    // lexical_vector_weight = 1 restores plain RRF.
    s.lexical_vector_weight = 1;
    EXPECT_EQ(ids(pgrag::fuse(kVector, kKeyword, s, 10)), (std::vector<int64_t>{2, 1, 3, 4, 5}));
}

TEST(Fusion, EitherSideAloneKeepsItsOrder) {
    pgrag::FusionSettings s;
    EXPECT_EQ(ids(pgrag::fuse(kVector, {}, s, 10)), (std::vector<int64_t>{3, 2, 5, 1}));
    s.lexical_embedder = true;
    EXPECT_EQ(ids(pgrag::fuse({}, kKeyword, s, 10)), (std::vector<int64_t>{1, 2, 4}));
    EXPECT_EQ(ids(pgrag::fuse(kVector, {}, s, 10)), (std::vector<int64_t>{3, 2, 5, 1}));
    EXPECT_TRUE(pgrag::fuse({}, {}, s, 10).empty());
    EXPECT_EQ(pgrag::fusion_candidates(5), 40u);
    EXPECT_EQ(pgrag::fusion_candidates(20), 80u);
}
