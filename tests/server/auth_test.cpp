// Users over HTTP: API keys (valid, unknown, malformed, expired, revoked), the auth modes, scopes, rate
// and stream limits, the slowdown of failed sign-ins, usage events and their summary, and identities on
// pooled connections. The servers log in as srv_auth, a role that is neither superuser nor owner and
// holds the README's grants (tests/server-tests.sh).
#include <atomic>

#include "harness.hpp"
#include "pool.hpp"

using namespace pgrag_test;

namespace {

const int kAuthPort = kPortBase + 3;

std::vector<std::string> auth_args(std::vector<std::string> extra = {}, const std::string& role = "srv_auth") {
    std::vector<std::string> args = {"--database-url", conninfo(role), "--auth", "required"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// A new key of user (made as postgres, through SQL); extra: more arguments of rag_create_api_key.
std::string make_key(const std::string& user, const std::string& scopes = "{read,write}",
                     const std::string& extra = "") {
    std::string key = psql_value("SELECT rag_create_api_key('test', '" + user + "', '" + scopes + "'" + extra + ")");
    EXPECT_EQ(key.size(), 82u) << key;
    return key;
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

int status_of(const httplib::Result& r) { return r ? r->status : -1; }

std::string error_code(const httplib::Result& r) {
    if (!r) return "no response";
    json j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : r->body;
}

json upload(httplib::Client& c, const std::string& key, const json& doc, int expect = 201) {
    auto r = c.Post("/api/documents", bearer(key), doc.dump(), "application/json");
    EXPECT_EQ(status_of(r), expect) << (r ? r->body : "");
    return r ? json::parse(r->body, nullptr, false) : json();
}

}  // namespace

// Off loopback, sign-in is required by default; --auth none is refused there unless explicitly allowed.
// Health, readiness and metrics stay open.
TEST(Auth, RequiredOffLoopbackAndOpenRoutes) {
    {
        ServerProcess srv(kAuthPort,
                          auth_args({"--auth", "required", "--listen", "0.0.0.0:" + std::to_string(kAuthPort)}));
        auto c = srv.client();
        auto r = c.Get("/api/search?q=refunds");
        EXPECT_EQ(status_of(r), 401);
        EXPECT_EQ(error_code(r), "missing_credentials");
        EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"pg_rag\"");
        EXPECT_EQ(body_json(r)["error"]["type"], "authentication_error");
        for (const char* open : {"/healthz", "/readyz", "/metrics"}) EXPECT_EQ(status_of(c.Get(open)), 200) << open;
        // OpenAI's error shape under /v1/.
        r = c.Get("/v1/models");
        EXPECT_EQ(status_of(r), 401);
        EXPECT_TRUE(body_json(r)["error"].contains("param"));
    }
    {
        // The default there is required, not none.
        ServerProcess srv(kAuthPort,
                          {"--database-url", conninfo("srv_auth"), "--listen", "0.0.0.0:" + std::to_string(kAuthPort)});
        EXPECT_EQ(status_of(srv.client().Get("/api/documents")), 401);
    }
    int st =
        std::system((kBin + " --auth none --listen 0.0.0.0:" + std::to_string(kAuthPort) + " 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(st), 2);
    ServerProcess open(kAuthPort, {"--database-url", conninfo("srv_auth"), "--auth", "none", "--allow-unauthenticated",
                                   "--listen", "0.0.0.0:" + std::to_string(kAuthPort)});
    EXPECT_EQ(status_of(open.client().Get("/api/search?q=refunds")), 200);
}

TEST(Auth, ApiKeysValidUnknownMalformedExpired) {
    ServerProcess srv(kAuthPort, auth_args({"--failed-sign-ins", "100"}));
    auto c = srv.client();
    std::string key = make_key("alice", "{read}");
    auto r = c.Get("/api/search?q=refunds", bearer(key));
    EXPECT_EQ(status_of(r), 200) << (r ? r->body : "");
    r = c.Get("/api/search?q=refunds", {{"Authorization", "bearer " + key}});  // the scheme is case-insensitive
    EXPECT_EQ(status_of(r), 200);
    // A key of the right shape that no one made; a character changed.
    std::string unknown = key;
    unknown.back() = unknown.back() == '0' ? '1' : '0';
    r = c.Get("/api/search?q=refunds", bearer(unknown));
    EXPECT_EQ(status_of(r), 401);
    EXPECT_EQ(error_code(r), "unknown_key");
    EXPECT_NE(r->get_header_value("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
    EXPECT_EQ(body_json(r)["error"]["message"], "unknown API key");
    for (const std::string& bad :
         {std::string("prag_123"), "prag_" + std::string(12, 'A') + "_" + std::string(64, '0')}) {
        r = c.Get("/api/search?q=refunds", bearer(bad));
        EXPECT_EQ(status_of(r), 401) << bad;
        EXPECT_EQ(error_code(r), "malformed_credentials") << bad;
    }
    r = c.Get("/api/search?q=refunds", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}});
    EXPECT_EQ(error_code(r), "malformed_credentials");
    r = c.Get("/api/search?q=refunds", {{"Authorization", "Bearer"}});
    EXPECT_EQ(error_code(r), "malformed_credentials");
    // Not a pg_rag key, and no JWT verification configured.
    r = c.Get("/api/search?q=refunds", bearer("sk-not-ours"));
    EXPECT_EQ(status_of(r), 401);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("no JWT verification"), std::string::npos);
    // Expired: the database says so, and so does the server.
    std::string expired = make_key("alice", "{read}", ", now() + interval '1 hour'");
    psql_value("UPDATE rag_api_keys SET expires_at = now() - interval '1 second' WHERE prefix = '" +
               expired.substr(5, 12) + "'");
    r = c.Get("/api/search?q=refunds", bearer(expired));
    EXPECT_EQ(status_of(r), 401);
    EXPECT_EQ(error_code(r), "expired_key");
    // The key itself is never logged.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(srv.log().find(key.substr(18)), std::string::npos);
}

// A revoked key stops working within seconds (the server reuses a verification for at most 5 s).
TEST(Auth, RevokedKeyStopsWithinSeconds) {
    ServerProcess srv(kAuthPort, auth_args());
    auto c = srv.client();
    std::string key = make_key("carol");
    ASSERT_EQ(status_of(c.Get("/api/documents", bearer(key))), 200);
    ASSERT_EQ(
        psql_value("SELECT rag_revoke_api_key(id) FROM rag_api_keys() WHERE prefix = '" + key.substr(5, 12) + "'"),
        "t");
    auto revoked_at = Clock::now();
    std::string code;
    while (Clock::now() - revoked_at < std::chrono::seconds(10)) {
        auto r = c.Get("/api/documents", bearer(key));
        if (status_of(r) == 401) {
            code = error_code(r);
            break;
        }
        ASSERT_EQ(status_of(r), 200);
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_EQ(code, "revoked_key") << "the revoked key still worked after 10 s";
    EXPECT_LE(std::chrono::duration<double>(Clock::now() - revoked_at).count(), 7.0);
}

// read: search and chat; write: upload and delete; admin: shared documents, keys, everyone's usage.
TEST(Auth, ScopesAre403AndAdminManagesKeys) {
    ServerProcess srv(kAuthPort, auth_args());
    auto c = srv.client();
    std::string reader = make_key("rita", "{read}"), writer = make_key("will", "{read,write}"),
                admin = make_key("ada", "{read,write,admin}");
    json doc = {{"title", "Scopes"}, {"content", "The scope test document mentions quokkas."}};
    auto r = c.Post("/api/documents", bearer(reader), doc.dump(), "application/json");
    EXPECT_EQ(status_of(r), 403);
    EXPECT_EQ(error_code(r), "insufficient_scope");
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("\"write\""), std::string::npos) << r->body;
    EXPECT_EQ(body_json(r)["error"]["type"], "permission_error");
    EXPECT_NE(r->get_header_value("WWW-Authenticate").find("insufficient_scope"), std::string::npos);
    EXPECT_EQ(status_of(c.Get("/api/search?q=quokkas", bearer(reader))), 200);
    EXPECT_EQ(status_of(c.Post("/api/chat", bearer(reader), R"({"question": "quokkas?"})", "application/json")), 200);
    json made = upload(c, writer, doc);
    std::string id = std::to_string(made.value("id", 0L));
    EXPECT_EQ(status_of(c.Delete("/api/documents/" + id, bearer(reader))), 403);
    // Shared documents are for admins.
    doc["shared"] = true;
    r = c.Post("/api/documents", bearer(writer), doc.dump(), "application/json");
    EXPECT_EQ(status_of(r), 403);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("shared"), std::string::npos);
    r = c.Post(
        "/api/documents", bearer(writer),
        httplib::MultipartFormDataItems{{"file", "quokka notes", "q.txt", "text/plain"}, {"shared", "true", "", ""}});
    EXPECT_EQ(status_of(r), 403);
    json shared = upload(c, admin, doc);
    std::string shared_path = "/api/documents/" + std::to_string(shared.value("id", 0L));
    // Everyone reads a shared document (a reader of another user); only an admin deletes it.
    EXPECT_EQ(status_of(c.Get(shared_path, bearer(reader))), 200);
    EXPECT_EQ(status_of(c.Delete(shared_path, bearer(writer))), 404);
    // An admin's upload without "shared" is their own, not the shared knowledge base's.
    doc.erase("shared");
    json own = upload(c, admin, doc);
    EXPECT_EQ(status_of(c.Get("/api/documents/" + std::to_string(own.value("id", 0L)), bearer(reader))), 404);
    EXPECT_EQ(status_of(c.Delete("/api/documents/" + std::to_string(own.value("id", 0L)), bearer(admin))), 200);
    EXPECT_EQ(status_of(c.Delete(shared_path, bearer(admin))), 200);
    EXPECT_EQ(status_of(c.Delete("/api/documents/" + id, bearer(writer))), 200);
    // Keys over HTTP: admin only; the key is shown once, hashes never.
    EXPECT_EQ(status_of(c.Get("/api/keys", bearer(writer))), 403);
    r = c.Post("/api/keys", bearer(admin), R"({"name": "made over http", "user_id": "hugo", "scopes": ["read"]})",
               "application/json");
    ASSERT_EQ(status_of(r), 201) << r->body;
    json key = body_json(r);
    EXPECT_EQ(key["user_id"], "hugo");
    EXPECT_EQ(key["scopes"], json::array({"read"}));
    EXPECT_FALSE(key.contains("key_hash"));
    std::string hugo = key["key"];
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(hugo))), 200);
    r = c.Get("/api/keys", bearer(admin));
    ASSERT_EQ(status_of(r), 200);
    EXPECT_EQ(r->body.find("key_hash"), std::string::npos);
    EXPECT_EQ(r->body.find(hugo.substr(18)), std::string::npos);
    EXPECT_GE(body_json(r)["keys"].size(), 4u);
    EXPECT_EQ(status_of(c.Post("/api/keys", bearer(admin), R"({"name": "x", "user_id": "y", "scopes": ["root"]})",
                               "application/json")),
              400);
    std::string hugo_id = std::to_string(key["id"].get<long>());
    EXPECT_EQ(status_of(c.Delete("/api/keys/" + hugo_id, bearer(admin))), 200);
    EXPECT_EQ(status_of(c.Delete("/api/keys/" + hugo_id, bearer(admin))), 404);
}

