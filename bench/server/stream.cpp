// bench_server_stream: time to the first token of streamed chats through pg_rag_server, against the
// provider's own time to first token measured the same way in the same run. The server's database role
// points its Ollama provider at the fake provider (one token every --gap ms); the baseline sends the
// fake exactly the request the server sends it (captured from the fake's /last/ollama-chat), from the
// same number of concurrent client threads, with the same HTTP client settings.
//   time to first token, server side:   request sent -> first `event: token` of POST /api/chat
//   time to first token, provider side: request sent -> first Ollama line with content
// Every stream is read to its end and must finish well (`done`; the provider's `"done": true`).
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "latency.hpp"
#include "workload.hpp"

using namespace bench;
using nlohmann::json;

namespace {

struct Args {
    std::string server = "127.0.0.1:8080";  // pg_rag_server, whose role streams from the fake
    std::string fake = "127.0.0.1:55481";   // the fake provider
    std::string prefix = "/gap/20";         // the fake's path prefix in the role's ollama_chat_url
    std::string questions;
    std::string sides = "provider,server";
    int streams = 64, rounds = 1;
    double seconds = 60, warmup = 5;
    double stagger = 2;  // clients start spread over this many seconds (one stream's length)
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--server")
            a.server = v;
        else if (k == "--fake")
            a.fake = v;
        else if (k == "--prefix")
            a.prefix = v;
        else if (k == "--questions")
            a.questions = v;
        else if (k == "--sides")
            a.sides = v;
        else if (k == "--streams")
            a.streams = std::stoi(v);
        else if (k == "--rounds")
            a.rounds = std::stoi(v);
        else if (k == "--seconds")
            a.seconds = std::stod(v);
        else if (k == "--warmup")
            a.warmup = std::stod(v);
        else if (k == "--stagger")
            a.stagger = std::stod(v);
        else
            throw std::invalid_argument("unknown option " + k);
    }
    if (a.questions.empty()) throw std::invalid_argument("--questions FILE is required");
    return a;
}

std::unique_ptr<httplib::Client> client(const std::string& host_port) {
    auto c = std::make_unique<httplib::Client>("http://" + host_port);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);  // as curl (the server's provider client) does
    c->set_read_timeout(120, 0);
    return c;
}

// One streamed request: when its first token, and (server side) its sources, arrived; how it ended.
struct Stream {
    double first_token_ms = -1, sources_ms = -1, total_ms = 0;
    bool ok = false;
    std::string error;
};

// POSTs body and calls on_line(line, ms since the request was sent) for every complete line.
template <typename OnLine>
std::string post_lines(httplib::Client& c, const std::string& path, const std::string& body, OnLine on_line) {
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    std::string buffer;
    int status = 0;
    auto t0 = Clock::now();
    req.response_handler = [&](const httplib::Response& r) {
        status = r.status;
        return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        double at = ms_between(t0, Clock::now());
        buffer.append(data, n);
        for (size_t nl; (nl = buffer.find('\n')) != std::string::npos; buffer.erase(0, nl + 1))
            on_line(buffer.substr(0, nl), at);
        return true;
    };
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    if (!c.send(req, res, err)) return "HTTP client: " + httplib::to_string(err);
    if (status != 200) return "status " + std::to_string(status) + ": " + res.body.substr(0, 200);
    return "";
}

// The fake directly, in Ollama's wire format: NDJSON lines, the last one "done": true.
Stream provider_stream(httplib::Client& c, const Args& a, const std::string& body) {
    Stream s;
    auto t0 = Clock::now();
    bool done = false;
    s.error = post_lines(c, a.prefix + "/api/chat", body, [&](const std::string& line, double at) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) return;
        if (s.first_token_ms < 0 && !j["message"].value("content", "").empty()) s.first_token_ms = at;
        if (j.value("done", false)) done = true;
    });
    s.total_ms = ms_between(t0, Clock::now());
    s.ok = s.error.empty() && done && s.first_token_ms >= 0;
    if (s.error.empty() && !s.ok) s.error = "the provider's stream ended without a token or done";
    return s;
}

// The server: server-sent events sources, token..., done (or error).
Stream server_stream(httplib::Client& c, const std::string& question) {
    Stream s;
    auto t0 = Clock::now();
    std::string event, last;
    s.error = post_lines(c, "/api/chat", json{{"question", question}, {"stream", true}}.dump(),
                         [&](const std::string& line, double at) {
                             if (line.rfind("event: ", 0) != 0) return;
                             event = line.substr(7);
                             if (event == "sources" && s.sources_ms < 0) s.sources_ms = at;
                             if (event == "token" && s.first_token_ms < 0) s.first_token_ms = at;
                             last = event;
                         });
    s.total_ms = ms_between(t0, Clock::now());
    s.ok = s.error.empty() && last == "done" && s.first_token_ms >= 0;
    if (s.error.empty() && !s.ok) s.error = "the stream ended with \"" + last + "\"";
    return s;
}

