// Prometheus metrics: requests by route, method and status, a latency histogram per route, time to the
// first token, provider errors, the pool, queued questions by status and the question workers'
// outcomes, and the background pruning.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace pgrag::server {

class Pool;

// Counts a failed attempt of a chat provider (also one that another provider then replaced), for
// pgrag_provider_errors_total: process-wide, since generation runs outside any request's state.
void count_provider_error(const std::string& provider);

class Metrics {
  public:
    void observe(const std::string& route, const std::string& method, int status, double seconds);
    void observe_first_token(double seconds);
    // A question worker's attempt ended: done, retried, failed, lost (another worker holds it now) or
    // released (the server stopped mid-answer).
    void observe_question_outcome(const std::string& outcome);
    // Queued questions by status, as last read from the database (rag_question_counts).
    void set_question_counts(const std::vector<std::pair<std::string, long>>& counts);
    // One run of the background pruning: whether it worked, and what it deleted.
    void observe_maintenance(bool ok, long sessions_pruned, long questions_pruned);
    // The text format (version 0.0.4), pool gauges read now.
    std::string render(const Pool& pool) const;

  private:
    struct Histogram {
        std::vector<uint64_t> buckets;  // cumulative at render time; per bucket here
        uint64_t count = 0;
        double sum = 0;
    };
    static void add(Histogram& h, double seconds);
    static void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                                 const Histogram& h);
    mutable std::mutex mu_;
    std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
    std::map<std::string, Histogram> latency_;
    Histogram first_token_;
    std::map<std::string, uint64_t> question_outcomes_;
    std::vector<std::pair<std::string, long>> question_counts_;
    std::map<std::string, uint64_t> maintenance_runs_;  // by result: ok, error
    uint64_t sessions_pruned_ = 0, questions_pruned_ = 0;
};

}  // namespace pgrag::server
