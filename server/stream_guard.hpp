// Counts a stream as active for its lifetime (SIGTERM waits for active streams up to a deadline).
#pragma once

#include "app.hpp"

namespace pgrag::server {

class StreamGuard {
  public:
    explicit StreamGuard(App& app) : app_(app) { ++app_.active_streams; }
    ~StreamGuard() { --app_.active_streams; }
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

  private:
    App& app_;
};

}  // namespace pgrag::server
