// The server's pure helpers: citations in answer text, the appended source list, shortened embeddings.
#include <gtest/gtest.h>

#include <cmath>

#include "cited_sources.hpp"
#include "shorten_embedding.hpp"

using pgrag::server::cited_numbers;
using pgrag::server::shorten_embedding;
using pgrag::server::sources_footer;

TEST(CitedSources, NumbersInOrderOfFirstCitation) {
    EXPECT_EQ(cited_numbers("A. [2] B. [1][3] C. [2]"), (std::vector<int>{2, 1, 3}));
    EXPECT_EQ(cited_numbers("Both [1, 4] and [5,6]."), (std::vector<int>{1, 4, 5, 6}));
    // Not citations: words, empty brackets, unclosed ones, Markdown links, numbers too long to be one.
    EXPECT_EQ(cited_numbers("[a] [] [1 [2,] [x](http://y) [12345] [3"), std::vector<int>{});
    EXPECT_EQ(cited_numbers("[[7]]"), std::vector<int>{7});
    EXPECT_EQ(cited_numbers(""), std::vector<int>{});
}

TEST(CitedSources, FooterListsOnlyTheCitedSources) {
    nlohmann::json sources = {{{"n", 1}, {"title", "Refund policy"}, {"source", "kb/refunds"}},
                              {{"n", 2}, {"title", ""}, {"source", "faq.json"}},
                              {{"n", 3}, {"title", "Same"}, {"source", "Same"}}};
    EXPECT_EQ(sources_footer("x [3] y [1] z [9]", sources),
              "\n\nSources:\n- [3] Same\n- [1] Refund policy (kb/refunds)\n");
    EXPECT_EQ(sources_footer("[2]", sources), "\n\nSources:\n- [2] faq.json\n");
    EXPECT_EQ(sources_footer("I do not know.", sources), "");
    EXPECT_EQ(sources_footer("[1]", nlohmann::json::array()), "");
}

TEST(ShortenEmbedding, TruncatesAndRenormalises) {
    std::vector<float> v = {3, 4, 12};
    auto s = shorten_embedding(v, 2);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_FLOAT_EQ(s[0], 0.6f);
    EXPECT_FLOAT_EQ(s[1], 0.8f);
    auto same = shorten_embedding(v, 3);
    EXPECT_NEAR(std::sqrt(same[0] * same[0] + same[1] * same[1] + same[2] * same[2]), 1.0, 1e-6);
    EXPECT_EQ(shorten_embedding({0, 0, 1}, 2), (std::vector<float>{0, 0}));  // zero stays zero, no NaN
}
