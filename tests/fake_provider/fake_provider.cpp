#include "fake_provider.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "core/local_embedder.hpp"

namespace fake_provider {
namespace {

using nlohmann::json;

// What the URL prefix asked for.
struct Plan {
    std::string fault;
    int latency_ms = 0;
    int dims = 8;
    int gap_ms = 2;    // between streamed events
    int tokens = 0;    // streamed pieces of a chat reply (0: as many as the reply has)
    std::string tag;   // requests with a tag are counted, and their peak concurrency kept, under it
    std::string rest;  // the provider path after the prefixes
};

Plan parse_plan(const std::string& path) {
    static const std::regex kPrefix(R"(^/(fault|latency|dims|tag|gap|tokens)/([^/]+)(/.*)$)");
    Plan plan;
    std::string p = path;
    std::smatch m;
    while (std::regex_match(p, m, kPrefix)) {
        if (m[1] == "fault") plan.fault = m[2];
        if (m[1] == "latency") plan.latency_ms = std::stoi(m[2]);
        if (m[1] == "dims") plan.dims = std::stoi(m[2]);
        if (m[1] == "tag") plan.tag = m[2];
        if (m[1] == "gap") plan.gap_ms = std::stoi(m[2]);
        if (m[1] == "tokens") plan.tokens = std::stoi(m[2]);
        p = m[3];
    }
    plan.rest = p;
    return plan;
}

void send_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
}

void openai_error(httplib::Response& res, int status, const std::string& message, const std::string& type) {
    send_json(res, status, {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}});
}

}  // namespace

// What the fake chat model says to a conversation (system prompt and the turns' texts).
std::string fake_reply(const std::string& provider, const std::string& system, const std::vector<std::string>& turns) {
    std::string last = turns.empty() ? "" : turns.back();
    if (system.find("Rewrite the follow-up") != std::string::npos) {
        auto f = last.find("Follow-up question: ");
        auto u = last.find("User: ");
        std::string follow = f == std::string::npos ? last : last.substr(f + 20);
        std::string first;
        if (u != std::string::npos) first = last.substr(u + 6, last.find('\n', u) - u - 6);
        return follow + " (about: " + first + ")";
    }
    auto at = last.find("[1] ");
    if (at == std::string::npos) return provider + " says: I don't know.";
    auto content = last.find('\n', at);
    std::string text = content == std::string::npos ? "" : last.substr(content + 1);
    auto stop = text.find_first_of(".\n");
    return provider + " says: " + text.substr(0, stop == std::string::npos ? text.size() : stop + 1) + " [1]";
}

// Splits a reply into word-sized pieces (each keeps its trailing space), as a model streams tokens;
// tokens > 0 repeats the pieces until there are exactly that many (a long answer for benchmarks).
std::vector<std::string> pieces_of(const std::string& reply, int tokens = 0) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < reply.size(); ++i)
        if (reply[i] == ' ') {
            out.push_back(reply.substr(start, i + 1 - start));
            start = i + 1;
        }
    if (start < reply.size()) out.push_back(reply.substr(start) + (tokens > 0 ? " " : ""));
    if (tokens <= 0 || out.empty()) return out;
    for (size_t i = 0; out.size() < static_cast<size_t>(tokens); ++i) out.push_back(out[i]);
    out.resize(tokens);
    return out;
}

// The fault "midstream" keeps the first two pieces only: the stream fails after text was sent.
std::vector<std::string> midstream_cut(const Plan& plan, std::vector<std::string> pieces) {
    if (plan.fault == "midstream" && pieces.size() > 2) pieces.resize(2);
    return pieces;
}

// Streams events built from the reply's pieces; the content provider must never throw. on_cut runs
// when the client went away before the last piece (it cancelled the request).
void stream_events(httplib::Response& res, const char* content_type, std::vector<std::string> events, int gap_ms,
                   std::function<void()> on_cut = {}) {
    res.set_chunked_content_provider(content_type,
                                     [events = std::move(events), gap_ms, on_cut](size_t, httplib::DataSink& sink) {
                                         try {
                                             for (const auto& e : events) {
                                                 if (!sink.is_writable() || !sink.write(e.data(), e.size())) {
                                                     if (on_cut) on_cut();
                                                     return false;
                                                 }
                                                 std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
                                             }
                                             sink.done();
                                             return true;
                                         } catch (...) {
                                             return false;
                                         }
                                     });
}

