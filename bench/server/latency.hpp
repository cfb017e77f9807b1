// Latency samples of a benchmark phase and their summary (percentiles, requests/s, errors).
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b);

// One request: its kind (an index into the phase's kind names), latency, and whether it succeeded.
struct Sample {
    int kind = 0;
    double ms = 0;
    bool ok = true;
    std::string error;  // first words of the failure, when !ok
};

struct Summary {
    long requests = 0, errors = 0;
    double seconds = 0, per_second = 0;
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    std::string first_error;
};

// Percentile p (0..100) of sorted values, nearest rank.
double percentile(const std::vector<double>& sorted, double p);

// Summary of the samples of one kind (-1: all) over a phase that lasted seconds.
Summary summarize(const std::vector<Sample>& samples, double seconds, int kind = -1);

// Runs clients threads, each calling one(client, n) for n = 0, 1, ... (the next request as soon as the
// last one returned) for warmup + seconds; requests started in the first warmup seconds are not kept,
// and a request under way at the end completes and counts. stagger: client c starts c * stagger /
// clients seconds late, so that requests of equal length do not all start together.
struct Phase {
    std::vector<Sample> samples;
    double seconds = 0;  // measured: from the end of the warm-up until the last request returned
};
Phase run_clients(int clients, double warmup, double seconds, const std::function<Sample(int client, long n)>& one,
                  double stagger = 0);

}  // namespace bench