// Runs streams clients for seconds; each sample's latency is the time to first token.
struct Measured {
    Phase ttft;
    std::vector<double> sources_ms, total_ms;
};
Measured measure(int streams, double warmup, double seconds, double stagger,
                 const std::function<Stream(int, long)>& one) {
    Measured m;
    std::mutex mu;
    m.ttft = run_clients(
        streams, warmup, seconds,
        [&](int c, long n) {
            Stream s = one(c, n);
            {
                std::lock_guard<std::mutex> lock(mu);
                if (s.sources_ms >= 0) m.sources_ms.push_back(s.sources_ms);
                m.total_ms.push_back(s.total_ms);
            }
            Sample x;
            x.ms = s.first_token_ms;
            x.ok = s.ok;
            x.error = s.error;
            return x;
        },
        stagger);
    return m;
}

double p(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return percentile(v, q);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Args a = parse(argc, argv);
        Workload w(a.questions);
        std::vector<std::unique_ptr<httplib::Client>> to_server, to_fake;
        for (int i = 0; i < a.streams; ++i) {
            to_server.push_back(client(a.server));
            to_fake.push_back(client(a.fake));
        }
        // The request the server sends the provider: one server stream, then the fake's copy of it.
        Stream first = server_stream(*to_server[0], w.question(0, 0));
        if (!first.ok) throw std::runtime_error("a stream through the server failed: " + first.error);
        auto last = to_fake[0]->Get("/last/ollama-chat");
        json captured = last ? json::parse(last->body, nullptr, false) : json();
        if (captured.is_discarded() || !captured.is_object() || !captured.value("stream", false))
            throw std::runtime_error("the fake provider did not receive a streamed Ollama chat from the server");
        std::string body = captured.dump();

        std::map<std::string, std::function<Stream(int, long)>> sides = {
            {"provider", [&](int c, long) { return provider_stream(*to_fake[c], a, body); }},
            {"server", [&](int c, long n) { return server_stream(*to_server[c], w.question(c, n)); }},
        };
        std::vector<std::string> order;
        for (size_t start = 0; start <= a.sides.size();) {
            size_t comma = a.sides.find(',', start);
            order.push_back(a.sides.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (!sides.count(order.back())) throw std::invalid_argument("unknown side " + order.back());
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        // Every client's first stream, all at once, before anything is measured: each of the server's
        // pooled connections loads its copy of the vectors and the keyword index on its first search.
        for (const auto& side : order) {
            std::vector<std::thread> prime;
            for (int c = 0; c < a.streams; ++c) prime.emplace_back([&, c] { sides[side](c, 0); });
            for (auto& t : prime) t.join();
        }
        std::map<std::string, Measured> results;
        for (int round = 0; round < a.rounds; ++round)
            for (const auto& side : order) {
                Measured m = measure(a.streams, a.warmup, a.seconds, a.stagger, sides[side]);
                Measured& all = results[side];
                all.ttft.samples.insert(all.ttft.samples.end(), m.ttft.samples.begin(), m.ttft.samples.end());
                all.ttft.seconds += m.ttft.seconds;
                all.sources_ms.insert(all.sources_ms.end(), m.sources_ms.begin(), m.sources_ms.end());
                all.total_ms.insert(all.total_ms.end(), m.total_ms.begin(), m.total_ms.end());
            }

        std::printf(
            "\n%d concurrent streams, closed loop, starts spread over %.1f s, %.0f s per side%s; provider: fake "
            "Ollama at %s\n",
            a.streams, a.stagger, a.seconds, a.rounds > 1 ? (" x " + std::to_string(a.rounds) + " rounds").c_str() : "",
            a.prefix.c_str());
        std::printf("%-30s %7s %6s %9s %9s %9s %9s %11s %11s\n", "time to first token", "streams", "errors", "p50 ms",
                    "p90 ms", "p99 ms", "max ms", "sources p99", "stream p50");
        long errors = 0;
        std::map<std::string, Summary> s;
        for (const auto& side : order) {
            const Measured& m = results[side];
            s[side] = summarize(m.ttft.samples, m.ttft.seconds);
            errors += s[side].errors;
            std::printf("%-30s %7ld %6ld %9.2f %9.2f %9.2f %9.2f %11s %11.1f\n",
                        side == "server" ? "pg_rag_server (POST /api/chat)" : "provider directly", s[side].requests,
                        s[side].errors, s[side].p50, s[side].p90, s[side].p99, s[side].max,
                        m.sources_ms.empty() ? "-" : std::to_string(p(m.sources_ms, 99)).substr(0, 6).c_str(),
                        p(m.total_ms, 50));
            if (s[side].errors) std::printf("  first error: %s\n", s[side].first_error.c_str());
        }
        if (s.count("server") && s.count("provider"))
            std::printf("server - provider: p50 %+.2f ms, p90 %+.2f ms, p99 %+.2f ms (goal: p99 <= 20 ms)\n",
                        s["server"].p50 - s["provider"].p50, s["server"].p90 - s["provider"].p90,
                        s["server"].p99 - s["provider"].p99);
        return errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_server_stream: %s\n", e.what());
        return 2;
    }
}
