#include "bm25_flat.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <queue>
#include <utility>

#include "bm25_ranking.hpp"
#include "error.hpp"

namespace pgrag {
namespace {

constexpr size_t kSeedRows = 4096;  // chunks of the rarest term scored for a first threshold

constexpr char kMagic[8] = {'P', 'G', 'R', 'A', 'G', 'B', 'M', '5'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kByteOrder = 0x01020304;        // read back otherwise on a machine of the other byte order
constexpr uint64_t kMaxCount = uint64_t{1} << 40;  // so that the layout's sums cannot overflow

[[noreturn]] void damaged(const std::string& what) {
    throw Error(ErrorCode::DataException, "pg_rag: the shared keyword index is damaged: " + what,
                "It is rebuilt from the knowledge base when its file is removed.");
}

uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// Where each section starts, from the header's counts alone: the writer and the reader agree by
// construction.
struct Layout {
    uint64_t ids, owners, lengths, scopes, row_term_start, row_terms, lexeme_start, lexemes, posting_start, term_info,
        posting_rows, posting_tfs, scope_df_keys, scope_df_counts, scope_chunks, scope_lengths, scope_key_start,
        scope_keys, end;
};

Layout layout_of(const Bm25Flat::Header& h) {
    Layout l{};
    uint64_t at = align8(sizeof(Bm25Flat::Header));
    auto section = [&](uint64_t& start, uint64_t bytes) {
        start = at;
        at = align8(at + bytes);
    };
    section(l.ids, h.rows * 8);
    section(l.owners, h.rows * 8);
    section(l.lengths, h.rows * 4);
    section(l.scopes, h.rows * 4);
    section(l.row_term_start, (h.rows + 1) * 8);
    section(l.row_terms, h.postings * 4);
    section(l.lexeme_start, (h.terms + 1) * 8);
    section(l.lexemes, h.lexeme_bytes);
    section(l.posting_start, (h.terms + 1) * 8);
    section(l.term_info, h.terms * sizeof(Bm25Flat::TermInfo));
    section(l.posting_rows, h.postings * 4);
    section(l.posting_tfs, h.postings * 4);
    section(l.scope_df_keys, h.scope_dfs * 8);
    section(l.scope_df_counts, h.scope_dfs * 4);
    section(l.scope_chunks, h.scopes * 8);
    section(l.scope_lengths, h.scopes * 8);
    section(l.scope_key_start, (h.scopes + 1) * 8);
    section(l.scope_keys, h.scope_key_bytes);
    l.end = at;
    return l;
}

// Buffers small writes, passes large arrays straight through, and pads sections to their offsets.
class Emitter {
  public:
    explicit Emitter(const ByteSink& sink) : sink_(sink) { buf_.reserve(kBuffer); }
    void put(const void* data, size_t size) {
        if (size >= kBuffer) {
            flush();
            sink_(data, size);
        } else {
            if (buf_.size() + size > kBuffer) flush();
            buf_.insert(buf_.end(), static_cast<const char*>(data), static_cast<const char*>(data) + size);
        }
        pos_ += size;
    }
    template <typename T>
    void put_array(const std::vector<T>& v) {
        put(v.data(), v.size() * sizeof(T));
    }
    template <typename T>
    void put_value(const T& v) {
        put(&v, sizeof(T));
    }
    void pad_to(uint64_t offset) {
        static const char zeros[8] = {};
        if (offset < pos_ || offset - pos_ > 8) throw Error(ErrorCode::InternalError, "bm25_flat: layout mismatch");
        put(zeros, static_cast<size_t>(offset - pos_));
    }
    void flush() {
        if (!buf_.empty()) sink_(buf_.data(), buf_.size());
        buf_.clear();
    }
    uint64_t pos() const { return pos_; }

  private:
    static constexpr size_t kBuffer = 1 << 16;
    const ByteSink& sink_;
    std::vector<char> buf_;
    uint64_t pos_ = 0;
};

using namespace bm25_ranking;

void offer(TopHeap& heap, size_t k, const ScoredChunk& c) {
    if (heap.size() < k)
        heap.push(c);
    else if (better(c.score, c.id, heap.top())) {
        heap.pop();
        heap.push(c);
    }
}

std::vector<ScoredChunk> drain(TopHeap& heap) {
    std::vector<ScoredChunk> out;
    while (!heap.empty()) {
        out.push_back(heap.top());
        heap.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
}

// A query term as the base's rankings use it.
struct BaseTerm {
    Bm25Flat::Postings postings;
    size_t order;  // position in the query: scores are summed in this order
    double idf;
    double bound;
};

std::vector<BaseTerm> resolve_base(const Bm25Flat& base, const std::vector<std::string>& terms,
                                   const Bm25Params& params, const Bm25Stats& stats) {
    std::vector<BaseTerm> out;
    for (size_t i = 0; i < terms.size(); ++i) {
        if (i >= stats.df.size() || stats.df[i] == 0) continue;
        std::optional<uint32_t> t = base.term(terms[i]);
        if (!t) continue;
        Bm25Flat::Postings p = base.postings(*t);
        double idf = bm25_idf(stats.n, stats.df[i]);
        double bound = idf * bm25_tf_part(p.max_tf, p.min_length, params, stats.avgdl) * kBoundSlack;
        out.push_back({p, i, idf, bound});
    }
    return out;
}

template <typename Masked>
bool row_skipped(const Bm25Flat& base, uint32_t row, const Masked& masked, const Bm25Filter& filter) {
    return masked(row) || !owner_allowed(filter.owners, base.owner(row)) ||
           (filter.scopes && !visible(*filter.scopes, base.scope(row)));
}

// The first position at or after `from` whose row is >= `row` (galloping: candidates come in order).
size_t gallop(const uint32_t* rows, size_t size, size_t from, uint32_t row) {
    size_t lo = from, step = 1;
    while (lo + step <= size && rows[lo + step - 1] < row) {
        lo += step;
        step *= 2;
    }
    return static_cast<size_t>(std::lower_bound(rows + lo, rows + std::min(size, lo + step), row) - rows);
}

// A floor of the k-th best score, from the chunks of the query's highest-bound term (at most
// kSeedRows of them) scored in full: with it, MaxScore leaves the common terms out from the first row
// instead of walking their postings until its heap holds k chunks (at 1M chunks a term in every chunk
// cost ~40k rows a query). Lowered by a relative 1e-9 so that a chunk scoring exactly the floor, its
// sum rounded differently in the main loop, is never pruned. -infinity: fewer than k such chunks.
template <typename Masked>
double seed_threshold(const Bm25Flat& base, const Masked& masked, const std::vector<BaseTerm>& q, size_t query_terms,
                      size_t k, const Bm25Params& params, const Bm25Filter& filter, double avgdl) {
    const BaseTerm& top = q.back();  // q is sorted by bound
    const size_t rows = std::min(top.postings.size, kSeedRows);
    std::priority_queue<double, std::vector<double>, std::greater<double>> best;
    std::vector<size_t> cursor(q.size(), 0);
    std::vector<double> contribution(query_terms, 0);
    for (size_t p = 0; p < rows; ++p) {
        const uint32_t row = top.postings.rows[p];
        if (row >= base.rows() || row_skipped(base, row, masked, filter)) continue;
        std::fill(contribution.begin(), contribution.end(), 0);
        for (size_t i = 0; i < q.size(); ++i) {
            size_t at = p;
            if (i + 1 < q.size()) {
                cursor[i] = gallop(q[i].postings.rows, q[i].postings.size, cursor[i], row);
                if (cursor[i] == q[i].postings.size || q[i].postings.rows[cursor[i]] != row) continue;
                at = cursor[i];
            }
            contribution[q[i].order] = q[i].idf * bm25_tf_part(q[i].postings.tfs[at], base.length(row), params, avgdl);
        }
        double total = 0;
        for (double c : contribution) total += c;
        if (best.size() < k) {
            best.push(total);
        } else if (total > best.top()) {
            best.pop();
            best.push(total);
        }
    }
    if (best.size() < k) return -std::numeric_limits<double>::infinity();
    const double floor = best.top();
    return floor - std::fabs(floor) * 1e-9;
}

// Bm25Index::top_k's MaxScore over the base's postings, skipping masked rows; chunks below `bar` (the
// k-th best score found elsewhere) cannot enter the combined top k and are pruned from the start.
template <typename Masked>
std::vector<ScoredChunk> base_top_k(const Bm25Flat& base, const Masked& masked, const std::vector<std::string>& terms,
                                    const Bm25Stats& stats, size_t k, const Bm25Params& params,
                                    const Bm25Filter& filter, const InterruptCheck& check, double bar) {
    std::vector<BaseTerm> q = resolve_base(base, terms, params, stats);
    if (q.empty() || k == 0) return {};
    std::sort(q.begin(), q.end(), [](const BaseTerm& a, const BaseTerm& b) { return a.bound < b.bound; });
    const size_t m = q.size();
    const double avgdl = stats.avgdl;
    const uint32_t rows = base.rows();
    std::vector<double> prefix(m);
    for (size_t i = 0; i < m; ++i) prefix[i] = (i ? prefix[i - 1] : 0) + q[i].bound;
    std::vector<size_t> pos(m, 0);
    std::vector<double> contribution(terms.size(), 0);
    TopHeap heap;
    double threshold = bar;
    if (m > 1) threshold = std::max(threshold, seed_threshold(base, masked, q, terms.size(), k, params, filter, avgdl));
    size_t first_essential = 0;
    while (first_essential < m && prefix[first_essential] < threshold) first_essential++;
    size_t visited = 0;
    const uint32_t kEnd = UINT32_MAX;
    auto current = [&](size_t i) { return pos[i] < q[i].postings.size ? q[i].postings.rows[pos[i]] : kEnd; };
    for (;;) {
        if (check && (++visited & 4095) == 0) check();
        uint32_t row = kEnd;
        for (size_t i = first_essential; i < m; ++i) row = std::min(row, current(i));
        if (row == kEnd) break;
        if (row >= rows) damaged("a posting names row " + std::to_string(row) + " of " + std::to_string(rows));
        bool skip = row_skipped(base, row, masked, filter);
        double score = 0;
        for (size_t i = first_essential; i < m; ++i) {
            if (current(i) != row) continue;
            if (!skip) {
                double c = q[i].idf * bm25_tf_part(q[i].postings.tfs[pos[i]], base.length(row), params, avgdl);
                contribution[q[i].order] = c;
                score += c;
            }
            pos[i]++;
        }
        if (skip) continue;
        bool pruned = false;
        for (size_t i = first_essential; i-- > 0;) {
            if (score + prefix[i] < threshold) {
                pruned = true;
                break;
            }
            const uint32_t* begin = q[i].postings.rows;
            pos[i] = gallop(begin, q[i].postings.size, pos[i], row);  // rows ascend: near the last one
            if (pos[i] < q[i].postings.size && begin[pos[i]] == row) {
                double c = q[i].idf * bm25_tf_part(q[i].postings.tfs[pos[i]], base.length(row), params, avgdl);
                contribution[q[i].order] = c;
                score += c;
            }
        }
        if (!pruned) {
            // The exact score: summed in query-term order, whichever cursors found the terms.
            double total = 0;
            for (size_t o = 0; o < terms.size(); ++o) total += contribution[o];
            offer(heap, k, {base.id(row), base.owner(row), total});
            if (heap.size() == k) {
                threshold = std::max(bar, heap.top().score);
                while (first_essential < m && prefix[first_essential] < threshold) first_essential++;
            }
        }
        std::fill(contribution.begin(), contribution.end(), 0);
    }
    return drain(heap);
}

// Bm25Index::top_k_of over live base rows. Rows are visited in ascending order (the heap's result does
// not depend on the order offered), so each term's postings are walked once.
std::vector<ScoredChunk> base_top_k_of(const Bm25Flat& base, const std::vector<std::string>& terms,
                                       const Bm25Stats& stats, std::vector<uint32_t> rows, size_t k,
                                       const Bm25Params& params, const Bm25Filter& filter,
                                       const InterruptCheck& check) {
    std::vector<BaseTerm> q = resolve_base(base, terms, params, stats);  // in query-term order
    std::sort(rows.begin(), rows.end());
    std::vector<size_t> pos(q.size(), 0);
    TopHeap heap;
    size_t visited = 0;
    auto none = [](uint32_t) { return false; };
    for (uint32_t row : rows) {
        if (check && (++visited & 4095) == 0) check();
        if (row_skipped(base, row, none, filter)) continue;
        double score = 0;
        bool any = false;  // a chunk holding none of the terms is not ranked (as in SQL: no row to sum)
        for (size_t i = 0; i < q.size(); ++i) {
            const Bm25Flat::Postings& p = q[i].postings;
            pos[i] = gallop(p.rows, p.size, pos[i], row);
            if (pos[i] == p.size || p.rows[pos[i]] != row) continue;
            any = true;
            score += q[i].idf * bm25_tf_part(p.tfs[pos[i]], base.length(row), params, stats.avgdl);
        }
        if (any) offer(heap, k, {base.id(row), base.owner(row), score});
    }
    return drain(heap);
}

}  // namespace

// ---- writing ----

void Bm25FlatBuilder::add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms,
                          ScopeId scope) {
    ids_.push_back(id);
    owners_.push_back(owner);
    lengths_.push_back(length);
    scopes_.push_back(scope);
    std::string key;
    for (const TermCount& tc : terms) {
        key.assign(tc.lexeme.data(), tc.lexeme.size());
        auto it = term_ids_.find(key);
        if (it == term_ids_.end()) {
            it = term_ids_.emplace(key, static_cast<uint32_t>(lexemes_.size())).first;
            lexemes_.push_back(&it->first);
        }
        row_terms_.push_back(it->second);
        row_tfs_.push_back(tc.tf);
    }
    term_start_.push_back(row_terms_.size());
}

size_t Bm25FlatBuilder::memory_bytes() const {
    return ids_.capacity() * 24 + term_start_.capacity() * 8 + row_terms_.capacity() * 4 + row_tfs_.capacity() * 4 +
           lexemes_.capacity() * 8 + term_ids_.size() * 64;
}

void Bm25FlatBuilder::write(const ByteSink& sink, const std::vector<std::string>& scope_keys,
                            const InterruptCheck& check) const {
    Poller poll(check);
    if (ids_.size() >= UINT32_MAX || lexemes_.size() >= UINT32_MAX)
        throw Error(ErrorCode::ProgramLimitExceeded, "pg_rag: too many chunks or lexemes for one keyword index");
    // Rows in ascending id order, the first of a repeated id kept.
    std::vector<uint32_t> order(ids_.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    if (!std::is_sorted(ids_.begin(), ids_.end()))
        std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return ids_[a] < ids_[b]; });
    order.erase(std::unique(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return ids_[a] == ids_[b]; }),
                order.end());
    poll.tick(ids_.size());
    const uint64_t rows = order.size();

