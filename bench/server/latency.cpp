// Latency summaries and the closed-loop client threads of the server benchmarks.
#include "latency.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

namespace bench {

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

Summary summarize(const std::vector<Sample>& samples, double seconds, int kind) {
    Summary s;
    std::vector<double> ms;
    for (const auto& x : samples) {
        if (kind >= 0 && x.kind != kind) continue;
        ++s.requests;
        if (!x.ok) {
            ++s.errors;
            if (s.first_error.empty()) s.first_error = x.error;
        }
        ms.push_back(x.ms);
    }
    std::sort(ms.begin(), ms.end());
    s.seconds = seconds;
    s.per_second = seconds > 0 ? static_cast<double>(s.requests) / seconds : 0;
    s.p50 = percentile(ms, 50);
    s.p90 = percentile(ms, 90);
    s.p99 = percentile(ms, 99);
    s.max = ms.empty() ? 0 : ms.back();
    return s;
}

Phase run_clients(int clients, double warmup, double seconds, const std::function<Sample(int client, long n)>& one,
                  double stagger) {
    Phase phase;
    std::mutex mu;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    Clock::time_point start, measured_from, deadline;
    auto after = [](Clock::time_point t, double s) {
        return t + std::chrono::microseconds(static_cast<long>(s * 1e6));
    };
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            std::vector<Sample> mine;
            ++ready;
            while (!go) std::this_thread::yield();
            std::this_thread::sleep_until(after(start, stagger * c / clients));
            for (long n = 0;; ++n) {
                auto t0 = Clock::now();
                if (t0 >= deadline) break;
                Sample x = one(c, n);
                if (t0 >= measured_from) mine.push_back(x);
            }
            std::lock_guard<std::mutex> lock(mu);
            phase.samples.insert(phase.samples.end(), mine.begin(), mine.end());
        });
    while (ready < clients) std::this_thread::yield();
    start = Clock::now();
    measured_from = after(start, warmup);
    deadline = after(measured_from, seconds);
    go = true;
    for (auto& t : threads) t.join();
    phase.seconds = ms_between(measured_from, Clock::now()) / 1000.0;
    return phase;
}

}  // namespace bench
