// Prometheus metrics: requests by route, method and status, a latency histogram per route, time to the
// first token, provider errors, and the pool.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>
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
};

}  // namespace pgrag::server