// Without required sign-in (loopback, the default there): no credentials is the local caller, a
// client's placeholder key is ignored, but a pg_rag key is checked.
TEST(Auth, NoneModeIgnoresForeignTokensButChecksKeys) {
    ServerProcess srv(kAuthPort, {"--database-url", conninfo("srv_auth")});
    auto c = srv.client();
    EXPECT_EQ(status_of(c.Get("/api/documents")), 200);
    EXPECT_EQ(status_of(c.Get("/v1/models", bearer("sk-placeholder-of-an-openai-client"))), 200);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer("prag_nope"))), 401);
    std::string key = make_key("nora", "{read}");
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(key))), 200);
    EXPECT_EQ(status_of(c.Post("/api/documents", bearer(key), R"({"title": "t", "content": "c"})", "application/json")),
              403);
}

TEST(Auth, RateLimitPerUserIs429WithRetryAfter) {
    ServerProcess srv(kAuthPort, auth_args({"--rate-limit", "3/min"}));
    auto c = srv.client();
    std::string a1 = make_key("rl-user"), a2 = make_key("rl-user"), other = make_key("rl-other");
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(a1))), 200);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(a2))), 200);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(a1))), 200);
    // The user's fourth request in a minute, whichever key it uses.
    auto r = c.Get("/api/documents", bearer(a2));
    EXPECT_EQ(status_of(r), 429);
    EXPECT_EQ(error_code(r), "rate_limited");
    EXPECT_EQ(body_json(r)["error"]["type"], "rate_limit_error");
    int retry = std::atoi(r->get_header_value("Retry-After").c_str());
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 20);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(other))), 200) << "another user has their own limit";
    EXPECT_EQ(status_of(c.Get("/healthz")), 200);
}

