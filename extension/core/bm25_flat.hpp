// Keyword search over one shared copy: a flat, position-independent BM25 index written once and mapped
// read-only by every backend (Bm25Flat), and each backend's private overlay on it (Bm25Overlay: base
// rows it no longer takes from the base, plus a small Bm25Index of the chunks it re-read since).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bm25.hpp"
#include "interrupt.hpp"

namespace pgrag {

// Receives the flat form piece by piece, in order (a file, a buffer).
using ByteSink = std::function<void(const void* data, size_t size)>;

// Collects chunks (any id order; a repeated id is ignored, as Bm25Index::add does) and streams their
// flat form. Holds the postings row by row (8 bytes each) until write(), which adds their term-major
// copy: about 16 bytes per posting at the peak, in the one backend that writes.
class Bm25FlatBuilder {
  public:
    void add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms,
             ScopeId scope = kSharedScope);
    size_t chunks() const { return ids_.size(); }
    size_t memory_bytes() const;
    // Writes the flat index. scope_keys[s] names scope s for the readers (opaque bytes; they rebuild
    // their scope numbering from it); rows may use scopes past its end (named "").
    void write(const ByteSink& sink, const std::vector<std::string>& scope_keys = {},
               const InterruptCheck& check = nullptr) const;

  private:
    std::unordered_map<std::string, uint32_t> term_ids_;
    std::vector<const std::string*> lexemes_;  // by term id: the map's keys (stable)
    std::vector<int64_t> ids_;
    std::vector<int64_t> owners_;
    std::vector<int32_t> lengths_;
    std::vector<ScopeId> scopes_;
    std::vector<uint64_t> term_start_{0};  // row r's postings: row_terms_/row_tfs_[term_start_[r] .. [r + 1])
    std::vector<uint32_t> row_terms_;
    std::vector<uint32_t> row_tfs_;
};

// A read-only view of a flat index over bytes someone else owns (an mmap of the base snapshot). Opening
// checks the header and that the sizes add up to the byte range, in constant time, and allocates
// nothing; every later read of an offset or a row number is checked before use, so damaged bytes end
// in an Error (DataException), never in a read outside the range. Rows are in ascending id order.
class Bm25Flat {
  public:
    // `data` must be 8-byte aligned and stay mapped while the view is used.
    Bm25Flat(const void* data, size_t size);

    uint32_t rows() const { return static_cast<uint32_t>(h_.rows); }
    uint32_t terms() const { return static_cast<uint32_t>(h_.terms); }
    uint64_t postings() const { return h_.postings; }
    size_t bytes() const { return static_cast<size_t>(h_.total_bytes); }

    int64_t id(uint32_t row) const { return ids_[row]; }
    int64_t owner(uint32_t row) const { return owners_[row]; }
    int32_t length(uint32_t row) const { return lengths_[row]; }
    ScopeId scope(uint32_t row) const { return scopes_[row]; }
    // The row holding chunk `id` (binary search), if any.
    std::optional<uint32_t> row_of(int64_t id) const;

    // A lexeme's term number, if any.
    std::optional<uint32_t> term(std::string_view lexeme) const;
    std::string_view lexeme(uint32_t term) const;
    // A term's postings: ascending rows and their tfs, and bounds over them.
    struct Postings {
        const uint32_t* rows;
        const uint32_t* tfs;
        size_t size;
        uint32_t max_tf;
        int32_t min_length;
    };
    Postings postings(uint32_t term) const;
    // A row's terms (numbers), for the overlay's statistics of masked rows.
    struct RowTerms {
        const uint32_t* terms;
        size_t size;
    };
    RowTerms row_terms(uint32_t row) const;

    // Statistics of the rows, of the scopes marked in `scopes` (nullptr: all): as Bm25Index keeps them.
    Bm25Totals totals(const VisibleScopes* scopes = nullptr) const;
    uint32_t document_frequency(uint32_t term, const VisibleScopes* scopes = nullptr) const;

    // Scope names as the writer gave them.
    uint32_t scope_count() const { return static_cast<uint32_t>(h_.scopes); }
    std::string_view scope_key(ScopeId scope) const;

    // Checks everything (sorted ids and lexemes, offsets, row and term numbers, scope numbers) in one
    // pass over the bytes; throws Error (DataException) at the first inconsistency.
    void verify(const InterruptCheck& check = nullptr) const;

