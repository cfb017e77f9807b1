// Batched usage events.
#include "usage.hpp"

#include <cstdio>
#include <ctime>

#include "json_errors.hpp"

namespace pgrag::server {

namespace {
// Events kept while the database is unreachable; beyond this the oldest go.
constexpr size_t kMaxQueued = 10000;

std::string utc_now() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    long ms =
        static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}
}  // namespace

nlohmann::json usage_event(const Caller& caller, const char* kind) {
    nlohmann::json e = {{"event", kind}, {"occurred_at", utc_now()}};
    if (!caller.user_id.empty()) e["user_id"] = caller.user_id;
    if (!caller.tenant_id.empty()) e["tenant_id"] = caller.tenant_id;
    if (caller.key_id) e["key_id"] = *caller.key_id;
    return e;
}

UsageRecorder::~UsageRecorder() { stop(); }

void UsageRecorder::record(nlohmann::json event) {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) queue_.erase(queue_.begin());
    queue_.push_back(std::move(event));
}

void UsageRecorder::flush() {
    std::lock_guard<std::mutex> one_at_a_time(flush_mu_);
    std::vector<nlohmann::json> batch;
    {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(queue_);
    }
    if (batch.empty()) return;
    try {
        Lease db = pool_.acquire();
        db.exec("SELECT rag_record_usage($1::jsonb)", {Param::text(nlohmann::json(batch).dump())});
    } catch (...) {
        ApiError e = to_api_error(std::current_exception());
        bool retry = e.status() == 503;  // the database is away: keep the events for the next flush
        if (retry) {
            std::lock_guard<std::mutex> lock(mu_);
            batch.insert(batch.end(), queue_.begin(), queue_.end());
            if (batch.size() > kMaxQueued)
                batch.erase(batch.begin(), batch.end() - static_cast<std::ptrdiff_t>(kMaxQueued));
            queue_.swap(batch);
        }
        auto now = std::chrono::steady_clock::now();
        if (now - last_complaint_ > std::chrono::seconds(10)) {
            last_complaint_ = now;
            std::fprintf(stderr, "pg_rag_server: usage events %s: %s\n", retry ? "delayed" : "dropped", e.what());
        }
    }
}

void UsageRecorder::start(std::chrono::milliseconds interval) {
    thread_ = std::thread([this, interval] {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stopping_) {
            cv_.wait_for(lock, interval, [this] { return stopping_; });
            lock.unlock();
            flush();
            lock.lock();
        }
    });
}

void UsageRecorder::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace pgrag::server