// --key-rate-limit: each API key has its own limit within its user's: one key used up, the user's other
// key still passes.
TEST(Auth, RateLimitPerKey) {
    ServerProcess srv(kAuthPort, auth_args({"--rate-limit", "100/min", "--key-rate-limit", "2/min"}));
    auto c = srv.client();
    std::string k1 = make_key("rk-user"), k2 = make_key("rk-user");
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(k1))), 200);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(k1))), 200);
    auto r = c.Get("/api/documents", bearer(k1));
    EXPECT_EQ(status_of(r), 429);
    EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("this API key"), std::string::npos) << r->body;
    EXPECT_GE(std::atoi(r->get_header_value("Retry-After").c_str()), 1);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(k2))), 200) << "the user's other key has its own limit";
}

// At most --max-streams-per-user streamed answers at once per user (a slow provider keeps one open).
TEST(Auth, ConcurrentStreamsPerUserAre429) {
    ServerProcess srv(kAuthPort, auth_args({"--max-streams-per-user", "1"}, "srv_auth_slow"));
    std::string key = make_key("streamer"), other = make_key("streamer-2");
    std::atomic<int> first_events{0};
    std::atomic<bool> first_done{false};
    std::thread first([&] {
        auto c = srv.client();
        auto s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}}, 0,
                             bearer(key), [&](const SseEvent&) { ++first_events; });
        first_done = !s.events.empty() && s.events.back().event == "done";
    });
    auto c = srv.client();
    // Until the first stream is under way.
    for (int i = 0; i < 200 && first_events == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GT(first_events, 0);
    auto second = post_stream(c, "/api/chat", {{"question", "And shipping?"}, {"stream", true}}, 0, bearer(key));
    EXPECT_EQ(second.status, 429);
    auto r = c.Post("/v1/chat/completions", bearer(key),
                    R"({"stream": true, "messages": [{"role": "user", "content": "Shipping?"}]})", "application/json");
    EXPECT_EQ(status_of(r), 429);
    EXPECT_EQ(error_code(r), "too_many_streams");
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    // Another user, and a non-streamed answer of the same user, are not held back.
    auto s = post_stream(c, "/api/chat", {{"question", "Shipping times?"}, {"stream", true}}, 2, bearer(other));
    EXPECT_EQ(s.status, 200);
    first.join();
    EXPECT_TRUE(first_done) << first_events;
    // The slot is free again once the stream ended.
    s = post_stream(c, "/api/chat", {{"question", "How long do refunds take?"}, {"stream", true}}, 2, bearer(key));
    EXPECT_EQ(s.status, 200);
}