    // Terms the kept rows use, in lexeme order.
    std::vector<uint32_t> old_df(lexemes_.size(), 0);
    uint64_t postings = 0;
    for (uint32_t r : order) {
        for (uint64_t j = term_start_[r]; j < term_start_[r + 1]; ++j) old_df[row_terms_[j]]++;
        postings += term_start_[r + 1] - term_start_[r];
        poll.tick(term_start_[r + 1] - term_start_[r] + 1);
    }
    std::vector<uint32_t> sorted_terms;
    for (uint32_t t = 0; t < lexemes_.size(); ++t)
        if (old_df[t]) sorted_terms.push_back(t);
    std::sort(sorted_terms.begin(), sorted_terms.end(),
              [&](uint32_t a, uint32_t b) { return *lexemes_[a] < *lexemes_[b]; });
    poll.tick(sorted_terms.size() * 16);
    std::vector<uint32_t> new_term(lexemes_.size(), UINT32_MAX);
    for (uint32_t i = 0; i < sorted_terms.size(); ++i) new_term[sorted_terms[i]] = i;
    const uint64_t terms = sorted_terms.size();

    // Per-term statistics and bounds, per-scope counts, term-major postings.
    std::vector<Bm25Flat::TermInfo> info(terms, Bm25Flat::TermInfo{0, 0, 0, std::numeric_limits<int32_t>::max()});
    std::vector<uint64_t> posting_start(terms + 1, 0);
    for (uint64_t t = 0; t < terms; ++t) posting_start[t + 1] = posting_start[t] + old_df[sorted_terms[t]];
    std::vector<uint64_t> cursor(posting_start.begin(), posting_start.end() - 1);
    std::vector<uint32_t> posting_rows(postings), posting_tfs(postings);
    ScopeId max_scope = 0;
    for (uint32_t r : order) max_scope = std::max(max_scope, scopes_[r]);
    const uint64_t scopes = std::max<uint64_t>({scope_keys.size(), uint64_t{max_scope} + 1, 1});
    std::vector<uint64_t> scope_chunks(scopes, 0);
    std::vector<int64_t> scope_lengths(scopes, 0);
    std::vector<uint64_t> scoped;  // (term << 32 | scope) of each posting outside the shared scope
    int64_t length_sum = 0;
    for (uint32_t row = 0; row < rows; ++row) {
        uint32_t r = order[row];
        ScopeId scope = scopes_[r];
        scope_chunks[scope]++;
        scope_lengths[scope] += lengths_[r];
        length_sum += lengths_[r];
        for (uint64_t j = term_start_[r]; j < term_start_[r + 1]; ++j) {
            uint32_t t = new_term[row_terms_[j]];
            Bm25Flat::TermInfo& ti = info[t];
            ti.df++;
            if (scope == kSharedScope)
                ti.shared_df++;
            else
                scoped.push_back(uint64_t{t} << 32 | scope);
            ti.max_tf = std::max(ti.max_tf, row_tfs_[j]);
            ti.min_length = std::min(ti.min_length, lengths_[r]);
            uint64_t at = cursor[t]++;
            posting_rows[at] = row;
            posting_tfs[at] = row_tfs_[j];
        }
        poll.tick(term_start_[r + 1] - term_start_[r] + 1);
    }
    std::sort(scoped.begin(), scoped.end());
    poll.tick(scoped.size() * 8);
    std::vector<uint64_t> scope_df_keys;
    std::vector<uint32_t> scope_df_counts;
    for (size_t i = 0; i < scoped.size(); ++i) {
        if (i == 0 || scoped[i] != scoped[i - 1]) {
            scope_df_keys.push_back(scoped[i]);
            scope_df_counts.push_back(0);
        }
        scope_df_counts.back()++;
    }
    std::vector<uint64_t>().swap(scoped);

