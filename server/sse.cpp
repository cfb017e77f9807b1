// SSE frames.
#include "sse.hpp"

namespace pgrag::server {

std::string sse_event(const std::string& name, const nlohmann::json& data) {
    return "event: " + name + "\ndata: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string sse_data(const std::string& text) { return "data: " + text + "\n\n"; }

bool SseWriter::write(const std::string& frame) {
    if (gone_) return false;
    if (!sink_.is_writable() || !sink_.write(frame.data(), frame.size())) gone_ = true;
    return !gone_;
}

bool SseWriter::connected() {
    if (!gone_ && !sink_.is_writable()) gone_ = true;
    return !gone_;
}

}  // namespace pgrag::server