// After --failed-sign-ins failures from an address, each further one makes it wait 1 s, 2 s, 4 s...:
// meanwhile even a valid key from there gets 429 with Retry-After. Failures are usage events.
TEST(Auth, FailedSignInsAreSlowedDown) {
    ServerProcess srv(kAuthPort, auth_args({"--failed-sign-ins", "2"}));
    auto c = srv.client();
    std::string good = make_key("slowed");
    std::string bad = "prag_" + std::string(12, '0') + "_" + std::string(64, '0');
    int before = psql_count("SELECT count(*) FROM rag_usage_events WHERE event = 'sign_in_failure'");
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(bad))), 401);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(bad))), 401);
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(good))), 200) << "two failures are free";
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(bad))), 401);  // the third: wait 1 s
    auto r = c.Get("/api/documents", bearer(good));
    EXPECT_EQ(status_of(r), 429);
    EXPECT_EQ(error_code(r), "too_many_failed_sign_ins");
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(bad))), 401);  // the fourth: wait 2 s
    r = c.Get("/api/documents", bearer(good));
    EXPECT_EQ(status_of(r), 429);
    EXPECT_EQ(r->get_header_value("Retry-After"), "2");
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    EXPECT_EQ(status_of(c.Get("/api/documents", bearer(good))), 200);
    // The four failures are recorded (429s are not attempts), with the address and the reason.
    int after = before;
    for (int i = 0; i < 40 && after < before + 4; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        after = psql_count("SELECT count(*) FROM rag_usage_events WHERE event = 'sign_in_failure'");
    }
    EXPECT_EQ(after, before + 4);
    EXPECT_EQ(psql_value("SELECT detail ->> 'address' || ' ' || (detail ->> 'reason') FROM rag_usage_events WHERE "
                         "event = 'sign_in_failure' ORDER BY id DESC LIMIT 1"),
              "127.0.0.1 unknown_key");
}

