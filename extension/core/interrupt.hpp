// Cancellation of long core loops: the caller passes a check that throws (Postgres: statement_timeout
// and pg_cancel_backend through throw_if_interrupted), polled every few thousand steps.
#pragma once

#include <cstddef>
#include <functional>

namespace pgrag {

// Throws to cancel; an empty function never cancels.
using InterruptCheck = std::function<void()>;

// Calls the check once per kEvery units of work (steps, bytes: whatever the loop counts).
class Poller {
  public:
    static constexpr size_t kEvery = size_t{1} << 16;
    explicit Poller(const InterruptCheck& check) : check_(check) {}
    void tick(size_t units = 1) {
        count_ += units;
        if (count_ >= kEvery) {
            count_ = 0;
            if (check_) check_();
        }
    }

  private:
    const InterruptCheck& check_;
    size_t count_ = 0;
};

}  // namespace pgrag