    Bm25Flat::Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = kVersion;
    h.byte_order = kByteOrder;
    h.rows = rows;
    h.terms = terms;
    h.postings = postings;
    h.scopes = scopes;
    h.scope_dfs = scope_df_keys.size();
    for (uint32_t t : sorted_terms) h.lexeme_bytes += lexemes_[t]->size();
    for (const std::string& k : scope_keys) h.scope_key_bytes += k.size();
    h.length_sum = static_cast<uint64_t>(length_sum);
    const Layout l = layout_of(h);
    h.total_bytes = l.end;

    Emitter out(sink);
    out.put_value(h);
    out.pad_to(l.ids);
    for (uint32_t r : order) out.put_value(ids_[r]);
    out.pad_to(l.owners);
    for (uint32_t r : order) out.put_value(owners_[r]);
    out.pad_to(l.lengths);
    for (uint32_t r : order) out.put_value(lengths_[r]);
    out.pad_to(l.scopes);
    for (uint32_t r : order) out.put_value(scopes_[r]);
    poll.tick(rows * 24);
    out.pad_to(l.row_term_start);
    uint64_t start = 0;
    out.put_value(start);
    for (uint32_t r : order) {
        start += term_start_[r + 1] - term_start_[r];
        out.put_value(start);
    }
    out.pad_to(l.row_terms);
    for (uint32_t r : order) {
        for (uint64_t j = term_start_[r]; j < term_start_[r + 1]; ++j) out.put_value(new_term[row_terms_[j]]);
        poll.tick(term_start_[r + 1] - term_start_[r] + 1);
    }
    out.pad_to(l.lexeme_start);
    start = 0;
    out.put_value(start);
    for (uint32_t t : sorted_terms) {
        start += lexemes_[t]->size();
        out.put_value(start);
    }
    out.pad_to(l.lexemes);
    for (uint32_t t : sorted_terms) out.put(lexemes_[t]->data(), lexemes_[t]->size());
    poll.tick(terms * 16);
    out.pad_to(l.posting_start);
    out.put_array(posting_start);
    out.pad_to(l.term_info);
    out.put_array(info);
    out.pad_to(l.posting_rows);
    out.put_array(posting_rows);
    out.pad_to(l.posting_tfs);
    out.put_array(posting_tfs);
    out.pad_to(l.scope_df_keys);
    out.put_array(scope_df_keys);
    out.pad_to(l.scope_df_counts);
    out.put_array(scope_df_counts);
    out.pad_to(l.scope_chunks);
    out.put_array(scope_chunks);
    out.pad_to(l.scope_lengths);
    out.put_array(scope_lengths);
    out.pad_to(l.scope_key_start);
    start = 0;
    out.put_value(start);
    for (uint64_t s = 0; s < scopes; ++s) {
        start += s < scope_keys.size() ? scope_keys[s].size() : 0;
        out.put_value(start);
    }
    out.pad_to(l.scope_keys);
    for (const std::string& k : scope_keys) out.put(k.data(), k.size());
    out.pad_to(l.end);
    out.flush();
}

