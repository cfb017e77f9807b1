// Keyword search: an in-memory inverted index over chunks' lexemes, ranked by BM25 with a MaxScore top-k.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "visibility.hpp"

namespace pgrag {

struct Bm25Params {
    double k1 = 1.2;
    double b = 0.75;
};

struct ScoredChunk {
    int64_t id;
    int64_t owner;
    double score;
};

// One lexeme of a chunk and how often it occurs (its number of positions, 1 when it has none).
struct TermCount {
    std::string_view lexeme;
    uint32_t tf;
};

// Which chunks a ranking may return and which it counts: `owners` (sorted document ids; nullptr: any)
// narrows the rows only, `scopes` (nullptr: all) narrows the rows and the statistics, so that what a
// caller may not see never shapes the scores they get (N, average length and df of visible chunks).
struct Bm25Filter {
    const std::vector<int64_t>* owners = nullptr;
    const VisibleScopes* scopes = nullptr;
};

// A corpus's size as exact integers: combined indexes (bm25_flat.hpp) add and subtract them and still
// compute the same doubles as one index holding the same chunks.
struct Bm25Totals {
    int64_t chunks = 0;
    int64_t length_sum = 0;
};

// The statistics one ranking scores with: N, average length (already at least 1) and the document
// frequency of each query term (by position in the term list; 0: the term is skipped).
struct Bm25Stats {
    double n = 0;
    double avgdl = 1;
    std::vector<uint32_t> df;
};

// N and average length (at least 1) of a corpus, as every ranking computes them.
inline Bm25Stats bm25_corpus_stats(const Bm25Totals& t) {
    double n = static_cast<double>(t.chunks), sum = static_cast<double>(t.length_sum);
    return {n, std::max(n > 0 ? sum / n : 0, 1.0), {}};
}

// The same expressions, in the same order, as the SQL BM25 they replace; every index calls these so
// that their scores are bit-identical.
inline double bm25_idf(double n, uint32_t document_frequency) {
    double df = static_cast<double>(document_frequency);
    return std::log(1 + (n - df + 0.5) / (df + 0.5));
}
inline double bm25_tf_part(uint32_t tf, int32_t length, const Bm25Params& p, double avgdl) {
    double f = static_cast<double>(tf);
    return (f * (p.k1 + 1)) / (f + p.k1 * (1 - p.b + p.b * static_cast<double>(length) / avgdl));
}

// Postings (chunk slot, tf) per lexeme plus each chunk's length; chunks can be added and removed at any
// time, so the statistics (N, average length, document frequencies) always describe the live chunks,
// overall or of the scopes a caller sees.
class Bm25Index {
  public:
    // Adds a chunk (its id must not be present): distinct lexemes with their counts, length in tokens,
    // and who may see it.
    void add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms,
             ScopeId scope = kSharedScope);
    // Removes a chunk; false when it was not there.
    bool remove(int64_t id);
    bool contains(int64_t id) const { return slot_of_.count(id) != 0; }

    // Live chunks, their average length (0 when there are none) and a lexeme's document frequency, of
    // the scopes marked in `scopes` (nullptr: all).
    size_t chunks(const VisibleScopes* scopes = nullptr) const;
    double average_length(const VisibleScopes* scopes = nullptr) const;
    uint32_t document_frequency(const std::string& lexeme, const VisibleScopes* scopes = nullptr) const;
    // Live chunks and their length sum, exactly, of the scopes marked in `scopes` (nullptr: all).
    Bm25Totals totals(const VisibleScopes* scopes = nullptr) const;
    // The statistics a ranking of `terms` over this index alone uses.
    Bm25Stats stats(const std::vector<std::string>& terms, const VisibleScopes* scopes = nullptr) const;
    size_t memory_bytes() const;

    // The k best chunks containing any of `terms` (distinct lexemes), by BM25 descending then id
    // ascending, among the chunks `filter` lets through. MaxScore skips the chunks that cannot enter
    // the top k. `check` is polled now and then and may throw to cancel.
    std::vector<ScoredChunk> top_k(const std::vector<std::string>& terms, size_t k, const Bm25Params& params,
                                   const Bm25Filter& filter = {}, const std::function<void()>& check = nullptr) const;

    // The k best of the given chunks (ids; unknown ones are skipped), scored by the same BM25 over `terms`.
    std::vector<ScoredChunk> top_k_of(const std::vector<std::string>& terms, const std::vector<int64_t>& candidates,
                                      size_t k, const Bm25Params& params, const Bm25Filter& filter = {},
                                      const std::function<void()>& check = nullptr) const;

    // The same two rankings scored with statistics given by the caller: those of a larger corpus this
    // index is a part of (the private delta over a shared base, bm25_flat.hpp).
    std::vector<ScoredChunk> top_k(const std::vector<std::string>& terms, const Bm25Stats& stats, size_t k,
                                   const Bm25Params& params, const Bm25Filter& filter,
                                   const std::function<void()>& check) const;
    std::vector<ScoredChunk> top_k_of(const std::vector<std::string>& terms, const Bm25Stats& stats,
                                      const std::vector<int64_t>& candidates, size_t k, const Bm25Params& params,
                                      const Bm25Filter& filter, const std::function<void()>& check) const;

  private:
    struct Term {
        std::vector<uint32_t> slots;  // ascending
        std::vector<uint32_t> tfs;
        uint32_t df = 0;         // live chunks containing the term
        uint32_t shared_df = 0;  // of them, those of the shared scope (the others: scope_df_)
        uint32_t max_tf = 0;     // over all postings, live or not: an upper bound
        int32_t min_length = 0;  // likewise
    };
    struct QueryTerm {
        const Term* term;
        size_t order;  // position in the query's term list: scores are summed in this order
        double idf;
        double bound;
    };
    // N and average length of what `scopes` marks (nullptr: everything).
    struct Corpus {
        double n;
        double avgdl;
    };
    Corpus corpus(const VisibleScopes* scopes) const;
    uint32_t term_df(uint32_t term_id, const VisibleScopes* scopes) const;
    void count_scope(uint32_t term_id, ScopeId scope, int delta);
    std::vector<QueryTerm> resolve(const std::vector<std::string>& terms, const Bm25Params& params,
                                   const Bm25Stats& stats) const;
    void compact();

    std::unordered_map<std::string, uint32_t> term_ids_;
    std::vector<Term> terms_;
    std::unordered_map<int64_t, uint32_t> slot_of_;
    std::vector<int64_t> ids_;
    std::vector<int64_t> owners_;
    std::vector<ScopeId> scopes_;
    std::vector<int32_t> lengths_;
    std::vector<uint8_t> alive_;
    std::vector<uint64_t> term_start_;  // slot s's term ids: slot_terms_[term_start_[s] .. term_start_[s + 1])
    std::vector<uint32_t> slot_terms_;
    size_t live_ = 0;
    int64_t length_sum_ = 0;
    std::vector<size_t> scope_chunks_;                 // live chunks per scope
    std::vector<int64_t> scope_length_;                // and their length sum
    std::unordered_map<uint64_t, uint32_t> scope_df_;  // (term id << 32 | scope) -> df, scopes other than shared
};

}  // namespace pgrag
