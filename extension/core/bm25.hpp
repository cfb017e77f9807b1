// Keyword search: an in-memory inverted index over chunks' lexemes, ranked by BM25 with a MaxScore top-k.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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

// Postings (chunk slot, tf) per lexeme plus each chunk's length; chunks can be added and removed at any
// time, so the statistics (N, average length, document frequencies) always describe the live chunks.
class Bm25Index {
  public:
    // Adds a chunk (its id must not be present): distinct lexemes with their counts, length in tokens.
    void add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms);
    // Removes a chunk; false when it was not there.
    bool remove(int64_t id);
    bool contains(int64_t id) const { return slot_of_.count(id) != 0; }

    size_t chunks() const { return live_; }
    // Average length over the live chunks, 0 when there are none.
    double average_length() const { return live_ ? static_cast<double>(length_sum_) / static_cast<double>(live_) : 0; }
    uint32_t document_frequency(const std::string& lexeme) const;
    size_t memory_bytes() const;

    // The k best chunks containing any of `terms` (distinct lexemes), by BM25 descending then id
    // ascending, among chunks whose owner is in `owners` (sorted; nullptr: any). MaxScore skips the
    // chunks that cannot enter the top k. `check` is polled now and then and may throw to cancel.
    std::vector<ScoredChunk> top_k(const std::vector<std::string>& terms, size_t k, const Bm25Params& params,
                                   const std::vector<int64_t>* owners = nullptr,
                                   const std::function<void()>& check = nullptr) const;

    // The k best of the given chunks (ids; unknown ones are skipped), scored by the same BM25 over `terms`.
    std::vector<ScoredChunk> top_k_of(const std::vector<std::string>& terms, const std::vector<int64_t>& candidates,
                                      size_t k, const Bm25Params& params, const std::vector<int64_t>* owners = nullptr,
                                      const std::function<void()>& check = nullptr) const;

  private:
    struct Term {
        std::vector<uint32_t> slots;  // ascending
        std::vector<uint32_t> tfs;
        uint32_t df = 0;         // live chunks containing the term
        uint32_t max_tf = 0;     // over all postings, live or not: an upper bound
        int32_t min_length = 0;  // likewise
    };
    struct QueryTerm {
        const Term* term;
        size_t order;  // position in the query's term list: scores are summed in this order
        double idf;
        double bound;
    };
    std::vector<QueryTerm> resolve(const std::vector<std::string>& terms, const Bm25Params& params) const;
    double tf_part(uint32_t tf, int32_t length, const Bm25Params& params, double avgdl) const;
    void compact();

    std::unordered_map<std::string, uint32_t> term_ids_;
    std::vector<Term> terms_;
    std::unordered_map<int64_t, uint32_t> slot_of_;
    std::vector<int64_t> ids_;
    std::vector<int64_t> owners_;
    std::vector<int32_t> lengths_;
    std::vector<uint8_t> alive_;
    std::vector<uint64_t> term_start_;  // slot s's term ids: slot_terms_[term_start_[s] .. term_start_[s + 1])
    std::vector<uint32_t> slot_terms_;
    size_t live_ = 0;
    int64_t length_sum_ = 0;
};

}  // namespace pgrag