// ---- reading ----

Bm25Flat::Bm25Flat(const void* data, size_t size) {
    if (reinterpret_cast<uintptr_t>(data) % 8 != 0) damaged("its bytes are not 8-byte aligned");
    if (size < sizeof(Header))
        damaged(std::to_string(size) + " bytes are fewer than its " + std::to_string(sizeof(Header)) + "-byte header");
    std::memcpy(&h_, data, sizeof h_);
    if (std::memcmp(h_.magic, kMagic, sizeof kMagic) != 0) damaged("it does not start with the expected magic");
    if (h_.byte_order != kByteOrder) damaged("it was written on a machine of another byte order");
    if (h_.version != kVersion)
        damaged("its format version is " + std::to_string(h_.version) + ", this build reads " +
                std::to_string(kVersion));
    if (h_.rows >= UINT32_MAX || h_.terms >= UINT32_MAX || h_.scopes >= UINT32_MAX || h_.postings > kMaxCount ||
        h_.scope_dfs > kMaxCount || h_.lexeme_bytes > kMaxCount || h_.scope_key_bytes > kMaxCount)
        damaged("its header holds impossible counts");
    const Layout l = layout_of(h_);
    if (h_.total_bytes != l.end) damaged("its header's size does not match its counts");
    if (size < l.end) damaged("it is truncated: " + std::to_string(size) + " bytes of " + std::to_string(l.end));
    const char* base = static_cast<const char*>(data);
    ids_ = reinterpret_cast<const int64_t*>(base + l.ids);
    owners_ = reinterpret_cast<const int64_t*>(base + l.owners);
    lengths_ = reinterpret_cast<const int32_t*>(base + l.lengths);
    scopes_ = reinterpret_cast<const ScopeId*>(base + l.scopes);
    row_term_start_ = reinterpret_cast<const uint64_t*>(base + l.row_term_start);
    row_terms_ = reinterpret_cast<const uint32_t*>(base + l.row_terms);
    lexeme_start_ = reinterpret_cast<const uint64_t*>(base + l.lexeme_start);
    lexemes_ = base + l.lexemes;
    posting_start_ = reinterpret_cast<const uint64_t*>(base + l.posting_start);
    term_info_ = reinterpret_cast<const TermInfo*>(base + l.term_info);
    posting_rows_ = reinterpret_cast<const uint32_t*>(base + l.posting_rows);
    posting_tfs_ = reinterpret_cast<const uint32_t*>(base + l.posting_tfs);
    scope_df_keys_ = reinterpret_cast<const uint64_t*>(base + l.scope_df_keys);
    scope_df_counts_ = reinterpret_cast<const uint32_t*>(base + l.scope_df_counts);
    scope_chunks_ = reinterpret_cast<const uint64_t*>(base + l.scope_chunks);
    scope_lengths_ = reinterpret_cast<const int64_t*>(base + l.scope_lengths);
    scope_key_start_ = reinterpret_cast<const uint64_t*>(base + l.scope_key_start);
    scope_keys_ = base + l.scope_keys;
    // The ends of the offset tables, in constant time (the rest is checked where it is read).
    if (row_term_start_[h_.rows] != h_.postings || posting_start_[h_.terms] != h_.postings ||
        lexeme_start_[h_.terms] != h_.lexeme_bytes || scope_key_start_[h_.scopes] != h_.scope_key_bytes)
        damaged("its offset tables do not end where its header says");
}

