#include "local_embedder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "error.hpp"

namespace pgrag {
namespace {

// Feature kinds are hashed with distinct seeds so "ab" the word and "ab" the trigram never collide on purpose.
enum FeatureKind : uint64_t { kWord = 0x9e3779b97f4a7c15ull, kPair = 0xc2b2ae3d27d4eb4full, kTrigram = 0x165667b19e3779f9ull };

// Relative weights of the feature kinds; words dominate, trigrams catch inflections and typos.
constexpr double kWordWeight = 1.0;
constexpr double kStopwordWeight = 0.15;
constexpr double kPairWeight = 0.6;
constexpr double kTrigramWeight = 0.25;

uint64_t fnv1a(std::string_view s, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    // splitmix64 finaliser: spreads FNV's weak low bits before the modulo
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

bool is_word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

// Lowercases ASCII letters; other bytes (UTF-8 sequences included) are kept as they are.
std::string normalise(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_stopword(std::string_view w) {
    static const char* const kStopwords[] = {
        "a",    "an",   "and",  "are",  "as",   "at",   "be",   "but",  "by",   "do",   "does", "for",  "from",
        "had",  "has",  "have", "he",   "her",  "his",  "how",  "i",    "if",   "in",   "into", "is",   "it",
        "its",  "of",   "on",   "or",   "she",  "so",   "than", "that", "the",  "their", "them", "then", "there",
        "these", "they", "this", "to",  "was",  "we",   "were", "what", "when", "where", "which", "who", "why",
        "will", "with", "you",  "your"};
    for (const char* s : kStopwords)
        if (w == s) return true;
    return false;
}

// Folds a plain English plural so "refunds" and "refund" share their word feature.
std::string_view fold_plural(std::string_view w) {
    if (w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u' && w[w.size() - 2] != 'i')
        return w.substr(0, w.size() - 1);
    return w;
}

// Splits a UTF-8 word into code points (as byte ranges) for character trigrams.
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

struct Feature {
    uint64_t hash;
    double weight;
};

}  // namespace

std::vector<float> local_embed(std::string_view text, int dims) {
    if (dims < 1 || dims > 16000)
        throw Error(ErrorCode::InvalidParameterValue, "local embedder dimensions must be between 1 and 16000");
    std::string norm = normalise(text);
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
        features.push_back({fnv1a(folded, kWord), stop ? kStopwordWeight : kWordWeight});
        if (!stop) {
            if (!previous.empty()) {
                std::string pair = std::string(previous) + ' ' + std::string(folded);
                features.push_back({fnv1a(pair, kPair), kPairWeight});
            }
            previous = folded;
            auto cps = code_points(w);
            std::string padded = "<";
            for (auto cp : cps) padded += cp;
            padded += ">";
            auto pcs = code_points(padded);
            for (size_t i = 0; i + 3 <= pcs.size(); ++i) {
                std::string_view tri(pcs[i].data(), static_cast<size_t>(pcs[i + 2].data() + pcs[i + 2].size() - pcs[i].data()));
                features.push_back({fnv1a(tri, kTrigram), kTrigramWeight});
            }
        }
    }

    // Group equal features (sorted: the same order on every platform), weight = w * sqrt(term frequency).
    std::sort(features.begin(), features.end(), [](const Feature& a, const Feature& b) {
        return a.hash != b.hash ? a.hash < b.hash : a.weight < b.weight;
    });
    std::vector<double> acc(static_cast<size_t>(dims), 0.0);
    for (size_t i = 0; i < features.size();) {
        size_t j = i;
        while (j < features.size() && features[j].hash == features[i].hash) ++j;
        double weight = features[i].weight * std::sqrt(static_cast<double>(j - i));
        uint64_t h = features[i].hash;
        double sign = (h >> 63) ? -1.0 : 1.0;
        acc[static_cast<size_t>((h & 0x7fffffffffffffffull) % static_cast<uint64_t>(dims))] += sign * weight;
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

}  // namespace pgrag
