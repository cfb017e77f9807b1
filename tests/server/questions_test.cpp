// Queued questions (POST /api/questions, GET /api/questions/{id}), the question workers and the
// background pruning, over real HTTP against the test cluster and the fake provider. Each test runs
// servers of its own (the shared one has no question workers) and leaves no question queued.
#include <gtest/gtest.h>

#include <initializer_list>
#include <set>
#include <string>

#include "harness.hpp"

using namespace pgrag_test;

namespace {

// POSTs a question; its id (the test fails unless the answer is 202 with the documented body).
std::string enqueue(httplib::Client& c, const json& body) {
    auto r = c.Post("/api/questions", body.dump(), "application/json");
    if (!r) {
        ADD_FAILURE() << "no response";
        return "";
    }
    EXPECT_EQ(r->status, 202) << r->body;
    if (r->status != 202) return "";
    json j = body_json(r);
    EXPECT_EQ(j["status"], "queued");
    std::string id = j["id"];
    EXPECT_EQ(j["status_url"], "/api/questions/" + id);
    EXPECT_EQ(r->get_header_value("Location"), "/api/questions/" + id);
    return id;
}

// Polls GET /api/questions/{id} until its status is one of statuses (gives up after 60 s).
json wait_for(httplib::Client& c, const std::string& id, std::set<std::string> statuses) {
    json last;
    for (int i = 0; i < 600; ++i) {
        auto r = c.Get("/api/questions/" + id);
        if (r && r->status == 200) {
            last = body_json(r);
            if (statuses.count(last["status"].get<std::string>())) return last;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "question " << id << " never reached the status; last: " << last.dump();
    return last;
}

// The value of one sample of the server's /metrics ("" when absent).
std::string metric(httplib::Client& c, const std::string& sample) {
    auto r = c.Get("/metrics");
    if (!r) return "";
    size_t at = r->body.find("\n" + sample + " ");
    if (at == std::string::npos) return "";
    size_t start = at + sample.size() + 2;
    return r->body.substr(start, r->body.find('\n', start) - start);
}

std::string question_status(const std::string& id) {
    return psql_value("SELECT status || ' ' || attempts FROM rag_questions WHERE id = '" + id + "'");
}

}  // namespace

TEST(Questions, EnqueuedQuestionIsAnsweredAsChatAnswers) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("postgres")});
    auto c = srv.client();
    std::string id = enqueue(c, {{"question", "How long do refunds take?"}, {"k", 3}, {"mode", "hybrid"}});
    ASSERT_FALSE(id.empty());
    json q = wait_for(c, id, {"done", "failed"});
    EXPECT_EQ(q["status"], "done") << q.dump();
    EXPECT_EQ(q["id"], id);
    EXPECT_EQ(q["attempts"], 1);
    EXPECT_EQ(q["answer"]["answer"], "Refunds are processed within five business days. [1]");
    EXPECT_EQ(q["answer"]["provider"], "extractive");
    EXPECT_EQ(q["answer"]["sources"][0]["title"], "Refund policy");
    EXPECT_TRUE(q["error"].is_null());
    for (const char* k : {"created_at", "started_at", "finished_at"}) EXPECT_TRUE(q[k].is_string()) << k;

    // Asked in a session: the turn is recorded with the answer.
    std::string in_session = enqueue(c, {{"question", "Can digital goods be refunded?"}, {"session_id", "queued-1"}});
    EXPECT_EQ(wait_for(c, in_session, {"done", "failed"})["status"], "done");
    auto m = body_json(c.Get("/api/sessions/queued-1/messages"))["messages"];
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0]["content"], "Can digital goods be refunded?");
    EXPECT_EQ(m[1]["role"], "assistant");

    // Bad requests are refused before anything is queued.
    int before = psql_count("SELECT count(*) FROM rag_questions");
    for (const char* body :
         {R"({"question": ""})", R"({"question": "q", "stream": true})", R"({"question": "q", "k": 0})",
          R"({"question": "q", "mode": "psychic"})", R"({"question": "q", "filter": [1]})",
          R"({"question": "q", "sesion_id": "x"})", R"({"question": "q", "session_id": ""})", "{not json"}) {
        auto r = c.Post("/api/questions", body, "application/json");
        EXPECT_EQ(r->status, 400) << body;
        EXPECT_EQ(body_json(r)["error"]["type"], "invalid_request_error") << body;
    }
    EXPECT_EQ(psql_count("SELECT count(*) FROM rag_questions"), before);
    auto r = c.Get("/api/questions/not-a-uuid");
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("UUID"), std::string::npos);
    EXPECT_EQ(c.Get("/api/questions/" + encode_url("1' OR '1'='1"))->status, 400);
    r = c.Get("/api/questions/00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(body_json(r)["error"]["code"], "not_found");
    EXPECT_EQ(c.Get("/api/questions")->status, 405);
    EXPECT_EQ(c.Delete("/api/questions/" + id)->status, 405);

    // Metrics: the queue by status (read from the table) and this server's outcomes.
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="done"})"), "2");
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="failed"})"), "0");
    EXPECT_EQ(metric(c, R"(pgrag_questions{status="done"})"),
              std::to_string(psql_count("SELECT count(*) FROM rag_questions WHERE status = 'done'")));
    EXPECT_EQ(metric(c, R"(pgrag_questions{status="queued"})"), "0");
}

