// Keyword search over one shared copy: top-10 from the flat base plus a private overlay (Bm25Overlay)
// vs the per-backend Bm25Index it replaces, on the same synthetic corpus in the same run, and the
// memory of each. Ratios are Bm25Index time / overlay time (above 1: the overlay is faster).
// Usage: bench_bm25 [CHUNKS...]   (default 100000 1000000)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/bm25_flat.hpp"

namespace {

constexpr size_t kVocabulary = 200000;

// A Zipf vocabulary (s = 1.07, as in English text), sampled in constant time (Walker's alias method).
struct Zipf {
    std::vector<double> prob;
    std::vector<uint32_t> alias;
    Zipf() : prob(kVocabulary), alias(kVocabulary) {
        std::vector<double> p(kVocabulary);
        double sum = 0;
        for (size_t w = 0; w < kVocabulary; ++w) sum += p[w] = 1.0 / std::pow(static_cast<double>(w + 1), 1.07);
        std::vector<uint32_t> small, large;
        for (size_t w = 0; w < kVocabulary; ++w) {
            p[w] *= static_cast<double>(kVocabulary) / sum;
            (p[w] < 1 ? small : large).push_back(static_cast<uint32_t>(w));
        }
        while (!small.empty() && !large.empty()) {
            uint32_t s = small.back(), l = large.back();
            small.pop_back();
            prob[s] = p[s];
            alias[s] = l;
            p[l] -= 1 - p[s];
            if (p[l] < 1) {
                large.pop_back();
                small.push_back(l);
            }
        }
        for (uint32_t w : large) prob[w] = 1;
        for (uint32_t w : small) prob[w] = 1;
    }
    uint32_t operator()(std::mt19937_64& rng) const {
        uint64_t r = rng();
        uint32_t w = static_cast<uint32_t>((r >> 32) % kVocabulary);
        double u = static_cast<double>(r & 0xffffffffu) / 4294967296.0;
        return u < prob[w] ? w : alias[w];
    }
};

const std::vector<std::string>& words() {
    static std::vector<std::string> w = [] {
        std::vector<std::string> out;
        for (size_t i = 0; i < kVocabulary; ++i) out.push_back("w" + std::to_string(i));
        return out;
    }();
    return w;
}

// Chunk i, the same every time it is asked for: 40-260 tokens (chunks of ~1000 characters after
// stop-words), about 1 in 50 private to one of 100 users (scopes 1..100).
struct Chunk {
    int64_t id, owner;
    int32_t length;
    pgrag::ScopeId scope;
    std::vector<pgrag::TermCount> terms;
};
void make_chunk(const Zipf& zipf, size_t i, uint64_t salt, Chunk& c, std::vector<uint32_t>& tokens) {
    std::mt19937_64 rng(i * 0x9E3779B97F4A7C15ull ^ salt);
    c.id = static_cast<int64_t>(i + 1);
    c.owner = static_cast<int64_t>(i / 7 + 1);  // 7 chunks per document
    c.length = static_cast<int32_t>(40 + rng() % 221);
    c.scope = rng() % 50 == 0 ? static_cast<pgrag::ScopeId>(1 + rng() % 100) : pgrag::kSharedScope;
    tokens.clear();
    for (int32_t j = 0; j < c.length; ++j) tokens.push_back(zipf(rng));
    std::sort(tokens.begin(), tokens.end());
    c.terms.clear();
    for (size_t j = 0; j < tokens.size(); ++j) {
        if (j && tokens[j] == tokens[j - 1])
            c.terms.back().tf++;
        else
            c.terms.push_back({words()[tokens[j]], 1});
    }
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Buffer {
    std::vector<uint64_t> words;
    size_t size = 0;
    void append(const void* p, size_t n) {
        if (words.size() * 8 < size + n) words.resize(std::max(words.size() * 2, (size + n + 7) / 8));
        std::memcpy(reinterpret_cast<char*>(words.data()) + size, p, n);
        size += n;
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void run(size_t chunks) {
    Zipf zipf;
    Chunk c;
    std::vector<uint32_t> tf;
    std::printf("\n%zu chunks, vocabulary %zu (Zipf 1.07), 40-260 tokens per chunk, 2%% in 100 users' scopes\n", chunks,
                kVocabulary);

    // The base, written as one backend would write the snapshot file.
    double t0 = now();
    Buffer flat_bytes;
    {
        pgrag::Bm25FlatBuilder builder;
        for (size_t i = 0; i < chunks; ++i) {
            make_chunk(zipf, i, 0, c, tf);
            builder.add(c.id, c.owner, c.length, c.terms, c.scope);
        }
        double t1 = now();
        std::printf("  builder holds %.0f MB; ", static_cast<double>(builder.memory_bytes()) / 1e6);
        builder.write([&](const void* p, size_t n) { flat_bytes.append(p, n); });
        std::printf("gather %.2f s, write %.2f s\n", t1 - t0, now() - t1);
    }
    t0 = now();
    pgrag::Bm25Flat flat(flat_bytes.words.data(), flat_bytes.size);
    std::printf("  open the view: %.1f us; postings %llu\n", (now() - t0) * 1e6,
                static_cast<unsigned long long>(flat.postings()));

    // The baseline: one private index of every chunk, as every backend holds today.
    t0 = now();
    pgrag::Bm25Index index;
    for (size_t i = 0; i < chunks; ++i) {
        make_chunk(zipf, i, 0, c, tf);
        index.add(c.id, c.owner, c.length, c.terms, c.scope);
    }
    std::printf("  Bm25Index build %.2f s\n", now() - t0);

    // Queries: 2-5 distinct words, drawn from ranks 20-20000 (question words, not the most common).
    std::mt19937_64 qrng(7);
    std::vector<std::vector<std::string>> queries(300);
    for (auto& q : queries) {
        size_t n = 2 + qrng() % 4;
        while (q.size() < n) {
            size_t w =
                20 + static_cast<size_t>(std::exp(std::uniform_real_distribution<double>(0, std::log(20000.0))(qrng)));
            if (w < kVocabulary && std::find(q.begin(), q.end(), words()[w]) == q.end()) q.push_back(words()[w]);
        }
    }
    pgrag::Bm25Params params;
    std::vector<int64_t> candidates;
    for (size_t i = 0; i < 2000; ++i) candidates.push_back(static_cast<int64_t>(qrng() % chunks + 1));
    pgrag::VisibleScopes user;  // a user of 100 sees the shared scope and their own
    user.marks.assign(101, 0);
    user.marks[0] = user.marks[17] = 1;
    user.ids = {0, 17};
    pgrag::Bm25Filter everyone, as_user{nullptr, &user};

    pgrag::Bm25Overlay overlay(flat);
    using Ranking = std::function<std::vector<pgrag::ScoredChunk>(const std::vector<std::string>&)>;
    struct Case {
        const char* name;
        Ranking index, overlay;
    };
    auto cases = [&] {
        return std::vector<Case>{
            {"top-10", [&](const auto& q) { return index.top_k(q, 10, params, everyone); },
             [&](const auto& q) { return overlay.top_k(q, 10, params, everyone); }},
            {"top-10 as a user (2 of 101 scopes)", [&](const auto& q) { return index.top_k(q, 10, params, as_user); },
             [&](const auto& q) { return overlay.top_k(q, 10, params, as_user); }},
            {"top-100 (hybrid's candidates)", [&](const auto& q) { return index.top_k(q, 100, params, everyone); },
             [&](const auto& q) { return overlay.top_k(q, 100, params, everyone); }},
            {"top_k_of 2000 ids (web syntax)",
             [&](const auto& q) { return index.top_k_of(q, candidates, 10, params, everyone); },
             [&](const auto& q) { return overlay.top_k_of(q, candidates, 10, params, everyone); }},
        };
    };
    // Each query timed on both sides back to back (the machine is shared: load drifts), 5 rounds; the
    // ratio is the median over rounds of Bm25Index time / overlay time.
    auto measure = [&](const char* state) {
        std::printf("  %s\n  %-36s %12s %12s %8s  %s\n", state, "per query, median of 5 rounds", "Bm25Index ms",
                    "overlay ms", "ratio", "same results");
        for (const Case& k : cases()) {
            bool same = true;
            for (const auto& q : queries) {
                auto a = k.index(q), b = k.overlay(q);
                same = same && a.size() == b.size();
                for (size_t i = 0; same && i < a.size(); ++i) same = a[i].id == b[i].id && a[i].score == b[i].score;
            }
            std::vector<double> ti, to, ratio;
            for (int round = 0; round < 5; ++round) {
                double a = 0, b = 0;
                for (const auto& q : queries) {
                    double t = now();
                    k.index(q);
                    double u = now();
                    k.overlay(q);
                    a += u - t;
                    b += now() - u;
                }
                ti.push_back(a / static_cast<double>(queries.size()) * 1e3);
                to.push_back(b / static_cast<double>(queries.size()) * 1e3);
                ratio.push_back(a / b);
            }
            std::printf("  %-36s %12.3f %12.3f %7.2fx  %s\n", k.name, median(ti), median(to), median(ratio),
                        same ? "yes" : "NO");
        }
    };
    measure("the base alone (no change since the snapshot)");
    double index_mb = static_cast<double>(index.memory_bytes()) / 1e6;

    // 1% of the chunks re-read since the base (new text), 0.2% deleted: the baseline index receives the
    // same changes, so both rank the same live chunks.
    std::mt19937_64 rng(42);
    for (size_t n = 0; n < chunks / 100; ++n) {
        make_chunk(zipf, rng() % chunks, 1, c, tf);
        overlay.remove(c.id);
        overlay.add(c.id, c.owner, c.length, c.terms, c.scope);
        index.remove(c.id);
        index.add(c.id, c.owner, c.length, c.terms, c.scope);
    }
    for (size_t n = 0; n < chunks / 500; ++n) {
        int64_t id = static_cast<int64_t>(rng() % chunks + 1);
        overlay.remove(id);
        index.remove(id);
    }
    measure("after 1% re-read and 0.2% deleted (masked base rows + a delta)");

    double flat_mb = static_cast<double>(flat.bytes()) / 1e6;
    std::printf(
        "  memory: Bm25Index %.1f MB per backend; flat base %.1f MB once (%.2fx); overlay with 1%% "
        "changes %.2f MB per backend\n",
        index_mb, flat_mb, flat_mb / index_mb, static_cast<double>(overlay.memory_bytes()) / 1e6);
    std::printf("  20 backends: %.0f MB of private indexes vs %.0f MB (base + 20 overlays): %.1fx less\n",
                20 * index_mb, flat_mb + 20 * static_cast<double>(overlay.memory_bytes()) / 1e6,
                20 * index_mb / (flat_mb + 20 * static_cast<double>(overlay.memory_bytes()) / 1e6));
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<size_t> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(static_cast<size_t>(std::strtoull(argv[i], nullptr, 10)));
    if (sizes.empty()) sizes = {100000, 1000000};
    for (size_t n : sizes) run(n);
    return 0;
}
