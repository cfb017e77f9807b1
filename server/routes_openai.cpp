// The OpenAI-compatible API: /v1/models, /v1/chat/completions (with streaming), /v1/embeddings.
#include <ctime>
#include <memory>
#include <random>

#include "app.hpp"
#include "base64.hpp"
#include "chat.hpp"
#include "core/chunker.hpp"
#include "request_json.hpp"
#include "sse.hpp"
#include "stream_guard.hpp"

namespace pgrag::server {

namespace {

constexpr const char* kModel = "pg_rag";

std::string completion_id() {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    char buf[40];
    std::snprintf(buf, sizeof buf, "chatcmpl-%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

// The last user message is the question; the user and assistant messages before it are the history.
ChatRequest read_completion_request(const nlohmann::json& body) {
    ChatRequest r;
    auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty()) throw bad_request("\"messages\" must be a non-empty array");
    std::vector<ChatMessage> messages;
    for (const auto& m : *it) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            throw bad_request("each message must be an object with a \"role\"");
        std::string role = m["role"];
        if (role == "system" || role == "developer") continue;  // the database's system prompt applies
        if (role != "user" && role != "assistant")
            throw bad_request("message role must be system, user or assistant, not \"" + role + "\"");
        std::string content;
        const auto& c = m.contains("content") ? m["content"] : nlohmann::json();
        if (c.is_string()) {
            content = c;
        } else if (c.is_array()) {  // content parts: the text ones
            for (const auto& part : c)
                if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
                    part["text"].is_string())
                    content += part["text"].get<std::string>();
        } else if (!c.is_null()) {
            throw bad_request("message content must be a string or an array of parts");
        }
        messages.push_back({role, content});
    }
    if (messages.empty() || messages.back().role != "user")
        throw bad_request("the last message must be the user's question");
    r.question = messages.back().content;
    if (r.question.find_first_not_of(" \t\r\n") == std::string::npos) throw bad_request("the question is empty");
    messages.pop_back();
    r.history = std::move(messages);
    if (auto mt = opt_int(body, "max_tokens", 1, 100000)) r.max_tokens = static_cast<int>(*mt);
    if (auto mt = opt_int(body, "max_completion_tokens", 1, 100000)) r.max_tokens = static_cast<int>(*mt);
    if (auto t = opt_number(body, "temperature", 0, 2)) r.temperature = *t;
    return r;
}

nlohmann::json usage_json(const Generated& g) {
    return {{"prompt_tokens", g.answer.prompt_tokens},
            {"completion_tokens", g.answer.completion_tokens},
            {"total_tokens", g.answer.prompt_tokens + g.answer.completion_tokens}};
}

nlohmann::json chunk(const std::string& id, long created, const nlohmann::json& delta, const nlohmann::json& finish) {
    return {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", created},
            {"model", kModel},
            {"choices", nlohmann::json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
}

void stream_completion(App& app, const Caller& caller, const ChatRequest& req, bool include_usage,
                       httplib::Response& res) {
    auto slot = stream_slot(app, caller);  // held by the content provider until the stream ends
    auto chat =
        std::make_shared<PreparedChat>(prepare_chat(app.pool, caller.db(), req, app.options.request_timeout_s * 1000L));
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [&app, caller, slot, chat, include_usage](
                                                              size_t, httplib::DataSink& sink) {
        StreamGuard guard(app);
        SseWriter out(sink);
        std::string id = completion_id();
        long created = static_cast<long>(std::time(nullptr));
        try {
            auto deadline = chat->started + std::chrono::seconds(app.options.request_timeout_s);
            nlohmann::json first = chunk(id, created, {{"role", "assistant"}, {"content", ""}}, nullptr);
            first["sources"] = chat_sources(*chat);
            out.write(sse_data(first.dump()));
            bool got_first = false;
            Generated g = generate_chat(
                *chat,
                [&] { return !out.connected() || app.past_deadline || std::chrono::steady_clock::now() > deadline; },
                [&](const std::string& piece) {
                    if (!got_first) app.metrics.observe_first_token(ms_since(chat->started) / 1000.0);
                    got_first = true;
                    out.write(sse_data(chunk(id, created, {{"content", piece}}, nullptr)
                                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
                });
            app.usage.record(answer_usage_event(caller, *chat, g, true));
            out.write(sse_data(chunk(id, created, nlohmann::json::object(), "stop").dump()));
            if (include_usage) {
                nlohmann::json last = {
                    {"id", id},        {"object", "chat.completion.chunk"},  {"created", created},
                    {"model", kModel}, {"choices", nlohmann::json::array()}, {"usage", usage_json(g)}};
                out.write(sse_data(last.dump()));
            }
        } catch (...) {
            ApiError e = to_api_error(std::current_exception());
            out.write(sse_data(error_json(e, true).dump()));
        }
        out.write(sse_data("[DONE]"));
        sink.done();
        return true;
    });
}

void completion(App& app, const Caller& caller, const httplib::Request& req, httplib::Response& res) {
    nlohmann::json body = parse_json_object(req.body);
    ChatRequest chat = read_completion_request(body);
    bool stream = opt_bool(body, "stream").value_or(false);
    bool include_usage = false;
    if (auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
        if (!so->is_object()) throw bad_request("\"stream_options\" must be an object");
        include_usage = opt_bool(*so, "include_usage").value_or(false);
    }
    app.usage.record(usage_event(caller, "question"));
    if (stream) return stream_completion(app, caller, chat, include_usage, res);
    PreparedChat prepared = prepare_chat(app.pool, caller.db(), chat, app.options.request_timeout_s * 1000L);
    auto deadline = prepared.started + std::chrono::seconds(app.options.request_timeout_s);
    Generated g = generate_chat(
        prepared, [&] { return app.past_deadline || std::chrono::steady_clock::now() > deadline; },
        [](const std::string&) {});
    app.usage.record(answer_usage_event(caller, prepared, g, false));
    nlohmann::json out = {
        {"id", completion_id()},
        {"object", "chat.completion"},
        {"created", static_cast<long>(std::time(nullptr))},
        {"model", kModel},
        {"choices", nlohmann::json::array({{{"index", 0},
                                            {"message", {{"role", "assistant"}, {"content", g.answer.text}}},
                                            {"finish_reason", "stop"}}})},
        {"usage", usage_json(g)},
        {"sources", chat_sources(prepared)},
    };
    send_json(res, 200, out);
}

void embeddings(App& app, const Caller& caller, const httplib::Request& req, httplib::Response& res) {
    nlohmann::json body = parse_json_object(req.body);
    auto it = body.find("input");
    std::vector<std::string> inputs;
    if (it == body.end()) throw bad_request("\"input\" is required");
    if (it->is_string()) {
        inputs.push_back(*it);
    } else if (it->is_array() && !it->empty()) {
        for (const auto& v : *it) {
            if (!v.is_string())
                throw bad_request("\"input\" must be a string or an array of strings (token arrays are not supported)");
            inputs.push_back(v);
        }
    } else {
        throw bad_request("\"input\" must be a string or a non-empty array of strings");
    }
    if (inputs.size() > 2048) throw bad_request("\"input\" has more than 2048 texts");
    for (const auto& s : inputs)
        if (s.empty()) throw bad_request("\"input\" must not contain empty strings");
    std::string format = opt_string(body, "encoding_format").value_or("float");
    if (format != "float" && format != "base64") throw bad_request("\"encoding_format\" must be float or base64");
    Lease db = app.pool.acquire(caller.db());
    auto rows = db.value(
        "SELECT jsonb_build_object('model', rag_setting('pg_rag.embedding_provider') || ':' || "
        "rag_setting('pg_rag.embedding_model'),"
        " 'vectors', (SELECT coalesce(jsonb_agg(to_jsonb(e::real[]) ORDER BY i), '[]')"
        " FROM unnest(rag_embed(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))) WITH ORDINALITY u(e, i)))",
        {Param::text(nlohmann::json(inputs).dump())});
    db.release();
    nlohmann::json got = nlohmann::json::parse(rows.value_or("{}"));
    nlohmann::json data = nlohmann::json::array();
    long tokens = 0;
    for (size_t i = 0; i < got["vectors"].size(); ++i) {
        std::vector<float> v;
        for (const auto& x : got["vectors"][i]) v.push_back(x.get<float>());
        nlohmann::json item = {{"object", "embedding"}, {"index", i}};
        if (format == "base64")
            item["embedding"] = float32_base64(v);
        else
            item["embedding"] = v;
        data.push_back(item);
        tokens += static_cast<long>(approximate_tokens(inputs[i]));
    }
    send_json(res, 200,
              {{"object", "list"},
               {"data", data},
               {"model", got.value("model", kModel)},
               {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

}  // namespace

void add_openai_routes(Router& r, App& app) {
    r.add("GET", "/v1/models", "/v1/models", Access::Read,
          [](const httplib::Request&, httplib::Response& res, const Caller&) {
              send_json(
                  res, 200,
                  {{"object", "list"},
                   {"data", nlohmann::json::array(
                                {{{"id", kModel}, {"object", "model"}, {"created", 0}, {"owned_by", "pg_rag"}}})}});
          });
    r.add("POST", "/v1/chat/completions", "/v1/chat/completions", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              completion(app, caller, req, res);
          });
    r.add("POST", "/v1/embeddings", "/v1/embeddings", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              embeddings(app, caller, req, res);
          });
}

}  // namespace pgrag::server