struct Server::Impl {
    httplib::Server http;
    std::thread thread;
    int port = 0;
    int listen_socket = -1;
    std::atomic<bool> stopping{false};
    std::mutex mutex;
    std::map<std::string, int> counts;
    std::map<std::string, std::string> last_body;
    std::map<std::string, std::string> last_auth;  // the credential headers of the last request
    std::set<std::string> seen_tokens;
    std::map<std::string, int> in_flight;

    // Tracks requests in flight per tag; counts["maxinflight-TAG"] keeps the peak.
    struct InFlight {
        Impl& s;
        std::string tag;
        InFlight(Impl& server, std::string t) : s(server), tag(std::move(t)) {
            if (tag.empty()) return;
            std::lock_guard<std::mutex> lock(s.mutex);
            int now = ++s.in_flight[tag];
            int& peak = s.counts["maxinflight-" + tag];
            if (now > peak) peak = now;
        }
        ~InFlight() {
            if (tag.empty()) return;
            std::lock_guard<std::mutex> lock(s.mutex);
            --s.in_flight[tag];
        }
    };

    void count(const std::string& key) {
        std::lock_guard<std::mutex> lock(mutex);
        ++counts[key];
    }

    // True the first time a "...once-TOKEN" fault is seen.
    bool first_time(const std::string& fault) {
        std::lock_guard<std::mutex> lock(mutex);
        return seen_tokens.insert(fault).second;
    }

    // Applies latency and the fault; returns true when it already answered.
    bool inject(const Plan& plan, const std::string& endpoint, const httplib::Request& req, httplib::Response& res) {
        count(endpoint);
        if (!plan.fault.empty()) count(plan.fault);
        if (!plan.tag.empty()) count(plan.tag);
        InFlight in_flight_guard(*this, plan.tag);
        std::string credential;  // whatever key the client sent, in any of the providers' headers
        for (const char* name : {"Authorization", "x-api-key", "x-goog-api-key"})
            if (req.has_header(name))
                credential += std::string(credential.empty() ? "" : " ") + name + ": " + req.get_header_value(name);
        {
            std::lock_guard<std::mutex> lock(mutex);
            last_body[endpoint] = req.body;
            last_auth[endpoint] = credential.empty() ? "(no credential)" : credential;
        }
        for (int waited = 0; waited < plan.latency_ms && !stopping; waited += 5)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const std::string& f = plan.fault;
        if (f == "hang") {
            for (int i = 0; i < 400 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        } else if (f == "429always" || (f.rfind("429once-", 0) == 0 && first_time(f))) {
            res.set_header("Retry-After", f == "429always" ? "0" : "1");
            openai_error(res, 429, "Rate limit reached for requests", "requests");
            return true;
        } else if (f == "500always" || (f.rfind("500once-", 0) == 0 && first_time(f))) {
            openai_error(res, 500, "The server had an error while processing your request.", "server_error");
            return true;
        } else if (f == "redirect") {
            // Sends the client (and whatever key it carries) elsewhere on this server.
            res.status = 307;
            res.set_header("Location", "/tag/redirected" + req.path);
            return true;
        } else if (f == "echoauth") {
            // Like a careless provider: the error names the key it got, bare, whatever its shape.
            std::string key = req.get_header_value("Authorization");
            if (key.rfind("Bearer ", 0) == 0) key = key.substr(7);
            if (key.empty()) key = req.get_header_value("x-api-key") + req.get_header_value("x-goog-api-key");
            openai_error(res, 401, "key " + key + " is not valid here", "invalid_request_error");
            return true;
        } else if (f == "malformed") {
            res.status = 200;
            res.set_content("{\"data\": [{\"embedding\": [0.1, ", "application/json");
            return true;
        }
        return false;
    }

    // Embeddings for texts, shaped by the wrongcount/wrongdims faults.
    std::vector<std::vector<float>> embeddings(const Plan& plan, const std::vector<std::string>& texts, int dims) {
        std::vector<std::vector<float>> out;
        for (const auto& t : texts) out.push_back(pgrag::local_embed(t, dims));
        if (plan.fault == "wrongcount" && !out.empty()) out.pop_back();
        if (plan.fault == "wrongdims" && out.size() > 1) out[1].pop_back();
        if (plan.fault == "poison")  // every text gets the same vector: an attacker's server
            for (auto& v : out) std::fill(v.begin(), v.end(), 0.5f);
        return out;
    }

    bool check_bearer(const httplib::Request& req, httplib::Response& res) {
        std::string auth = req.get_header_value("Authorization");
        if (auth.empty()) {
            openai_error(res, 401, "You didn't provide an API key.", "invalid_request_error");
            return false;
        }
        std::string key = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : auth;
        if (key != kOpenAiKey) {
            // Like the real service, the message names the key it got; clients must redact it.
            openai_error(res, 401,
                         "Incorrect API key provided: " + key + ". You can find your API key at the dashboard.",
                         "invalid_request_error");
            return false;
        }
        return true;
    }

    void openai_embeddings(const Plan& plan, const httplib::Request& req, httplib::Response& res) {
        if (inject(plan, "openai", req, res)) return;
        if (plan.fault == "401" || !check_bearer(req, res)) {
            if (plan.fault == "401")
                openai_error(res, 401, "Incorrect API key provided: " + std::string(kOpenAiKey) + ".",
                             "invalid_request_error");
            return;
        }
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("model") || !body["model"].is_string() ||
            !body.contains("input"))
            return openai_error(res, 400, "We could not parse the JSON body of your request.", "invalid_request_error");
        std::vector<std::string> texts;
        if (body["input"].is_string())
            texts.push_back(body["input"]);
        else if (body["input"].is_array())
            for (const auto& t : body["input"]) {
                if (!t.is_string()) return openai_error(res, 400, "'input' must be strings", "invalid_request_error");
                texts.push_back(t);
            }
        if (texts.empty()) return openai_error(res, 400, "'input' cannot be empty", "invalid_request_error");
        int dims = body.contains("dimensions") ? body["dimensions"].get<int>() : plan.dims;
        auto vectors = embeddings(plan, texts, dims);
        json data = json::array();
        for (size_t i = vectors.size(); i-- > 0;)  // reverse order on purpose: clients must sort by index
            data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
        send_json(res, 200,
                  {{"object", "list"},
                   {"data", data},
                   {"model", body["model"]},
                   {"usage", {{"prompt_tokens", texts.size()}, {"total_tokens", texts.size()}}}});
    }