// Usage by day and user: a user sees their own, an admin everyone's.
TEST(Auth, UsageSummaryOwnAndAdmin) {
    ServerProcess srv(kAuthPort, auth_args());
    auto c = srv.client();
    std::string uma = make_key("uma"), admin = make_key("usage-admin", "{read,admin}");
    ASSERT_EQ(
        status_of(c.Post("/api/chat", bearer(uma), R"({"question": "How long do refunds take?"})", "application/json")),
        200);
    auto s =
        post_stream(c, "/api/chat", {{"question", "Can digital goods be refunded?"}, {"stream", true}}, 0, bearer(uma));
    ASSERT_EQ(s.events.back().event, "done");
    json doc = upload(c, uma, {{"title", "Usage"}, {"content", "A document to count."}});
    ASSERT_EQ(status_of(c.Delete("/api/documents/" + std::to_string(doc.value("id", 0L)), bearer(uma))), 200);

    auto r = c.Get("/api/usage", bearer(uma));
    ASSERT_EQ(status_of(r), 200) << r->body;
    json rows = body_json(r)["usage"];
    ASSERT_EQ(rows.size(), 1u) << r->body;
    EXPECT_EQ(rows[0]["user_id"], "uma");
    EXPECT_EQ(rows[0]["questions"], 2);
    EXPECT_EQ(rows[0]["answers"], 2);
    EXPECT_EQ(rows[0]["uploads"], 1);
    EXPECT_EQ(rows[0]["deletes"], 1);
    EXPECT_GT(rows[0]["completion_tokens"].get<long>(), 0);
    EXPECT_EQ(status_of(c.Get("/api/usage?user=usage-admin", bearer(uma))), 403);
    EXPECT_EQ(psql_value("SELECT provider || ' ' || (prompt_tokens > 0) || ' ' || (detail ->> 'streamed') FROM "
                         "rag_usage_events WHERE user_id = 'uma' AND event = 'answer' ORDER BY id LIMIT 1"),
              "extractive true false");
    // The admin sees everyone's, or one user's; a window without events is empty.
    r = c.Get("/api/usage", bearer(admin));
    ASSERT_EQ(status_of(r), 200);
    bool saw_uma = false;
    json everyone = body_json(r);
    for (const auto& row : everyone["usage"]) saw_uma = saw_uma || row["user_id"] == "uma";
    EXPECT_TRUE(saw_uma) << r->body;
    r = c.Get("/api/usage?user=uma", bearer(admin));
    EXPECT_EQ(body_json(r)["usage"].size(), 1u);
    r = c.Get("/api/usage?from=2000-01-01&to=2000-01-02", bearer(admin));
    EXPECT_EQ(body_json(r)["usage"].size(), 0u) << r->body;
    EXPECT_EQ(status_of(c.Get("/api/usage?from=yesterday-ish", bearer(admin))), 400);
}