// Queued on a server without workers that then stops; claimed by a server killed (SIGKILL) while it
// answers; finished by a third server once the dead one's lease has run out: a second attempt.
TEST(Questions, SurviveServersThatStopOrDie) {
    std::string id;
    {
        ServerProcess front(kPortBase + 2, {"--database-url", conninfo("postgres"), "--question-workers", "0"});
        auto c = front.client();
        id = enqueue(c, {{"question", "How long do refunds take?"}, {"k", 2}});
        ASSERT_EQ(front.stop(), 0);
    }
    ASSERT_EQ(question_status(id), "queued 0");
    {
        // A slow provider (3 s), a short lease: killed mid-answer.
        ServerProcess dying(kPortBase + 2, {"--database-url", conninfo("srv_slow"), "--question-workers", "1",
                                            "--question-lease", "2s"});
        auto c = dying.client();
        EXPECT_EQ(wait_for(c, id, {"running", "done", "failed"})["status"], "running");
        dying.kill_hard();
    }
    EXPECT_EQ(question_status(id), "running 1");
    ServerProcess heir(kPortBase + 3, {"--database-url", conninfo("srv_stream"), "--question-workers", "1"});
    auto c = heir.client();
    json q = wait_for(c, id, {"done", "failed"});
    EXPECT_EQ(q["status"], "done") << q.dump();
    EXPECT_EQ(q["attempts"], 2);
    EXPECT_EQ(q["answer"]["provider"], "ollama");
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="done"})"), "1");
}

// An answer longer than the lease (3 s against 2 s) keeps its claim: the worker extends the lease, so
// the server's second worker never takes the question over (which would make a second attempt).
TEST(Questions, LongAnswersExtendTheirLease) {
    ServerProcess srv(kPortBase + 2,
                      {"--database-url", conninfo("srv_slow"), "--question-workers", "2", "--question-lease", "2s"});
    auto c = srv.client();
    std::string id = enqueue(c, {{"question", "How long do refunds take, slowly?"}});
    json q = wait_for(c, id, {"done", "failed"});
    EXPECT_EQ(q["status"], "done") << q.dump();
    EXPECT_EQ(q["attempts"], 1);
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="lost"})"), "0");
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="done"})"), "1");
}

