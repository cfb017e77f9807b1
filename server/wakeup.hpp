// Wakes background threads early: when there is new work (a question queued here), or for good when
// the server stops, so an idle poll never holds up the exit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pgrag::server {

class Wakeup {
  public:
    // Taken before looking for work: a notify() after it ends the next wait at once.
    uint64_t generation() const {
        std::lock_guard<std::mutex> lock(mu_);
        return generation_;
    }
    void notify() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++generation_;
        }
        cv_.notify_all();
    }
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopped_ = true;
        }
        cv_.notify_all();
    }
    bool stopped() const {
        std::lock_guard<std::mutex> lock(mu_);
        return stopped_;
    }
    // Waits until a notify() after generation seen, stop(), or the timeout; false once stopped.
    bool wait(uint64_t seen, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, timeout, [&] { return stopped_ || generation_ != seen; });
        return !stopped_;
    }

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    uint64_t generation_ = 0;
    bool stopped_ = false;
};

}  // namespace pgrag::server
