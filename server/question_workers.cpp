// Question workers: claim, answer without holding a connection while the model generates, record.
#include "question_workers.hpp"

#include <unistd.h>

#include <cstdio>
#include <optional>
#include <random>

#include "chat.hpp"

namespace pgrag::server {

namespace {

using Clock = std::chrono::steady_clock;

struct Claimed {
    std::string id;
    nlohmann::json request;
    int attempts = 0;
    DbIdentity asker;  // whom the question is answered as
};

// Logs the first error of a streak and the recovery, not one line per poll while the database is down.
class ErrorStreak {
  public:
    explicit ErrorStreak(std::string worker) : worker_(std::move(worker)) {}
    void failed(const std::string& message) {
        if (message != last_)
            std::fprintf(stderr, "question worker %s: cannot claim questions: %s (trying again)\n", worker_.c_str(),
                         message.c_str());
        last_ = message;
    }
    void succeeded() {
        if (!last_.empty()) std::fprintf(stderr, "question worker %s: claiming again\n", worker_.c_str());
        last_.clear();
    }

  private:
    std::string worker_, last_;
};

std::optional<Claimed> claim(App& app, const std::string& worker) {
    const Options& o = app.options;
    Lease db = app.pool.acquire();
    PgResult r = db.exec(
        "SELECT id::text, request::text, attempts, owner_id, coalesce(tenant_id, ''), rag_current_user()"
        " FROM rag_claim_question($1, $2::interval, $3::integer)",
        {Param::text(worker), Param::text(interval_param(o.question_lease_s)),
         Param::text(std::to_string(o.question_retries))});
    if (PQntuples(r.get()) == 0) return std::nullopt;
    Claimed q;
    q.id = PQgetvalue(r.get(), 0, 0);
    q.request = nlohmann::json::parse(PQgetvalue(r.get(), 0, 1), nullptr, false);
    q.attempts = std::atoi(PQgetvalue(r.get(), 0, 2));
    // Asked as the server's own role without an identity (--auth none): answered so too.
    std::string owner = PQgetvalue(r.get(), 0, 3), tenant = PQgetvalue(r.get(), 0, 4);
    if (!(tenant.empty() && owner == PQgetvalue(r.get(), 0, 5))) q.asker = {owner, tenant, false};
    return q;
}

// Answers one claimed question and records the outcome; never throws.
void answer(App& app, const std::string& worker, const Claimed& q) {
    const Options& o = app.options;
    bool lost = false;
    auto lease = std::chrono::duration<double>(o.question_lease_s);
    Clock::time_point extended = Clock::now();
    // Keeps the claim while long work runs: a third of the lease after the last extension, briefly on a
    // pooled connection. A refused extension means another worker holds the question now: stop.
    auto keep_lease = [&] {
        if (Clock::now() - extended < lease / 3) return;
        extended = Clock::now();
        try {
            Lease db = app.pool.acquire();
            auto held =
                db.value("SELECT rag_extend_question_lease($1::uuid, $2, $3::interval)",
                         {Param::text(q.id), Param::text(worker), Param::text(interval_param(o.question_lease_s))});
            if (held.value_or("f") != "t") lost = true;
        } catch (...) {
            // The database is unreachable for now: the lease may still hold; try again later.
        }
    };
    try {
        if (q.request.is_discarded() || !q.request.is_object())
            throw bad_request("the queued request is not an object");
        ChatRequest req = read_chat_request(q.request, false);
        PreparedChat chat =
            prepare_chat(app.pool, q.asker, req, o.request_timeout_s * 1000L);  // the connection is back
        keep_lease();
        auto deadline = chat.started + std::chrono::seconds(o.request_timeout_s);
        Generated g = generate_chat(
            chat,
            [&] {
                keep_lease();
                return lost || app.past_deadline || Clock::now() > deadline;
            },
            [](const std::string&) {});
        if (lost) throw ApiError(409, "server_error", "lease_lost", "another worker holds the question");
        nlohmann::json result = chat_result(chat, g);
        Lease db = app.pool.acquire();
        auto finished = db.value("SELECT rag_finish_question($1::uuid, $2, $3::jsonb)",
                                 {Param::text(q.id), Param::text(worker), Param::text(result.dump())});
        app.metrics.observe_question_outcome(finished.value_or("f") == "t" ? "done" : "lost");
        return;
    } catch (...) {
        ApiError e = to_api_error(std::current_exception());
        try {
            if (lost) {
                app.metrics.observe_question_outcome("lost");
                std::fprintf(stderr, "question worker %s: question %s: another worker holds it now\n", worker.c_str(),
                             q.id.c_str());
                return;
            }
            Lease db = app.pool.acquire();
            if (app.past_deadline) {
                // Stopped mid-answer: back to the queue, the attempt not counted, for another server.
                db.value("SELECT rag_release_question($1::uuid, $2)", {Param::text(q.id), Param::text(worker)});
                app.metrics.observe_question_outcome("released");
                std::fprintf(stderr, "question worker %s: question %s: released (shutting down)\n", worker.c_str(),
                             q.id.c_str());
                return;
            }
            // Errors of the request itself (4xx) would fail again: no retry.
            int retries = e.status() >= 500 ? o.question_retries : 0;
            auto status =
                db.value("SELECT rag_fail_question($1::uuid, $2, $3::jsonb, $4::integer, $5::interval)",
                         {Param::text(q.id), Param::text(worker), Param::text(error_json(e)["error"].dump()),
                          Param::text(std::to_string(retries)), Param::text(interval_param(o.question_retry_delay_s))});
            std::string outcome = status.value_or("") == "queued" ? "retried" : status ? "failed" : "lost";
            app.metrics.observe_question_outcome(outcome);
            std::fprintf(stderr, "question worker %s: question %s: attempt %d failed (%s): %s\n", worker.c_str(),
                         q.id.c_str(), q.attempts, outcome.c_str(), e.what());
        } catch (...) {
            // Not even the failure could be recorded: the lease runs out and the question is claimed again.
            std::fprintf(
                stderr, "question worker %s: question %s: attempt %d failed (%s) and could not be recorded: %s\n",
                worker.c_str(), q.id.c_str(), q.attempts, e.what(), to_api_error(std::current_exception()).what());
        }
    }
}

}  // namespace

std::string question_worker_name(int n) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    static const unsigned tag = std::random_device{}();
    char buf[400];
    std::snprintf(buf, sizeof buf, "%s:%d:%08x/%d", host, static_cast<int>(getpid()), tag, n);
    return buf;
}

void QuestionWorkers::start() {
    for (int i = 1; i <= app_.options.question_workers; ++i)
        threads_.emplace_back([this, name = question_worker_name(i)] { run(name); });
}

void QuestionWorkers::join() {
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

void QuestionWorkers::run(const std::string& worker) {
    ErrorStreak errors(worker);
    auto poll = std::chrono::milliseconds(static_cast<long>(app_.options.question_poll_s * 1000));
    while (!app_.question_wakeup.stopped()) {
        uint64_t seen = app_.question_wakeup.generation();
        std::optional<Claimed> q;
        try {
            q = claim(app_, worker);
            errors.succeeded();
        } catch (...) {
            errors.failed(to_api_error(std::current_exception()).what());
        }
        if (q) {
            answer(app_, worker, *q);
            continue;  // there may be more
        }
        if (!app_.question_wakeup.wait(seen, poll)) break;
    }
}

}  // namespace pgrag::server
