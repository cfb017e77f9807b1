// The text form of embeddings: parsing, formatting and every malformed input.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/embedding_text.hpp"
#include "core/error.hpp"

using pgrag::ErrorCode;

namespace {

ErrorCode code_of(const std::string& text) {
    try {
        pgrag::parse_embedding(text);
    } catch (const pgrag::Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no error for " << text;
    return ErrorCode::InternalError;
}

}  // namespace

TEST(EmbeddingText, ParsesPlainAndSpacedLists) {
    EXPECT_EQ(pgrag::parse_embedding("[1,2,3]"), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(pgrag::parse_embedding("  [ 1.5 , -2e3,+4 ]  "), (std::vector<float>{1.5f, -2000.0f, 4.0f}));
}

TEST(EmbeddingText, UnderflowRoundsTowardZero) {
    auto v = pgrag::parse_embedding("[1e-50]");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0], 0.0f);
}

TEST(EmbeddingText, RejectsMalformedText) {
    for (const char* bad : {"[1,,2]", "[1,2", "1,2", "[1,2]x", "[", "", "[a]", "[1 2]", "[1,]"})
        EXPECT_EQ(code_of(bad), ErrorCode::InvalidTextRepresentation) << bad;
}

TEST(EmbeddingText, RejectsNonFiniteEmptyAndHuge) {
    EXPECT_EQ(code_of("[NaN]"), ErrorCode::DataException);
    EXPECT_EQ(code_of("[1,inf]"), ErrorCode::DataException);
    EXPECT_EQ(code_of("[-Infinity]"), ErrorCode::DataException);
    EXPECT_EQ(code_of("[]"), ErrorCode::DataException);
    EXPECT_EQ(code_of("[1e39]"), ErrorCode::NumericValueOutOfRange);
    // Beyond double range too: once stored as [0].
    EXPECT_EQ(code_of("[1e400]"), ErrorCode::NumericValueOutOfRange);
    EXPECT_EQ(code_of("[-1e400]"), ErrorCode::NumericValueOutOfRange);
    std::string big = "[0";
    for (int i = 0; i < 16000; ++i) big += ",0";
    big += "]";
    EXPECT_EQ(code_of(big), ErrorCode::ProgramLimitExceeded);
}

TEST(EmbeddingText, UnderflowRoundsTowardsZero) {
    EXPECT_EQ(pgrag::parse_embedding("[1e-400]"), std::vector<float>{0.0f});
    EXPECT_EQ(pgrag::parse_embedding("[-1e-50]")[0], 0.0f);
}

TEST(EmbeddingText, FormatRoundTripsExactly) {
    std::vector<float> values = {1.0f, -0.1f, 3.4028235e38f, 1.17549435e-38f, 123456.789f, 0.0f};
    std::string text = pgrag::format_embedding(values.data(), values.size());
    EXPECT_EQ(pgrag::parse_embedding(text), values);
    EXPECT_EQ(pgrag::format_embedding(values.data(), 2), "[1,-0.1]");
}

TEST(EmbeddingText, ErrorMessagesAreShortAndSpecific) {
    try {
        pgrag::parse_embedding("[1,2,3]" + std::string(200, ' ') + "x");
        FAIL();
    } catch (const pgrag::Error& e) {
        EXPECT_LT(std::string(e.what()).size(), 120u);
        EXPECT_EQ(e.detail(), "Junk after closing right bracket.");
    }
    try {
        pgrag::check_same_dims(3, 4);
        FAIL();
    } catch (const pgrag::Error& e) {
        EXPECT_STREQ(e.what(), "different embedding dimensions 3 and 4");
    }
}