    void ollama_embed(const Plan& plan, const httplib::Request& req, httplib::Response& res) {
        if (inject(plan, "ollama", req, res)) return;
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.contains("model") || !body.contains("input"))
            return send_json(res, 400, {{"error", "invalid request: model and input are required"}});
        if (body["model"] == "missing-model")
            return send_json(res, 404, {{"error", "model \"missing-model\" not found, try pulling it first"}});
        std::vector<std::string> texts;
        if (body["input"].is_string())
            texts.push_back(body["input"]);
        else
            for (const auto& t : body["input"]) texts.push_back(t);
        auto vectors = embeddings(plan, texts, plan.dims);
        send_json(res, 200,
                  {{"model", body["model"]},
                   {"embeddings", vectors},
                   {"total_duration", 1000},
                   {"load_duration", 10},
                   {"prompt_eval_count", texts.size()}});
    }

    // OpenAI-compatible chat completions.
    void openai_chat(const Plan& plan, const httplib::Request& req, httplib::Response& res) {
        if (inject(plan, "openai-chat", req, res)) return;
        if (!check_bearer(req, res)) return;
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.contains("model") || !body.contains("messages") ||
            !body["messages"].is_array())
            return openai_error(res, 400, "'messages' is a required property", "invalid_request_error");
        std::string system;
        std::vector<std::string> turns;
        for (const auto& m : body["messages"]) {
            if (m.value("role", "") == "system")
                system = m.value("content", "");
            else
                turns.push_back(m.value("content", ""));
        }
        if (plan.fault == "emptychoices")
            return send_json(res, 200, {{"id", "x"}, {"object", "chat.completion"}, {"choices", json::array()}});
        std::string reply = fake_reply("openai", system, turns);
        if (body.value("stream", false)) {
            std::vector<std::string> events;
            for (const auto& p : midstream_cut(plan, pieces_of(reply, plan.tokens)))
                events.push_back("data: " +
                                 json{{"id", "c"},
                                      {"object", "chat.completion.chunk"},
                                      {"choices", json::array({{{"index", 0}, {"delta", {{"content", p}}}}})}}
                                     .dump() +
                                 "\n\n");
            if (plan.fault == "midstream") {  // as vLLM does when generation fails after it began
                std::string key = req.get_header_value("Authorization").substr(7);
                events.push_back("data: " +
                                 json{{"error",
                                       {{"message", "The model crashed while serving key " + key + "."},
                                        {"type", "server_error"},
                                        {"param", nullptr},
                                        {"code", nullptr}}}}
                                     .dump() +
                                 "\n\n");
                events.push_back("data: [DONE]\n\n");
                return stream_events(res, "text/event-stream", events, plan.gap_ms);
            }
            events.push_back("data: " +
                             json{{"id", "c"},
                                  {"choices", json::array()},
                                  {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 10}}}}
                                 .dump() +
                             "\n\n");
            events.push_back("data: [DONE]\n\n");
            return stream_events(res, "text/event-stream", events, plan.gap_ms);
        }
        send_json(res, 200,
                  {{"id", "chatcmpl-fake"},
                   {"object", "chat.completion"},
                   {"model", body["model"]},
                   {"choices", json::array({{{"index", 0},
                                             {"message", {{"role", "assistant"}, {"content", reply}}},
                                             {"finish_reason", "stop"}}})},
                   {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 10}, {"total_tokens", 110}}}});
    }

    void ollama_chat(const Plan& plan, const httplib::Request& req, httplib::Response& res) {
        if (inject(plan, "ollama-chat", req, res)) return;
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.contains("model") || !body.contains("messages"))
            return send_json(res, 400, {{"error", "invalid request"}});
        std::string system;
        std::vector<std::string> turns;
        for (const auto& m : body["messages"]) {
            if (m.value("role", "") == "system")
                system = m.value("content", "");
            else
                turns.push_back(m.value("content", ""));
        }
        if (body.value("stream", true)) {  // Ollama streams unless told not to
            std::vector<std::string> lines;
            for (const auto& p : midstream_cut(plan, pieces_of(fake_reply("ollama", system, turns), plan.tokens)))
                lines.push_back(json{{"model", body["model"]},
                                     {"message", {{"role", "assistant"}, {"content", p}}},
                                     {"done", false}}
                                    .dump() +
                                "\n");
            if (plan.fault == "midstream") {  // Ollama's error line when the model runner fails
                lines.push_back(json{{"error", "model runner has unexpectedly stopped"}}.dump() + "\n");
                return stream_events(res, "application/x-ndjson", lines, plan.gap_ms);
            }
            lines.push_back(json{{"model", body["model"]},
                                 {"message", {{"role", "assistant"}, {"content", ""}}},
                                 {"done", true},
                                 {"prompt_eval_count", 90},
                                 {"eval_count", 9}}
                                .dump() +
                            "\n");
            return stream_events(res, "application/x-ndjson", lines, plan.gap_ms, [this, tag = plan.tag] {
                if (!tag.empty()) count("cut-" + tag);
            });
        }
        send_json(res, 200,
                  {{"model", body["model"]},
                   {"created_at", "2026-11-21T00:00:00Z"},
                   {"message", {{"role", "assistant"}, {"content", fake_reply("ollama", system, turns)}}},
                   {"done", true},
                   {"prompt_eval_count", 90},
                   {"eval_count", 9}});
    }

    void anthropic_messages(const Plan& plan, const httplib::Request& req, httplib::Response& res) {
        if (inject(plan, "anthropic", req, res)) return;
        auto error = [&](int status, const std::string& type, const std::string& message) {
            send_json(res, status, {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
        };
        if (req.get_header_value("x-api-key") != kAnthropicKey)
            return error(401, "authentication_error", "invalid x-api-key");
        if (req.get_header_value("anthropic-version").empty())
            return error(400, "invalid_request_error", "anthropic-version: header is required");
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.contains("max_tokens") || !body.contains("messages"))
            return error(400, "invalid_request_error", "max_tokens: Field required");
        if (plan.fault == "overloaded") return error(529, "overloaded_error", "Overloaded");
        std::vector<std::string> turns;
        for (const auto& m : body["messages"]) turns.push_back(m.value("content", ""));
        std::string reply = fake_reply("anthropic", body.value("system", ""), turns);
        if (body.value("stream", false)) {
            auto event = [](const std::string& name, const json& data) {
                return "event: " + name + "\ndata: " + data.dump() + "\n\n";
            };
            std::vector<std::string> events = {
                event("message_start",
                      {{"type", "message_start"},
                       {"message", {{"id", "msg_fake"}, {"usage", {{"input_tokens", 80}, {"output_tokens", 1}}}}}}),
                event("content_block_start", {{"type", "content_block_start"},
                                              {"index", 0},
                                              {"content_block", {{"type", "text"}, {"text", ""}}}}),
                "event: ping\ndata: {\"type\": \"ping\"}\n\n"};
            for (const auto& p : pieces_of(reply, plan.tokens))
                events.push_back(event(
                    "content_block_delta",
                    {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", p}}}}));
            events.push_back(event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
            events.push_back(event("message_delta", {{"type", "message_delta"},
                                                     {"delta", {{"stop_reason", "end_turn"}}},
                                                     {"usage", {{"output_tokens", 8}}}}));
            events.push_back(event("message_stop", {{"type", "message_stop"}}));
            return stream_events(res, "text/event-stream", events, plan.gap_ms);
        }
        send_json(res, 200,
                  {{"id", "msg_fake"},
                   {"type", "message"},
                   {"role", "assistant"},
                   {"model", body["model"]},
                   {"content", json::array({{{"type", "text"}, {"text", reply}}})},
                   {"stop_reason", "end_turn"},
                   {"usage", {{"input_tokens", 80}, {"output_tokens", 8}}}});
    }

    void gemini_generate(const Plan& plan, const httplib::Request& req, httplib::Response& res, bool stream = false) {
        if (inject(plan, "gemini-chat", req, res)) return;
        if (req.get_header_value("x-goog-api-key") != kGeminiKey)
            return send_json(res, 400,
                             {{"error",
                               {{"code", 400},
                                {"message", "API key not valid. Please pass a valid API key."},
                                {"status", "INVALID_ARGUMENT"}}}});
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.contains("contents"))
            return send_json(
                res, 400,
                {{"error", {{"code", 400}, {"message", "contents is required"}, {"status", "INVALID_ARGUMENT"}}}});
        std::string system;
        if (body.contains("systemInstruction")) system = body["systemInstruction"]["parts"][0].value("text", "");
        std::vector<std::string> turns;
        for (const auto& c : body["contents"]) turns.push_back(c["parts"][0].value("text", ""));
        std::string reply = fake_reply("gemini", system, turns);
        if (stream) {
            std::vector<std::string> events;
            for (const auto& p : pieces_of(reply, plan.tokens))
                events.push_back(
                    "data: " +
                    json{{"candidates",
                          json::array({{{"content", {{"parts", json::array({{{"text", p}}})}, {"role", "model"}}}}})}}
                        .dump() +
                    "\r\n\r\n");
            events.push_back(
                "data: " +
                json{{"candidates",
                      json::array({{{"content", {{"parts", json::array({{{"text", ""}}})}, {"role", "model"}}},
                                    {"finishReason", "STOP"}}})},
                     {"usageMetadata", {{"promptTokenCount", 70}, {"candidatesTokenCount", 7}}}}
                    .dump() +
                "\r\n\r\n");
            return stream_events(res, "text/event-stream", events, plan.gap_ms);
        }
        send_json(
            res, 200,
            {{"candidates", json::array({{{"content", {{"parts", json::array({{{"text", reply}}})}, {"role", "model"}}},
                                          {"finishReason", "STOP"}}})},
             {"usageMetadata", {{"promptTokenCount", 70}, {"candidatesTokenCount", 7}, {"totalTokenCount", 77}}}});
    }

    void gemini_batch(const Plan& plan, const std::string& model, const httplib::Request& req, httplib::Response& res) {
        if (inject(plan, "gemini", req, res)) return;
        auto google_error = [&](int status, const std::string& message, const std::string& code) {
            send_json(res, status, {{"error", {{"code", status}, {"message", message}, {"status", code}}}});
        };
        if (req.get_header_value("x-goog-api-key") != kGeminiKey)
            return google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT");
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.contains("requests") || !body["requests"].is_array())
            return google_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT");
        std::vector<std::string> texts;
        int dims = plan.dims;
        for (const auto& r : body["requests"]) {
            if (r.value("model", "") != "models/" + model)
                return google_error(400, "Model in request does not match the URL.", "INVALID_ARGUMENT");
            if (r.contains("outputDimensionality")) dims = r["outputDimensionality"];
            texts.push_back(r["content"]["parts"][0]["text"]);
        }
        json out = json::array();
        for (const auto& v : embeddings(plan, texts, dims)) out.push_back({{"values", v}});
        send_json(res, 200, {{"embeddings", out}});
    }
};

Server::Server(int port) : impl_(new Impl) {
    Impl& s = *impl_;
    // Clients keep connections alive and each one holds a worker: plenty of workers (a server
    // benchmark streams 64 answers while other worker threads keep idle connections), short keep-alive.
    s.http.new_task_queue = [] { return new httplib::ThreadPool(256); };
    s.http.set_keep_alive_timeout(2);
    // Like a real provider: streamed pieces leave at once, and a burst of 64 new connections is not
    // reset (cpp-httplib 0.11.4 listens with a backlog of 5; the socket listens again after bind).
    s.http.set_tcp_nodelay(true);
    s.http.set_socket_options([&s](socket_t sock) {
        httplib::default_socket_options(sock);
        s.listen_socket = sock;
    });
    s.http.set_read_timeout(30, 0);
    s.http.set_write_timeout(30, 0);
    s.http.set_payload_max_length(64 << 20);
    s.http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("{\"error\": {\"message\": \"fake provider failed\"}}", "application/json");
    });
    s.http.Get(R"(/count/(.+))", [&s](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(s.mutex);
        res.set_content(std::to_string(s.counts[req.matches[1]]) + "\n", "text/plain");
    });
    s.http.Get(R"(/last/(.+))", [&s](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(s.mutex);
        res.set_content(s.last_body[req.matches[1]] + "\n", "application/json");
    });
    s.http.Get(R"(/lastauth/(.+))", [&s](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(s.mutex);
        auto it = s.last_auth.find(req.matches[1]);
        res.set_content((it == s.last_auth.end() ? std::string("(no request)") : it->second) + "\n", "text/plain");
    });
    s.http.Post(R"(/.*)", [&s](const httplib::Request& req, httplib::Response& res) {
        Plan plan = parse_plan(req.path);
        static const std::regex kGemini(R"(^/v1beta/models/([^:/]+):batchEmbedContents$)");
        static const std::regex kGeminiChat(R"(^/v1beta/models/([^:/]+):generateContent$)");
        static const std::regex kGeminiStream(R"(^/v1beta/models/([^:/]+):streamGenerateContent$)");
        std::smatch m;
        if (plan.rest == "/v1/embeddings") return s.openai_embeddings(plan, req, res);
        if (plan.rest == "/api/embed") return s.ollama_embed(plan, req, res);
        if (plan.rest == "/v1/chat/completions") return s.openai_chat(plan, req, res);
        if (plan.rest == "/api/chat") return s.ollama_chat(plan, req, res);
        if (plan.rest == "/v1/messages") return s.anthropic_messages(plan, req, res);
        if (std::regex_match(plan.rest, m, kGeminiChat)) return s.gemini_generate(plan, req, res);
        if (std::regex_match(plan.rest, m, kGeminiStream))
            return s.gemini_generate(plan, req, res, req.get_param_value("alt") == "sse");
        if (std::regex_match(plan.rest, m, kGemini)) return s.gemini_batch(plan, m[1], req, res);
        openai_error(res, 404, "Unknown path " + plan.rest, "invalid_request_error");
    });
    s.port = port == 0 ? s.http.bind_to_any_port("127.0.0.1") : (s.http.bind_to_port("127.0.0.1", port) ? port : -1);
    if (s.port <= 0) throw std::runtime_error("fake provider: cannot listen on port " + std::to_string(port));
    if (s.listen_socket >= 0) ::listen(s.listen_socket, SOMAXCONN);
    s.thread = std::thread([&s] { s.http.listen_after_bind(); });
    while (!s.http.is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // 0.11.4 has no wait_until_ready
}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

void Server::stop() {
    if (impl_->stopping.exchange(true)) return;
    impl_->http.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace fake_provider