uint64_t Bm25Flat::checked_start(const uint64_t* starts, uint64_t i, uint64_t limit, const char* what) const {
    uint64_t s = starts[i];
    if (s > limit || s > starts[i + 1]) damaged(std::string("bad offset in ") + what);
    return s;
}

std::optional<uint32_t> Bm25Flat::row_of(int64_t id) const {
    const int64_t* end = ids_ + h_.rows;
    const int64_t* p = std::lower_bound(ids_, end, id);
    if (p == end || *p != id) return std::nullopt;
    return static_cast<uint32_t>(p - ids_);
}

std::string_view Bm25Flat::lexeme(uint32_t term) const {
    uint64_t s = checked_start(lexeme_start_, term, h_.lexeme_bytes, "the lexemes");
    uint64_t e = lexeme_start_[term + 1];
    if (e > h_.lexeme_bytes) damaged("bad offset in the lexemes");
    return {lexemes_ + s, static_cast<size_t>(e - s)};
}

std::optional<uint32_t> Bm25Flat::term(std::string_view lexeme_wanted) const {
    uint32_t lo = 0, hi = terms();
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = lexeme(mid).compare(lexeme_wanted);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return std::nullopt;
}

Bm25Flat::Postings Bm25Flat::postings(uint32_t term) const {
    uint64_t s = checked_start(posting_start_, term, h_.postings, "the postings");
    uint64_t e = posting_start_[term + 1];
    if (e > h_.postings) damaged("bad offset in the postings");
    const TermInfo& ti = term_info_[term];
    return {posting_rows_ + s, posting_tfs_ + s, static_cast<size_t>(e - s), ti.max_tf, ti.min_length};
}

