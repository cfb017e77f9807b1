// POST /api/chat: rag_answer()'s JSON, or a server-sent event stream (sources, token..., done|error); both
// prepare through SQL, generate without a connection, then record the turn or cache the answer.
#include <memory>

#include "app.hpp"
#include "chat.hpp"
#include "core/error.hpp"
#include "request_json.hpp"
#include "sse.hpp"
#include "statements.hpp"
#include "stream_guard.hpp"

namespace pgrag::server {

namespace {

void stream_chat(App& app, const Caller& caller, const ChatRequest& req, httplib::Response& res) {
    auto slot = stream_slot(app, caller);  // held by the content provider until the stream ends
    auto chat =
        std::make_shared<PreparedChat>(prepare_chat(app.pool, caller.db(), req, app.options.request_timeout_s * 1000L));
    auto request = std::make_shared<ChatRequest>(req);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream", [&app, caller, slot, chat, request](size_t,
                                                                                              httplib::DataSink& sink) {
        StreamGuard guard(app);
        SseWriter out(sink);
        try {
            auto deadline = chat->started + std::chrono::seconds(app.options.request_timeout_s);
            bool first = true;
            out.write(sse_event("sources", {{"sources", chat_sources(*chat)}}));
            Generated g = generate_chat(
                *chat,
                [&] { return !out.connected() || app.past_deadline || std::chrono::steady_clock::now() > deadline; },
                [&](const std::string& piece) {
                    if (first) app.metrics.observe_first_token(ms_since(chat->started) / 1000.0);
                    first = false;
                    out.write(sse_event("token", {{"text", piece}}));
                });
            nlohmann::json result = chat_result(*chat, g);
            // The turn is recorded (or the answer cached) only when complete and its client still there.
            if (out.connected()) {
                remember_answer(app.pool, caller.db(), *request, *chat, result);
                app.usage.record(answer_usage_event(caller, *chat, g, true));
            }
            out.write(sse_event("done", result));
        } catch (...) {
            ApiError e = to_api_error(std::current_exception());
            if (app.past_deadline)
                e = ApiError(503, "unavailable_error", "shutting_down", "the server is shutting down");
            out.write(sse_event("error", error_json(e)["error"]));
        }
        sink.done();
        return true;
    });
}

}  // namespace

void add_chat_routes(Router& r, App& app) {
    r.add("POST", "/api/chat", "/api/chat", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              nlohmann::json body = parse_json_object(req.body);
              ChatRequest chat = read_chat_request(body, true);
              app.usage.record(usage_event(caller, "question"));
              if (opt_bool(body, "stream").value_or(false)) return stream_chat(app, caller, chat, res);
              // The same steps without streaming: no connection is held while a model generates.
              PreparedChat prepared = prepare_chat(app.pool, caller.db(), chat, app.options.request_timeout_s * 1000L);
              auto deadline = prepared.started + std::chrono::seconds(app.options.request_timeout_s);
              Generated g = generate_chat(
                  prepared, [&] { return app.past_deadline || std::chrono::steady_clock::now() > deadline; },
                  [](const std::string&) {});
              nlohmann::json result = chat_result(prepared, g);
              remember_answer(app.pool, caller.db(), chat, prepared, result);
              app.usage.record(answer_usage_event(caller, prepared, g, false));
              send_json(res, 200, result);
          });
}

}  // namespace pgrag::server
