// The background maintenance thread: every --maintenance-interval (and once at start) it deletes
// sessions idle longer than --session-ttl (rag_prune_sessions) and questions finished longer ago than
// --question-retention (rag_prune_questions), then rebuilds the stale shared search copies
// (rag_refresh_search_copies). Errors are logged and counted, never fatal.
#pragma once

#include <thread>

#include "app.hpp"

namespace pgrag::server {

class Maintenance {
  public:
    explicit Maintenance(App& app) : app_(app) {}
    ~Maintenance() { join(); }
    Maintenance(const Maintenance&) = delete;
    Maintenance& operator=(const Maintenance&) = delete;

    void start();
    // After app.maintenance_wakeup.stop(): waits for a run in progress to end.
    void join();
    // One run (the thread's body, also callable alone).
    void run_once();

  private:
    void refresh_search_copies();
    App& app_;
    std::thread thread_;
};

}  // namespace pgrag::server