    // The on-disk header: counts of everything, from which the layout follows.
    struct Header {
        char magic[8];
        uint32_t version;
        uint32_t byte_order;
        uint64_t rows, terms, postings, scopes, scope_dfs, lexeme_bytes, scope_key_bytes, length_sum, total_bytes;
    };
    struct TermInfo {
        uint32_t df;
        uint32_t shared_df;
        uint32_t max_tf;
        int32_t min_length;
    };

  private:
    uint64_t checked_start(const uint64_t* starts, uint64_t i, uint64_t limit, const char* what) const;

    Header h_;
    const int64_t* ids_;
    const int64_t* owners_;
    const int32_t* lengths_;
    const ScopeId* scopes_;
    const uint64_t* row_term_start_;
    const uint32_t* row_terms_;
    const uint64_t* lexeme_start_;
    const char* lexemes_;
    const uint64_t* posting_start_;
    const TermInfo* term_info_;
    const uint32_t* posting_rows_;
    const uint32_t* posting_tfs_;
    const uint64_t* scope_df_keys_;  // (term << 32 | scope) ascending, scopes other than shared
    const uint32_t* scope_df_counts_;
    const uint64_t* scope_chunks_;
    const int64_t* scope_lengths_;
    const uint64_t* scope_key_start_;
    const char* scope_keys_;
};

// The live chunks of one backend: a shared base minus the rows it masked plus its private delta. Its
// statistics (N, average length, df, restricted to the visible scopes) and its rankings (ids, order,
// scores) are those of one Bm25Index holding exactly the live chunks. Private memory: a bitset of the
// base's rows once a row is masked, the masked rows' statistics and the delta.
class Bm25Overlay {
  public:
    explicit Bm25Overlay(const Bm25Flat& base) : base_(base) {}

    // Adds a chunk to the delta (nothing when the id is live already, as Bm25Index::add).
    void add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms,
             ScopeId scope = kSharedScope);
    // Takes a chunk out of the live set (masks its base row or removes it from the delta); false when
    // it was not live.
    bool remove(int64_t id);
    bool contains(int64_t id) const;

    size_t chunks(const VisibleScopes* scopes = nullptr) const;
    double average_length(const VisibleScopes* scopes = nullptr) const;
    uint32_t document_frequency(const std::string& lexeme, const VisibleScopes* scopes = nullptr) const;
    Bm25Totals totals(const VisibleScopes* scopes = nullptr) const;
    Bm25Stats stats(const std::vector<std::string>& terms, const VisibleScopes* scopes = nullptr) const;

    // As Bm25Index::top_k and top_k_of, over the live chunks.
    std::vector<ScoredChunk> top_k(const std::vector<std::string>& terms, size_t k, const Bm25Params& params,
                                   const Bm25Filter& filter = {}, const InterruptCheck& check = nullptr) const;
    std::vector<ScoredChunk> top_k_of(const std::vector<std::string>& terms, const std::vector<int64_t>& candidates,
                                      size_t k, const Bm25Params& params, const Bm25Filter& filter = {},
                                      const InterruptCheck& check = nullptr) const;

    size_t masked_rows() const { return masked_rows_; }
    const Bm25Index& delta() const { return delta_; }
    // This backend's own memory (the base is shared and not counted).
    size_t memory_bytes() const;

  private:
    bool masked(uint32_t row) const { return !mask_.empty() && (mask_[row >> 6] >> (row & 63) & 1); }
    void mask(uint32_t row);
    uint32_t masked_df(uint32_t term, const VisibleScopes* scopes) const;

    const Bm25Flat& base_;
    std::vector<uint64_t> mask_;  // one bit per base row, allocated at the first mask
    size_t masked_rows_ = 0;
    Bm25Totals masked_total_;
    std::vector<Bm25Totals> masked_scope_;                    // per scope
    std::unordered_map<uint32_t, uint32_t> masked_df_;        // base term -> masked rows holding it
    std::unordered_map<uint64_t, uint32_t> masked_scope_df_;  // (term << 32 | scope) -> likewise
    Bm25Index delta_;
};

// The k best of two rankings of disjoint chunks (each best first): score descending, then id ascending.
std::vector<ScoredChunk> merge_top_k(const std::vector<ScoredChunk>& a, const std::vector<ScoredChunk>& b, size_t k);

}  // namespace pgrag
