// bench_server_load: pg_rag_server under a closed-loop load of search and extractive chat requests,
// against the same SQL statements (server/statements.hpp) run directly through libpq by the same
// client threads, in the same run. Every side gets the same requests in the same order from the same
// number of client threads; each client sends its next request as soon as the last one returned.
// Sides come in pairs with the same number N of database connections (--connections 8,64):
//   libpq-N    N >= clients: a connection per client; fewer: a FIFO pool of N shared by the clients
//   server-N   pg_rag_server with a pool of N (--server N=host:port), an HTTP keep-alive connection
//              per client (http_client.hpp: a lean client, so its own CPU disturbs the comparison less)
// The libpq sides prepare the two statements once per connection, as the server's pool does.
#include <libpq-fe.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "latency.hpp"
#include "statements.hpp"
#include "workload.hpp"

using namespace bench;
namespace statements = pgrag::server::statements;

namespace {

struct Args {
    std::map<int, std::string> servers;  // pool size -> host:port of a pg_rag_server with that pool
    std::vector<int> connections = {8};
    std::string conninfo;  // the database the servers use
    std::string questions;
    int clients = 64, rounds = 1;
    double seconds = 60, warmup = 10;
};

std::vector<int> int_list(const std::string& v) {
    std::vector<int> out;
    for (size_t start = 0; start <= v.size();) {
        size_t comma = v.find(',', start);
        out.push_back(std::stoi(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--server") {
            size_t eq = v.find('=');
            if (eq == std::string::npos) throw std::invalid_argument("--server POOL=HOST:PORT, not " + v);
            a.servers[std::stoi(v.substr(0, eq))] = v.substr(eq + 1);
        } else if (k == "--connections") {
            a.connections = int_list(v);
        } else if (k == "--conninfo") {
            a.conninfo = v;
        } else if (k == "--questions") {
            a.questions = v;
        } else if (k == "--clients") {
            a.clients = std::stoi(v);
        } else if (k == "--rounds") {
            a.rounds = std::stoi(v);
        } else if (k == "--seconds") {
            a.seconds = std::stod(v);
        } else if (k == "--warmup") {
            a.warmup = std::stod(v);
        } else {
            throw std::invalid_argument("unknown option " + k);
        }
    }
    if (a.questions.empty()) throw std::invalid_argument("--questions FILE is required");
    return a;
}

// A side of the comparison: how one request is sent.
class Side {
  public:
    virtual ~Side() = default;
    virtual std::string name() const = 0;
    virtual int connections() const = 0;
    virtual bool is_server() const = 0;
    // Sends the request; the sample's latency is measured by the caller.
    virtual bool send(int client, Kind kind, const std::string& question, std::string& error) = 0;
};

PGconn* connect_prepared(const std::string& conninfo) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(std::string("libpq: ") + PQerrorMessage(c));
    for (auto [name, sql] : {std::pair{"search", statements::kSearch}, std::pair{"answer", statements::kAnswer}}) {
        PGresult* r = PQprepare(c, name, sql, 0, nullptr);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) throw std::runtime_error(std::string("prepare: ") + PQerrorMessage(c));
    }
    return c;
}

