// Integration tests of pg_rag_server over real HTTP against a real cluster and the fake provider.
// tests/server-tests.sh prepares the cluster (roles with per-role provider settings) and runs this
// program; each test starts the servers it needs as separate processes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace pgrag_test;

namespace {

const int kFakePort = std::stoi(env("PGRAG_TEST_FAKE_PORT", "55552"));

// How many streamed answers of the fake provider's /tag/TAG its client left before the end.
int fake_cut_count(const std::string& tag) {
    httplib::Client fake("127.0.0.1", kFakePort);
    auto r = fake.Get("/count/cut-" + tag);
    return r && r->status == 200 ? std::atoi(r->body.c_str()) : -1;
}

// The shared server: postgres role, extractive answers, a small body limit, CORS for one origin; no
// question workers and no pruning after its start (the queued-question tests run servers of their own).
ServerProcess* g_main = nullptr;
httplib::Client main_client() { return g_main->client(); }

// Sends raw bytes on a new connection and returns everything the server sends until it closes.
std::string raw_exchange(int port, const std::string& request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        timeval timeout{10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        char buf[4096];
        for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
    }
    if (fd >= 0) close(fd);
    return out;
}

class Env : public ::testing::Environment {
  public:
    void SetUp() override {
        g_main = new ServerProcess(
            kPortBase, {"--database-url", conninfo("postgres"), "--pool-size", "4", "--threads", "16", "--body-limit",
                        "1048576", "--cors-origins", "http://app.example", "--question-workers", "0",
                        "--maintenance-interval", "1d", "--web-root", kRoot + "/server/web"});
        auto c = main_client();
        // The knowledge base the tests ask about, through the API itself.
        for (const auto& [title, content, source] : std::vector<std::tuple<std::string, std::string, std::string>>{
                 {"Refund policy",
                  "Refunds are processed within five business days. Digital goods cannot be refunded after download. "
                  "Refunds go back to the original payment method.",
                  "kb/refunds"},
                 {"Shipping", "Shipping to Europe takes seven to ten days. Express shipping takes two days.",
                  "kb/shipping"}}) {
            auto r = c.Post(
                "/api/documents",
                json{{"title", title}, {"content", content}, {"source", source}, {"metadata", {{"lang", "en"}}}}.dump(),
                "application/json");
            ASSERT_TRUE(r);
            ASSERT_EQ(r->status, 201) << r->body;
        }
    }
    void TearDown() override {
        EXPECT_EQ(g_main->stop(), 0);
        delete g_main;
    }
};
::testing::Environment* const g_env = ::testing::AddGlobalTestEnvironment(new Env);

}  // namespace

TEST(Health, HealthReadyAndRequestIds) {
    auto c = main_client();
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("X-Request-Id").size(), 16u);
    r = c.Get("/readyz", {{"X-Request-Id", "trace-abc.1"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["extension_version"], "0.9.0");
    EXPECT_EQ(r->get_header_value("X-Request-Id"), "trace-abc.1");
    // An id that could forge log lines is replaced.
    r = c.Get("/healthz", {{"X-Request-Id", "bad id\tx"}});
    EXPECT_NE(r->get_header_value("X-Request-Id"), "bad id\tx");
    // Errors carry an id too, and the access log names route, status and id, never the body.
    r = c.Post("/api/chat", R"({"question": "secret-question-text", "k": 0})", "application/json");
    EXPECT_EQ(r->status, 400);
    std::string id = r->get_header_value("X-Request-Id");
    ASSERT_FALSE(id.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string log = g_main->log();
    EXPECT_NE(log.find("method=POST route=/api/chat status=400"), std::string::npos) << log;
    EXPECT_NE(log.find("request_id=" + id), std::string::npos);
    EXPECT_EQ(log.find("secret-question-text"), std::string::npos);
    EXPECT_EQ(log.find("user=postgres"), std::string::npos);  // the connection string is never logged
}

TEST(Documents, CreateListGetDelete) {
    auto c = main_client();
    auto r = c.Post("/api/documents", json{{"title", "Temp"}, {"content", "Temporary text about gift cards."}}.dump(),
                    "application/json");
    ASSERT_EQ(r->status, 201) << r->body;
    json made = body_json(r);
    long id = made["id"];
    EXPECT_EQ(made["chunks"], 1);
    r = c.Get("/api/documents?limit=1&offset=0");
    ASSERT_EQ(r->status, 200) << r->body;
    json page = body_json(r);
    EXPECT_EQ(page["documents"].size(), 1u);
    EXPECT_GE(page["total"].get<int>(), 3);
    EXPECT_EQ(page["limit"], 1);
    EXPECT_TRUE(page["documents"][0].contains("chunks"));
    EXPECT_TRUE(page["documents"][0].contains("created_at"));
    r = c.Get("/api/documents/" + std::to_string(id));
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(body_json(r)["content"], "Temporary text about gift cards.");
    r = c.Delete("/api/documents/" + std::to_string(id));
    EXPECT_EQ(r->status, 200);
    r = c.Get("/api/documents/" + std::to_string(id));
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(body_json(r)["error"]["type"], "not_found_error");
    EXPECT_EQ(c.Delete("/api/documents/" + std::to_string(id))->status, 404);
    EXPECT_EQ(c.Get("/api/documents?limit=0")->status, 400);
    EXPECT_EQ(c.Get("/api/documents?offset=x")->status, 400);
}

TEST(Documents, MultipartUploadsAndBadFiles) {
    auto c = main_client();
    std::ifstream f(kRoot + "/tests/data/guide.md");
    std::stringstream guide;
    guide << f.rdbuf();
    httplib::MultipartFormDataItems items = {{"file", guide.str(), "guide.md", "text/markdown"},
                                             {"metadata", R"({"team": "support"})", "", ""}};
    auto r = c.Post("/api/documents", items);
    ASSERT_EQ(r->status, 201) << r->body;
    json made = body_json(r);
    EXPECT_GT(made["chunks"].get<int>(), 0);
    auto doc = body_json(c.Get("/api/documents/" + std::to_string(made["id"].get<long>())));
    EXPECT_EQ(doc["source"], "guide.md");
    EXPECT_EQ(doc["metadata"]["team"], "support");
    // An encrypted PDF: the extension's own message, as 415.
    std::ifstream pdf(kRoot + "/tests/data/encrypted.pdf", std::ios::binary);
    std::stringstream pdf_bytes;
    pdf_bytes << pdf.rdbuf();
    r = c.Post("/api/documents",
               httplib::MultipartFormDataItems{{"file", pdf_bytes.str(), "secret.pdf", "application/pdf"}});
    EXPECT_EQ(r->status, 415) << r->body;
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("encrypted"), std::string::npos);
    r = c.Post("/api/documents", httplib::MultipartFormDataItems{{"file",
                                                                  std::string("\x7f"
                                                                              "ELF\x01\x02",
                                                                              6),
                                                                  "a.bin", ""}});
    EXPECT_EQ(r->status, 415) << r->body;
    r = c.Post("/api/documents", httplib::MultipartFormDataItems{{"other", "x", "x.txt", "text/plain"}});
    EXPECT_EQ(r->status, 400);
    r = c.Post("/api/documents",
               httplib::MultipartFormDataItems{{"file", "hello", "h.txt", "text/plain"}, {"metadata", "[1]", "", ""}});
    EXPECT_EQ(r->status, 400);
}

TEST(Documents, BadJsonBodies) {
    auto c = main_client();
    auto r = c.Post("/api/documents", "{not json", "application/json");
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(body_json(r)["error"]["message"], "the request body is not valid JSON");
    r = c.Post("/api/documents", R"({"title": 5, "content": "x"})", "application/json");
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("\"title\""), std::string::npos);
    r = c.Post("/api/documents", R"({"title": "t", "content": "x", "metadata": [1]})", "application/json");
    EXPECT_EQ(r->status, 400);
    r = c.Post("/api/documents", R"({"title": "t", "content": "x", "tittle": "typo"})", "application/json");
    EXPECT_EQ(r->status, 400);
    r = c.Post("/api/documents", "title=t", "application/x-www-form-urlencoded");
    EXPECT_EQ(r->status, 415);
    r = c.Post("/api/documents", std::string(100, '[') + std::string(100, ']'), "application/json");
    EXPECT_EQ(r->status, 400);
}

