// Metrics kept in memory under one mutex (a few map updates per request).
#include "metrics.hpp"

#include <cstdio>

#include "pool.hpp"

namespace pgrag::server {
namespace {
const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}
}  // namespace

void Metrics::add(Histogram& h, double seconds) {
    if (h.buckets.empty()) h.buckets.assign(kBuckets.size(), 0);
    for (size_t i = 0; i < kBuckets.size(); ++i)
        if (seconds <= kBuckets[i]) {
            ++h.buckets[i];
            break;
        }
    ++h.count;
    h.sum += seconds;
}

void Metrics::observe(const std::string& route, const std::string& method, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_[{route, method, status}];
    add(latency_[route], seconds);
}

void Metrics::observe_first_token(double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    add(first_token_, seconds);
}

void Metrics::observe_question_outcome(const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    ++question_outcomes_[outcome];
}

void Metrics::set_question_counts(const std::vector<std::pair<std::string, long>>& counts) {
    std::lock_guard<std::mutex> lock(mu_);
    question_counts_ = counts;
}

void Metrics::observe_maintenance(bool ok, long sessions_pruned, long questions_pruned) {
    std::lock_guard<std::mutex> lock(mu_);
    ++maintenance_runs_[ok ? "ok" : "error"];
    sessions_pruned_ += static_cast<uint64_t>(sessions_pruned);
    questions_pruned_ += static_cast<uint64_t>(questions_pruned);
}

void Metrics::render_histogram(std::string& out, const std::string& name, const std::string& labels,
                               const Histogram& h) {
    std::string sep = labels.empty() ? "" : ",";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += h.buckets.empty() ? 0 : h.buckets[i];
        out += name + "_bucket{" + labels + sep + "le=\"" + number(kBuckets[i]) + "\"} " + std::to_string(cumulative) +
               "\n";
    }
    out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    std::string braces = labels.empty() ? "" : "{" + labels + "}";
    out += name + "_sum" + braces + " " + number(h.sum) + "\n";
    out += name + "_count" + braces + " " + std::to_string(h.count) + "\n";
}

namespace {

std::mutex provider_errors_mu;
std::map<std::string, uint64_t> provider_errors;  // provider -> failed attempts

}  // namespace

void count_provider_error(const std::string& provider) {
    std::lock_guard<std::mutex> lock(provider_errors_mu);
    ++provider_errors[provider];
}

std::string Metrics::render(const Pool& pool) const {
    std::string out;
    std::lock_guard<std::mutex> lock(mu_);
    out += "# HELP pgrag_http_requests_total HTTP requests by route, method and status.\n";
    out += "# TYPE pgrag_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
        out += "pgrag_http_requests_total{route=\"" + std::get<0>(key) + "\",method=\"" + std::get<1>(key) +
               "\",status=\"" + std::to_string(std::get<2>(key)) + "\"} " + std::to_string(n) + "\n";
    out += "# HELP pgrag_http_request_duration_seconds Time from request to the last byte of the response.\n";
    out += "# TYPE pgrag_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_)
        render_histogram(out, "pgrag_http_request_duration_seconds", "route=\"" + route + "\"", h);
    out += "# HELP pgrag_time_to_first_token_seconds Time from a streamed chat request to its first token.\n";
    out += "# TYPE pgrag_time_to_first_token_seconds histogram\n";
    render_histogram(out, "pgrag_time_to_first_token_seconds", "", first_token_);
    out += "# HELP pgrag_provider_errors_total Failed chat provider attempts (fallbacks included), by provider.\n";
    out += "# TYPE pgrag_provider_errors_total counter\n";
    {
        std::lock_guard<std::mutex> errors_lock(provider_errors_mu);
        for (const auto& [provider, n] : provider_errors)
            out += "pgrag_provider_errors_total{provider=\"" + provider + "\"} " + std::to_string(n) + "\n";
    }
    out += "# HELP pgrag_pool_connections Database connections of the pool.\n# TYPE pgrag_pool_connections gauge\n";
    out += "pgrag_pool_connections " + std::to_string(pool.size()) + "\n";
    out += "# HELP pgrag_pool_in_use Database connections lent to requests now.\n# TYPE pgrag_pool_in_use gauge\n";
    out += "pgrag_pool_in_use " + std::to_string(pool.in_use()) + "\n";
    out +=
        "# HELP pgrag_pool_waiting Requests waiting for a database connection now.\n# TYPE pgrag_pool_waiting gauge\n";
    out += "pgrag_pool_waiting " + std::to_string(pool.waiting()) + "\n";
    if (!question_counts_.empty()) {
        out += "# HELP pgrag_questions Queued questions by status (all servers).\n# TYPE pgrag_questions gauge\n";
        for (const auto& [status, n] : question_counts_)
            out += "pgrag_questions{status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
    out += "# HELP pgrag_question_attempts_total Attempts of this server's question workers by outcome.\n";
    out += "# TYPE pgrag_question_attempts_total counter\n";
    for (const char* outcome : {"done", "retried", "failed", "lost", "released"}) {
        auto it = question_outcomes_.find(outcome);
        out += std::string("pgrag_question_attempts_total{outcome=\"") + outcome + "\"} " +
               std::to_string(it == question_outcomes_.end() ? 0 : it->second) + "\n";
    }
    out += "# HELP pgrag_maintenance_runs_total Runs of the background pruning by result.\n";
    out += "# TYPE pgrag_maintenance_runs_total counter\n";
    for (const char* result : {"ok", "error"}) {
        auto it = maintenance_runs_.find(result);
        out += std::string("pgrag_maintenance_runs_total{result=\"") + result + "\"} " +
               std::to_string(it == maintenance_runs_.end() ? 0 : it->second) + "\n";
    }
    out += "# HELP pgrag_pruned_total Rows the background pruning deleted.\n# TYPE pgrag_pruned_total counter\n";
    out += "pgrag_pruned_total{what=\"sessions\"} " + std::to_string(sessions_pruned_) + "\n";
    out += "pgrag_pruned_total{what=\"questions\"} " + std::to_string(questions_pruned_) + "\n";
    return out;
}

}  // namespace pgrag::server