Bm25Flat::RowTerms Bm25Flat::row_terms(uint32_t row) const {
    uint64_t s = checked_start(row_term_start_, row, h_.postings, "the rows' terms");
    uint64_t e = row_term_start_[row + 1];
    if (e > h_.postings) damaged("bad offset in the rows' terms");
    return {row_terms_ + s, static_cast<size_t>(e - s)};
}

Bm25Totals Bm25Flat::totals(const VisibleScopes* scopes) const {
    if (!scopes) return {static_cast<int64_t>(h_.rows), static_cast<int64_t>(h_.length_sum)};
    Bm25Totals t;
    for (ScopeId s : scopes->ids)
        if (s < h_.scopes) {
            t.chunks += static_cast<int64_t>(scope_chunks_[s]);
            t.length_sum += scope_lengths_[s];
        }
    return t;
}

uint32_t Bm25Flat::document_frequency(uint32_t term, const VisibleScopes* scopes) const {
    const TermInfo& ti = term_info_[term];
    if (!scopes) return ti.df;
    uint32_t df = 0;
    for (ScopeId s : scopes->ids) {
        if (s == kSharedScope) {
            df += ti.shared_df;
            continue;
        }
        uint64_t key = uint64_t{term} << 32 | s;
        const uint64_t* end = scope_df_keys_ + h_.scope_dfs;
        const uint64_t* p = std::lower_bound(scope_df_keys_, end, key);
        if (p != end && *p == key) df += scope_df_counts_[p - scope_df_keys_];
    }
    return df;
}

std::string_view Bm25Flat::scope_key(ScopeId scope) const {
    if (scope >= h_.scopes) return {};
    uint64_t s = checked_start(scope_key_start_, scope, h_.scope_key_bytes, "the scope names");
    uint64_t e = scope_key_start_[scope + 1];
    if (e > h_.scope_key_bytes) damaged("bad offset in the scope names");
    return {scope_keys_ + s, static_cast<size_t>(e - s)};
}