TEST(Search, RowsAndErrors) {
    auto c = main_client();
    auto r = c.Get("/api/search?q=refund%20days&k=2&mode=keyword");
    ASSERT_EQ(r->status, 200) << r->body;
    json rows = body_json(r)["results"];
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0]["title"], "Refund policy");
    for (const char* k : {"chunk_id", "document_id", "source", "content", "score", "metadata"})
        EXPECT_TRUE(rows[0].contains(k)) << k;
    r = c.Get(R"(/api/search?q=shipping&filter={"lang":"en"})");
    EXPECT_EQ(r->status, 200) << r->body;
    r = c.Get(R"(/api/search?q=shipping&filter={"lang":"fr"})");
    EXPECT_EQ(body_json(r)["results"].size(), 0u);
    EXPECT_EQ(c.Get("/api/search")->status, 400);
    EXPECT_EQ(c.Get("/api/search?q=%20")->status, 400);
    EXPECT_EQ(c.Get("/api/search?q=x&k=0")->status, 400);
    EXPECT_EQ(c.Get("/api/search?q=x&k=five")->status, 400);
    EXPECT_EQ(c.Get("/api/search?q=x&filter=[1]")->status, 400);
    r = c.Get("/api/search?q=x&mode=psychic");  // the extension's 22023
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(body_json(r)["error"]["code"], "22023");
}

TEST(Security, ParametersAreBoundNeverInterpolated) {
    auto c = main_client();
    auto r = c.Get("/api/search?q=" + encode_url("x'); DROP TABLE rag_documents; --") + "&mode=keyword");
    EXPECT_EQ(r->status, 200) << r->body;
    r = c.Get("/api/sessions/" + encode_url("a' OR '1'='1") + "/messages");
    EXPECT_EQ(r->status, 404);
    r = c.Post("/api/chat", json{{"question", "refunds"}, {"mode", "hybrid'; DROP TABLE rag_documents; --"}}.dump(),
               "application/json");
    EXPECT_EQ(r->status, 400);
    EXPECT_GE(psql_count("SELECT count(*) FROM rag_documents"), 2);
}

TEST(Chat, AnswerJsonAndSessions) {
    auto c = main_client();
    auto r = c.Post("/api/chat", json{{"question", "How long do refunds take?"}}.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json a = body_json(r);
    EXPECT_EQ(a["answer"], "Refunds are processed within five business days. [1]");
    EXPECT_EQ(a["provider"], "extractive");
    EXPECT_EQ(a["sources"][0]["title"], "Refund policy");
    EXPECT_TRUE(a.contains("latency_ms"));
    r = c.Post("/api/chat",
               json{{"question", "How long do refunds take?"}, {"session_id", "sess-plain"}, {"k", 3}}.dump(),
               "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    r = c.Get("/api/sessions/sess-plain/messages");
    ASSERT_EQ(r->status, 200);
    json m = body_json(r)["messages"];
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0]["role"], "user");
    EXPECT_EQ(m[1]["role"], "assistant");
    EXPECT_EQ(c.Delete("/api/sessions/sess-plain")->status, 200);
    EXPECT_EQ(c.Get("/api/sessions/sess-plain/messages")->status, 404);
    EXPECT_EQ(c.Delete("/api/sessions/sess-plain")->status, 404);
}

// The conversations a chat page lists: most recently updated first, titled by their first question.
TEST(Sessions, ListRecentFirstWithTitlesPaginated) {
    auto c = main_client();
    for (const auto& [session, question] :
         std::vector<std::pair<std::string, std::string>>{{"list-a", "How long do refunds take?"},
                                                          {"list-b", "How long does shipping to Europe take?"},
                                                          {"list-a", "Can digital goods be refunded?"}}) {
        auto r = c.Post("/api/chat", json{{"question", question}, {"session_id", session}}.dump(), "application/json");
        ASSERT_EQ(r->status, 200) << r->body;
    }
    auto r = c.Get("/api/sessions?limit=2");
    ASSERT_EQ(r->status, 200) << r->body;
    json page = body_json(r);
    ASSERT_EQ(page["sessions"].size(), 2u) << page.dump();
    json first = page["sessions"][0];
    EXPECT_EQ(first["id"], "list-a");
    EXPECT_EQ(first["title"], "How long do refunds take?") << "the title is the first question";
    EXPECT_EQ(first["messages"], 4);
    EXPECT_TRUE(first.contains("updated_at"));
    EXPECT_TRUE(first.contains("created_at"));
    EXPECT_EQ(page["sessions"][1]["id"], "list-b");
    EXPECT_GE(page["total"].get<int>(), 2);
    EXPECT_EQ(page["limit"], 2);
    EXPECT_EQ(page["offset"], 0);
    r = c.Get("/api/sessions?limit=1&offset=1");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["sessions"][0]["id"], "list-b");
    EXPECT_EQ(c.Get("/api/sessions?limit=0")->status, 400);
    EXPECT_EQ(c.Get("/api/sessions?offset=-1")->status, 400);
    EXPECT_EQ(c.Post("/api/sessions", "{}", "application/json")->status, 405);
    EXPECT_EQ(c.Delete("/api/sessions/list-a")->status, 200);
    EXPECT_EQ(c.Delete("/api/sessions/list-b")->status, 200);
    r = c.Get("/api/sessions?limit=1000");
    for (const auto& s : body_json(r)["sessions"]) EXPECT_NE(s["id"], "list-a");
}

