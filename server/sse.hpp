// Server-sent events framing, and a writer over cpp-httplib's DataSink that remembers a gone client.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

namespace pgrag::server {

// "event: NAME\ndata: JSON\n\n" (JSON is one line: dump() escapes newlines).
std::string sse_event(const std::string& name, const nlohmann::json& data);

// "data: TEXT\n\n", OpenAI's framing (TEXT is JSON or [DONE]).
std::string sse_data(const std::string& text);

class SseWriter {
  public:
    explicit SseWriter(httplib::DataSink& sink) : sink_(sink) {}
    // False once the client is gone (a failed write or a closed socket); later writes do nothing.
    bool write(const std::string& frame);
    bool connected();

  private:
    httplib::DataSink& sink_;
    bool gone_ = false;
};

}  // namespace pgrag::server