// The statement and parameters the server runs for this request.
bool run_statement(PGconn* c, Kind kind, const std::string& question, std::string& error) {
    const char* q = question.c_str();
    const char* search[] = {q, kK, kMode, nullptr};
    const char* answer[] = {q, nullptr, kK, kMode, nullptr};
    PGresult* r = kind == kSearch ? PQexecPrepared(c, "search", 4, search, nullptr, nullptr, 0)
                                  : PQexecPrepared(c, "answer", 5, answer, nullptr, nullptr, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
    if (!ok) error = PQerrorMessage(c);
    PQclear(r);
    return ok;
}

class LibpqDirect : public Side {
  public:
    LibpqDirect(const std::string& conninfo, int clients) {
        for (int i = 0; i < clients; ++i) conns_.push_back(connect_prepared(conninfo));
    }
    ~LibpqDirect() override {
        for (auto* c : conns_) PQfinish(c);
    }
    std::string name() const override { return "libpq, a connection per client"; }
    bool is_server() const override { return false; }
    int connections() const override { return static_cast<int>(conns_.size()); }
    bool send(int client, Kind kind, const std::string& question, std::string& error) override {
        return run_statement(conns_[client], kind, question, error);
    }

  private:
    std::vector<PGconn*> conns_;
};

// A pool that hands a returned connection to the longest-waiting client (FIFO), as the server's
// clients are served: a client that just returned a connection cannot take it again at once.
class LibpqPooled : public Side {
  public:
    LibpqPooled(const std::string& conninfo, int size) {
        for (int i = 0; i < size; ++i) free_.push_back(connect_prepared(conninfo));
        all_ = free_;
    }
    ~LibpqPooled() override {
        for (auto* c : all_) PQfinish(c);
    }
    std::string name() const override { return "libpq, a FIFO pool"; }
    bool is_server() const override { return false; }
    int connections() const override { return static_cast<int>(all_.size()); }
    bool send(int, Kind kind, const std::string& question, std::string& error) override {
        PGconn* c = acquire();
        bool ok = run_statement(c, kind, question, error);
        release(c);
        return ok;
    }

  private:
    struct Waiter {
        std::condition_variable cv;
        PGconn* conn = nullptr;
    };
    PGconn* acquire() {
        std::unique_lock<std::mutex> lock(mu_);
        if (!free_.empty() && waiters_.empty()) {
            PGconn* c = free_.back();
            free_.pop_back();
            return c;
        }
        Waiter w;
        waiters_.push_back(&w);
        w.cv.wait(lock, [&] { return w.conn != nullptr; });
        return w.conn;
    }
    void release(PGconn* c) {
        std::lock_guard<std::mutex> lock(mu_);
        if (waiters_.empty()) {
            free_.push_back(c);
            return;
        }
        Waiter* w = waiters_.front();
        waiters_.pop_front();
        w->conn = c;
        w->cv.notify_one();
    }
    std::mutex mu_;
    std::deque<Waiter*> waiters_;
    std::vector<PGconn*> free_, all_;
};

class Server : public Side {
  public:
    Server(const std::string& host_port, int clients, int pool) : pool_(pool) {
        size_t colon = host_port.rfind(':');
        for (int i = 0; i < clients; ++i)
            clients_.push_back(
                std::make_unique<KeepAliveClient>(host_port.substr(0, colon), std::stoi(host_port.substr(colon + 1))));
    }
    std::string name() const override { return "pg_rag_server, its pool"; }
    bool is_server() const override { return true; }
    int connections() const override { return pool_; }
    bool send(int client, Kind kind, const std::string& question, std::string& error) override {
        KeepAliveClient& c = *clients_[client];
        std::string body;
        int status =
            kind == kSearch
                ? c.request("GET", "/api/search?q=" + url_encode(question) + "&k=" + kK + "&mode=" + kMode, "", body,
                            error)
                : c.request("POST", "/api/chat",
                            nlohmann::json{{"question", question}, {"k", 5}, {"mode", kMode}}.dump(), body, error);
        if (status == 200) return true;
        if (status != 0) error = std::to_string(status) + " " + body.substr(0, 200);
        return false;
    }

  private:
    int pool_;
    std::vector<std::unique_ptr<KeepAliveClient>> clients_;
};

Sample timed(Side& side, const Workload& w, int client, long n) {
    Sample s;
    s.kind = w.kind(client, n);
    auto t0 = Clock::now();
    s.ok = side.send(client, w.kind(client, n), w.question(client, n), s.error);
    s.ms = ms_between(t0, Clock::now());
    return s;
}

void print_row(const Side& side, const Summary& s, const Summary& search, const Summary& chat) {
    std::printf("%-32s %5d %8ld %6ld %8.1f %8.2f %8.2f %8.2f %8.2f   %8.2f %8.2f\n", side.name().c_str(),
                side.connections(), s.requests, s.errors, s.per_second, s.p50, s.p90, s.p99, s.max, search.p50,
                chat.p50);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Args a = parse(argc, argv);
        Workload w(a.questions);
        std::vector<std::unique_ptr<Side>> sides;  // pairs: libpq-N, then server-N when there is one
        for (int n : a.connections) {
            if (n >= a.clients)
                sides.push_back(std::make_unique<LibpqDirect>(a.conninfo, a.clients));
            else
                sides.push_back(std::make_unique<LibpqPooled>(a.conninfo, n));
            if (a.servers.count(n)) sides.push_back(std::make_unique<Server>(a.servers[n], a.clients, n));
        }
        // Each client's first search and chat first (every backend loads its copy of the vectors and
        // the keyword index); then, in each round, every side in turn: --warmup seconds of load, not
        // kept, and --seconds measured. Rounds alternate the sides, so a change in the machine's load
        // (it is shared) falls on all of them.
        for (auto& side : sides) {
            std::vector<std::thread> prime;
            for (int c = 0; c < a.clients; ++c)
                prime.emplace_back([&, c] {
                    timed(*side, w, c, 0);
                    timed(*side, w, c, 1);
                });
            for (auto& t : prime) t.join();
        }
        std::vector<Phase> phases(sides.size());
        for (int round = 0; round < a.rounds; ++round)
            for (size_t i = 0; i < sides.size(); ++i) {
                Side& side = *sides[i];
                Phase p =
                    run_clients(a.clients, a.warmup, a.seconds, [&](int c, long n) { return timed(side, w, c, n); });
                phases[i].samples.insert(phases[i].samples.end(), p.samples.begin(), p.samples.end());
                phases[i].seconds += p.seconds;
            }

        std::printf(
            "\n%d clients, closed loop, %.0f s per side%s, search and extractive chat alternating, %zu "
            "questions\n",
            a.clients, a.seconds, a.rounds > 1 ? (" x " + std::to_string(a.rounds) + " rounds").c_str() : "", w.size());
        std::printf("%-32s %5s %8s %6s %8s %8s %8s %8s %8s   %8s %8s\n", "side", "conns", "requests", "errors", "req/s",
                    "p50 ms", "p90 ms", "p99 ms", "max ms", "search50", "chat50");
        long errors = 0;
        std::vector<Summary> summary;
        for (size_t i = 0; i < sides.size(); ++i) {
            summary.push_back(summarize(phases[i].samples, phases[i].seconds));
            errors += summary[i].errors;
            print_row(*sides[i], summary[i], summarize(phases[i].samples, phases[i].seconds, kSearch),
                      summarize(phases[i].samples, phases[i].seconds, kChat));
            if (summary[i].errors) std::printf("  first error: %s\n", summary[i].first_error.c_str());
        }
        for (size_t i = 1; i < sides.size(); ++i) {
            if (!sides[i]->is_server()) continue;
            const Summary &srv = summary[i], &base = summary[i - 1];
            std::printf("server / libpq, %2d connections: p50 %.3fx (%+.1f%%, goal <= +10%%), p99 %.3fx, req/s %.3fx\n",
                        sides[i]->connections(), srv.p50 / base.p50, (srv.p50 / base.p50 - 1) * 100, srv.p99 / base.p99,
                        srv.per_second / base.per_second);
        }
        return errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_server_load: %s\n", e.what());
        return 2;
    }
}