TEST(Chat, BadRequests) {
    auto c = main_client();
    for (const char* body :
         {R"({"question": ""})", R"({"question": "   "})", R"({})", R"({"question": 5})",
          R"({"question": "q", "k": 0})", R"({"question": "q", "k": 51})", R"({"question": "q", "k": "5"})",
          R"({"question": "q", "k": 2.5})", R"({"question": "q", "stream": "yes"})",
          R"({"question": "q", "filter": "lang"})", R"({"question": "q", "sesion_id": "x"})",
          R"({"question": "q", "mode": "psychic"})", R"(["question"])", R"({"question": "q",)"}) {
        auto r = c.Post("/api/chat", body, "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << body;
        json e = body_json(r)["error"];
        EXPECT_EQ(e["type"], "invalid_request_error") << body;
        EXPECT_FALSE(e["message"].get<std::string>().empty());
        EXPECT_TRUE(e.contains("code"));
    }
}

TEST(Chat, ExtractiveStreamsSourcesTokensDone) {
    auto c = main_client();
    auto s = post_stream(c, "/api/chat",
                         {{"question", "How long do refunds take and can digital goods be refunded?"},
                          {"stream", true},
                          {"session_id", "sess-stream"}});
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(s.content_type, "text/event-stream");
    ASSERT_GE(s.events.size(), 4u);
    EXPECT_EQ(s.events.front().event, "sources");
    EXPECT_EQ(s.events.front().data["sources"][0]["n"], 1);
    EXPECT_EQ(s.events.back().event, "done");
    std::string joined;
    size_t tokens = 0;
    for (size_t i = 1; i + 1 < s.events.size(); ++i) {
        EXPECT_EQ(s.events[i].event, "token");
        joined += s.events[i].data["text"].get<std::string>();
        ++tokens;
    }
    EXPECT_GE(tokens, 2u) << "the extractive answer streams sentence by sentence";
    json done = s.events.back().data;
    EXPECT_EQ(joined, done["answer"]);
    EXPECT_EQ(done["provider"], "extractive");
    EXPECT_EQ(done["cached"], false);
    for (const char* k : {"model", "usage", "latency_ms", "sources"}) EXPECT_TRUE(done.contains(k)) << k;
    auto m = body_json(c.Get("/api/sessions/sess-stream/messages"))["messages"];
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[1]["content"], done["answer"]);
}

// Streamed answers share rag_answer's cache: a question without a session is answered once, then
// replayed (one token, "cached": true) until the knowledge base changes.
TEST(Chat, StreamedAnswersUseTheAnswerCache) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_cache")});
    auto c = srv.client();
    json ask = {{"question", "Which goods can never be refunded, streamed?"}, {"stream", true}, {"k", 4}};
    auto first = post_stream(c, "/api/chat", ask);
    ASSERT_EQ(first.events.back().event, "done");
    EXPECT_EQ(first.events.back().data["cached"], false);
    EXPECT_EQ(psql_count("SELECT count(*) FROM rag_answer_cache WHERE question = 'Which goods can never be refunded, "
                         "streamed?'"),
              1);
    auto second = post_stream(c, "/api/chat", ask);
    ASSERT_EQ(second.events.size(), 3u) << "sources, the whole answer, done";
    EXPECT_EQ(second.events[0].data["sources"], first.events[0].data["sources"]);
    EXPECT_EQ(second.events[1].data["text"], first.events.back().data["answer"]);
    EXPECT_EQ(second.events[2].data["cached"], true);
    // rag_answer through SQL (the non-streamed route) reads the same entry...
    auto plain = c.Post("/api/chat", json{{"question", ask["question"]}, {"k", 4}}.dump(), "application/json");
    EXPECT_EQ(body_json(plain)["cached"], true);
    // ...and other search options are another question.
    ask["k"] = 3;
    EXPECT_EQ(post_stream(c, "/api/chat", ask).events.back().data["cached"], false);
}

// A provider that streams slowly (fake Ollama, 150 ms between tokens): the first token arrives long
// before the end; a client that leaves mid-stream leaves no session turn.
TEST(Chat, SlowProviderStreamsAndDisconnectLeavesNoTurn) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_stream"), "--pool-size", "2"});
    auto c = srv.client();
    auto s = post_stream(c, "/api/chat",
                         {{"question", "How long do refunds take?"}, {"stream", true}, {"session_id", "slow-1"}});
    ASSERT_GE(s.events.size(), 4u);
    EXPECT_EQ(s.events.front().event, "sources");
    ASSERT_EQ(s.events[1].event, "token");
    ASSERT_EQ(s.events.back().event, "done") << s.events.back().data.dump();
    EXPECT_EQ(s.events.back().data["provider"], "ollama");
    EXPECT_LT(s.events[1].at_ms + 300, s.events.back().at_ms) << "the first token came only with the end";
    EXPECT_EQ(c.Get("/api/sessions/slow-1/messages")->status, 200);

    int cut_before = fake_cut_count("stream");
    auto gone = post_stream(c, "/api/chat",
                            {{"question", "How long do refunds take?"}, {"stream", true}, {"session_id", "gone-1"}}, 2);
    ASSERT_EQ(gone.events.size(), 2u);
    EXPECT_EQ(gone.events[1].event, "token");
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // longer than the whole answer takes
    // The server cancelled its provider request: the fake saw its client leave before the last token.
    EXPECT_EQ(fake_cut_count("stream"), cut_before + 1) << "the provider kept generating for a client that left";
    EXPECT_EQ(c.Get("/api/sessions/gone-1/messages")->status, 404) << "a half-streamed answer was recorded";
    EXPECT_EQ(psql_count("SELECT count(*) FROM rag_messages WHERE session_id = 'gone-1'"), 0);
    EXPECT_EQ(c.Get("/healthz")->status, 200);
}

// 64 streams open at once (fake Ollama: 60 tokens, 100 ms apart) on the default worker threads and
// pool: every stream gets its first token while none has finished, and a search is answered meanwhile
// (every open stream holds a worker thread: too few threads would queue the rest behind them).
TEST(Chat, SixtyFourOpenStreamsAndASearchMeanwhile) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_stream_long")});
    constexpr int kStreams = 64;
    std::atomic<int> started{0}, finished{0}, well{0};
    std::vector<std::thread> streams;
    for (int i = 0; i < kStreams; ++i)
        streams.emplace_back([&] {
            auto c = srv.client();
            httplib::Request req;
            req.method = "POST";
            req.path = "/api/chat";
            req.body = json{{"question", "How long do refunds take?"}, {"stream", true}}.dump();
            req.set_header("Content-Type", "application/json");
            std::string text;
            bool first = true;
            req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
                text.append(data, n);
                if (first && text.find("event: token") != std::string::npos) {
                    first = false;
                    ++started;
                }
                return true;
            };
            httplib::Response res;
            httplib::Error err;
            c.send(req, res, err);
            ++finished;
            auto events = parse_sse(text);
            size_t tokens = 0;
            for (const auto& e : events) tokens += e.event == "token";
            if (!events.empty() && events.back().event == "done" && tokens == 60) ++well;
        });
    for (int i = 0; i < 600 && started < kStreams && finished == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(started.load(), kStreams) << "streams that had their first token before the first one finished";
    auto r = srv.client().Get("/api/search?q=refund");
    int finished_at_search = finished;
    for (auto& t : streams) t.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(finished_at_search, 0) << "the search waited for streams to end";
    EXPECT_EQ(well.load(), kStreams) << "streams that ended with done after 60 tokens";
}

TEST(Chat, ProviderKeyFromTheDatabase) {
    // The server's role is granted rag_chat_provider_credentials(): it streams with the stored key.
    ServerProcess keyed(kPortBase + 2, {"--database-url", conninfo("srv_keyed")});
    auto c = keyed.client();
    auto s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}});
    ASSERT_FALSE(s.events.empty());
    ASSERT_EQ(s.events.back().event, "done") << s.events.back().data;
    EXPECT_EQ(s.events.back().data["provider"], "openai");
    EXPECT_GT(s.events.size(), 3u) << "tokens as they came";
    httplib::Client fake("127.0.0.1", std::stoi(kPgPort) + 2);
    EXPECT_EQ(fake.Get("/lastauth/openai-chat")->body, "Authorization: Bearer sk-test-0123456789abcdef\n");
    auto r = c.Post("/v1/chat/completions",
                    json{{"model", "pg_rag"}, {"messages", {{{"role", "user"}, {"content", "refunds?"}}}}}.dump(),
                    "application/json");
    EXPECT_EQ(r->status, 200) << r->body;
    // The key never reaches a response or the log.
    keyed.stop();
    EXPECT_EQ(keyed.log().find("sk-test-0123456789abcdef"), std::string::npos);
}

