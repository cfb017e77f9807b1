// Usage events (rag_usage_events): requests add them to a queue; a background thread writes the queue
// in one statement (rag_record_usage) every second, so no request waits for an INSERT.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "caller.hpp"
#include "pool.hpp"

namespace pgrag::server {

// An event of kind (question, answer, upload, delete, sign_in_failure) by caller, stamped now.
nlohmann::json usage_event(const Caller& caller, const char* kind);

class UsageRecorder {
  public:
    explicit UsageRecorder(Pool& pool) : pool_(pool) {}
    ~UsageRecorder();
    UsageRecorder(const UsageRecorder&) = delete;
    UsageRecorder& operator=(const UsageRecorder&) = delete;

    void record(nlohmann::json event);
    // Writes what is queued now, in this thread (before a summary is read, and at exit).
    void flush();
    // The background writer, every interval.
    void start(std::chrono::milliseconds interval = std::chrono::seconds(1));
    void stop();

  private:
    Pool& pool_;
    std::mutex mu_;  // queue_, stopping_
    std::condition_variable cv_;
    std::vector<nlohmann::json> queue_;
    bool stopping_ = false;
    std::mutex flush_mu_;  // one flush at a time, so a flush that returns has written everything before it
    std::thread thread_;
    std::chrono::steady_clock::time_point last_complaint_{};
};

}  // namespace pgrag::server