// A worker holds no pooled connection while the model generates: with a pool of one connection and a
// 3 s answer under way, requests still get the connection (they would get 503 after --pool-wait).
TEST(Questions, AnsweringHoldsNoConnection) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_slow"), "--question-workers", "1", "--pool-size",
                                      "1", "--pool-wait", "0.5"});
    auto c = srv.client();
    std::string id = enqueue(c, {{"question", "How long do refunds take, with one connection?"}});
    EXPECT_EQ(wait_for(c, id, {"running", "done", "failed"})["status"], "running");
    for (int i = 0; i < 3; ++i) {
        auto r = c.Get("/api/search?q=refund");
        EXPECT_EQ(r->status, 200) << r->body;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    EXPECT_EQ(wait_for(c, id, {"done", "failed"})["status"], "done");
}

// A provider that always fails: retried --question-retries times, then failed with the provider's error.
TEST(Questions, ProviderFailuresAreRetriedThenFail) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_down"), "--question-retries", "2",
                                      "--question-retry-delay", "0.1"});
    auto c = srv.client();
    std::string id = enqueue(c, {{"question", "How long do refunds take?"}});
    json q = wait_for(c, id, {"done", "failed"});
    EXPECT_EQ(q["status"], "failed") << q.dump();
    EXPECT_EQ(q["attempts"], 3);
    EXPECT_TRUE(q["answer"].is_null());
    EXPECT_EQ(q["error"]["type"], "provider_error");
    EXPECT_NE(q["error"]["message"].get<std::string>().find("ollama"), std::string::npos) << q.dump();
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="retried"})"), "2");
    EXPECT_EQ(metric(c, R"(pgrag_question_attempts_total{outcome="failed"})"), "1");
    EXPECT_NE(metric(c, R"(pgrag_questions{status="failed"})"), "0");
    EXPECT_NE(srv.log().find("attempt 3 failed (failed)"), std::string::npos) << srv.log();
}