TEST(Chat, ProviderKeyNotAvailableAndFallback) {
    ServerProcess keyed(kPortBase + 2, {"--database-url", conninfo("srv_unkeyed")});
    auto c = keyed.client();
    auto s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}});
    ASSERT_EQ(s.events.size(), 2u);
    EXPECT_EQ(s.events[0].event, "sources");
    EXPECT_EQ(s.events[1].event, "error");
    EXPECT_NE(s.events[1].data["message"].get<std::string>().find("provider key not available to the server"),
              std::string::npos);
    EXPECT_EQ(s.events[1].data["type"], "provider_error");
    auto r = c.Post("/v1/chat/completions",
                    json{{"model", "pg_rag"}, {"messages", {{{"role", "user"}, {"content", "refunds?"}}}}}.dump(),
                    "application/json");
    EXPECT_EQ(r->status, 502);
    EXPECT_TRUE(body_json(r)["error"].contains("param"));
    // Mid-stream, OpenAI's way: an error object, then [DONE].
    s = post_stream(
        c, "/v1/chat/completions",
        {{"model", "pg_rag"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "refunds?"}}}}});
    ASSERT_GE(s.events.size(), 3u);
    EXPECT_EQ(s.events.back().data, "[DONE]");
    json err = s.events[s.events.size() - 2].data;
    EXPECT_NE(err["error"]["message"].get<std::string>().find("provider key not available"), std::string::npos) << err;
    keyed.stop();

    ServerProcess fallback(kPortBase + 3, {"--database-url", conninfo("srv_fallback")});
    auto c2 = fallback.client();
    s = post_stream(c2, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}});
    ASSERT_EQ(s.events.back().event, "done");
    EXPECT_EQ(s.events.back().data["provider"], "extractive");
    EXPECT_NE(s.events.back().data["fallbacks"][0].get<std::string>().find("openai"), std::string::npos);
}

TEST(Chat, ProviderDownIs502) {
    ServerProcess down(kPortBase + 2, {"--database-url", conninfo("srv_down")});
    auto c = down.client();
    auto r = c.Post("/api/chat", json{{"question", "How long do refunds take?"}}.dump(), "application/json");
    EXPECT_EQ(r->status, 502) << r->body;
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("ollama"), std::string::npos);
    auto s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}});
    ASSERT_EQ(s.events.back().event, "error");
    EXPECT_EQ(s.events.back().data["type"], "provider_error");
    EXPECT_NE(c.Get("/metrics")->body.find("pgrag_provider_errors_total{provider=\"ollama\"} 2"), std::string::npos);
    down.stop();
    // A provider nobody listens for: the extension's 08006 on a live database connection is the
    // provider's failure (502), not the database's (503).
    ServerProcess unreachable(kPortBase + 2, {"--database-url", conninfo("srv_unreachable")});
    auto c2 = unreachable.client();
    r = c2.Post("/api/chat", json{{"question", "How long do refunds take?"}}.dump(), "application/json");
    EXPECT_EQ(r->status, 502) << r->body;
    EXPECT_EQ(c2.Get("/readyz")->status, 200);
}

TEST(Http, NotFoundMethodNotAllowedTooLargeChunked) {
    auto c = main_client();
    auto r = c.Get("/api/nothing");
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(body_json(r)["error"]["code"], "not_found");
    EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
    r = c.Get("/api/chat");
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->get_header_value("Allow"), "POST");
    EXPECT_EQ(body_json(r)["error"]["code"], "method_not_allowed");
    EXPECT_EQ(c.Delete("/api/search")->status, 405);
    EXPECT_EQ(c.Post("/v1/models", "{}", "application/json")->status, 405);
    // The server answers 413 without reading the body and closes: the unread body may reset the
    // connection before the client reads the answer, so a few tries, each 413 or a reset.
    for (int attempt = 0; attempt < 5; ++attempt) {
        r = c.Post("/api/documents", json{{"title", "big"}, {"content", std::string(2 << 20, 'a')}}.dump(),
                   "application/json");
        if (r) break;
        std::fprintf(stderr, "413 attempt %d: %s\n", attempt, httplib::to_string(r.error()).c_str());
    }
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(body_json(r)["error"]["code"], "413");
    // A chunked body is refused from its headers, before any of it is read, and the connection is
    // closed. The request is sent without its body: a body left unread when the server closes makes
    // the kernel reset the connection, which can discard the 411 before a client reads it (this test
    // was flaky while it sent one).
    std::string chunked =
        raw_exchange(kPortBase,
                     "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
    EXPECT_EQ(chunked.rfind("HTTP/1.1 411", 0), 0u) << chunked;
    EXPECT_NE(chunked.find(R"("code":"length_required")"), std::string::npos) << chunked;
}

// 200 clients open a connection at the same instant: every one is served. (cpp-httplib 0.11.4 listens
// with a backlog of 5: without the server raising it, part of such a burst is dropped or reset.)
TEST(Http, ABurstOfNewConnectionsIsServed) {
    constexpr int kClients = 200;
    std::atomic<int> ready{0}, ok{0};
    std::atomic<bool> go{false};
    std::vector<std::string> failures(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i)
        clients.emplace_back([&, i] {
            auto c = main_client();
            ++ready;
            while (!go) std::this_thread::yield();
            auto r = c.Get("/healthz");
            if (r && r->status == 200)
                ++ok;
            else
                failures[i] = r ? std::to_string(r->status) : httplib::to_string(r.error());
        });
    while (ready < kClients) std::this_thread::yield();
    go = true;
    for (auto& t : clients) t.join();
    std::string first;
    for (const auto& f : failures)
        if (first.empty()) first = f;
    EXPECT_EQ(ok.load(), kClients) << "first failure: " << first;
}

