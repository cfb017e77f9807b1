#include "local_embedder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"

namespace pgrag {
namespace {

// Feature kinds are hashed with distinct seeds so "ab" the word and "ab" the trigram never collide on purpose.
enum FeatureKind : uint64_t {
    kWord = 0x9e3779b97f4a7c15ull,
    kPair = 0xc2b2ae3d27d4eb4full,
    kTrigram = 0x165667b19e3779f9ull
};

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

// Folds a plain English plural so "refunds" and "refund" share their word feature.
std::string_view fold_plural(std::string_view w) {
    if (w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u' && w[w.size() - 2] != 'i')
        return w.substr(0, w.size() - 1);
    return w;
}

// Splits a UTF-8 word into code points (as byte ranges) for character trigrams.
void code_points(std::string_view w, std::vector<std::string_view>& cps) {
    cps.clear();
    for (size_t i = 0; i < w.size();) {
        unsigned char c = static_cast<unsigned char>(w[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
        len = std::min(len, w.size() - i);
        cps.push_back(w.substr(i, len));
        i += len;
    }
}

// The four feature weights, by rank: a hash's group takes the smallest weight among its features.
constexpr double kWeightByRank[4] = {kStopwordWeight, kTrigramWeight, kPairWeight, kWordWeight};
enum WeightRank : uint64_t { kStopwordRank = 0, kTrigramRank = 1, kPairRank = 2, kWordRank = 3 };

// A distinct feature hash with its count and smallest weight rank (top two bits): 16 bytes.
struct Entry {
    uint64_t hash;
    uint64_t packed;  // rank << 62 | count
    uint64_t count() const { return packed & ((uint64_t{1} << 62) - 1); }
    uint64_t rank() const { return packed >> 62; }
};

// Calls emit(hash, rank) for every feature of the text, in text order. Words are runs of
// [a-z0-9] and non-ASCII bytes after ASCII lowercasing.
template <typename Emit>
void for_each_feature(std::string_view text, Poller& poll, Emit&& emit) {
    std::string w, previous, pair, padded;
    std::vector<std::string_view> pcs;
    auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c; };
    for (size_t i = 0; i < text.size();) {
        while (i < text.size() && !is_word_byte(lower(static_cast<unsigned char>(text[i])))) ++i;
        size_t start = i;
        while (i < text.size() && is_word_byte(lower(static_cast<unsigned char>(text[i])))) ++i;
        poll.tick(i - start + 1);
        if (i == start) continue;
        w.clear();
        for (size_t k = start; k < i; ++k) w += static_cast<char>(lower(static_cast<unsigned char>(text[k])));
        bool stop = is_stopword(w);
        std::string_view folded = fold_plural(w);
        emit(fnv1a(folded, kWord), stop ? kStopwordRank : kWordRank);
        if (stop) continue;
        if (!previous.empty()) {
            pair.assign(previous).append(1, ' ').append(folded);
            emit(fnv1a(pair, kPair), kPairRank);
        }
        previous.assign(folded);
        padded.assign("<").append(w).append(">");
        code_points(padded, pcs);
        for (size_t k = 0; k + 3 <= pcs.size(); ++k) {
            std::string_view tri(pcs[k].data(),
                                 static_cast<size_t>(pcs[k + 2].data() + pcs[k + 2].size() - pcs[k].data()));
            emit(fnv1a(tri, kTrigram), kTrigramRank);
        }
    }
}

// Sorts entries by hash and merges equal hashes (counts add up, the smallest rank stays).
void compact(std::vector<Entry>& entries) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.hash < b.hash; });
    size_t out = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
        if (out > 0 && entries[out - 1].hash == entries[i].hash) {
            Entry& e = entries[out - 1];
            e.packed = std::min(e.rank(), entries[i].rank()) << 62 | (e.count() + entries[i].count());
        } else {
            entries[out++] = entries[i];
        }
    }
    entries.resize(out);
}

}  // namespace

std::vector<float> local_embed(std::string_view text, int dims, const InterruptCheck& check, size_t max_entries) {
    if (dims < 1 || dims > 16000)
        throw Error(ErrorCode::InvalidParameterValue, "local embedder dimensions must be between 1 and 16000");
    // Each distinct hash adds w * sqrt(term frequency) to its bucket, in ascending hash order (the
    // same order on every platform, and the same sums as ever). Hashes are counted in passes over
    // ascending hash ranges, each holding at most max_entries distinct hashes: memory stays a small
    // multiple of the text (16 bytes per 8 input bytes by default) however many features it has.
    size_t cap = max_entries > 0 ? std::max<size_t>(max_entries, 2) : std::max<size_t>(4096, text.size() / 8);
    Poller poll(check);
    std::vector<double> acc(static_cast<size_t>(dims), 0.0);
    std::vector<Entry> entries;
    entries.reserve(cap);
    uint64_t lo = 0;  // this pass counts hashes in [lo, hi), or [lo, max] while unbounded
    for (;;) {
        uint64_t hi = 0;
        bool bounded = false;
        entries.clear();
        for_each_feature(text, poll, [&](uint64_t h, uint64_t rank) {
            if (h < lo || (bounded && h >= hi)) return;
            entries.push_back({h, rank << 62 | 1});
            if (entries.size() < cap) return;
            compact(entries);
            if (entries.size() > cap / 2) {  // too many distinct hashes: keep the smallest, count the rest later
                hi = entries[cap / 2].hash;
                bounded = true;
                entries.resize(cap / 2);
            }
        });
        compact(entries);
        for (const Entry& e : entries) {
            double weight = kWeightByRank[e.rank()] * std::sqrt(static_cast<double>(e.count()));
            double sign = (e.hash >> 63) ? -1.0 : 1.0;
            acc[static_cast<size_t>((e.hash & 0x7fffffffffffffffull) % static_cast<uint64_t>(dims))] += sign * weight;
        }
        if (!bounded) break;
        lo = hi;
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