void Bm25Flat::verify(const InterruptCheck& check) const {
    Poller poll(check);
    auto monotone = [&](const uint64_t* starts, uint64_t n, uint64_t last, const char* what) {
        if (starts[0] != 0 || starts[n] != last) damaged(std::string("bad bounds of ") + what);
        for (uint64_t i = 0; i < n; ++i)
            if (starts[i] > starts[i + 1]) damaged(std::string("offsets out of order in ") + what);
        poll.tick(n);
    };
    monotone(row_term_start_, h_.rows, h_.postings, "the rows' terms");
    monotone(lexeme_start_, h_.terms, h_.lexeme_bytes, "the lexemes");
    monotone(posting_start_, h_.terms, h_.postings, "the postings");
    monotone(scope_key_start_, h_.scopes, h_.scope_key_bytes, "the scope names");
    // The scopes' statistics, recounted from the rows.
    std::vector<Bm25Totals> per_scope(h_.scopes);
    int64_t length_sum = 0;
    for (uint32_t r = 0; r < h_.rows; ++r) {
        if (r && ids_[r - 1] >= ids_[r]) damaged("its chunk ids are not ascending");
        if (scopes_[r] >= h_.scopes) damaged("a row names an unknown scope");
        per_scope[scopes_[r]].chunks++;
        per_scope[scopes_[r]].length_sum += lengths_[r];
        length_sum += lengths_[r];
        RowTerms rt = row_terms(r);
        for (size_t j = 0; j < rt.size; ++j)
            if (rt.terms[j] >= h_.terms) damaged("a row names an unknown term");
        poll.tick(rt.size + 1);
    }
    if (length_sum != static_cast<int64_t>(h_.length_sum)) damaged("its length sum does not match its rows");
    for (uint64_t s = 0; s < h_.scopes; ++s)
        if (per_scope[s].chunks != static_cast<int64_t>(scope_chunks_[s]) ||
            per_scope[s].length_sum != scope_lengths_[s])
            damaged("its scope statistics do not match its rows");
    for (uint32_t t = 0; t < h_.terms; ++t) {
        if (t && !(lexeme(t - 1) < lexeme(t))) damaged("its lexemes are not in ascending order");
        Postings p = postings(t);
        const TermInfo& ti = term_info_[t];
        if (ti.df != p.size || ti.shared_df > ti.df) damaged("a term's document frequency does not match");
        for (size_t j = 0; j < p.size; ++j) {
            if (p.rows[j] >= h_.rows || (j && p.rows[j - 1] >= p.rows[j]))
                damaged("a term's rows are out of range or order");
            if (p.tfs[j] > p.max_tf || lengths_[p.rows[j]] < p.min_length) damaged("a term's bounds do not hold");
        }
        poll.tick(p.size + 1);
    }
    for (uint64_t i = 0; i < h_.scope_dfs; ++i) {
        uint64_t key = scope_df_keys_[i];
        if ((i && scope_df_keys_[i - 1] >= key) || (key >> 32) >= h_.terms || (key & 0xffffffffu) == kSharedScope ||
            (key & 0xffffffffu) >= h_.scopes)
            damaged("its per-scope document frequencies are out of order or range");
    }
    poll.tick(h_.scope_dfs);
}

// ---- the overlay ----

void Bm25Overlay::add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms, ScopeId scope) {
    if (contains(id)) return;
    delta_.add(id, owner, length, terms, scope);
}

bool Bm25Overlay::contains(int64_t id) const {
    if (delta_.contains(id)) return true;
    std::optional<uint32_t> row = base_.row_of(id);
    return row && !masked(*row);
}

bool Bm25Overlay::remove(int64_t id) {
    if (delta_.remove(id)) return true;
    std::optional<uint32_t> row = base_.row_of(id);
    if (!row || masked(*row)) return false;
    mask(*row);
    return true;
}

void Bm25Overlay::mask(uint32_t row) {
    ScopeId scope = base_.scope(row);
    if (scope >= base_.scope_count()) damaged("a row names an unknown scope");
    Bm25Flat::RowTerms rt = base_.row_terms(row);
    for (size_t j = 0; j < rt.size; ++j)
        if (rt.terms[j] >= base_.terms()) damaged("a row names an unknown term");
    if (mask_.empty()) mask_.assign((size_t{base_.rows()} + 63) / 64, 0);
    mask_[row >> 6] |= uint64_t{1} << (row & 63);
    masked_rows_++;
    int32_t length = base_.length(row);
    masked_total_.chunks++;
    masked_total_.length_sum += length;
    if (masked_scope_.size() <= scope) masked_scope_.resize(size_t{scope} + 1);
    masked_scope_[scope].chunks++;
    masked_scope_[scope].length_sum += length;
    for (size_t j = 0; j < rt.size; ++j) {
        masked_df_[rt.terms[j]]++;
        masked_scope_df_[uint64_t{rt.terms[j]} << 32 | scope]++;
    }
}