// The pool sets the lease's identity before anything else: on one connection, alternating users never
// see each other's settings, and an anonymous lease has none.
TEST(Auth, IdentityNeverLeaksBetweenLeasesOfOneConnection) {
    using pgrag::server::DbIdentity;
    pgrag::server::Pool pool(conninfo("srv_auth"), 1, std::chrono::seconds(5), "");
    const char* kWho =
        "SELECT pg_backend_pid() || ' ' || current_setting('pg_rag.user_id', true) || '/' ||"
        " current_setting('pg_rag.tenant_id', true) || '/' || current_setting('pg_rag.user_admin', true)";
    std::string first = pool.acquire(DbIdentity{"alice", "acme", false}).value(kWho).value_or("");
    std::string pid = first.substr(0, first.find(' '));
    EXPECT_EQ(first, pid + " alice/acme/off");
    EXPECT_EQ(pool.acquire(DbIdentity{"bob", "", true}).value(kWho).value_or(""), pid + " bob//on");
    EXPECT_EQ(pool.acquire().value(kWho).value_or(""), pid + " //off");
    EXPECT_EQ(pool.acquire(DbIdentity{"alice", "acme", false}).value(kWho).value_or(""), pid + " alice/acme/off");
}

// End to end, two users and the shared knowledge base through every endpoint, on one pooled connection
// (so the search copies one user loaded serve the other): nothing of alice's reaches bob — documents,
// chunks in every search mode, answers and their sources (streamed, not, OpenAI's), sessions, queued
// questions, cached answers, usage — while both see the shared knowledge base.
TEST(Auth, TwoUsersSeeOnlyTheirOwnEverywhere) {
    ServerProcess srv(kAuthPort, auth_args({"--pool-size", "1", "--question-workers", "1", "--question-poll", "0.2"},
                                           "srv_auth_cache"));
    auto c = srv.client();
    std::string alice = make_key("e2e-alice"), bob = make_key("e2e-bob");
    json doc = upload(c, alice, {{"title", "Alice private"}, {"content", "The zebracorn launch is on May 5."}});
    std::string doc_path = "/api/documents/" + std::to_string(doc.value("id", 0L));
    auto titles = [](const json& rows) {
        std::string out;
        for (const auto& row : rows) out += row.value("title", "") + ";";
        return out;
    };
    auto ask = [&](const std::string& key, const json& body) {
        auto r = c.Post("/api/chat", bearer(key), body.dump(), "application/json");
        return r && r->status == 200 ? json::parse(r->body) : json{{"status", status_of(r)}};
    };
    for (int round = 0; round < 2; ++round) {
        for (const char* mode : {"keyword", "vector", "hybrid"}) {
            std::string q = std::string("/api/search?q=zebracorn%20launch&k=50&mode=") + mode;
            EXPECT_NE(titles(body_json(c.Get(q, bearer(alice)))["results"]).find("Alice private"), std::string::npos)
                << mode;
            EXPECT_EQ(titles(body_json(c.Get(q, bearer(bob)))["results"]).find("Alice private"), std::string::npos)
                << mode;
            // The shared knowledge base is everyone's.
            std::string shared = std::string("/api/search?q=refunds&k=3&mode=") + mode;
            EXPECT_NE(titles(body_json(c.Get(shared, bearer(bob)))["results"]).find("Refund policy"), std::string::npos)
                << mode;
        }
        EXPECT_EQ(titles(body_json(c.Get("/api/documents?limit=1000", bearer(bob)))["documents"]).find("Alice private"),
                  std::string::npos);
        EXPECT_NE(
            titles(body_json(c.Get("/api/documents?limit=1000", bearer(alice)))["documents"]).find("Alice private"),
            std::string::npos);
        EXPECT_EQ(status_of(c.Get(doc_path, bearer(bob))), 404);
        // Answers: bob's sources never include alice's document, whatever the path.
        json a = ask(bob, {{"question", "When is the zebracorn launch?"}});
        EXPECT_EQ(a.dump().find("May 5"), std::string::npos) << a.dump();
        auto s = post_stream(c, "/api/chat", {{"question", "When is the zebracorn launch?"}, {"stream", true}}, 0,
                             bearer(bob));
        for (const auto& e : s.events) EXPECT_EQ(e.data.dump().find("May 5"), std::string::npos) << e.data.dump();
        auto r = c.Post(
            "/v1/chat/completions", bearer(bob),
            json{{"model", "pg_rag"}, {"messages", {{{"role", "user"}, {"content", "When is the zebracorn launch?"}}}}}
                .dump(),
            "application/json");
        ASSERT_EQ(status_of(r), 200);
        EXPECT_EQ(r->body.find("May 5"), std::string::npos) << r->body;
    }
    // The answer cache: alice's answer is cached for her; bob asking the same (a first time) gets his own.
    const json launch = {{"question", "What is the date of the zebracorn launch?"}};
    json first = ask(alice, launch);
    EXPECT_NE(first.dump().find("May 5"), std::string::npos) << first.dump();
    EXPECT_EQ(ask(alice, launch).value("cached", false), true);
    json bobs = ask(bob, launch);
    EXPECT_EQ(bobs.value("cached", true), false) << bobs.dump();
    EXPECT_EQ(bobs.dump().find("May 5"), std::string::npos) << bobs.dump();
    EXPECT_EQ(ask(bob, launch).value("cached", false), true);  // his own, now
    // Sessions: the same id is two sessions; neither reads nor continues the other's.
    ask(alice, {{"question", "When is the zebracorn launch?"}, {"session_id", "e2e-shared-id"}});
    EXPECT_EQ(status_of(c.Get("/api/sessions/e2e-shared-id/messages", bearer(bob))), 404);
    EXPECT_EQ(body_json(c.Get("/api/sessions", bearer(bob)))["sessions"].dump().find("e2e-shared-id"),
              std::string::npos);
    ask(bob, {{"question", "What about it?"}, {"session_id", "e2e-shared-id"}});
    json alices = body_json(c.Get("/api/sessions/e2e-shared-id/messages", bearer(alice)));
    EXPECT_EQ(alices["messages"].size(), 2u) << alices.dump();
    EXPECT_EQ(status_of(c.Delete("/api/sessions/e2e-shared-id", bearer(bob))), 200);  // bob's own
    EXPECT_EQ(body_json(c.Get("/api/sessions/e2e-shared-id/messages", bearer(alice)))["messages"].size(), 2u);
    // Queued questions: answered as alice (her document), invisible to bob.
    auto q =
        c.Post("/api/questions", bearer(alice), R"({"question": "When is the zebracorn launch?"})", "application/json");
    ASSERT_EQ(status_of(q), 202) << (q ? q->body : "");
    std::string url = body_json(q)["status_url"];
    json state;
    for (int i = 0; i < 100; ++i) {
        state = body_json(c.Get(url, bearer(alice)));
        if (state.value("status", "") == "done" || state.value("status", "") == "failed") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(state.value("status", ""), "done") << state.dump();
    EXPECT_NE(state["answer"].dump().find("May 5"), std::string::npos) << state.dump();
    EXPECT_EQ(status_of(c.Get(url, bearer(bob))), 404);
    // Deleting: bob cannot, alice can.
    EXPECT_EQ(status_of(c.Delete(doc_path, bearer(bob))), 404);
    EXPECT_EQ(status_of(c.Delete(doc_path, bearer(alice))), 200);
    // In the database: every row of alice's is hers (documents, chunks, sessions, messages, questions,
    // cached answers), and none of bob's rows names her document.
    EXPECT_EQ(psql_value("SELECT count(*) FROM rag_messages WHERE owner_id = 'e2e-bob' AND content LIKE '%May 5%'"),
              "0");
    EXPECT_EQ(psql_value("SELECT count(*) FROM rag_answer_cache WHERE owner_id = 'e2e-bob' AND answer::text LIKE "
                         "'%May 5%'"),
              "0");
}
