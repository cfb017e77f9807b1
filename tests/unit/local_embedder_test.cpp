// The built-in embedder: deterministic, normalised, and lexically meaningful.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

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

namespace {

// The embedder as it was up to 0.5 (every feature in one sorted vector): the new one must give the
// same floats bit for bit, or stored embeddings would stop matching new queries.
namespace reference {

enum FeatureKind : uint64_t {
    kWord = 0x9e3779b97f4a7c15ull,
    kPair = 0xc2b2ae3d27d4eb4full,
    kTrigram = 0x165667b19e3779f9ull
};

uint64_t fnv1a(std::string_view s, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

bool is_word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

bool is_stopword(std::string_view w) {
    static const char* const kStopwords[] = {
        "a",     "an",    "and",   "are",   "as",   "at",   "be",  "but", "by",   "do",   "does", "for",
        "from",  "had",   "has",   "have",  "he",   "her",  "his", "how", "i",    "if",   "in",   "into",
        "is",    "it",    "its",   "of",    "on",   "or",   "she", "so",  "than", "that", "the",  "their",
        "them",  "then",  "there", "these", "they", "this", "to",  "was", "we",   "were", "what", "when",
        "where", "which", "who",   "why",   "will", "with", "you", "your"};
    for (const char* s : kStopwords)
        if (w == s) return true;
    return false;
}

std::string_view fold_plural(std::string_view w) {
    if (w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u' && w[w.size() - 2] != 'i')
        return w.substr(0, w.size() - 1);
    return w;
}

std::vector<std::string_view> code_points(std::string_view w) {
    std::vector<std::string_view> cps;
    for (size_t i = 0; i < w.size();) {
        unsigned char c = static_cast<unsigned char>(w[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
        len = std::min(len, w.size() - i);
        cps.push_back(w.substr(i, len));
        i += len;
    }
    return cps;
}

std::vector<float> embed(std::string_view text, int dims) {
    struct Feature {
        uint64_t hash;
        double weight;
    };
    std::string norm(text);
    for (char& c : norm)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    std::vector<std::string_view> words;
    for (size_t i = 0; i < norm.size();) {
        while (i < norm.size() && !is_word_byte(static_cast<unsigned char>(norm[i]))) ++i;
        size_t start = i;
        while (i < norm.size() && is_word_byte(static_cast<unsigned char>(norm[i]))) ++i;
        if (i > start) words.push_back(std::string_view(norm).substr(start, i - start));
    }
    std::vector<Feature> features;
    std::string_view previous;
    for (std::string_view w : words) {
        bool stop = is_stopword(w);
        std::string_view folded = fold_plural(w);
        features.push_back({fnv1a(folded, kWord), stop ? 0.15 : 1.0});
        if (!stop) {
            if (!previous.empty())
                features.push_back({fnv1a(std::string(previous) + ' ' + std::string(folded), kPair), 0.6});
            previous = folded;
            std::string padded = "<" + std::string(w) + ">";
            auto pcs = code_points(padded);
            for (size_t i = 0; i + 3 <= pcs.size(); ++i) {
                std::string_view tri(pcs[i].data(),
                                     static_cast<size_t>(pcs[i + 2].data() + pcs[i + 2].size() - pcs[i].data()));
                features.push_back({fnv1a(tri, kTrigram), 0.25});
            }
        }
    }
    std::sort(features.begin(), features.end(), [](const Feature& a, const Feature& b) {
        return a.hash != b.hash ? a.hash < b.hash : a.weight < b.weight;
    });
    std::vector<double> acc(static_cast<size_t>(dims), 0.0);
    for (size_t i = 0; i < features.size();) {
        size_t j = i;
        while (j < features.size() && features[j].hash == features[i].hash) ++j;
        double weight = features[i].weight * std::sqrt(static_cast<double>(j - i));
        uint64_t h = features[i].hash;
        acc[static_cast<size_t>((h & 0x7fffffffffffffffull) % static_cast<uint64_t>(dims))] +=
            ((h >> 63) ? -1.0 : 1.0) * weight;
        i = j;
    }
    double norm2 = 0;
    for (double v : acc) norm2 += v * v;
    std::vector<float> out(static_cast<size_t>(dims), 0.0f);
    if (norm2 > 0) {
        double inv = 1.0 / std::sqrt(norm2);
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(acc[i] * inv);
    }
    return out;
}

}  // namespace reference

// Random text over a small vocabulary with case, punctuation, plurals, stopwords and UTF-8 (and some
// invalid bytes): many repeated and many distinct features.
std::string random_text(std::mt19937& rng, size_t words) {
    static const char* const kVocab[] = {"Refunds",
                                         "refund",
                                         "the",
                                         "THEN",
                                         "thens",
                                         "days",
                                         "business",
                                         "caf\xC3\xA9",
                                         "\xE6\x9D\xB1\xE4\xBA\xAC",
                                         "x",
                                         "is",
                                         "ships",
                                         "Europe",
                                         "42",
                                         "na\xC3\xAFve",
                                         "\xF0\x9F\x8D\xA3",
                                         "a-b",
                                         "bus",
                                         "\xE2\x82",
                                         "it's"};
    std::string t;
    for (size_t i = 0; i < words; ++i) {
        t += kVocab[rng() % (sizeof(kVocab) / sizeof(kVocab[0]))];
        if (rng() % 3 == 0) t += std::to_string(rng() % 1000);  // distinct words and pairs
        t += " .,\n"[rng() % 4];
    }
    return t;
}

}  // namespace

TEST(LocalEmbedder, GoldenVectorsBitForBit) {
    // Computed by 0.5's embedder; as hex floats so that any change of a single bit fails.
    const std::vector<float> refunds = {0x0p+0f,       0x1.17803cp-4f,  0x1.cd2d3p-2f,  -0x1.17803cp-2f,
                                        0x1.4869ep-1f, -0x1.10836ep-1f, 0x1.17803cp-3f, -0x1.17803cp-4f};
    const std::vector<float> thens = {-0x1.8943ccp-2f, -0x1.4db24p-2f,  -0x1.4db24p-1f, 0x0p+0f,
                                      0x1.4db24p-3f,   -0x1.8943ccp-2f, 0x0p+0f,        0x1.8943ccp-2f};
    const std::vector<float> unicode = {0x1.dc48c2p-2f, 0x1.7d0702p-3f, -0x1.1dc542p-2f, -0x1.43df8ep-2f,
                                        0x1.73806ep-1f, 0x1.30d268p-5f, -0x1.7d0702p-3f, 0x1.7d0702p-4f};
    EXPECT_EQ(pgrag::local_embed("Refunds take five business days.", 8), refunds);
    EXPECT_EQ(pgrag::local_embed("Thens then THEN the thens", 8), thens);  // "thens" folds to a stopword
    EXPECT_EQ(
        pgrag::local_embed("\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x81\xAF\xE6\x97\xA5\xE6\x9C\xAC\xE3\x81\xAE\xE9\xA6\x96"
                           "\xE9\x83\xBD\xE3\x81\xA7\xE3\x81\x99 \xF0\x9F\x8D\xA3 caf\xC3\xA9 na\xC3\xAFve x\xE2\x82",
                           8),
        unicode);
}

TEST(LocalEmbedder, SameAsReferenceBitForBitWhateverTheMemoryBudget) {
    std::mt19937 rng(7);
    for (int round = 0; round < 30; ++round) {
        std::string text = random_text(rng, 1 + rng() % 1500);
        int dims = 1 + static_cast<int>(rng() % 400);
        auto expected = reference::embed(text, dims);
        EXPECT_EQ(pgrag::local_embed(text, dims), expected) << "round " << round;
        // A tiny budget forces many passes over hash ranges; the sums must not change.
        EXPECT_EQ(pgrag::local_embed(text, dims, nullptr, 2 + rng() % 300), expected) << "round " << round;
    }
}

TEST(LocalEmbedder, PollsTheInterruptCheckOnHugeText) {
    std::string big(8 << 20, 'a');
    for (size_t i = 0; i < big.size(); i += 7) big[i] = ' ';
    int calls = 0;
    auto cancel_at_third = [&] {
        if (++calls == 3) throw std::runtime_error("canceled");
    };
    EXPECT_THROW(pgrag::local_embed(big, 64, cancel_at_third), std::runtime_error);
    EXPECT_EQ(calls, 3);
}