TEST(Http, CorsPreflight) {
    auto c = main_client();
    auto r = c.Options("/api/chat", {{"Origin", "http://app.example"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(r->status, 204);
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
    EXPECT_NE(r->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
    r = c.Get("/healthz", {{"Origin", "http://evil.example"}});
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
    r = c.Get("/healthz", {{"Origin", "http://app.example"}});
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
}

// The chat page: static files from --web-root with a strict Content-Security-Policy, nosniff and
// revalidation; nothing outside the folder.
TEST(Web, ServesTheChatPageWithStrictHeaders) {
    auto c = main_client();
    auto r = c.Get("/");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(r->body.find("<script type=\"module\" src=\"app.js\"></script>"), std::string::npos);
    std::string csp = r->get_header_value("Content-Security-Policy");
    for (const char* directive : {"default-src 'none'", "script-src 'self'", "connect-src 'self'", "style-src 'self'",
                                  "frame-ancestors 'none'", "require-trusted-types-for 'script'"})
        EXPECT_NE(csp.find(directive), std::string::npos) << directive << " in " << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
    std::string etag = r->get_header_value("ETag");
    ASSERT_FALSE(etag.empty());
    auto again = c.Get("/", {{"If-None-Match", etag}});
    EXPECT_EQ(again->status, 304);
    EXPECT_TRUE(again->body.empty());
    EXPECT_EQ(c.Get("/index.html")->body, r->body);
    r = c.Get("/app.js");
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(c.Get("/style.css")->get_header_value("Content-Type"), "text/css; charset=utf-8");
    EXPECT_EQ(c.Get("/favicon.svg")->get_header_value("Content-Type"), "image/svg+xml");
    for (const char* path : {"/nothing.js", "/../README.md", "/%2e%2e/README.md", "/README.md", "/.hidden.js"}) {
        r = c.Get(path);
        EXPECT_EQ(r->status, 404) << path;
        EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    }
    EXPECT_EQ(c.Post("/", "{}", "application/json")->status, 405);
    // API responses are never sniffed either.
    EXPECT_EQ(c.Get("/healthz")->get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST(Web, MissingWebRootServesTheApiAndExplains) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("postgres"), "--web-root", "/nonexistent/web"});
    auto c = srv.client();
    auto r = c.Get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("--web-root"), std::string::npos) << r->body;
    EXPECT_EQ(c.Get("/readyz")->status, 200);
    EXPECT_NE(srv.log().find("chat page not served"), std::string::npos) << srv.log();
}

namespace {

json openai_chat(const std::string& question) {
    return {{"model", "pg_rag"}, {"messages", {{{"role", "user"}, {"content", question}}}}};
}

// The text of a streamed completion: the content deltas joined.
std::string streamed_text(const Streamed& s) {
    std::string text;
    for (const auto& e : s.events)
        if (e.data.is_object() && e.data.contains("choices") && !e.data["choices"].empty() &&
            e.data["choices"][0]["delta"].contains("content"))
            text += e.data["choices"][0]["delta"]["content"].get<std::string>();
    return text;
}

// What the fake provider last received on an endpoint (GET /last/ENDPOINT).
json fake_last(const std::string& endpoint) {
    httplib::Client f("127.0.0.1", kFakePort);
    auto r = f.Get("/last/" + endpoint);
    return r ? json::parse(r->body, nullptr, false) : json();
}

std::vector<float> decode_float32_base64(const std::string& b64) {
    static const std::string kAlpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes;
    unsigned acc = 0;
    int bits = 0;
    for (char ch : b64) {
        if (ch == '=') break;
        acc = (acc << 6) | static_cast<unsigned>(kAlpha.find(ch));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    std::vector<float> out(bytes.size() / 4);
    for (size_t i = 0; i < out.size(); ++i) {
        uint32_t u = 0;  // little-endian whatever this host is
        for (int b = 0; b < 4; ++b) u |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i * 4 + b])) << (8 * b);
        std::memcpy(&out[i], &u, 4);
    }
    return out;
}

}  // namespace

