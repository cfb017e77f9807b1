// Token buckets, stream counts and the sign-in slowdown, each under its own mutex.
#include "limits.hpp"

#include <algorithm>
#include <cmath>

namespace pgrag::server {

namespace {
// Maps never grow without bound: past this many entries, the ones that hold nothing are dropped.
constexpr size_t kPruneAbove = 10000;

double seconds(LimitClock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

int RateLimiter::take(const std::string& key, LimitClock::time_point now) {
    if (limit_ <= 0) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() > kPruneAbove)
        for (auto it = buckets_.begin(); it != buckets_.end();)
            it = it->second.tokens + seconds(now - it->second.at) * per_second_ >= limit_ ? buckets_.erase(it)
                                                                                          : std::next(it);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{limit_, now});
    Bucket& b = it->second;
    if (!fresh) b.tokens = std::min(limit_, b.tokens + seconds(now - b.at) * per_second_);
    b.at = now;
    if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / per_second_)));
}

std::shared_ptr<void> StreamLimiter::acquire(const std::string& key) {
    if (max_ > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        int& n = open_[key];
        if (n >= max_) return nullptr;
        ++n;
    } else {
        return std::make_shared<int>(0);
    }
    return std::shared_ptr<void>(new int(0), [this, key](void* p) {
        delete static_cast<int*>(p);
        release(key);
    });
}

int StreamLimiter::open(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(key);
    return it == open_.end() ? 0 : it->second;
}

void StreamLimiter::release(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(key);
    if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

int SignInGuard::wait_s(const std::string& address, LimitClock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_address_.find(address);
    if (it == by_address_.end() || now >= it->second.blocked_until) return 0;
    return std::max(1, static_cast<int>(std::ceil(seconds(it->second.blocked_until - now))));
}

int SignInGuard::failed(const std::string& address, LimitClock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto forgotten = [&](const Entry& e) { return seconds(now - e.last_failure) > forget_s_; };
    if (by_address_.size() > kPruneAbove)
        for (auto it = by_address_.begin(); it != by_address_.end();)
            it = forgotten(it->second) ? by_address_.erase(it) : std::next(it);
    Entry& e = by_address_[address];
    if (e.failures > 0 && forgotten(e)) e = Entry{};
    ++e.failures;
    e.last_failure = now;
    int beyond = e.failures - free_;
    if (beyond <= 0) return 0;
    int wait = beyond > 30 ? max_wait_s_ : std::min(max_wait_s_, 1 << (beyond - 1));
    e.blocked_until = now + std::chrono::seconds(wait);
    return wait;
}

}  // namespace pgrag::server
