#include "bm25.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <queue>

#include "bm25_ranking.hpp"

namespace pgrag {
namespace {

using namespace bm25_ranking;

std::vector<ScoredChunk> drain(TopHeap& heap) {
    std::vector<ScoredChunk> out;
    while (!heap.empty()) {
        out.push_back(heap.top());
        heap.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
}

void offer(TopHeap& heap, size_t k, const ScoredChunk& c) {
    if (heap.size() < k)
        heap.push(c);
    else if (better(c.score, c.id, heap.top())) {
        heap.pop();
        heap.push(c);
    }
}

}  // namespace

void Bm25Index::add(int64_t id, int64_t owner, int32_t length, const std::vector<TermCount>& terms, ScopeId scope) {
    if (term_start_.empty()) term_start_.push_back(0);
    uint32_t slot = static_cast<uint32_t>(ids_.size());
    if (!slot_of_.emplace(id, slot).second) return;  // already present: adding is idempotent
    ids_.push_back(id);
    owners_.push_back(owner);
    scopes_.push_back(scope);
    lengths_.push_back(length);
    alive_.push_back(1);
    std::string key;
    for (const TermCount& tc : terms) {
        // find before emplace: emplace allocates a node even when the lexeme is known (10x slower builds).
        key.assign(tc.lexeme.data(), tc.lexeme.size());
        auto it = term_ids_.find(key);
        if (it == term_ids_.end()) {
            it = term_ids_.emplace(key, static_cast<uint32_t>(terms_.size())).first;
            terms_.emplace_back();
        }
        Term& t = terms_[it->second];
        if (t.df == 0 && t.slots.empty()) t.min_length = length;
        t.slots.push_back(slot);
        t.tfs.push_back(tc.tf);
        t.df++;
        count_scope(it->second, scope, 1);
        t.max_tf = std::max(t.max_tf, tc.tf);
        t.min_length = std::min(t.min_length, length);
        slot_terms_.push_back(it->second);
    }
    term_start_.push_back(slot_terms_.size());
    live_++;
    length_sum_ += length;
    if (scope_chunks_.size() <= scope) {
        scope_chunks_.resize(scope + 1, 0);
        scope_length_.resize(scope + 1, 0);
    }
    scope_chunks_[scope]++;
    scope_length_[scope] += length;
}

// A term's df within one scope: the shared scope's in the term (no hashing for the common case), the
// others' in scope_df_, erased at zero.
void Bm25Index::count_scope(uint32_t term_id, ScopeId scope, int delta) {
    if (scope == kSharedScope) {
        terms_[term_id].shared_df += delta;
        return;
    }
    uint64_t key = (static_cast<uint64_t>(term_id) << 32) | scope;
    if (delta > 0) {
        scope_df_[key] += static_cast<uint32_t>(delta);
    } else if (auto it = scope_df_.find(key); it != scope_df_.end() && (it->second -= -delta) == 0) {
        scope_df_.erase(it);
    }
}

bool Bm25Index::remove(int64_t id) {
    auto it = slot_of_.find(id);
    if (it == slot_of_.end()) return false;
    uint32_t slot = it->second;
    slot_of_.erase(it);
    alive_[slot] = 0;
    ScopeId scope = scopes_[slot];
    for (uint64_t i = term_start_[slot]; i < term_start_[slot + 1]; ++i) {
        terms_[slot_terms_[i]].df--;
        count_scope(slot_terms_[i], scope, -1);
    }
    live_--;
    length_sum_ -= lengths_[slot];
    scope_chunks_[scope]--;
    scope_length_[scope] -= lengths_[slot];
    // Dead postings cost scan time: rebuild once they outnumber the live chunks.
    if (ids_.size() - live_ > std::max<size_t>(1024, live_)) compact();
    return true;
}

// Drops dead slots; slots keep their relative order, so postings stay sorted.
void Bm25Index::compact() {
    std::vector<uint32_t> new_slot(ids_.size(), UINT32_MAX);
    uint32_t next = 0;
    for (size_t s = 0; s < ids_.size(); ++s)
        if (alive_[s]) new_slot[s] = next++;
    for (Term& t : terms_) {
        size_t w = 0;
        t.max_tf = 0;
        for (size_t r = 0; r < t.slots.size(); ++r) {
            uint32_t ns = new_slot[t.slots[r]];
            if (ns == UINT32_MAX) continue;
            t.slots[w] = ns;
            t.tfs[w] = t.tfs[r];
            t.max_tf = std::max(t.max_tf, t.tfs[r]);
            ++w;
        }
        t.slots.resize(w);
        t.tfs.resize(w);
        t.slots.shrink_to_fit();
        t.tfs.shrink_to_fit();
    }
    std::vector<int64_t> ids, owners;
    std::vector<ScopeId> scopes;
    std::vector<int32_t> lengths;
    std::vector<uint64_t> term_start{0};
    std::vector<uint32_t> slot_terms;
    ids.reserve(live_);
    owners.reserve(live_);
    scopes.reserve(live_);
    lengths.reserve(live_);
    for (size_t s = 0; s < ids_.size(); ++s) {
        if (!alive_[s]) continue;
        ids.push_back(ids_[s]);
        owners.push_back(owners_[s]);
        scopes.push_back(scopes_[s]);
        lengths.push_back(lengths_[s]);
        slot_terms.insert(slot_terms.end(), slot_terms_.begin() + static_cast<std::ptrdiff_t>(term_start_[s]),
                          slot_terms_.begin() + static_cast<std::ptrdiff_t>(term_start_[s + 1]));
        term_start.push_back(slot_terms.size());
    }
    ids_ = std::move(ids);
    owners_ = std::move(owners);
    scopes_ = std::move(scopes);
    lengths_ = std::move(lengths);
    term_start_ = std::move(term_start);
    slot_terms_ = std::move(slot_terms);
    alive_.assign(ids_.size(), 1);
    slot_of_.clear();
    for (size_t s = 0; s < ids_.size(); ++s) slot_of_.emplace(ids_[s], static_cast<uint32_t>(s));
    // Exact bounds again over the live postings.
    for (Term& t : terms_) {
        t.min_length = std::numeric_limits<int32_t>::max();
        for (uint32_t s : t.slots) t.min_length = std::min(t.min_length, lengths_[s]);
        if (t.slots.empty()) t.min_length = 0;
    }
}

Bm25Totals Bm25Index::totals(const VisibleScopes* scopes) const {
    if (!scopes) return {static_cast<int64_t>(live_), length_sum_};
    Bm25Totals t;
    for (ScopeId s : scopes->ids)
        if (s < scope_chunks_.size()) {
            t.chunks += static_cast<int64_t>(scope_chunks_[s]);
            t.length_sum += scope_length_[s];
        }
    return t;
}

Bm25Index::Corpus Bm25Index::corpus(const VisibleScopes* scopes) const {
    Bm25Totals t = totals(scopes);
    double n = static_cast<double>(t.chunks), sum = static_cast<double>(t.length_sum);
    return {n, n > 0 ? sum / n : 0};
}

Bm25Stats Bm25Index::stats(const std::vector<std::string>& terms, const VisibleScopes* scopes) const {
    Bm25Stats s = bm25_corpus_stats(totals(scopes));
    s.df.reserve(terms.size());
    for (const std::string& t : terms) s.df.push_back(document_frequency(t, scopes));
    return s;
}

size_t Bm25Index::chunks(const VisibleScopes* scopes) const { return static_cast<size_t>(corpus(scopes).n); }

double Bm25Index::average_length(const VisibleScopes* scopes) const { return corpus(scopes).avgdl; }

uint32_t Bm25Index::term_df(uint32_t term_id, const VisibleScopes* scopes) const {
    const Term& t = terms_[term_id];
    if (!scopes) return t.df;
    uint32_t df = 0;
    for (ScopeId s : scopes->ids) {
        if (s == kSharedScope) {
            df += t.shared_df;
        } else if (auto it = scope_df_.find((static_cast<uint64_t>(term_id) << 32) | s); it != scope_df_.end()) {
            df += it->second;
        }
    }
    return df;
}

uint32_t Bm25Index::document_frequency(const std::string& lexeme, const VisibleScopes* scopes) const {
    auto it = term_ids_.find(lexeme);
    return it == term_ids_.end() ? 0 : term_df(it->second, scopes);
}

size_t Bm25Index::memory_bytes() const {
    size_t bytes = slot_terms_.capacity() * 4 + term_start_.capacity() * 8 + ids_.capacity() * 25 +
                   slot_of_.size() * 32 + term_ids_.size() * 64 + scope_df_.size() * 32;
    for (const Term& t : terms_) bytes += sizeof(Term) + t.slots.capacity() * 4 + t.tfs.capacity() * 4;
    return bytes;
}

std::vector<Bm25Index::QueryTerm> Bm25Index::resolve(const std::vector<std::string>& terms, const Bm25Params& params,
                                                     const Bm25Stats& stats) const {
    std::vector<QueryTerm> out;
    for (size_t i = 0; i < terms.size(); ++i) {
        if (i >= stats.df.size() || stats.df[i] == 0) continue;
        auto it = term_ids_.find(terms[i]);
        if (it == term_ids_.end()) continue;
        const Term& t = terms_[it->second];
        double idf = bm25_idf(stats.n, stats.df[i]);
        // tf_part grows with tf and (b > 0) shrinks with length: its largest value is at (max_tf, min_length).
        double bound = idf * bm25_tf_part(t.max_tf, t.min_length, params, stats.avgdl) * kBoundSlack;
        out.push_back({&t, i, idf, bound});
    }
    return out;
}

std::vector<ScoredChunk> Bm25Index::top_k(const std::vector<std::string>& terms, size_t k, const Bm25Params& params,
                                          const Bm25Filter& filter, const std::function<void()>& check) const {
    if (k == 0) return {};
    return top_k(terms, stats(terms, filter.scopes), k, params, filter, check);
}

std::vector<ScoredChunk> Bm25Index::top_k(const std::vector<std::string>& terms, const Bm25Stats& stats, size_t k,
                                          const Bm25Params& params, const Bm25Filter& filter,
                                          const std::function<void()>& check) const {
    if (k == 0) return {};
    const double avgdl = stats.avgdl;
    std::vector<QueryTerm> q = resolve(terms, params, stats);
    if (q.empty()) return {};
    // MaxScore: terms by ascending bound; a chunk holding only the first `essential` terms (whose
    // bounds sum below the k-th best score) cannot enter the top k, so only the others' postings drive.
    std::sort(q.begin(), q.end(), [](const QueryTerm& a, const QueryTerm& b) { return a.bound < b.bound; });
    const size_t m = q.size();
    std::vector<double> prefix(m);
    for (size_t i = 0; i < m; ++i) prefix[i] = (i ? prefix[i - 1] : 0) + q[i].bound;
    std::vector<size_t> pos(m, 0);
    std::vector<double> contribution(terms.size(), 0);
    TopHeap heap;
    double threshold = -std::numeric_limits<double>::infinity();
    size_t first_essential = 0;
    size_t visited = 0;
    const uint32_t kEnd = UINT32_MAX;
    auto current = [&](size_t i) { return pos[i] < q[i].term->slots.size() ? q[i].term->slots[pos[i]] : kEnd; };
    for (;;) {
        if (check && (++visited & 4095) == 0) check();
        uint32_t slot = kEnd;
        for (size_t i = first_essential; i < m; ++i) slot = std::min(slot, current(i));
        if (slot == kEnd) break;
        bool skip = !alive_[slot] || !owner_allowed(filter.owners, owners_[slot]) ||
                    (filter.scopes && !visible(*filter.scopes, scopes_[slot]));
        double score = 0;
        for (size_t i = first_essential; i < m; ++i) {
            if (current(i) != slot) continue;
            if (!skip) {
                double c = q[i].idf * bm25_tf_part(q[i].term->tfs[pos[i]], lengths_[slot], params, avgdl);
                contribution[q[i].order] = c;
                score += c;
            }
            pos[i]++;
        }
        if (skip) continue;
        bool pruned = false;
        for (size_t i = first_essential; i-- > 0;) {
            if (heap.size() == k && score + prefix[i] < threshold) {
                pruned = true;
                break;
            }
            const auto& slots = q[i].term->slots;
            auto from = slots.begin() + static_cast<std::ptrdiff_t>(pos[i]);
            pos[i] = static_cast<size_t>(std::lower_bound(from, slots.end(), slot) - slots.begin());
            if (pos[i] < slots.size() && slots[pos[i]] == slot) {
                double c = q[i].idf * bm25_tf_part(q[i].term->tfs[pos[i]], lengths_[slot], params, avgdl);
                contribution[q[i].order] = c;
                score += c;
            }
        }
        if (!pruned) {
            // The exact score: summed in query-term order, whichever cursors found the terms.
            double total = 0;
            for (size_t o = 0; o < terms.size(); ++o) total += contribution[o];
            offer(heap, k, {ids_[slot], owners_[slot], total});
            if (heap.size() == k) {
                threshold = heap.top().score;
                while (first_essential < m && prefix[first_essential] < threshold) first_essential++;
            }
        }
        std::fill(contribution.begin(), contribution.end(), 0);
    }
    return drain(heap);
}

std::vector<ScoredChunk> Bm25Index::top_k_of(const std::vector<std::string>& terms,
                                             const std::vector<int64_t>& candidates, size_t k, const Bm25Params& params,
                                             const Bm25Filter& filter, const std::function<void()>& check) const {
    if (k == 0) return {};
    return top_k_of(terms, stats(terms, filter.scopes), candidates, k, params, filter, check);
}

std::vector<ScoredChunk> Bm25Index::top_k_of(const std::vector<std::string>& terms, const Bm25Stats& stats,
                                             const std::vector<int64_t>& candidates, size_t k, const Bm25Params& params,
                                             const Bm25Filter& filter, const std::function<void()>& check) const {
    if (k == 0) return {};
    const double avgdl = stats.avgdl;
    std::vector<QueryTerm> q = resolve(terms, params, stats);
    TopHeap heap;
    size_t visited = 0;
    for (int64_t id : candidates) {
        if (check && (++visited & 4095) == 0) check();
        auto it = slot_of_.find(id);
        if (it == slot_of_.end()) continue;
        uint32_t slot = it->second;
        if (!owner_allowed(filter.owners, owners_[slot])) continue;
        if (filter.scopes && !visible(*filter.scopes, scopes_[slot])) continue;
        double score = 0;  // q is in query-term order here
        bool any = false;  // a chunk holding none of the terms is not ranked (as in SQL: no row to sum)
        for (const QueryTerm& t : q) {
            auto p = std::lower_bound(t.term->slots.begin(), t.term->slots.end(), slot);
            if (p == t.term->slots.end() || *p != slot) continue;
            any = true;
            score += t.idf * bm25_tf_part(t.term->tfs[static_cast<size_t>(p - t.term->slots.begin())], lengths_[slot],
                                          params, avgdl);
        }
        if (any) offer(heap, k, {id, owners_[slot], score});
    }
    return drain(heap);
}

}  // namespace pgrag