TEST(OpenAi, ModelsAndCompletions) {
    auto c = main_client();
    auto r = c.Get("/v1/models");
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(body_json(r)["object"], "list");
    EXPECT_EQ(body_json(r)["data"][0],
              json({{"id", "pg_rag"}, {"object", "model"}, {"created", 0}, {"owned_by", "pg_rag"}}));
    r = c.Get("/v1/models/pg_rag");
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(body_json(r)["id"], "pg_rag");
    r = c.Get("/v1/models/gpt-4o");
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(body_json(r)["error"]["code"], "model_not_found");
    json req = {{"model", "pg_rag"},
                {"messages",
                 {{{"role", "system"}, {"content", "be brief"}},
                  {{"role", "user"}, {"content", "How long do refunds take?"}}}}};
    r = c.Post("/v1/chat/completions", req.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json a = body_json(r);
    EXPECT_EQ(a["object"], "chat.completion");
    EXPECT_EQ(a["model"], "pg_rag");
    EXPECT_EQ(a["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
    EXPECT_EQ(a["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(a["choices"][0]["message"]["content"], "Refunds are processed within five business days. [1]");
    EXPECT_EQ(a["choices"][0]["finish_reason"], "stop");
    EXPECT_GT(a["usage"]["total_tokens"].get<int>(), 0);
    EXPECT_EQ(a["usage"]["total_tokens"],
              a["usage"]["prompt_tokens"].get<int>() + a["usage"]["completion_tokens"].get<int>());
    EXPECT_EQ(a["sources"][0]["title"], "Refund policy");
    EXPECT_EQ(a["sources"][0]["n"], 1);
    // Content parts are read as text; a missing model is pg_rag.
    r = c.Post("/v1/chat/completions",
               json{{"messages",
                     {{{"role", "user"},
                       {"content",
                        {{{"type", "text"}, {"text", "How long do refunds take?"}},
                         {{"type", "image_url"}, {"image_url", {{"url", "http://x/y.png"}}}}}}}}}}
                   .dump(),
               "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["choices"][0]["message"]["content"], a["choices"][0]["message"]["content"]);
    // Earlier messages are the conversation: the follow-up is made standalone for retrieval.
    json follow = {{"model", "pg_rag"},
                   {"messages",
                    {{{"role", "user"}, {"content", "How long does shipping to Europe take?"}},
                     {{"role", "assistant"}, {"content", "Seven to ten days. [1]"}},
                     {{"role", "user"}, {"content", "And express?"}}}}};
    r = c.Post("/v1/chat/completions", follow.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_NE(body_json(r)["choices"][0]["message"]["content"].get<std::string>().find("Express shipping"),
              std::string::npos)
        << r->body;
    // pg_rag's own options: k, mode and filter reach the search.
    json opts = openai_chat("How long do refunds take?");
    opts["pg_rag"] = {{"k", 1}, {"mode", "keyword"}};
    r = c.Post("/v1/chat/completions", opts.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["sources"].size(), 1u);
    opts["pg_rag"] = {{"filter", {{"lang", "fr"}}}};
    r = c.Post("/v1/chat/completions", opts.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["sources"].size(), 0u);
}

TEST(OpenAi, UnknownModelIs404ModelNotFound) {
    auto c = main_client();
    json req = openai_chat("How long do refunds take?");
    req["model"] = "gpt-4o";
    for (const char* path : {"/v1/chat/completions", "/v1/embeddings"}) {
        json body = std::string(path) == "/v1/embeddings" ? json{{"model", "gpt-4o"}, {"input", "x"}} : req;
        auto r = c.Post(path, body.dump(), "application/json");
        ASSERT_EQ(r->status, 404) << path;
        json e = body_json(r)["error"];
        EXPECT_EQ(e["code"], "model_not_found") << path;
        EXPECT_EQ(e["type"], "invalid_request_error");
        EXPECT_TRUE(e.contains("param"));
        EXPECT_NE(e["message"].get<std::string>().find("gpt-4o"), std::string::npos);
    }
    req["model"] = 4;
    EXPECT_EQ(c.Post("/v1/chat/completions", req.dump(), "application/json")->status, 400);
}

TEST(OpenAi, BadCompletionRequestsAre400InOpenAisShape) {
    auto c = main_client();
    const std::string q = R"("messages": [{"role": "user", "content": "How long do refunds take?"}])";
    for (const std::string& body :
         std::vector<std::string>{R"({"model": "pg_rag", "messages": []})",
                                  R"({"model": "pg_rag"})",
                                  R"({"messages": "hi"})",
                                  R"({"messages": [{"content": "q"}]})",
                                  R"({"messages": [{"role": 1, "content": "q"}]})",
                                  R"({"messages": [{"role": "tool", "content": "q"}]})",
                                  R"({"messages": [{"role": "user", "content": 5}]})",
                                  R"({"messages": [{"role": "user", "content": [{"text": "q"}]}]})",
                                  R"({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]})",
                                  R"({"messages": [{"role": "assistant", "content": "hi"}]})",
                                  R"({"messages": [{"role": "user", "content": "  "}]})",
                                  R"({"messages": [{"role": "user"}]})",
                                  "{" + q + R"(, "stream": "yes"})",
                                  "{" + q + R"(, "stream_options": 5})",
                                  "{" + q + R"(, "stream": true, "stream_options": {"include_usage": 1}})",
                                  "{" + q + R"(, "max_tokens": 0})",
                                  "{" + q + R"(, "max_tokens": "5"})",
                                  "{" + q + R"(, "max_tokens": 2.5})",
                                  "{" + q + R"(, "max_completion_tokens": 100001})",
                                  "{" + q + R"(, "temperature": 3})",
                                  "{" + q + R"(, "temperature": "hot"})",
                                  "{" + q + R"(, "n": 2})",
                                  "{" + q + R"(, "pg_rag": 5})",
                                  "{" + q + R"(, "pg_rag": {"apend_sources": true}})",
                                  "{" + q + R"(, "pg_rag": {"append_sources": "yes"}})",
                                  "{" + q + R"(, "pg_rag": {"k": 0}})",
                                  "{" + q + R"(, "pg_rag": {"k": 51}})",
                                  "{" + q + R"(, "pg_rag": {"mode": "psychic"}})",
                                  "{" + q + R"(, "pg_rag": {"filter": "lang"}})",
                                  "[1]",
                                  "{not json"}) {
        auto r = c.Post("/v1/chat/completions", body, "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << body << " -> " << r->body;
        json e = body_json(r)["error"];
        EXPECT_EQ(e["type"], "invalid_request_error") << body;
        EXPECT_TRUE(e.contains("param") && e.contains("code")) << body;
        EXPECT_FALSE(e["message"].get<std::string>().empty()) << body;
    }
    // Fields of OpenAI's that pg_rag does not use are ignored, as front ends send many.
    auto r = c.Post("/v1/chat/completions",
                    "{" + q + R"(, "top_p": 0.9, "user": "u1", "n": 1, "presence_penalty": 0, "seed": 3})",
                    "application/json");
    EXPECT_EQ(r->status, 200) << r->body;
}

TEST(OpenAi, StreamedCompletionWithUsage) {
    auto c = main_client();
    json req = openai_chat("How long do refunds take and can digital goods be refunded?");
    req["stream"] = true;
    req["stream_options"] = {{"include_usage", true}};
    auto s = post_stream(c, "/v1/chat/completions", req);
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(s.content_type, "text/event-stream");
    ASSERT_GE(s.events.size(), 5u);
    EXPECT_EQ(s.events.back().data, "[DONE]");
    const json& first = s.events.front().data;
    EXPECT_EQ(first["object"], "chat.completion.chunk");
    EXPECT_EQ(first["model"], "pg_rag");
    EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(first["sources"][0]["n"], 1);
    // The usage chunk: choices empty, usage set, before [DONE]; every other chunk has "usage": null.
    const json& usage = s.events[s.events.size() - 2].data;
    EXPECT_TRUE(usage["choices"].empty());
    EXPECT_GT(usage["usage"]["completion_tokens"].get<int>(), 0);
    EXPECT_EQ(usage["usage"]["total_tokens"],
              usage["usage"]["prompt_tokens"].get<int>() + usage["usage"]["completion_tokens"].get<int>());
    for (size_t i = 0; i + 2 < s.events.size(); ++i) {
        EXPECT_TRUE(s.events[i].data.contains("usage") && s.events[i].data["usage"].is_null()) << i;
        EXPECT_EQ(s.events[i].data["id"], first["id"]) << "one id for the whole completion";
    }
    const json& stop = s.events[s.events.size() - 3].data;
    EXPECT_EQ(stop["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(
        streamed_text(s),
        "Refunds are processed within five business days. [1] Digital goods cannot be refunded after download. [1]");
    EXPECT_GE(s.events.size(), 6u) << "the extractive answer streams sentence by sentence";
    // Without include_usage there is no usage chunk and no usage member.
    req.erase("stream_options");
    s = post_stream(c, "/v1/chat/completions", req);
    ASSERT_GE(s.events.size(), 3u);
    EXPECT_EQ(s.events[s.events.size() - 2].data["choices"][0]["finish_reason"], "stop");
    EXPECT_FALSE(s.events.front().data.contains("usage"));
}

TEST(OpenAi, AppendSourcesByRequestAndByServerOption) {
    auto c = main_client();
    const std::string answer = "Refunds are processed within five business days. [1]";
    const std::string footer = "\n\nSources:\n- [1] Refund policy (kb/refunds)\n";
    json req = openai_chat("How long do refunds take?");
    req["pg_rag"] = {{"append_sources", true}};
    auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["choices"][0]["message"]["content"], answer + footer);
    req["stream"] = true;
    auto s = post_stream(c, "/v1/chat/completions", req);
    EXPECT_EQ(streamed_text(s), answer + footer);
    EXPECT_EQ(s.events[s.events.size() - 3].data["choices"][0]["delta"]["content"], footer) << "the list comes last";
    // --append-sources on makes it the default; a request may still turn it off.
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("postgres"), "--append-sources", "on"});
    auto c2 = srv.client();
    req = openai_chat("How long do refunds take?");
    r = c2.Post("/v1/chat/completions", req.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["choices"][0]["message"]["content"], answer + footer);
    req["pg_rag"] = {{"append_sources", false}};
    r = c2.Post("/v1/chat/completions", req.dump(), "application/json");
    EXPECT_EQ(body_json(r)["choices"][0]["message"]["content"], answer);
    // An answer citing nothing gets no list.
    req = openai_chat("How long do refunds take?");
    req["pg_rag"] = {{"filter", {{"lang", "fr"}}}};
    r = c2.Post("/v1/chat/completions", req.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["choices"][0]["message"]["content"].get<std::string>().find("Sources:"), std::string::npos);
    srv.stop();
    int st = std::system((kBin + " --append-sources maybe 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(st), 2);
}

// max_tokens (or max_completion_tokens, which wins) and temperature reach the provider (fake Ollama).
TEST(OpenAi, MaxTokensAndTemperatureReachTheProvider) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_ollama")});
    auto c = srv.client();
    json req = openai_chat("How long do refunds take?");
    req["max_tokens"] = 42;
    req["temperature"] = 0.25;
    auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["choices"][0]["message"]["content"],
              "ollama says: Refunds are processed within five business days. [1]");
    EXPECT_EQ(body_json(r)["usage"]["prompt_tokens"], 90);  // the provider's own counts
    EXPECT_EQ(body_json(r)["usage"]["completion_tokens"], 9);
    json sent = fake_last("ollama-chat");
    EXPECT_EQ(sent["options"]["num_predict"], 42) << sent.dump();
    EXPECT_EQ(sent["options"]["temperature"], 0.25);
    req["max_completion_tokens"] = 17;
    req["stream"] = true;
    auto s = post_stream(c, "/v1/chat/completions", req);
    EXPECT_EQ(s.events.back().data, "[DONE]");
    sent = fake_last("ollama-chat");
    EXPECT_EQ(sent["options"]["num_predict"], 17) << sent.dump();
}

// A provider that fails after sending text (fake Ollama's error line): the stream ends with an error
// object and [DONE]; without streaming it is a 502 in OpenAI's shape.
TEST(OpenAi, ProviderFailureMidStreamIsAnErrorChunkThenDone) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_midstream")});
    auto c = srv.client();
    json req = openai_chat("How long do refunds take?");
    req["stream"] = true;
    auto s = post_stream(c, "/v1/chat/completions", req);
    EXPECT_EQ(s.status, 200);
    ASSERT_GE(s.events.size(), 4u);
    EXPECT_EQ(streamed_text(s), "ollama says: ") << "the text before the failure was streamed";
    EXPECT_EQ(s.events.back().data, "[DONE]");
    json err = s.events[s.events.size() - 2].data;
    ASSERT_TRUE(err.contains("error")) << err;
    EXPECT_EQ(err["error"]["type"], "provider_error");
    EXPECT_NE(err["error"]["message"].get<std::string>().find("model runner has unexpectedly stopped"),
              std::string::npos)
        << err;
    for (const auto& e : s.events)
        if (e.data.is_object() && e.data.contains("choices") && !e.data["choices"].empty()) {
            EXPECT_TRUE(e.data["choices"][0]["finish_reason"].is_null()) << "a failed answer claims no finish";
        }
    req.erase("stream");
    auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
    EXPECT_EQ(r->status, 502) << r->body;
    EXPECT_EQ(body_json(r)["error"]["type"], "provider_error");
    EXPECT_TRUE(body_json(r)["error"].contains("param"));
    EXPECT_EQ(c.Get("/healthz")->status, 200);
}

TEST(OpenAi, EmbeddingsFloatAndBase64EqualRagEmbed) {
    auto c = main_client();
    auto r = c.Post("/v1/embeddings", json{{"model", "pg_rag"}, {"input", "refund policy"}}.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json one = body_json(r);
    EXPECT_EQ(one["object"], "list");
    EXPECT_EQ(one["model"], "pg_rag");
    EXPECT_GT(one["usage"]["prompt_tokens"].get<int>(), 0);
    EXPECT_EQ(one["usage"]["total_tokens"], one["usage"]["prompt_tokens"]);
    ASSERT_EQ(one["data"].size(), 1u);
    EXPECT_EQ(one["data"][0]["object"], "embedding");
    std::vector<float> floats = one["data"][0]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(floats.size(), 384u);
    // Exactly rag_embed's values (real[] text reads back as the same floats).
    std::string sql = psql_value("SELECT rag_embed('refund policy')::real[]");
    ASSERT_GE(sql.size(), 2u);
    std::vector<float> from_sql;
    std::stringstream parts(sql.substr(1, sql.size() - 2));
    for (std::string item; std::getline(parts, item, ',');) from_sql.push_back(std::stof(item));
    EXPECT_EQ(floats, from_sql);
    r = c.Post("/v1/embeddings", json{{"input", {"refund policy", "shipping"}}, {"encoding_format", "base64"}}.dump(),
               "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json two = body_json(r);
    ASSERT_EQ(two["data"].size(), 2u);
    EXPECT_EQ(two["data"][0]["index"], 0);
    EXPECT_EQ(two["data"][1]["index"], 1);
    // Standard base64 of little-endian float32: decodes to exactly the float answer.
    EXPECT_EQ(decode_float32_base64(two["data"][0]["embedding"]), floats);
    EXPECT_NE(decode_float32_base64(two["data"][1]["embedding"]), floats);
}

TEST(OpenAi, EmbeddingDimensionsShortenAndRenormalise) {
    auto c = main_client();
    auto full = body_json(c.Post("/v1/embeddings", json{{"input", "refund policy"}}.dump(),
                                 "application/json"))["data"][0]["embedding"]
                    .get<std::vector<float>>();
    auto r = c.Post("/v1/embeddings", json{{"input", "refund policy"}, {"dimensions", 64}}.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    std::vector<float> short64 = body_json(r)["data"][0]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(short64.size(), 64u);
    double norm = 0, head = 0;
    for (size_t i = 0; i < 64; ++i) {
        norm += static_cast<double>(short64[i]) * short64[i];
        head += static_cast<double>(full[i]) * full[i];
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);
    for (size_t i = 0; i < 64; ++i) EXPECT_NEAR(short64[i], full[i] / std::sqrt(head), 1e-6) << i;
    r = c.Post("/v1/embeddings",
               json{{"input", "refund policy"}, {"dimensions", 64}, {"encoding_format", "base64"}}.dump(),
               "application/json");
    EXPECT_EQ(decode_float32_base64(body_json(r)["data"][0]["embedding"]), short64);
    r = c.Post("/v1/embeddings", json{{"input", "refund policy"}, {"dimensions", 384}}.dump(), "application/json");
    EXPECT_EQ(body_json(r)["data"][0]["embedding"].get<std::vector<float>>().size(), 384u);
    r = c.Post("/v1/embeddings", json{{"input", "refund policy"}, {"dimensions", 385}}.dump(), "application/json");
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("at most 384"), std::string::npos) << r->body;
}

TEST(OpenAi, BadEmbeddingRequestsAre400) {
    auto c = main_client();
    json many = json::array();
    for (int i = 0; i < 2049; ++i) many.push_back("x");
    for (const std::string& body : std::vector<std::string>{
             R"({})", R"({"input": null})", R"({"input": 5})", R"({"input": []})", R"({"input": [1, 2]})",
             R"({"input": [[1, 2], [3]]})", R"({"input": ["a", 5]})", R"({"input": ""})", R"({"input": ["a", ""]})",
             R"({"input": "x", "dimensions": 0})", R"({"input": "x", "dimensions": -3})",
             R"({"input": "x", "dimensions": "64"})", R"({"input": "x", "dimensions": 6.5})",
             R"({"input": "x", "dimensions": 70000})", R"({"input": "x", "encoding_format": "hex"})",
             R"({"input": "x", "encoding_format": 5})", json{{"input", many}}.dump(), "[]"}) {
        auto r = c.Post("/v1/embeddings", body, "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << body.substr(0, 80) << " -> " << r->body;
        json e = body_json(r)["error"];
        EXPECT_EQ(e["type"], "invalid_request_error");
        EXPECT_TRUE(e.contains("param"));
    }
    auto r = c.Post("/v1/embeddings", R"({"input": [[1, 2]]})", "application/json");
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("token arrays are not supported"),
              std::string::npos);
}

TEST(Metrics, RequestsLatencyAndPool) {
    auto c = main_client();
    c.Get("/api/search?q=refund");
    auto r = c.Get("/metrics");
    ASSERT_EQ(r->status, 200);
    EXPECT_NE(r->get_header_value("Content-Type").find("text/plain"), std::string::npos);
    const std::string& m = r->body;
    EXPECT_NE(m.find(R"(pgrag_http_requests_total{route="/api/search",method="GET",status="200"})"), std::string::npos)
        << m;
    EXPECT_NE(m.find(R"(pgrag_http_request_duration_seconds_bucket{route="/api/search",le="+Inf"})"),
              std::string::npos);
    EXPECT_NE(m.find("pgrag_pool_in_use "), std::string::npos);
    EXPECT_NE(m.find("pgrag_pool_waiting "), std::string::npos);
    EXPECT_NE(m.find("pgrag_time_to_first_token_seconds_count"), std::string::npos);
}

// A pool of one connection: a slow answer (fake Ollama answering after 3 s, non-streaming) does not hold
// it while the model generates, so a search meanwhile succeeds; a query that does hold it (a search
// blocked by a lock) makes the next request wait --pool-wait, then get 503 with Retry-After.
TEST(Pool, ExhaustedPoolIs503WithRetryAfter) {
    ServerProcess srv(kPortBase + 2,
                      {"--database-url", conninfo("srv_slow"), "--pool-size", "1", "--pool-wait", "0.5"});
    std::atomic<int> slow_status{0};
    std::thread slow([&] {
        auto c = srv.client();
        auto r =
            c.Post("/api/chat", json{{"question", "How long do refunds take, slowly?"}}.dump(), "application/json");
        slow_status = r ? r->status : -1;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    auto c = srv.client();
    EXPECT_EQ(c.Get("/api/search?q=refund")->status, 200) << "the generating answer held the only connection";
    slow.join();
    EXPECT_EQ(slow_status, 200);

    std::thread locker(
        [] { psql_count("BEGIN; LOCK TABLE rag_chunks IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::atomic<int> blocked_status{0};
    std::thread blocked([&] {
        auto b = srv.client();
        auto r = b.Get("/api/search?q=refund&mode=keyword");
        blocked_status = r ? r->status : -1;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto r = c.Get("/api/search?q=refund");
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    EXPECT_EQ(body_json(r)["error"]["code"], "pool_exhausted");
    locker.join();
    blocked.join();
    EXPECT_EQ(blocked_status, 200);
    EXPECT_EQ(c.Get("/api/search?q=refund")->status, 200);
}

// --request-timeout bounds a generation: 504 without streaming, an error event in a stream (and every
// query, through statement_timeout).
TEST(Pool, RequestTimeoutIs504) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_slow"), "--request-timeout", "1"});
    auto c = srv.client();
    auto t0 = Clock::now();
    // A question of its own: an answer cached by another test would need no provider.
    auto r = c.Post("/api/chat", json{{"question", "How long do refunds take, timeout?"}}.dump(), "application/json");
    EXPECT_EQ(r->status, 504) << r->body;
    EXPECT_EQ(body_json(r)["error"]["type"], "timeout_error");
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.9) << "the provider's 3 s answer was awaited";
    auto s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}});
    ASSERT_EQ(s.events.back().event, "error");
    EXPECT_EQ(s.events.back().data["type"], "timeout_error");
    EXPECT_EQ(c.Get("/readyz")->status, 200);
}

TEST(Pool, PostgresRestartIs503ThenRecovers) {
    ASSERT_FALSE(kPgData.empty());
    auto c = main_client();
    // Several connections in the pool: concurrent requests until the server holds at least three.
    for (int round = 0; round < 50 && psql_count("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                                 "'pg_rag_server'") < 3;
         ++round) {
        std::vector<std::thread> burst;
        for (int t = 0; t < 8; ++t)
            burst.emplace_back([] {
                auto cc = main_client();
                cc.Get("/api/search?q=refund%20days%20shipping");
            });
        for (auto& t : burst) t.join();
    }
    ASSERT_GE(psql_count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_rag_server'"), 3);
    ASSERT_EQ(std::system(("bash " + kRoot + "/docker/pg-cluster.sh stop " + kPgData).c_str()), 0);
    auto r = c.Get("/api/search?q=refund");
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(body_json(r)["error"]["code"], "database_unavailable");
    EXPECT_EQ(c.Get("/readyz")->status, 503);
    ASSERT_EQ(std::system(("bash " + kRoot + "/docker/pg-cluster.sh start " + kPgData + " " + kPgPort).c_str()), 0);
    // Every later request succeeds: dead idle connections are replaced before their first query counts.
    for (int i = 0; i < 6; ++i) EXPECT_EQ(c.Get("/api/search?q=refund")->status, 200) << i;
    EXPECT_EQ(c.Get("/readyz")->status, 200);
}

TEST(Permissions, ARoleWithoutRightsGets403) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_noaccess")});
    auto c = srv.client();
    auto r = c.Get("/api/documents");
    EXPECT_EQ(r->status, 403) << r->body;
    EXPECT_EQ(body_json(r)["error"]["code"], "42501");
}

TEST(Lifecycle, SigtermLetsAStreamFinishThenExitsZero) {
    ServerProcess srv(kPortBase + 2, {"--database-url", conninfo("srv_stream")});
    std::atomic<bool> done{false};
    std::thread streamer([&] {
        auto c = srv.client();
        auto s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}});
        done = !s.events.empty() && s.events.back().event == "done";
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the stream is under way
    srv.terminate();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto refused = srv.client().Get("/healthz");
    EXPECT_FALSE(refused) << "accepted a connection after SIGTERM";
    streamer.join();
    EXPECT_TRUE(done) << "the stream in flight did not finish";
    EXPECT_EQ(srv.wait(), 0);
}

TEST(Lifecycle, HelpAndNonLoopbackRefused) {
    std::string out;
    FILE* p = popen((kBin + " --help").c_str(), "r");
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    EXPECT_EQ(pclose(p), 0);
    for (const char* flag : {"--database-url",
                             "--listen",
                             "--pool-size",
                             "--threads",
                             "--cors-origins",
                             "--body-limit",
                             "--read-timeout",
                             "--write-timeout",
                             "--request-timeout",
                             "PGRAG_DATABASE_URL",
                             "PGRAG_LISTEN",
                             "--question-workers",
                             "--question-lease",
                             "--question-retries",
                             "--question-retry-delay",
                             "--question-retention",
                             "--question-poll",
                             "--session-ttl",
                             "--maintenance-interval",
                             "PGRAG_SESSION_TTL",
                             "--web-root",
                             "PGRAG_WEB_ROOT",
                             "--auth",
                             "--allow-unauthenticated",
                             "--rate-limit",
                             "--max-streams-per-user",
                             "--key-rate-limit",
                             "--max-streams-per-key",
                             "--failed-sign-ins",
                             "--append-sources"})
        EXPECT_NE(out.find(flag), std::string::npos) << flag;
    // Without sign-in, a non-loopback address is refused (the default there is --auth required: auth_test.cpp).
    int st =
        std::system((kBin + " --auth none --listen 0.0.0.0:" + std::to_string(kPortBase + 4) + " 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(st), 2);
    st = std::system((kBin + " --pool-size zero 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(st), 2);
    for (const char* bad : {"--session-ttl 5x", "--question-lease 0", "--question-retention -1d", "--question-poll inf",
                            "--key-rate-limit 5/week", "--max-streams-per-key -1"}) {
        st = std::system((kBin + " " + bad + " 2>/dev/null").c_str());
        EXPECT_EQ(WEXITSTATUS(st), 2) << bad;
    }
}