uint32_t Bm25Overlay::masked_df(uint32_t term, const VisibleScopes* scopes) const {
    if (masked_rows_ == 0) return 0;
    if (!scopes) {
        auto it = masked_df_.find(term);
        return it == masked_df_.end() ? 0 : it->second;
    }
    uint32_t df = 0;
    for (ScopeId s : scopes->ids)
        if (auto it = masked_scope_df_.find(uint64_t{term} << 32 | s); it != masked_scope_df_.end()) df += it->second;
    return df;
}

Bm25Totals Bm25Overlay::totals(const VisibleScopes* scopes) const {
    Bm25Totals base = base_.totals(scopes), delta = delta_.totals(scopes), masked = masked_total_;
    if (scopes) {
        masked = {};
        for (ScopeId s : scopes->ids)
            if (s < masked_scope_.size()) {
                masked.chunks += masked_scope_[s].chunks;
                masked.length_sum += masked_scope_[s].length_sum;
            }
    }
    return {base.chunks - masked.chunks + delta.chunks, base.length_sum - masked.length_sum + delta.length_sum};
}

size_t Bm25Overlay::chunks(const VisibleScopes* scopes) const { return static_cast<size_t>(totals(scopes).chunks); }

double Bm25Overlay::average_length(const VisibleScopes* scopes) const {
    Bm25Totals t = totals(scopes);
    double n = static_cast<double>(t.chunks), sum = static_cast<double>(t.length_sum);
    return n > 0 ? sum / n : 0;
}

uint32_t Bm25Overlay::document_frequency(const std::string& lexeme, const VisibleScopes* scopes) const {
    uint32_t df = delta_.document_frequency(lexeme, scopes);
    if (std::optional<uint32_t> t = base_.term(lexeme))
        df += base_.document_frequency(*t, scopes) - masked_df(*t, scopes);
    return df;
}

Bm25Stats Bm25Overlay::stats(const std::vector<std::string>& terms, const VisibleScopes* scopes) const {
    Bm25Stats s = bm25_corpus_stats(totals(scopes));
    s.df.reserve(terms.size());
    for (const std::string& t : terms) s.df.push_back(document_frequency(t, scopes));
    return s;
}

std::vector<ScoredChunk> Bm25Overlay::top_k(const std::vector<std::string>& terms, size_t k, const Bm25Params& params,
                                            const Bm25Filter& filter, const InterruptCheck& check) const {
    if (k == 0) return {};
    Bm25Stats s = stats(terms, filter.scopes);
    // The delta first (small): its k-th best lets the base's MaxScore prune from the start.
    std::vector<ScoredChunk> delta = delta_.top_k(terms, s, k, params, filter, check);
    double bar = delta.size() == k ? delta.back().score : -std::numeric_limits<double>::infinity();
    auto is_masked = [this](uint32_t row) { return masked(row); };
    std::vector<ScoredChunk> base = base_top_k(base_, is_masked, terms, s, k, params, filter, check, bar);
    return merge_top_k(delta, base, k);
}

std::vector<ScoredChunk> Bm25Overlay::top_k_of(const std::vector<std::string>& terms,
                                               const std::vector<int64_t>& candidates, size_t k,
                                               const Bm25Params& params, const Bm25Filter& filter,
                                               const InterruptCheck& check) const {
    if (k == 0) return {};
    Bm25Stats s = stats(terms, filter.scopes);
    std::vector<int64_t> in_delta;
    std::vector<uint32_t> in_base;
    Poller poll(check);
    for (int64_t id : candidates) {
        poll.tick(16);
        if (delta_.contains(id)) {
            in_delta.push_back(id);
        } else if (std::optional<uint32_t> row = base_.row_of(id); row && !masked(*row)) {
            in_base.push_back(*row);
        }
    }
    return merge_top_k(delta_.top_k_of(terms, s, in_delta, k, params, filter, check),
                       base_top_k_of(base_, terms, s, std::move(in_base), k, params, filter, check), k);
}

size_t Bm25Overlay::memory_bytes() const {
    return sizeof(*this) + mask_.capacity() * 8 + masked_scope_.capacity() * sizeof(Bm25Totals) +
           (masked_df_.size() + masked_scope_df_.size()) * 32 + delta_.memory_bytes();
}

std::vector<ScoredChunk> merge_top_k(const std::vector<ScoredChunk>& a, const std::vector<ScoredChunk>& b, size_t k) {
    std::vector<ScoredChunk> out;
    size_t i = 0, j = 0;
    while (out.size() < k && (i < a.size() || j < b.size())) {
        if (j == b.size() || (i < a.size() && better(a[i].score, a[i].id, b[j])))
            out.push_back(a[i++]);
        else
            out.push_back(b[j++]);
    }
    return out;
}

}  // namespace pgrag