// Questions finished longer ago than --question-retention and sessions idle longer than --session-ttl
// are deleted by the background maintenance (the defaults: 7 days, 24 hours); 0 keeps them.
TEST(Questions, FinishedQuestionsAndIdleSessionsArePruned) {
    ASSERT_EQ(psql_value("SELECT rag_record_answer('ttl-old', 'q', '{\\\"answer\\\": \\\"a\\\"}'),"
                         " rag_record_answer('ttl-fresh', 'q', '{\\\"answer\\\": \\\"a\\\"}')"),
              "|");
    psql_value("UPDATE rag_sessions SET updated_at = now() - interval '25 hours' WHERE id = 'ttl-old'");
    std::string old_q = psql_value("SELECT rag_enqueue_question('finished long ago')");
    std::string recent_q = psql_value("SELECT rag_enqueue_question('finished yesterday')");
    psql_value(
        "UPDATE rag_questions SET status = 'done', result = '{\\\"answer\\\": \\\"a\\\"}', finished_at = now() - "
        "CASE WHEN id = '" +
        old_q + "' THEN interval '8 days' ELSE interval '1 day' END WHERE id IN ('" + old_q + "', '" + recent_q + "')");
    ASSERT_EQ(question_status(old_q), "done 0");
    {
        ServerProcess keeper(kPortBase + 2, {"--database-url", conninfo("postgres"), "--question-workers", "0",
                                             "--session-ttl", "0", "--question-retention", "0"});
        auto c = keeper.client();
        for (int i = 0; i < 100 && metric(c, R"(pgrag_maintenance_runs_total{result="ok"})") == "0"; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ASSERT_EQ(metric(c, R"(pgrag_maintenance_runs_total{result="ok"})"), "1");
        EXPECT_EQ(metric(c, R"(pgrag_pruned_total{what="sessions"})"), "0");
        EXPECT_EQ(c.Get("/api/sessions/ttl-old/messages")->status, 200);
        EXPECT_EQ(c.Get("/api/questions/" + old_q)->status, 200);
    }
    ServerProcess pruner(kPortBase + 2, {"--database-url", conninfo("postgres"), "--question-workers", "0",
                                         "--maintenance-interval", "0.2"});
    auto c = pruner.client();
    for (int i = 0; i < 100 && c.Get("/api/questions/" + old_q)->status != 404; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(c.Get("/api/questions/" + old_q)->status, 404);
    EXPECT_EQ(c.Get("/api/questions/" + recent_q)->status, 200);
    EXPECT_EQ(c.Get("/api/sessions/ttl-old/messages")->status, 404);
    EXPECT_EQ(psql_count("SELECT count(*) FROM rag_messages WHERE session_id = 'ttl-old'"), 0);
    EXPECT_EQ(c.Get("/api/sessions/ttl-fresh/messages")->status, 200);
    EXPECT_EQ(metric(c, R"(pgrag_pruned_total{what="sessions"})"), "1");
    EXPECT_EQ(metric(c, R"(pgrag_pruned_total{what="questions"})"), "1");
    EXPECT_NE(pruner.log().find("maintenance: pruned 1 idle session(s) and 1 finished question(s)"), std::string::npos)
        << pruner.log();
}

// SIGTERM: an answer under way finishes before the exit; past --shutdown-timeout it goes back to the
// queue without counting an attempt; idle workers do not hold the exit up for their next poll.
TEST(Questions, SigtermFinishesOrReleasesAndNeverWaitsForAPoll) {
    {
        ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_slow"), "--question-workers", "1"});
        auto c = srv.client();
        std::string id = enqueue(c, {{"question", "How long do refunds take, before a restart?"}});
        EXPECT_EQ(wait_for(c, id, {"running", "done", "failed"})["status"], "running");
        EXPECT_EQ(srv.stop(), 0);
        EXPECT_EQ(question_status(id), "done 1");
    }
    {
        ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_slow"), "--question-workers", "1",
                                          "--shutdown-timeout", "0"});
        auto c = srv.client();
        std::string id = enqueue(c, {{"question", "How long do refunds take, during a deploy?"}});
        EXPECT_EQ(wait_for(c, id, {"running", "done", "failed"})["status"], "running");
        EXPECT_EQ(srv.stop(), 0);
        EXPECT_EQ(question_status(id), "queued 0");
        EXPECT_NE(srv.log().find("released (shutting down)"), std::string::npos) << srv.log();
        psql_value("DELETE FROM rag_questions WHERE id = '" + id + "'");
    }
    // Workers polling once an hour: SIGTERM still ends the server at once (10 s is far below an hour).
    ServerProcess idle(kPortBase + 2, {"--database-url", conninfo("postgres"), "--question-poll", "1h"});
    idle.terminate();
    bool exited = false;
    for (int i = 0; i < 100 && !(exited = idle.exited()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(exited) << "an idle worker held the exit up";
}

// A role that may not use the queue: claims and pruning fail, are logged once each (not every poll),
// and the server keeps serving.
TEST(Questions, WorkersWithoutRightsLogAndTheServerStaysUp) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_noaccess"), "--question-poll", "0.1"});
    auto c = srv.client();
    auto r = c.Post("/api/questions", R"({"question": "q"})", "application/json");
    EXPECT_EQ(r->status, 403) << r->body;
    for (int i = 0; i < 100 && metric(c, R"(pgrag_maintenance_runs_total{result="error"})") == "0"; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // several polls of each worker
    EXPECT_EQ(c.Get("/healthz")->status, 200);
    std::string log = srv.log();
    size_t claims = 0;
    for (size_t at = log.find("cannot claim questions: permission denied"); at != std::string::npos;
         at = log.find("cannot claim questions: permission denied", at + 1))
        ++claims;
    EXPECT_EQ(claims, 2u) << log;  // one line per worker
    EXPECT_NE(log.find("maintenance: pruning failed"), std::string::npos) << log;
    EXPECT_EQ(log.find("user=srv_noaccess"), std::string::npos);  // the connection string is never logged
    EXPECT_EQ(srv.stop(), 0);
}
