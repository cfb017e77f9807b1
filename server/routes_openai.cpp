// The OpenAI-compatible API: /v1/models and /v1/chat/completions (with streaming). /v1/embeddings is
// in routes_openai_embeddings.cpp.
#include <ctime>
#include <memory>
#include <random>

#include "app.hpp"
#include "chat.hpp"
#include "cited_sources.hpp"
#include "openai_request.hpp"
#include "request_json.hpp"
#include "sse.hpp"
#include "stream_guard.hpp"

namespace pgrag::server {

namespace {

std::string completion_id() {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    char buf[40];
    std::snprintf(buf, sizeof buf, "chatcmpl-%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

nlohmann::json usage_json(const Generated& g) {
    return {{"prompt_tokens", g.answer.prompt_tokens},
            {"completion_tokens", g.answer.completion_tokens},
            {"total_tokens", g.answer.prompt_tokens + g.answer.completion_tokens}};
}

nlohmann::json model_json(const std::string& id) {
    return {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "pg_rag"}};
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// One chat.completion.chunk; with include_usage every chunk but the last carries "usage": null.
class ChunkWriter {
  public:
    ChunkWriter(SseWriter& out, const CompletionRequest& req)
        : out_(out), include_usage_(req.include_usage), model_(req.model) {}
    nlohmann::json chunk(const nlohmann::json& choices) const {
        nlohmann::json c = {{"id", id_},
                            {"object", "chat.completion.chunk"},
                            {"created", created_},
                            {"model", model_},
                            {"choices", choices}};
        if (include_usage_) c["usage"] = nullptr;
        return c;
    }
    nlohmann::json choice(const nlohmann::json& delta, const nlohmann::json& finish) const {
        return nlohmann::json::array(
            {{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish}}});
    }
    void text(const std::string& piece) { out_.write(sse_data(dump(chunk(choice({{"content", piece}}, nullptr))))); }
    void write(const nlohmann::json& j) { out_.write(sse_data(dump(j))); }

  private:
    SseWriter& out_;
    bool include_usage_;
    std::string model_;
    std::string id_ = completion_id();
    long created_ = static_cast<long>(std::time(nullptr));
};

void stream_completion(App& app, const Caller& caller, const CompletionRequest& req, httplib::Response& res) {
    auto slot = stream_slot(app, caller);  // held by the content provider until the stream ends
    auto chat = std::make_shared<PreparedChat>(
        prepare_chat(app.pool, caller.db(), req.chat, app.options.request_timeout_s * 1000L));
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream", [&app, caller, slot, chat, req](size_t,
                                                                                          httplib::DataSink& sink) {
        StreamGuard guard(app);
        SseWriter out(sink);
        ChunkWriter chunks(out, req);
        try {
            auto deadline = chat->started + std::chrono::seconds(app.options.request_timeout_s);
            nlohmann::json sources = chat_sources(*chat);
            nlohmann::json first = chunks.chunk(chunks.choice({{"role", "assistant"}, {"content", ""}}, nullptr));
            first["sources"] = sources;  // pg_rag's extra field: the numbered sources, before any text
            chunks.write(first);
            bool got_first = false;
            Generated g = generate_chat(
                *chat,
                [&] { return !out.connected() || app.past_deadline || std::chrono::steady_clock::now() > deadline; },
                [&](const std::string& piece) {
                    if (!got_first) app.metrics.observe_first_token(ms_since(chat->started) / 1000.0);
                    got_first = true;
                    chunks.text(piece);
                });
            app.usage.record(answer_usage_event(caller, *chat, g, true));
            if (req.append_sources)
                if (std::string footer = sources_footer(g.answer.text, sources); !footer.empty()) chunks.text(footer);
            chunks.write(chunks.chunk(chunks.choice(nlohmann::json::object(), "stop")));
            if (req.include_usage) {
                nlohmann::json last = chunks.chunk(nlohmann::json::array());
                last["usage"] = usage_json(g);
                chunks.write(last);
            }
        } catch (...) {
            // Mid-stream, OpenAI's way (as vLLM and llama.cpp do): an error object, then [DONE]; the
            // official clients raise it as an APIError with this message.
            ApiError e = to_api_error(std::current_exception());
            if (app.past_deadline)
                e = ApiError(503, "unavailable_error", "shutting_down", "the server is shutting down");
            out.write(sse_data(dump(error_json(e, true))));
        }
        out.write(sse_data("[DONE]"));
        sink.done();
        return true;
    });
}

void completion(App& app, const Caller& caller, const httplib::Request& http_req, httplib::Response& res) {
    nlohmann::json body = parse_json_object(http_req.body);
    CompletionRequest req = read_completion_request(body, app.options.append_sources);
    app.usage.record(usage_event(caller, "question"));
    if (req.stream) return stream_completion(app, caller, req, res);
    PreparedChat prepared = prepare_chat(app.pool, caller.db(), req.chat, app.options.request_timeout_s * 1000L);
    auto deadline = prepared.started + std::chrono::seconds(app.options.request_timeout_s);
    Generated g = generate_chat(
        prepared, [&] { return app.past_deadline || std::chrono::steady_clock::now() > deadline; },
        [](const std::string&) {});
    app.usage.record(answer_usage_event(caller, prepared, g, false));
    nlohmann::json sources = chat_sources(prepared);
    std::string text = g.answer.text;
    if (req.append_sources) text += sources_footer(text, sources);
    nlohmann::json message = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
    send_json(
        res, 200,
        {
            {"id", completion_id()},
            {"object", "chat.completion"},
            {"created", static_cast<long>(std::time(nullptr))},
            {"model", req.model},
            {"choices", nlohmann::json::array(
                            {{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", "stop"}}})},
            {"usage", usage_json(g)},
            {"sources", sources},
        });
}

}  // namespace

void add_openai_routes(Router& r, App& app) {
    r.add("GET", "/v1/models", "/v1/models", Access::Read,
          [](const httplib::Request&, httplib::Response& res, const Caller&) {
              nlohmann::json data = nlohmann::json::array();
              for (const auto& id : openai_model_ids()) data.push_back(model_json(id));
              send_json(res, 200, {{"object", "list"}, {"data", data}});
          });
    r.add("GET", R"(/v1/models/([^/]+))", "/v1/models/{model}", Access::Read,
          [](const httplib::Request& req, httplib::Response& res, const Caller&) {
              send_json(res, 200, model_json(checked_model({{"model", req.matches[1].str()}})));
          });
    r.add("POST", "/v1/chat/completions", "/v1/chat/completions", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              completion(app, caller, req, res);
          });
    add_openai_embedding_routes(r, app);
}

}  // namespace pgrag::server
