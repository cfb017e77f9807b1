// Limits per user: requests per time window (a token bucket each) and concurrent streams.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pgrag::server {

using LimitClock = std::chrono::steady_clock;

// limit requests per window_s for each key, in bursts of up to limit; limit 0: unlimited.
class RateLimiter {
  public:
    RateLimiter(double limit, double window_s) : limit_(limit), per_second_(window_s > 0 ? limit / window_s : 0) {}
    // 0 when the request may pass (and is counted), else the seconds until one may.
    int take(const std::string& key, LimitClock::time_point now = LimitClock::now());

  private:
    struct Bucket {
        double tokens;
        LimitClock::time_point at;
    };
    double limit_, per_second_;
    std::mutex mu_;
    std::unordered_map<std::string, Bucket> buckets_;
};

// At most max open streams per key; max 0: unlimited.
class StreamLimiter {
  public:
    explicit StreamLimiter(int max) : max_(max) {}
    // A slot, held until its last copy goes (a stream's content provider keeps one); nullptr when key
    // has max open already.
    std::shared_ptr<void> acquire(const std::string& key);
    int open(const std::string& key);

  private:
    void release(const std::string& key);
    int max_;
    std::mutex mu_;
    std::unordered_map<std::string, int> open_;
};

// Failed sign-ins per client address: the first free_failures cost nothing; each one after them makes
// the address wait 1 s, 2 s, 4 s ... (at most max_wait_s) before its next attempt is even looked at.
// An address quiet for forget_s starts afresh.
class SignInGuard {
  public:
    SignInGuard(int free_failures = 3, int max_wait_s = 60, int forget_s = 900)
        : free_(free_failures), max_wait_s_(max_wait_s), forget_s_(forget_s) {}
    // Seconds address must still wait (0: it may try now).
    int wait_s(const std::string& address, LimitClock::time_point now = LimitClock::now());
    // Counts a failure; returns the wait it now imposes.
    int failed(const std::string& address, LimitClock::time_point now = LimitClock::now());

  private:
    struct Entry {
        int failures = 0;
        LimitClock::time_point last_failure, blocked_until;
    };
    int free_, max_wait_s_, forget_s_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> by_address_;
};

}  // namespace pgrag::server
