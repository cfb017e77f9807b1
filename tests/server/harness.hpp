// The harness of the server integration tests: pg_rag_server processes started with flags, SSE parsing,
// and psql against the test cluster. tests/server-tests.sh sets the PGRAG_TEST_* variables.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pgrag_test {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// cpp-httplib writes without MSG_NOSIGNAL: a request body sent to a server that already answered (413,
// a closed stream) would kill this test program with SIGPIPE, silently, before it reports anything.
inline const bool kIgnoreSigpipe = [] {
    signal(SIGPIPE, SIG_IGN);
    return true;
}();

inline std::string env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

inline const std::string kBin = env("PGRAG_TEST_SERVER_BIN", "build/pg_rag_server");
inline const std::string kPgPort = env("PGRAG_TEST_PG_PORT", "55550");
inline const std::string kPgData = env("PGRAG_TEST_PG_DATADIR", "");
inline const std::string kRoot = env("PGRAG_TEST_ROOT", ".");
inline const int kPortBase = std::stoi(env("PGRAG_TEST_SERVER_PORT", "55553"));

inline std::string conninfo(const std::string& user) {
    return "host=127.0.0.1 port=" + kPgPort + " dbname=pg_rag_server user=" + user;
}

// A pg_rag_server process: started with flags, stopped with SIGTERM.
class ServerProcess {
  public:
    ServerProcess(int port, std::vector<std::string> args) : port_(port) {
        args.insert(args.begin(), {kBin, "--listen", "127.0.0.1:" + std::to_string(port)});
        log_ = env("PGRAG_TEST_LOG_DIR", "/tmp") + "/pg_rag_server_test_" + std::to_string(port) + ".log";
        pid_ = fork();
        if (pid_ == 0) {
            FILE* f = std::fopen(log_.c_str(), "w");
            if (f) dup2(fileno(f), 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(kBin.c_str(), argv.data());
            _exit(127);
        }
        httplib::Client c("127.0.0.1", port);
        for (int i = 0; i < 200; ++i) {
            if (auto r = c.Get("/healthz"); r && r->status == 200) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ADD_FAILURE() << "server on port " << port << " did not start";
    }
    ~ServerProcess() { stop(); }
    // SIGTERM; returns the exit status (-1 if it did not exit normally).
    int stop() {
        if (pid_ <= 0) return status_;
        kill(pid_, SIGTERM);
        int st = 0;
        waitpid(pid_, &st, 0);
        pid_ = 0;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return status_;
    }
    void terminate() {
        if (pid_ > 0) kill(pid_, SIGTERM);  // never kill(0, ...): that would signal the whole process group
    }
    // SIGKILL, as a crash or an out-of-memory kill ends a server: nothing of it runs after.
    void kill_hard() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        int st = 0;
        waitpid(pid_, &st, 0);
        pid_ = 0;
        status_ = -1;
    }
    // Whether the process has exited (reaped now if so), without waiting.
    bool exited() {
        if (pid_ <= 0) return true;
        int st = 0;
        if (waitpid(pid_, &st, WNOHANG) != pid_) return false;
        pid_ = 0;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return true;
    }
    int wait() {
        if (pid_ <= 0) return status_;
        int st = 0;
        waitpid(pid_, &st, 0);
        pid_ = 0;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return status_;
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(30, 0);
        return c;
    }
    std::string log() const {
        std::ifstream f(log_);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }

  private:
    int port_;
    pid_t pid_ = 0;
    int status_ = -1;
    std::string log_;
};

struct SseEvent {
    std::string event;
    json data;
    double at_ms;  // arrival, since the request was sent
};

// Splits server-sent events; data lines are JSON (or [DONE], kept as a string).
inline std::vector<SseEvent> parse_sse(const std::string& text, double at_ms = 0) {
    std::vector<SseEvent> out;
    size_t start = 0;
    while (true) {
        size_t end = text.find("\n\n", start);
        if (end == std::string::npos) break;
        std::string block = text.substr(start, end - start);
        start = end + 2;
        SseEvent e{"", nullptr, at_ms};
        std::istringstream lines(block);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
            if (line.rfind("data: ", 0) == 0) {
                std::string d = line.substr(6);
                e.data = d == "[DONE]" ? json(d) : json::parse(d);
            }
        }
        out.push_back(e);
    }
    return out;
}

// POSTs JSON and collects the events as they arrive, with their arrival times; stop_after: give up
// (disconnect) after that many events.
struct Streamed {
    int status = 0;
    std::string content_type;
    std::vector<SseEvent> events;
};
inline Streamed post_stream(httplib::Client& c, const std::string& path, const json& body, size_t stop_after = 0,
                            const httplib::Headers& headers = {},
                            const std::function<void(const SseEvent&)>& on_event = nullptr) {
    Streamed s;
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body.dump();
    req.headers = headers;
    req.set_header("Content-Type", "application/json");
    auto t0 = Clock::now();
    std::string buffer;
    req.response_handler = [&](const httplib::Response& r) {
        s.status = r.status;
        s.content_type = r.get_header_value("Content-Type");
        return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        buffer.append(data, n);
        double at = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        size_t cut = buffer.rfind("\n\n");
        if (cut != std::string::npos) {
            for (auto& e : parse_sse(buffer.substr(0, cut + 2), at)) {
                if (on_event) on_event(e);
                s.events.push_back(e);
            }
            buffer.erase(0, cut + 2);
        }
        return stop_after == 0 || s.events.size() < stop_after;
    };
    httplib::Response res;
    httplib::Error err;
    c.send(req, res, err);
    if (s.status == 0) s.status = res.status;
    return s;
}

// Percent-encodes everything but unreserved characters.
inline std::string encode_url(const std::string& s) {
    std::string out;
    char buf[4];
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += static_cast<char>(ch);
        } else {
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

inline json body_json(const httplib::Result& r) { return json::parse(r->body); }

// The first value of sql's first row as psql prints it (-qtA), without the newline; "" for none.
inline std::string psql_value(const std::string& sql) {
    std::string cmd = "psql -X -qtA -h 127.0.0.1 -p " + kPgPort + " -U postgres -d pg_rag_server -c \"" + sql + "\"";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

inline int psql_count(const std::string& sql) {
    std::string cmd = "psql -X -qtA -h 127.0.0.1 -p " + kPgPort + " -U postgres -d pg_rag_server -c \"" + sql + "\"";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[64] = {0};
    if (!p || !fgets(buf, sizeof buf, p)) return -1;
    pclose(p);
    return std::atoi(buf);
}

}  // namespace pgrag_test
